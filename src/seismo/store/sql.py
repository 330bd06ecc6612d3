"""The SQLAlchemy store: SQLite (the embedded default) and PostgreSQL, one code path.

Tables (SQLAlchemy Core; the Alembic revisions in :mod:`seismo.store.migrations` create them)::

    model_versions    (model, version) PK, task, reference, artifact, classes, features,
                      description, created_at
    predictions       seq PK (ingestion order), id UNIQUE, model, version, timestamp,
                      features, output, score, label, labelled_at
    label_changes     seq PK (log order), prediction_seq -> predictions.seq, model, label,
                      received_at
    window_summaries  (model, version, window_start, window_end, segment) PK, payload,
                      updated_at
    watermarks        (job, model) PK, seq, updated_at

JSON values (features, output, score, labels, class and feature names) are stored as text
written by :mod:`json` (ASCII-escaped, so NaN and infinities, NUL characters and lone
surrogates survive on both databases). Timestamps are ``timestamptz`` on PostgreSQL and UTC
text on SQLite; both come back timezone-aware in UTC. Naive datetimes are refused.

A ``seq`` watermark must never skip a row: a job that read up to seq 200 must not later find
a row 150 committing. SQLite serialises writers (``BEGIN IMMEDIATE``), and on PostgreSQL the
writers of ``predictions`` and ``label_changes`` take a transaction-scoped advisory lock
before drawing sequence numbers, so on both numbers are handed out in commit order.

Every transaction goes through :meth:`SQLStore.transaction`, which commits or rolls back and
turns database errors into the store's exceptions. Only domain objects leave this module.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import shlex
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeAlias

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url

from seismo.store import columnar
from seismo.store.base import (
    COMPACTION_JOB,
    RETENTION_JOB,
    AlertEvent,
    DuplicatePrediction,
    Label,
    LabelChange,
    LabelOutcome,
    ModelVersion,
    Prediction,
    SchemaOutdated,
    Silence,
    Store,
    StoredAlert,
    StoredPrediction,
    StoreError,
    StoreUnavailable,
    WindowData,
    WindowSummary,
)

TASKS: Final = ("classification", "regression")
UPGRADE_COMMAND: Final = "seismo db upgrade --store {url}"

_WRITE: Final = "seismo_write"  # execution option: this transaction writes (SQLite: IMMEDIATE)
_LOOKUP_CHUNK: Final = 1_000  # ids per IN (...) lookup
_LABEL_PAGE: Final = 10_000  # label changes fetched per query
_BATCH_CHUNK: Final = 64  # columnar batches fetched per query
_WINDOW_PAGE: Final = 50_000  # rows fetched at a time when reading a window

# -- tables ---------------------------------------------------------------------------------

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value, "timestamp")

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT identity on PostgreSQL; INTEGER PRIMARY KEY AUTOINCREMENT (the rowid, never reused)
# on SQLite.
_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("model", sa.String, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("task", sa.String, nullable=False),
    sa.Column("reference", sa.LargeBinary, nullable=False),
    sa.Column("artifact", sa.String, nullable=True),
    sa.Column("classes", sa.Text, nullable=False),  # JSON list
    sa.Column("features", sa.Text, nullable=False),  # JSON list
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

prediction_batches = sa.Table(
    "prediction_batches",
    metadata,
    sa.Column("seq", _Seq, sa.Identity(), primary_key=True),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),  # seismo.store.columnar blob
    sqlite_autoincrement=True,
)

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("seq", _Seq, sa.Identity(), primary_key=True),
    sa.Column("id", sa.String, nullable=False),
    sa.Column("model", sa.String, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("timestamp", UTCDateTime, nullable=False),
    # Features, output and score: in a columnar batch (rows written in bulk) ...
    sa.Column("batch_seq", _Seq, sa.ForeignKey("prediction_batches.seq"), nullable=True),
    sa.Column("batch_row", sa.Integer, nullable=True),
    # ... or as JSON text in the row itself (rows written a few at a time).
    sa.Column("features", sa.Text, nullable=True),  # JSON object
    sa.Column("output", sa.Text, nullable=True),  # JSON
    sa.Column("score", sa.Text, nullable=True),  # JSON; NULL when there is none
    sa.Column("label", sa.Text, nullable=True),  # JSON, canonical; NULL until labelled
    sa.Column("labelled_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("id"),
    sa.CheckConstraint(
        "(batch_seq IS NULL AND batch_row IS NULL AND features IS NOT NULL AND output IS NOT NULL)"
        " OR (batch_seq IS NOT NULL AND batch_row IS NOT NULL AND features IS NULL"
        " AND output IS NULL AND score IS NULL)",
        name="stored_once",
    ),
    sa.Index(None, "model", "seq"),  # iter_predictions, prediction_windows: keyset on seq
    # read_window: the window's rows, and which rows of which batches from the index alone.
    sa.Index(None, "model", "version", "timestamp", "batch_seq", "batch_row"),
    sa.Index(None, "batch_seq"),  # the foreign key
    sqlite_autoincrement=True,
)

label_changes = sa.Table(
    "label_changes",
    metadata,
    sa.Column("seq", _Seq, sa.Identity(), primary_key=True),
    sa.Column(
        "prediction_seq",
        _Seq,
        sa.ForeignKey("predictions.seq", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("model", sa.String, nullable=False),
    sa.Column("label", sa.Text, nullable=False),  # the label stored by this change (JSON)
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Index(None, "model", "seq"),  # iter_label_changes
    sa.Index(None, "prediction_seq"),  # the foreign key (cascading deletes)
    sqlite_autoincrement=True,
)

window_summaries = sa.Table(
    "window_summaries",
    metadata,
    sa.Column("model", sa.String, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("window_start", UTCDateTime, primary_key=True),
    sa.Column("window_end", UTCDateTime, primary_key=True),
    sa.Column("segment", sa.String, primary_key=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "model", "window_start"),  # get_windows across versions
)

watermarks_table = sa.Table(
    "watermarks",
    metadata,
    sa.Column("job", sa.String, primary_key=True),
    sa.Column("model", sa.String, primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

alerts_table = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("model", sa.String, nullable=False),
    sa.Column("segment", sa.String, nullable=False),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("alert", sa.Text, nullable=False),  # JSON
    sa.Column("acknowledged_at", UTCDateTime, nullable=True),
    sa.Column("acknowledged_by", sa.String, nullable=True),
    sa.Column("notified_at", UTCDateTime, nullable=True),
    sa.Column("notified_severity", sa.String, nullable=True),
    sa.Index(None, "state", "updated_at"),
    sa.Index(None, "model", "updated_at"),
)

alert_events = sa.Table(
    "alert_events",
    metadata,
    sa.Column("seq", _Seq, sa.Identity(), primary_key=True),
    sa.Column(
        "alert_id", sa.String, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON
    sa.Index(None, "alert_id", "seq"),
    sa.Index(None, "kind"),
    sqlite_autoincrement=True,
)

silences_table = sa.Table(
    "silences",
    metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("matchers", sa.Text, nullable=False),  # JSON object
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("created_by", sa.String, nullable=False),
    sa.Column("comment", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "ends_at"),
)

_Row: TypeAlias = "sa.Row[*tuple[Any, ...]]"
_PREDICTION_ID_CONSTRAINT: Final = "uq_predictions_id"
_PREDICTION_COLUMNS: Final = (
    predictions.c.seq,
    predictions.c.id,
    predictions.c.model,
    predictions.c.version,
    predictions.c.timestamp,
    predictions.c.batch_seq,
    predictions.c.batch_row,
    predictions.c.features,
    predictions.c.output,
    predictions.c.score,
    predictions.c.label,
    predictions.c.labelled_at,
)
# A model version's rows of one write go to a columnar batch from this many rows on; fewer
# stay JSON text in their own rows. Measured on a 200,000-row window: 4-row batches read 8x
# slower than JSON rows (each batch's Arrow schema and decode is a fixed cost), 64-row ones
# about as fast, 5,000-row ones 5x faster.
COLUMNAR_MIN_ROWS: Final = 64

# -- values ---------------------------------------------------------------------------------


_encode: Callable[[object], str] = columnar.encode_json
# Labels are compared as text: the same value must always give the same text.
_encode_canonical: Callable[[object], str] = json.JSONEncoder(
    separators=(",", ":"), sort_keys=True, default=columnar.json_default
).encode
_decode: Callable[[str], Any] = json.loads


def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise ValueError(
            f"{what} {value.isoformat()} has no time zone; the store keeps timezone-aware "
            "UTC datetimes (e.g. datetime.now(UTC) or an ISO string ending in +00:00)"
        )
    return value.astimezone(UTC)


def _prediction_row(prediction: Prediction) -> dict[str, Any]:
    """The row of a prediction, its values not yet placed (see :func:`_place_values`)."""
    try:
        if not isinstance(prediction.id, str) or not prediction.id:
            raise ValueError(f"prediction id must be a non-empty string, not {prediction.id!r}")
        if not isinstance(prediction.features, dict):
            raise TypeError(
                "features must be a dict of name to value, "
                f"not {type(prediction.features).__name__}"
            )
        return {
            "id": prediction.id,
            "model": prediction.model,
            "version": prediction.version,
            "timestamp": _utc(prediction.timestamp, "timestamp"),
            "batch_seq": None,
            "batch_row": None,
            "features": None,
            "output": None,
            "score": None,
        }
    except (TypeError, ValueError) as error:
        raise type(error)(f"prediction {prediction.id!r}: {error}") from error


def _json_values(prediction: Prediction) -> dict[str, str | None]:
    try:
        return {
            "features": _encode(prediction.features),
            "output": _encode(prediction.output),
            "score": None if prediction.score is None else _encode(prediction.score),
        }
    except (TypeError, ValueError) as error:
        raise type(error)(f"prediction {prediction.id!r}: {error}") from error


def _place_values(
    predictions: Sequence[Prediction], rows: list[dict[str, Any]]
) -> list[tuple[bytes, list[int]]]:
    """Encode features, outputs and scores: JSON text into ``rows`` for small groups, and a
    columnar blob per model version with at least :data:`COLUMNAR_MIN_ROWS` rows, returned
    with the indices of its rows (they get ``batch_seq`` once the blob is inserted)."""
    groups: dict[tuple[str, int], list[int]] = {}
    for index, prediction in enumerate(predictions):
        groups.setdefault((prediction.model, prediction.version), []).append(index)
    batches: list[tuple[bytes, list[int]]] = []
    for indices in groups.values():
        if len(indices) < COLUMNAR_MIN_ROWS:
            for index in indices:
                rows[index].update(_json_values(predictions[index]))
            continue
        chosen = [predictions[index] for index in indices]
        try:
            blob = columnar.encode_rows(
                [p.features for p in chosen], [p.output for p in chosen], [p.score for p in chosen]
            )
        except (TypeError, ValueError):
            for prediction in chosen:
                _json_values(prediction)  # raises, naming the first prediction at fault
            raise
        batches.append((blob, indices))
    return batches


def _stored_prediction(row: _Row, values: tuple[dict[str, Any], Any, Any]) -> StoredPrediction:
    features, output, score = values
    return StoredPrediction(
        seq=row.seq,
        prediction=Prediction(
            id=row.id,
            model=row.model,
            version=row.version,
            timestamp=row.timestamp,
            features=features,
            output=output,
            score=score,
        ),
        label=None if row.label is None else _decode(row.label),
        labelled_at=row.labelled_at,
    )


def _stored_predictions(connection: Connection, rows: Sequence[_Row]) -> list[StoredPrediction]:
    """Prediction objects for rows selected with ``_PREDICTION_COLUMNS``: values from the
    rows' own JSON text, or from their batches (each batch read and decoded once)."""
    wanted: dict[int, list[int]] = {}
    for row in rows:
        if row.batch_seq is not None:
            wanted.setdefault(row.batch_seq, []).append(row.batch_row)
    from_batches: dict[tuple[int, int], tuple[dict[str, Any], Any, Any]] = {}
    for batch_seq, batch in _read_batches(connection, list(wanted)):
        positions = sorted(set(wanted[batch_seq]))
        taken = batch.take(pa.array(positions, pa.int64()))
        for position, values in zip(positions, columnar.rows(taken), strict=True):
            from_batches[batch_seq, position] = values
    stored = []
    for row in rows:
        if row.batch_seq is None:
            values = (
                _decode(row.features),
                _decode(row.output),
                None if row.score is None else _decode(row.score),
            )
        else:
            values = from_batches[row.batch_seq, row.batch_row]
        stored.append(_stored_prediction(row, values))
    return stored


def _read_batches(
    connection: Connection, batch_seqs: Sequence[int]
) -> Iterator[tuple[int, pa.RecordBatch]]:
    table = prediction_batches
    for first in range(0, len(batch_seqs), _BATCH_CHUNK):
        chunk = batch_seqs[first : first + _BATCH_CHUNK]
        query = sa.select(table.c.seq, table.c.payload).where(table.c.seq.in_(chunk))
        for seq, payload in connection.execute(query):
            yield seq, columnar.decode(bytes(payload))


def _model_version(row: _Row) -> ModelVersion:
    return ModelVersion(
        model=row.model,
        version=row.version,
        task=row.task,
        reference=bytes(row.reference),
        created_at=row.created_at,
        artifact=row.artifact,
        classes=tuple(_decode(row.classes)),
        features=tuple(_decode(row.features)),
        description=row.description,
    )


def _window_summary(row: _Row) -> WindowSummary:
    return WindowSummary(
        model=row.model,
        version=row.version,
        start=row.window_start,
        end=row.window_end,
        segment=row.segment,
        payload=bytes(row.payload),
        updated_at=row.updated_at,
    )


def _event_row(event: AlertEvent) -> dict[str, Any]:
    return {
        "alert_id": event.alert_id,
        "kind": event.kind,
        "at": _utc(event.at, "event at"),
        "details": _encode(event.details),
    }


def _stored_alert(row: _Row) -> StoredAlert:
    return StoredAlert(
        id=row.id,
        rule=row.rule,
        model=row.model,
        segment=row.segment,
        state=row.state,
        severity=row.severity,
        started_at=row.started_at,
        updated_at=row.updated_at,
        alert=_decode(row.alert),
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        notified_at=row.notified_at,
        notified_severity=row.notified_severity,
    )


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for first in range(0, len(values), size):
        yield values[first : first + size]


def _first_repeated(values: Iterable[str]) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


@dataclass(slots=True)
class _LabelState:
    seq: int
    model: str
    label: str | None


# -- engine ---------------------------------------------------------------------------------


def upgrade_command(url: str) -> str:
    """The shell command that migrates the store at ``url`` (password masked)."""
    return UPGRADE_COMMAND.format(url=shlex.quote(shown_url(url)))


def shown_url(url: str) -> str:
    """``url`` safe for messages and logs: the password masked."""
    parsed = make_url(url)
    return url if parsed.password is None else parsed.render_as_string(hide_password=True)


def create_store_engine(
    url: str | URL, *, busy_timeout_ms: int = 15_000, connect_timeout_s: int = 5
) -> Engine:
    """An engine for the store at ``url``, with the settings every store connection needs.

    SQLite: the parent directory is created; each connection gets ``journal_mode=WAL``,
    ``synchronous=FULL`` (a commit survives a crash and a power cut), ``foreign_keys=ON`` and
    ``busy_timeout``; SQLAlchemy issues ``BEGIN`` itself, ``BEGIN IMMEDIATE`` for writes, so
    writers queue on the lock instead of failing to upgrade a read transaction.
    PostgreSQL: ``connect_timeout`` (unless the URL sets it) and a pre-ping that replaces
    connections the server dropped.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
            raise ValueError(
                "the SQLite store needs a file, e.g. sqlite:///seismo.db or "
                "sqlite:////var/lib/seismo/seismo.db; an in-memory database is not a store"
            )
        if not parsed.query.get("uri"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = connect_timeout_s
        if "application_name" not in parsed.query:
            connect_args["application_name"] = "seismo"
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    raise ValueError(f"the SQL store supports sqlite and postgresql, not {backend!r}")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The sqlite3 module must not issue BEGIN itself: on_begin below does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # 64 MiB of page cache (the default is 2 MiB): the id index takes random inserts.
            cursor.execute("PRAGMA cache_size = -65536")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class _FifoLock:
    """A lock granted in arrival order (a released ``threading.Lock`` goes to whichever
    thread gets there first, which lets busy writers starve a waiting one)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                return False
        return True  # release() handed it over just as the wait timed out

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by that waiter
            else:
                self._held = False


def _advisory_key(name: str) -> int:
    digest = hashlib.blake2b(f"seismo.store.{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# -- the store ------------------------------------------------------------------------------


class SQLStore(Store):
    """The store on SQLite or PostgreSQL through SQLAlchemy.

    Parameters
    ----------
    url
        ``sqlite:///path/to/seismo.db`` or ``postgresql+psycopg://user@host:5432/db``.
    busy_timeout_ms
        SQLite: how long a writer waits for another writer before the store reports
        :class:`StoreUnavailable`.
    connect_timeout_s
        PostgreSQL: how long to wait for a connection (unless the URL sets ``connect_timeout``).

    The schema is not checked here; :func:`seismo.store.open_store` calls :meth:`check`.
    """

    def __init__(self, url: str, *, busy_timeout_ms: int = 15_000, connect_timeout_s: int = 5):
        self._url = url
        self._engine = create_store_engine(
            url, busy_timeout_ms=busy_timeout_ms, connect_timeout_s=connect_timeout_s
        )
        self._postgres = self._engine.dialect.name == "postgresql"
        # SQLite's busy handler polls, so writers of one process under steady contention can
        # starve one another past the busy timeout; they queue on this lock instead (other
        # processes still wait in the busy handler).
        self._write_lock = None if self._postgres else _FifoLock()
        self._write_wait_s = busy_timeout_ms / 1000

    @property
    def url(self) -> str:
        return self._url

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and instrumentation; rows stay in this module)."""
        return self._engine

    def __repr__(self) -> str:
        return f"SQLStore({shown_url(self._url)!r})"

    # -- transactions ------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back when it raises.

        Database errors leave as :class:`StoreUnavailable` (cannot connect, connection lost,
        database locked or out of resources), :class:`DuplicatePrediction` (unique violation
        on a prediction id) or :class:`StoreError` (anything else).
        """
        lock = self._write_lock if write else None
        if lock is not None and not lock.acquire(timeout=self._write_wait_s):
            raise StoreUnavailable(
                f"the store database {shown_url(self._url)} is unavailable: other writers "
                f"held it for more than {self._write_wait_s:g} s"
            )
        try:
            with self._engine.connect() as connection:
                if write:
                    connection.execution_options(**{_WRITE: True})
                with connection.begin():
                    yield connection
        except exc.SQLAlchemyError as error:
            raise self._translate(error) from error
        finally:
            if lock is not None:
                lock.release()

    def _translate(self, error: exc.SQLAlchemyError) -> StoreError:
        original = getattr(error, "orig", None)
        detail = " ".join(str(original if original is not None else error).split())
        if isinstance(error, exc.IntegrityError):
            if _PREDICTION_ID_CONSTRAINT in detail or "predictions.id" in detail:
                return DuplicatePrediction(f"a prediction id already exists: {detail}")
            return StoreError(f"the store refused the write: {detail}")
        unavailable = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
        lost = isinstance(error, exc.DBAPIError) and error.connection_invalidated
        # sqlite3 reports a missing table as an OperationalError too: that is no outage.
        schema = self._engine.dialect.name == "sqlite" and detail.startswith("no such ")
        if (lost or isinstance(error, unavailable)) and not schema:
            return StoreUnavailable(
                f"the store database {shown_url(self._url)} is unavailable: {detail}"
            )
        return StoreError(f"store error on {shown_url(self._url)}: {detail}")

    def _serialise_writers(self, connection: Connection, name: str) -> None:
        """PostgreSQL: one writer of ``name`` at a time until commit (SQLite: already so)."""
        if self._postgres:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_advisory_key(name))))

    # -- schema ------------------------------------------------------------------------------
    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema to ``revision`` in one transaction (concurrent callers queue)."""
        from seismo.store import migrations

        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "migrations")
            migrations.upgrade(connection, revision)

    def check(self) -> None:
        from seismo.store import migrations

        with self.transaction() as connection:
            current = migrations.current_revisions(connection)
        head = migrations.head_revision()
        if current == (head,):
            return
        where = f"the store database {shown_url(self._url)}"
        unknown = [revision for revision in current if revision not in migrations.known_revisions()]
        if unknown:
            raise SchemaOutdated(
                f"{where} has schema revision {', '.join(unknown)}, written by a newer seismo "
                f"(this one knows up to {head}); upgrade seismo"
            )
        found = f"revision {', '.join(current)}" if current else "no seismo tables"
        raise SchemaOutdated(
            f"{where} has {found}, this seismo needs schema revision {head}; "
            f"run: {upgrade_command(self._url)}"
        )

    def close(self) -> None:
        self._engine.dispose()

    # -- models ------------------------------------------------------------------------------
    def add_model_version(
        self,
        model: str,
        *,
        task: str,
        reference: bytes,
        artifact: str | None = None,
        classes: Sequence[str] = (),
        features: Sequence[str] = (),
        description: str = "",
    ) -> ModelVersion:
        if not isinstance(model, str) or not model:
            raise ValueError(f"a model name must be a non-empty string, not {model!r}")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r} for model {model!r}; use one of {TASKS}")
        class_names = tuple(str(name) for name in classes)
        feature_names = tuple(str(name) for name in features)
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "model_versions")
            latest = connection.execute(
                sa.select(sa.func.max(model_versions.c.version)).where(
                    model_versions.c.model == model
                )
            ).scalar_one()
            registered = ModelVersion(
                model=model,
                version=(latest or 0) + 1,
                task=task,
                reference=bytes(reference),
                created_at=datetime.now(UTC),
                artifact=artifact,
                classes=class_names,
                features=feature_names,
                description=description,
            )
            connection.execute(
                model_versions.insert().values(
                    model=registered.model,
                    version=registered.version,
                    task=registered.task,
                    reference=registered.reference,
                    artifact=registered.artifact,
                    classes=_encode(list(class_names)),
                    features=_encode(list(feature_names)),
                    description=registered.description,
                    created_at=registered.created_at,
                )
            )
        return registered

    def get_model_version(self, model: str, version: int | None = None) -> ModelVersion | None:
        query = sa.select(model_versions).where(model_versions.c.model == model)
        if version is None:
            query = query.order_by(model_versions.c.version.desc()).limit(1)
        else:
            query = query.where(model_versions.c.version == version)
        with self.transaction() as connection:
            row = connection.execute(query).first()
        return None if row is None else _model_version(row)

    def list_model_versions(self, model: str | None = None) -> list[ModelVersion]:
        query = sa.select(model_versions).order_by(model_versions.c.model, model_versions.c.version)
        if model is not None:
            query = query.where(model_versions.c.model == model)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [_model_version(row) for row in rows]

    # -- predictions -------------------------------------------------------------------------
    def add_predictions(self, predictions: Sequence[Prediction]) -> None:
        if not predictions:
            return
        rows = [_prediction_row(prediction) for prediction in predictions]
        ids = [row["id"] for row in rows]
        repeated = _first_repeated(ids)
        if repeated is not None:
            raise DuplicatePrediction(
                f"prediction id {repeated!r} appears twice in one batch; "
                f"none of the batch's {len(rows)} predictions were stored"
            )
        batches = _place_values(predictions, rows)  # encoded before taking the write lock
        try:
            with self.transaction(write=True) as connection:
                self._serialise_writers(connection, "predictions")
                for blob, indices in batches:
                    inserted = connection.execute(
                        prediction_batches.insert().values(rows=len(indices), payload=blob)
                    )
                    batch_seq = inserted.inserted_primary_key[0]  # type: ignore[index]
                    for position, index in enumerate(indices):
                        rows[index]["batch_seq"] = batch_seq
                        rows[index]["batch_row"] = position
                if self._postgres:
                    _postgres_copy(connection, rows)
                else:
                    self._sqlite_insert(connection, rows)
        except DuplicatePrediction as error:
            raise self._name_duplicates(ids, error) from error.__cause__

    def _sqlite_insert(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert rows with multi-row INSERT statements of driver-ready values.

        Binding a thousand rows through SQLAlchemy cost more than inserting them, and
        ``executemany`` releases and retakes the GIL once per row: with the event loop busy
        parsing the next request, each retake waits for the interpreter's switch interval.
        One statement per chunk releases it once.
        """
        values = _sqlite_parameters(rows)
        per_statement = _sqlite_rows_per_statement(connection)
        for first in range(0, len(values), per_statement):
            chunk = values[first : first + per_statement]
            connection.exec_driver_sql(
                _sqlite_insert_sql(len(chunk)), tuple(v for row in chunk for v in row)
            )

    def _name_duplicates(self, ids: Sequence[str], error: DuplicatePrediction) -> StoreError:
        try:
            existing: list[str] = []
            with self.transaction() as connection:
                for chunk in _chunks(ids, _LOOKUP_CHUNK):
                    existing.extend(
                        connection.execute(
                            sa.select(predictions.c.id).where(predictions.c.id.in_(chunk))
                        ).scalars()
                    )
        except StoreError:
            return error
        if not existing:
            return error
        order = {prediction_id: index for index, prediction_id in enumerate(ids)}
        existing.sort(key=order.__getitem__)
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        return DuplicatePrediction(
            f"prediction id {existing[0]!r} already exists{more}; "
            f"none of the batch's {len(ids)} predictions were stored"
        )

    def get_prediction(self, prediction_id: str) -> StoredPrediction | None:
        query = sa.select(*_PREDICTION_COLUMNS).where(predictions.c.id == prediction_id)
        with self.transaction() as connection:
            row = connection.execute(query).first()
            found = [] if row is None else _stored_predictions(connection, [row])
        return found[0] if found else None

    def iter_predictions(
        self,
        model: str,
        *,
        version: int | None = None,
        after_seq: int = 0,
        start: datetime | None = None,
        end: datetime | None = None,
        batch_size: int = 10_000,
    ) -> Iterator[list[StoredPrediction]]:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        conditions: list[sa.ColumnElement[bool]] = [predictions.c.model == model]
        if version is not None:
            conditions.append(predictions.c.version == version)
        if start is not None:
            conditions.append(predictions.c.timestamp >= _utc(start, "start"))
        if end is not None:
            conditions.append(predictions.c.timestamp < _utc(end, "end"))
        return self._predictions_after(conditions, after_seq, batch_size)

    def _predictions_after(
        self, conditions: list[sa.ColumnElement[bool]], after_seq: int, batch_size: int
    ) -> Iterator[list[StoredPrediction]]:
        # Keyset pagination: each page is one short transaction, so an iterator left open
        # holds no connection and no snapshot between pages.
        while True:
            query = (
                sa.select(*_PREDICTION_COLUMNS)
                .where(*conditions, predictions.c.seq > after_seq)
                .order_by(predictions.c.seq)
                .limit(batch_size)
            )
            with self.transaction() as connection:
                rows = connection.execute(query).all()
                batch = _stored_predictions(connection, rows)
            if not rows:
                return
            yield batch
            if len(rows) < batch_size:
                return
            after_seq = batch[-1].seq

    def read_window(
        self, model: str, *, version: int, start: datetime, end: datetime
    ) -> WindowData:
        c = predictions.c
        delay: sa.ColumnElement[Any]
        if self._postgres:
            delay = sa.func.extract("epoch", c.labelled_at - c.timestamp)
        else:
            delay = (sa.func.julianday(c.labelled_at) - sa.func.julianday(c.timestamp)) * 86_400.0
        where = (
            c.model == model,
            c.version == version,
            c.timestamp >= _utc(start, "start"),
            c.timestamp < _utc(end, "end"),
        )
        # Rows with their own JSON, and the labels of rows in batches (one pass) ...
        rows_query = sa.select(
            c.batch_seq,
            c.batch_row,
            c.features,
            c.output,
            c.score,
            c.label,
            sa.type_coerce(delay, sa.Float).label("delay"),
        ).where(*where, sa.or_(c.batch_seq.is_(None), c.label.is_not(None)))
        # ... and which rows of which batches (from the index alone).
        spans_query = (
            sa.select(
                c.batch_seq, sa.func.count(), sa.func.min(c.batch_row), sa.func.max(c.batch_row)
            )
            .where(*where, c.batch_seq.is_not(None))
            .group_by(c.batch_seq)
        )
        columns = columnar.WindowColumns()
        labels: list[str | None] = []
        delays: list[float | None] = []
        batch_labels: list[tuple[int, int, str, float | None]] = []
        # One transaction, so one snapshot. Rows arrive a page at a time (a server-side cursor
        # on PostgreSQL). Rows with their own JSON come first, then batches.
        with self.transaction() as connection:
            for page in self._pages(connection, rows_query):
                own = [row for row in page if row[0] is None]
                if own:
                    features, outputs, scores, texts, seconds = list(zip(*own, strict=True))[2:]
                    columns.add_objects(
                        columnar.decode_json_texts(features),
                        columnar.decode_json_texts(outputs),
                        columnar.decode_json_texts(scores),
                    )
                    labels += texts
                    delays += seconds
                if len(own) < len(page):
                    batch_labels += [
                        (row[0], row[1], row[5], row[6]) for row in page if row[0] is not None
                    ]
            spans: dict[int, NDArray[np.int64]] = {}
            scattered: list[int] = []
            for batch_seq, count, first, last in connection.execute(spans_query).all():
                if last - first + 1 == count:
                    spans[batch_seq] = np.arange(first, last + 1, dtype=np.int64)
                else:
                    scattered.append(batch_seq)
            spans.update(self._batch_rows(connection, where, scattered))
            at: dict[int, int] = {}  # where each batch's rows start in the columns
            for batch_seq, batch in _read_batches(connection, list(spans)):
                at[batch_seq] = len(columns)
                columns.add(batch, spans[batch_seq])
        labels += [None] * (len(columns) - len(labels))
        delays += [None] * (len(columns) - len(delays))
        for batch_seq, position, text, delay_s in batch_labels:
            index = at[batch_seq] + int(np.searchsorted(spans[batch_seq], position))
            labels[index] = text
            delays[index] = delay_s
        label_values = columnar.decode_json_texts(labels)
        return WindowData(
            columns=columns,
            labels=label_values,
            label_delays=np.array(
                [
                    np.nan if label is None or d is None else float(d)
                    for label, d in zip(labels, delays, strict=True)
                ],
                dtype=np.float64,
            ),
        )

    def _pages(self, connection: Connection, query: sa.Select[Any]) -> Iterator[Sequence[Any]]:
        """The query's rows a page at a time: a server-side cursor on PostgreSQL; on SQLite
        the DBAPI cursor's own tuples (SQLite's cursor is lazy already, and building result
        rows cost more than the read)."""
        if self._postgres:
            result = connection.execution_options(yield_per=_WINDOW_PAGE).execute(query)
            yield from result.partitions()
            return
        cursor = connection.execute(query).cursor
        while page := cursor.fetchmany(_WINDOW_PAGE):
            yield page

    def _batch_rows(
        self, connection: Connection, where: tuple[sa.ColumnElement[bool], ...], seqs: list[int]
    ) -> dict[int, NDArray[np.int64]]:
        """The rows (positions) of each of these batches that match ``where``, ascending."""
        c = predictions.c
        found: dict[int, list[int]] = {}
        for first in range(0, len(seqs), _LOOKUP_CHUNK):
            query = sa.select(c.batch_seq, c.batch_row).where(
                *where, c.batch_seq.in_(seqs[first : first + _LOOKUP_CHUNK])
            )
            for batch_seq, position in connection.execute(query):
                found.setdefault(batch_seq, []).append(position)
        return {seq: np.array(sorted(rows), dtype=np.int64) for seq, rows in found.items()}

    def prediction_windows(
        self, model: str, *, after_seq: int, window_seconds: int
    ) -> tuple[set[tuple[int, datetime]], int, int]:
        if window_seconds < 1:
            raise ValueError(f"window_seconds must be at least 1, not {window_seconds}")
        timestamp = predictions.c.timestamp
        if self._postgres:
            epoch = sa.cast(sa.func.floor(sa.func.extract("epoch", timestamp)), sa.BigInteger)
        else:
            epoch = sa.cast(sa.func.strftime("%s", timestamp), sa.Integer)
        bucket = (epoch // window_seconds).label("bucket")
        query = (
            sa.select(
                predictions.c.version, bucket, sa.func.max(predictions.c.seq), sa.func.count()
            )
            .where(predictions.c.model == model, predictions.c.seq > after_seq)
            .group_by(predictions.c.version, bucket)
        )
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        epoch_start = datetime(1970, 1, 1, tzinfo=UTC)
        windows = {
            (int(version), epoch_start + timedelta(seconds=int(number) * window_seconds))
            for version, number, _, _ in rows
        }
        last = max((int(row[2]) for row in rows), default=after_seq)
        return windows, last, sum(int(row[3]) for row in rows)

    def count_predictions(self, model: str, version: int | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(predictions)
        query = query.where(predictions.c.model == model)
        if version is not None:
            query = query.where(predictions.c.version == version)
        with self.transaction() as connection:
            return int(connection.execute(query).scalar_one())

    def compact_predictions(self, model: str, before: datetime) -> int:
        cutoff = _utc(before, "before")
        c = predictions.c
        mark = self.get_watermark(COMPACTION_JOB, model)
        with self.transaction() as connection:
            newest = connection.execute(
                sa.select(sa.func.max(c.seq)).where(c.model == model)
            ).scalar()
        # Rows after the mark only, walked by seq (the (model, seq) index): every row with its
        # own JSON at or below the mark was moved already, so a call costs what arrived since.
        closed = sa.case((c.timestamp < cutoff, 1), else_=0).label("closed")  # no parsing
        pending = sa.select(c.seq, c.version, closed, c.features, c.output, c.score).where(
            c.model == model, c.batch_seq.is_(None)
        )
        moved = 0
        waiting: int | None = None  # the first row left as it is (its window is still open)
        after = mark
        while True:
            # Read and rewrite in one write transaction: two compactions at once queue here,
            # and the second finds the rows already moved.
            with self.transaction(write=True) as connection:
                self._serialise_writers(connection, "predictions")
                rows = connection.execute(
                    pending.where(c.seq > after).order_by(c.seq).limit(_COMPACT_ROWS)
                ).all()
                if not rows:
                    break
                after = rows[-1].seq
                groups: dict[int, list[Any]] = {}
                for row in rows:
                    if row.closed:
                        groups.setdefault(row.version, []).append(row)
                    elif waiting is None:
                        waiting = row.seq
                for version, chosen in groups.items():
                    self._move_to_batch(connection, model, version, chosen, cutoff)
                    moved += len(chosen)
        new_mark = waiting - 1 if waiting is not None else max(int(newest or 0), after)
        if new_mark > mark:
            self.set_watermark(COMPACTION_JOB, model, new_mark)
        return moved

    def _move_to_batch(
        self, connection: Connection, model: str, version: int, rows: list[Any], cutoff: datetime
    ) -> None:
        """Encode these JSON rows (ascending seq) as one batch and point them at it."""
        c = predictions.c
        blob = columnar.encode_rows(
            columnar.decode_json_texts([row.features for row in rows]),
            columnar.decode_json_texts([row.output for row in rows]),
            columnar.decode_json_texts([row.score for row in rows]),
        )
        batch_seq = connection.execute(
            prediction_batches.insert().values(rows=len(rows), payload=blob)
        ).inserted_primary_key[0]  # type: ignore[index]
        # One UPDATE ... FROM: a row's place in the batch is its rank by seq among the rows of
        # this version before the cutoff still holding JSON in the seq range just read: exactly
        # these rows (the write lock is held); a seq range is cheap to find.
        ranked = (
            sa.select(
                c.seq.label("seq"),
                (sa.func.row_number().over(order_by=c.seq) - 1).label("position"),
            )
            .where(
                c.seq >= rows[0].seq,
                c.seq <= rows[-1].seq,
                c.model == model,
                c.version == version,
                c.batch_seq.is_(None),
                c.timestamp < cutoff,
            )
            .subquery()
        )
        connection.execute(
            predictions.update()
            .where(c.seq == ranked.c.seq)
            .values(
                batch_seq=batch_seq,
                batch_row=ranked.c.position,
                features=None,
                output=None,
                score=None,
            )
        )

    def delete_predictions(self, model: str, before: datetime) -> int:
        cutoff = _utc(before, "before")
        horizon = int(cutoff.timestamp())
        c = predictions.c
        batches = prediction_batches
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "predictions")
            doomed = sa.select(c.seq).where(c.model == model, c.timestamp < cutoff)
            # Explicitly, rather than trusting ON DELETE CASCADE to be enforced.
            connection.execute(
                label_changes.delete().where(label_changes.c.prediction_seq.in_(doomed))
            )
            touched = sa.select(c.batch_seq).where(
                c.model == model, c.timestamp < cutoff, c.batch_seq.is_not(None)
            )
            touched_batches = [seq for (seq,) in connection.execute(touched.distinct())]
            deleted = connection.execute(
                predictions.delete().where(c.model == model, c.timestamp < cutoff)
            ).rowcount
            for first in range(0, len(touched_batches), _LOOKUP_CHUNK):
                chunk = touched_batches[first : first + _LOOKUP_CHUNK]
                still_used = sa.select(c.batch_seq).where(c.batch_seq.in_(chunk))
                connection.execute(
                    batches.delete().where(
                        batches.c.seq.in_(chunk), batches.c.seq.not_in(still_used)
                    )
                )
            current = connection.execute(
                sa.select(watermarks_table.c.seq).where(
                    watermarks_table.c.job == RETENTION_JOB, watermarks_table.c.model == model
                )
            ).scalar_one_or_none()
            if current is None or horizon > int(current):
                connection.execute(
                    self._upsert(watermarks_table, ("job", "model")),
                    [
                        {
                            "job": RETENTION_JOB,
                            "model": model,
                            "seq": horizon,
                            "updated_at": datetime.now(UTC),
                        }
                    ],
                )
        return int(deleted)

    # -- labels ------------------------------------------------------------------------------
    def add_labels(self, labels: Sequence[Label], *, model: str | None = None) -> LabelOutcome:
        if not labels:
            return LabelOutcome()
        prepared: list[tuple[str, str, datetime]] = []
        for label in labels:
            if label.label is None:
                raise ValueError(
                    f"the label of prediction {label.prediction_id!r} is null; "
                    "send the ground-truth value"
                )
            try:
                text = _encode_canonical(label.label)
            except TypeError as error:
                raise TypeError(f"label of prediction {label.prediction_id!r}: {error}") from None
            prepared.append(
                (label.prediction_id, text, _utc(label.received_at, "label received_at"))
            )
        ids = list(dict.fromkeys(prediction_id for prediction_id, _, _ in prepared))
        inserted = updated = unchanged = 0
        unknown: dict[str, None] = {}
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "label_changes")
            states: dict[str, _LabelState] = {}
            for chunk in _chunks(ids, _LOOKUP_CHUNK):
                query = sa.select(
                    predictions.c.id, predictions.c.seq, predictions.c.model, predictions.c.label
                ).where(predictions.c.id.in_(chunk))
                if model is not None:
                    query = query.where(predictions.c.model == model)
                for row in connection.execute(query):
                    states[row.id] = _LabelState(row.seq, row.model, row.label)
            changed: dict[str, dict[str, Any]] = {}
            log: list[dict[str, Any]] = []
            for prediction_id, text, received_at in prepared:
                state = states.get(prediction_id)
                if state is None:
                    unknown[prediction_id] = None
                    continue
                if state.label == text:
                    unchanged += 1
                    continue
                if state.label is None:
                    inserted += 1
                else:
                    updated += 1
                state.label = text
                changed[prediction_id] = {
                    "b_seq": state.seq,
                    "b_label": text,
                    "b_labelled_at": received_at,
                }
                log.append(
                    {
                        "prediction_seq": state.seq,
                        "model": state.model,
                        "label": text,
                        "received_at": received_at,
                    }
                )
            if changed:
                connection.execute(_LABEL_UPDATE, list(changed.values()))
                connection.execute(label_changes.insert(), log)
        return LabelOutcome(
            inserted=inserted, updated=updated, unchanged=unchanged, unknown_ids=tuple(unknown)
        )

    def iter_label_changes(self, model: str, *, after_seq: int = 0) -> Iterator[LabelChange]:
        while True:
            query = (
                sa.select(
                    label_changes.c.seq,
                    predictions.c.id,
                    predictions.c.model,
                    predictions.c.version,
                    predictions.c.timestamp,
                )
                .join(predictions, predictions.c.seq == label_changes.c.prediction_seq)
                .where(label_changes.c.model == model, label_changes.c.seq > after_seq)
                .order_by(label_changes.c.seq)
                .limit(_LABEL_PAGE)
            )
            with self.transaction() as connection:
                rows = connection.execute(query).all()
            for row in rows:
                yield LabelChange(
                    seq=row.seq,
                    prediction_id=row.id,
                    model=row.model,
                    version=row.version,
                    timestamp=row.timestamp,
                )
            if len(rows) < _LABEL_PAGE:
                return
            after_seq = rows[-1].seq

    # -- monitor state -----------------------------------------------------------------------
    def put_window(self, summary: WindowSummary) -> None:
        self.put_windows([summary])

    def put_windows(
        self,
        summaries: Sequence[WindowSummary],
        *,
        watermarks: Sequence[tuple[str, str, int]] = (),
    ) -> None:
        now = datetime.now(UTC)
        windows: dict[tuple[Any, ...], dict[str, Any]] = {}
        for summary in summaries:
            row = {
                "model": summary.model,
                "version": summary.version,
                "window_start": _utc(summary.start, "window start"),
                "window_end": _utc(summary.end, "window end"),
                "segment": summary.segment,
                "payload": bytes(summary.payload),
                "updated_at": now,
            }
            # The last summary of a key wins, as if they had been put one after another.
            windows[tuple(row[name] for name in _WINDOW_KEY)] = row
        marks: dict[tuple[str, str], dict[str, Any]] = {}
        for job, model, seq in watermarks:
            if not isinstance(seq, int) or seq < 0:
                raise ValueError(f"watermark of {job!r} for {model!r} must be an int >= 0: {seq!r}")
            marks[job, model] = {"job": job, "model": model, "seq": seq, "updated_at": now}
        if not windows and not marks:
            return
        with self.transaction(write=True) as connection:
            if windows:
                connection.execute(
                    self._upsert(window_summaries, _WINDOW_KEY), list(windows.values())
                )
            if marks:
                connection.execute(
                    self._upsert(watermarks_table, ("job", "model")), list(marks.values())
                )

    def _upsert(self, table: sa.Table, key: Sequence[str]) -> sa.Executable:
        """INSERT ... ON CONFLICT (key) DO UPDATE SET every other column (both dialects)."""
        if self._postgres:
            pg_insert = postgresql.insert(table)
            pg_values = {
                column.name: pg_insert.excluded[column.name]
                for column in table.columns
                if column.name not in key
            }
            return pg_insert.on_conflict_do_update(index_elements=list(key), set_=pg_values)
        lite_insert = sqlite.insert(table)
        lite_values = {
            column.name: lite_insert.excluded[column.name]
            for column in table.columns
            if column.name not in key
        }
        return lite_insert.on_conflict_do_update(index_elements=list(key), set_=lite_values)

    def get_windows(
        self,
        model: str,
        *,
        version: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = None,
    ) -> list[WindowSummary]:
        table = window_summaries
        query = sa.select(table).where(table.c.model == model)
        if version is not None:
            query = query.where(table.c.version == version)
        if start is not None:
            query = query.where(table.c.window_start >= _utc(start, "start"))
        if end is not None:
            query = query.where(table.c.window_start < _utc(end, "end"))
        if segment is not None:
            query = query.where(table.c.segment == segment)
        query = query.order_by(
            table.c.window_start, table.c.segment, table.c.version, table.c.window_end
        )
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [_window_summary(row) for row in rows]

    # -- alerts ------------------------------------------------------------------------------
    def put_alert(self, alert: StoredAlert, events: Sequence[AlertEvent] = ()) -> None:
        row = {
            "id": alert.id,
            "rule": alert.rule,
            "model": alert.model,
            "segment": alert.segment,
            "state": alert.state,
            "severity": alert.severity,
            "started_at": _utc(alert.started_at, "started_at"),
            "updated_at": _utc(alert.updated_at, "updated_at"),
            "alert": _encode(alert.alert),
            "acknowledged_at": alert.acknowledged_at,
            "acknowledged_by": alert.acknowledged_by,
            "notified_at": alert.notified_at,
            "notified_severity": alert.notified_severity,
        }
        with self.transaction(write=True) as connection:
            connection.execute(self._upsert(alerts_table, ("id",)), [row])
            if events:
                connection.execute(alert_events.insert(), [_event_row(e) for e in events])

    def add_alert_events(self, events: Sequence[AlertEvent]) -> None:
        if events:
            with self.transaction(write=True) as connection:
                connection.execute(alert_events.insert(), [_event_row(e) for e in events])

    def get_alert(self, alert_id: str) -> StoredAlert | None:
        query = sa.select(alerts_table).where(alerts_table.c.id == alert_id)
        with self.transaction() as connection:
            row = connection.execute(query).first()
        return None if row is None else _stored_alert(row)

    def list_alerts(
        self, *, state: str | None = None, model: str | None = None, limit: int = 1000
    ) -> list[StoredAlert]:
        query = sa.select(alerts_table)
        if state is not None:
            query = query.where(alerts_table.c.state == state)
        if model is not None:
            query = query.where(alerts_table.c.model == model)
        query = query.order_by(alerts_table.c.updated_at.desc(), alerts_table.c.id).limit(limit)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [_stored_alert(row) for row in rows]

    def list_alert_events(
        self, *, alert_id: str | None = None, kind: str | None = None, limit: int = 1000
    ) -> list[AlertEvent]:
        query = sa.select(alert_events)
        if alert_id is not None:
            query = query.where(alert_events.c.alert_id == alert_id)
        if kind is not None:
            query = query.where(alert_events.c.kind == kind)
        query = query.order_by(alert_events.c.seq.desc()).limit(limit)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [
            AlertEvent(row.alert_id, row.kind, row.at, _decode(row.details), row.seq)
            for row in rows
        ]

    def count_alert_events(self, kind: str) -> dict[tuple[str, str], int]:
        query = sa.select(alert_events.c.details).where(alert_events.c.kind == kind)
        counts: dict[tuple[str, str], int] = {}
        with self.transaction() as connection:
            for (text,) in connection.execute(query):
                details = _decode(text)
                key = (str(details.get("sink", "")), str(details.get("event", "")))
                counts[key] = counts.get(key, 0) + 1
        return counts

    def add_silence(self, silence: Silence) -> None:
        with self.transaction(write=True) as connection:
            connection.execute(
                silences_table.insert().values(
                    id=silence.id,
                    matchers=_encode(silence.matchers),
                    starts_at=silence.starts_at,
                    ends_at=silence.ends_at,
                    created_by=silence.created_by,
                    comment=silence.comment,
                    created_at=silence.created_at,
                )
            )

    def list_silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        table = silences_table
        query = sa.select(table)
        if active_at is not None:
            at = _utc(active_at, "active_at")
            query = query.where(table.c.starts_at <= at, table.c.ends_at > at)
        query = query.order_by(table.c.created_at.desc(), table.c.id)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [
            Silence(
                row.id,
                _decode(row.matchers),
                row.starts_at,
                row.ends_at,
                row.created_by,
                row.comment,
                row.created_at,
            )
            for row in rows
        ]

    def end_silence(self, silence_id: str, at: datetime) -> bool:
        table = silences_table
        moment = _utc(at, "at")
        with self.transaction(write=True) as connection:
            found = connection.execute(
                sa.select(table.c.ends_at).where(table.c.id == silence_id)
            ).first()
            if found is None:
                return False
            if found.ends_at > moment:
                connection.execute(
                    table.update().where(table.c.id == silence_id).values(ends_at=moment)
                )
        return True

    def get_watermark(self, job: str, model: str) -> int:
        table = watermarks_table
        query = sa.select(table.c.seq).where(table.c.job == job, table.c.model == model)
        with self.transaction() as connection:
            seq = connection.execute(query).scalar_one_or_none()
        return 0 if seq is None else int(seq)

    def set_watermark(self, job: str, model: str, seq: int) -> None:
        self.put_windows((), watermarks=[(job, model, seq)])


predictions_insert: Final = predictions.insert()
_COMPACT_ROWS: Final = 5_000  # rows per compacted batch (one short write transaction each)
_INSERT_COLUMNS: Final = (
    "id",
    "model",
    "version",
    "timestamp",
    "batch_seq",
    "batch_row",
    "features",
    "output",
    "score",
)
_SQLITE_ROW: Final = f"({', '.join('?' * len(_INSERT_COLUMNS))})"


@functools.lru_cache(maxsize=64)
def _sqlite_insert_sql(rows: int) -> str:
    return f"INSERT INTO predictions ({', '.join(_INSERT_COLUMNS)}) VALUES " + ", ".join(
        [_SQLITE_ROW] * rows
    )


def _sqlite_rows_per_statement(connection: Connection) -> int:
    """Rows per INSERT within SQLite's limit on bound variables (999 before SQLite 3.32)."""
    driver = connection.connection.driver_connection
    limit = 999
    getlimit = getattr(driver, "getlimit", None)  # Python 3.11+
    if getlimit is not None:
        limit = int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return max(1, min(1000, limit // len(_INSERT_COLUMNS)))


def _postgres_copy(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """COPY the rows in (psycopg's ``copy``): binding them through SQLAlchemy's multi-row
    VALUES cost more per row than the database did."""
    driver = connection.connection.driver_connection
    statement = f"COPY predictions ({', '.join(_INSERT_COLUMNS)}) FROM STDIN"
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(tuple(row[name] for name in _INSERT_COLUMNS))
    except dbapi_error as error:  # as SQLAlchemy would wrap it, for the store's translation
        raise exc.DBAPIError.instance(statement, None, error, dbapi_error) from error


def _sqlite_time(value: datetime) -> str:
    """A UTC datetime as SQLAlchemy's SQLite DATETIME stores it (text that sorts in time)."""
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _sqlite_parameters(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    times: dict[datetime, str] = {}  # the rows of one request usually share a timestamp
    out = []
    for row in rows:
        at = row["timestamp"]
        text = times.get(at)
        if text is None:
            text = times[at] = _sqlite_time(at.replace(tzinfo=None))
        out.append(
            (
                row["id"],
                row["model"],
                row["version"],
                text,
                row["batch_seq"],
                row["batch_row"],
                row["features"],
                row["output"],
                row["score"],
            )
        )
    return out


_WINDOW_KEY: Final = ("model", "version", "window_start", "window_end", "segment")
_LABEL_UPDATE: Final = (
    predictions.update()
    .where(predictions.c.seq == sa.bindparam("b_seq"))
    .values(label=sa.bindparam("b_label"), labelled_at=sa.bindparam("b_labelled_at"))
)

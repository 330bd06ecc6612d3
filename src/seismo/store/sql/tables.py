"""The store's tables (SQLAlchemy Core) and how values are written into them."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from seismo.store import columnar

_LOOKUP_CHUNK: Final = 1_000  # ids per IN (...) lookup

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
    sa.Column("parent_version", sa.Integer, nullable=True),
    sa.Column("status", sa.String, nullable=False, server_default="registered"),
    sa.Column("lineage", sa.Text, nullable=False, server_default="{}"),  # JSON object
)

# Which version serves a model, and the challenger rolled out beside it (canary or shadow).
rollouts = sa.Table(
    "rollouts",
    metadata,
    sa.Column("model", sa.String, primary_key=True),
    sa.Column("champion", sa.Integer, nullable=False),
    sa.Column("challenger", sa.Integer, nullable=True),
    sa.Column("mode", sa.String, nullable=True),  # "canary" | "shadow" | NULL
    sa.Column("share", sa.Float, nullable=False),  # canary: share of traffic to the challenger
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# Every decision of the closed loop (retrain fired or not, validation, promotion, rollback),
# with its evidence: append-only.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("seq", _Seq, sa.Identity(), primary_key=True),
    sa.Column("model", sa.String, nullable=False),
    sa.Column("kind", sa.String, nullable=False),
    sa.Column("outcome", sa.String, nullable=False),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # JSON object
    sa.Index(None, "model", "seq"),
    sqlite_autoincrement=True,
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
    # Ids are unique per model version: a champion and its shadow log the same request id.
    sa.UniqueConstraint("model", "version", "id"),
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


def _window_key() -> list[sa.Column[Any]]:
    """A window's key: model, version, start, end, segment (fresh columns for each table)."""
    return [
        sa.Column("model", sa.String, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("window_start", UTCDateTime, primary_key=True),
        sa.Column("window_end", UTCDateTime, primary_key=True),
        sa.Column("segment", sa.String, primary_key=True),
    ]


window_summaries = sa.Table(
    "window_summaries",
    metadata,
    *_window_key(),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index(None, "model", "window_start"),  # get_windows across versions
)

# A window's digest (small JSON) beside its summary, in a table of its own: in SQLite a column
# after a large payload is reached only by walking the payload's overflow pages.
window_digests = sa.Table(
    "window_digests",
    metadata,
    *_window_key(),
    sa.Column("updated_at", UTCDateTime, nullable=False),  # the summary's it was computed from
    sa.Column("digest", sa.Text, nullable=False),
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

monitor_errors = sa.Table(
    "monitor_errors",
    metadata,
    sa.Column("model", sa.String, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("window_start", UTCDateTime, primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("token_hash", sa.String, nullable=False),  # SHA-256 hex of the token
    sa.Column("scopes", sa.Text, nullable=False),  # JSON list
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.UniqueConstraint("token_hash"),
)

ui_sessions = sa.Table(
    "ui_sessions",
    metadata,
    sa.Column("id_hash", sa.String, primary_key=True),  # SHA-256 hex of the cookie's value
    sa.Column("token_hash", sa.String, nullable=True),  # the token signed in with; None: open
    sa.Column("csrf", sa.String, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Index(None, "expires_at"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("holder", sa.String, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

_Row: TypeAlias = "sa.Row[*tuple[Any, ...]]"
_PREDICTION_ID_CONSTRAINT: Final = "uq_predictions_model_version_id"
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


_Key = TypeVar("_Key", bound=Hashable)


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for first in range(0, len(values), size):
        yield values[first : first + size]


def _first_repeated(values: Iterable[_Key]) -> _Key | None:
    seen: set[_Key] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None

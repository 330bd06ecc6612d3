"""Predictions: bulk writes (columnar batches or JSON rows), reads by window, compaction
and retention."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy import exc
from sqlalchemy.engine import Connection

from seismo.store import columnar
from seismo.store.base import (
    COMPACTION_JOB,
    RETENTION_JOB,
    DuplicatePrediction,
    Prediction,
    StoredPrediction,
    StoreError,
    WindowData,
)
from seismo.store.sql.engine import (
    SQLBase,
)
from seismo.store.sql.tables import (
    _LOOKUP_CHUNK,
    _PREDICTION_COLUMNS,
    COLUMNAR_MIN_ROWS,
    _chunks,
    _decode,
    _encode,
    _first_repeated,
    _Row,
    _utc,
    label_changes,
    prediction_batches,
    predictions,
    watermarks_table,
)

_WINDOW_PAGE: Final = 50_000  # rows fetched at a time when reading a window

_BATCH_CHUNK: Final = 64  # columnar batches fetched per query


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


class Predictions(SQLBase):
    # -- predictions -------------------------------------------------------------------------
    def add_predictions(self, predictions: Sequence[Prediction]) -> None:
        if not predictions:
            return
        rows = [_prediction_row(prediction) for prediction in predictions]
        keys = [(row["model"], row["version"], row["id"]) for row in rows]
        repeated = _first_repeated(keys)
        if repeated is not None:
            raise DuplicatePrediction(
                f"prediction id {repeated[2]!r} of model {repeated[0]!r} version {repeated[1]} "
                f"appears twice in one batch; none of the batch's {len(rows)} predictions were "
                "stored"
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
            raise self._name_duplicates(keys, error) from error.__cause__

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

    def _name_duplicates(
        self, keys: Sequence[tuple[str, int, str]], error: DuplicatePrediction
    ) -> StoreError:
        by_version: dict[tuple[str, int], list[str]] = {}
        for model, version, prediction_id in keys:
            by_version.setdefault((model, version), []).append(prediction_id)
        try:
            existing: list[tuple[str, int, str]] = []
            with self.transaction() as connection:
                for (model, version), ids in by_version.items():
                    for chunk in _chunks(ids, _LOOKUP_CHUNK):
                        query = sa.select(predictions.c.id).where(
                            predictions.c.model == model,
                            predictions.c.version == version,
                            predictions.c.id.in_(chunk),
                        )
                        existing.extend(
                            (model, version, found) for found in connection.execute(query).scalars()
                        )
        except StoreError:
            return error
        if not existing:
            return error
        order = {key: index for index, key in enumerate(keys)}
        existing.sort(key=order.__getitem__)
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        model, version, first = existing[0]
        return DuplicatePrediction(
            f"prediction id {first!r} of model {model!r} version {version} already exists"
            f"{more}; none of the batch's {len(keys)} predictions were stored"
        )

    def get_prediction(
        self, prediction_id: str, *, model: str | None = None
    ) -> StoredPrediction | None:
        query = sa.select(*_PREDICTION_COLUMNS).where(predictions.c.id == prediction_id)
        if model is not None:
            query = query.where(predictions.c.model == model)
        query = query.order_by(predictions.c.seq).limit(1)
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
        # The horizon first: from here on the monitor leaves these windows alone, so a prune
        # cut short never lets a window be rebuilt from half its rows.
        with self.transaction(write=True) as connection:
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
        deleted = 0
        doomed = (
            sa.select(c.seq, c.batch_seq)
            .where(c.model == model, c.timestamp < cutoff)
            .order_by(c.seq)
            .limit(_DELETE_ROWS)
        )
        while True:
            # One short write transaction per chunk: ingest waits at most one chunk.
            with self.transaction(write=True) as connection:
                self._serialise_writers(connection, "predictions")
                rows = connection.execute(doomed).all()
                if not rows:
                    break
                seqs = [row.seq for row in rows]
                touched = sorted({row.batch_seq for row in rows if row.batch_seq is not None})
                for chunk in _chunks(seqs, _LOOKUP_CHUNK):
                    # Explicitly, rather than trusting ON DELETE CASCADE to be enforced.
                    connection.execute(
                        label_changes.delete().where(label_changes.c.prediction_seq.in_(chunk))
                    )
                    deleted += connection.execute(
                        predictions.delete().where(c.seq.in_(chunk))
                    ).rowcount
                for chunk in _chunks(touched, _LOOKUP_CHUNK):
                    still_used = sa.select(c.batch_seq).where(c.batch_seq.in_(chunk))
                    connection.execute(
                        batches.delete().where(
                            batches.c.seq.in_(chunk), batches.c.seq.not_in(still_used)
                        )
                    )
            if len(rows) < _DELETE_ROWS:
                break
        return int(deleted)


predictions_insert: Final = predictions.insert()
_COMPACT_ROWS: Final = 5_000  # rows per compacted batch (one short write transaction each)
# Rows deleted per write transaction by a prune. Measured on SQLite, 1M rows (2 busy cores):
# each transaction held the write lock 0.2 s (median; longest 0.8 s), where one transaction
# for all of them held it 13 s.
_DELETE_ROWS: Final = 5_000
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

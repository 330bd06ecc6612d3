"""The monitor over a data lake: predictions and labels logged outside the service (serving ->
Kafka -> Parquet), summarised per window and segment on Spark, written to seismo's store.

The summaries are the ones :class:`seismo.monitor.Monitor` writes for the same rows, built by
the same code (:func:`seismo.monitor.job.summarize_rows`), so alerts, ``/metrics``, the API and
the UI read them unchanged. A run is a map and a reduce: each partition summarises its rows per
(version, window, segment) and only those summaries are shuffled and merged (WindowState
merges), never rows.

Predictions: one row per prediction with an id, a timestamp (the prediction's time; naive
timestamps are UTC), the model's output, optionally a score and a version column, and the
model's feature columns. Labels: a prediction id, the label, optionally when it was received
(for label delays). A prediction's label is the one received last.

What a run rebuilds: every window the first time (or with ``full``); after that only the
windows holding rows of prediction files newer than the last run, and the windows of the
predictions that label files newer than the last run label. Files are told new by their
modification time (Spark's ``_metadata.file_modification_time``), kept as watermarks in the
store with the summaries, in one transaction. The windows to rebuild are read with a filter on
the timestamp, which Spark uses to skip files (hive partitions) and row groups. Rebuilding a
window replaces its summaries: a re-run over the same data writes the same summaries.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seismo.errors import InputError
from seismo.monitor.job import LEASE, OTHER, MonitorSettings, RunReport
from seismo.spark.profiles import _column, _first_line, named_back, positional, session

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from seismo.monitor.windows import WindowState
    from seismo.profile.dataset import Reference
    from seismo.store.base import ModelVersion, Store

log = logging.getLogger("seismo.monitor")

PREDICTION_FILES_JOB = "monitor.lake.predictions"
LABEL_FILES_JOB = "monitor.lake.labels"
_MTIME = "__seismo_mtime"
_VERSION = "__seismo_version"
_LABEL = "__seismo_label"
_LABELLED_AT = "__seismo_labelled_at"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LakeColumns:
    """Where seismo finds what it needs in the lake's tables (the features are the model's
    feature columns, by name)."""

    id: str = "id"
    timestamp: str = "timestamp"
    version: str = "version"  # used when the predictions have it, else the run's version
    prediction: str = "prediction"
    score: str = "score"  # used when the predictions have it
    label: str = "label"
    received_at: str = "received_at"  # used when the labels have it (label delays)
    #: A hive partition column holding the prediction's date (``date=2026-12-04``): windows
    #: to rebuild are then read from their days' directories only.
    partition: str | None = None


@dataclass
class LakeRun(RunReport):
    """What one run over the lake did."""

    prediction_files_after: int = 0  # the watermarks it started from (ms since the epoch)
    label_files_after: int = 0
    full: bool = False
    touched: list[tuple[int, datetime]] = field(default_factory=list)


def monitor_lake(
    store: Store,
    model: str,
    predictions: str | Path,
    labels: str | Path | None = None,
    *,
    settings: MonitorSettings | None = None,
    version: int | None = None,
    columns: LakeColumns | None = None,
    spark: SparkSession | None = None,
    full: bool = False,
) -> LakeRun:
    """Summarise the lake's new windows of ``model`` into ``store`` (see the module)."""
    settings = settings or MonitorSettings()
    columns = columns or LakeColumns()
    spark = spark or session()
    # One monitor run at a time per store, this one or the service's (the same lease).
    holder = f"{socket.gethostname()}:{os.getpid()}:lake:{uuid.uuid4().hex[:8]}"
    if not _lease(store, holder, settings):
        return LakeRun(busy="another monitor run")
    try:
        renew = lambda: _lease(store, holder, settings)  # noqa: E731 - kept between phases
        return _run(
            store, model, predictions, labels, settings, version, columns, spark, full, renew
        )
    finally:
        store.release_lease(LEASE, holder)


def _lease(store: Store, holder: str, settings: MonitorSettings) -> bool:
    now = datetime.now(UTC)
    return store.acquire_lease(LEASE, holder, until=now + settings.lease, now=now)


def _run(
    store: Store,
    model: str,
    predictions: str | Path,
    labels: str | Path | None,
    settings: MonitorSettings,
    version: int | None,
    columns: LakeColumns,
    spark: SparkSession,
    full: bool,
    renew: Callable[[], bool],
) -> LakeRun:
    run = LakeRun(
        prediction_files_after=store.get_watermark(PREDICTION_FILES_JOB, model),
        label_files_after=store.get_watermark(LABEL_FILES_JOB, model),
    )
    run.full = full or run.prediction_files_after == 0
    frame = _read(spark, str(predictions))
    if frame is None:
        raise InputError(
            f"{predictions}: no Parquet files there (names starting with _ or . are skipped)"
        )
    _require(
        frame, [columns.id, columns.timestamp, columns.prediction], str(predictions), "predictions"
    )
    _require(frame, list(settings.segments), str(predictions), "predictions (segments)")
    if columns.partition is not None:
        _require(frame, [columns.partition], str(predictions), "predictions (partition)")
    frame = _with_version(frame, columns, _default_version(store, model, frame, columns, version))
    label_frame = None
    if labels is not None:
        label_frame = _read(spark, str(labels))
        if label_frame is not None:
            _require(label_frame, [columns.id, columns.label], str(labels), "labels")
    window = settings.window
    # Files newer than the last run (Spark prunes the others by their listing), up to the
    # newest seen now: a file landing during the run is left to the next one, not skipped.
    after = 0 if run.full else run.prediction_files_after
    new_predictions = frame.filter(F().col(_MTIME) > after)
    prediction_mark = _latest_mtime(new_predictions)
    new_predictions = new_predictions.filter(F().col(_MTIME) <= prediction_mark)
    touched = _windows(new_predictions, columns, window)
    label_mark = 0
    if label_frame is not None:
        after = 0 if run.full else run.label_files_after
        fresh = label_frame.filter(F().col(_MTIME) > after)
        label_mark = _latest_mtime(fresh)
        fresh = fresh.filter(F().col(_MTIME) <= label_mark)
        if not run.full:
            touched |= _labelled_windows(frame, fresh, columns, window, store, model)
    versions = _versions(store, model, sorted({v for v, _ in touched}))
    _require(frame, _features(versions), str(predictions), "predictions")
    run.touched = sorted(touched)
    summaries = []
    if touched:
        rows = _joined(frame, label_frame, columns)
        rows = _in_windows(rows, columns, window, touched, frame.schema[columns.timestamp])
        keep = _kept_segments(rows, columns, settings, touched)
        states = _states(rows, versions, columns, settings, touched, keep)
        summaries = _summaries(model, versions, states, window)
        run.windows = sorted({(model, s.version, s.start) for s in summaries})
        run.predictions_read = sum(
            _state_rows(state) for (_, _, segment), state in states.items() if segment == ""
        )
    renew()  # the Spark jobs may have run for long: the lease is renewed before the write
    store.put_windows(
        summaries,
        watermarks=[
            (PREDICTION_FILES_JOB, model, max(prediction_mark, run.prediction_files_after)),
            (LABEL_FILES_JOB, model, max(label_mark, run.label_files_after)),
        ],
    )
    return run


def F() -> Any:
    from pyspark.sql import functions

    return functions


# --------------------------------------------------------------------------- reading


def _read(spark: SparkSession, path: str) -> DataFrame | None:
    """The Parquet data at ``path`` with each row's file time; None for a local directory
    that holds no data file yet (labels that have not arrived)."""
    local = "://" not in path
    if local and not Path(path).exists() and not any(c in path for c in "*?["):
        raise InputError(f"{path}: no such file or directory")
    if local and Path(path).is_dir():
        from seismo.io.sources import parquet_files

        if not parquet_files(path)[1]:
            return None
    try:
        frame = spark.read.parquet(path)
    except Exception as error:
        raise InputError(f"{path}: Spark cannot read it ({_first_line(error)})") from error
    millis = F().unix_millis(F().col("_metadata.file_modification_time"))
    return frame.withColumn(_MTIME, millis)


def _require(frame: DataFrame, names: Sequence[str], path: str, what: str) -> None:
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise InputError(
            f"{path}: the {what} have no column(s) {missing}; their columns are "
            f"{[c for c in frame.columns if c != _MTIME]}"
        )


def _default_version(
    store: Store, model: str, frame: DataFrame, columns: LakeColumns, version: int | None
) -> int | None:
    """The version of predictions that do not name one: ``version``, else the newest
    registered (None when the predictions have a version column and none is given)."""
    if version is not None or columns.version in frame.columns:
        return version
    registered = store.list_model_versions(model)
    if not registered:
        raise InputError(
            f"model {model!r} is not registered in the store; register it first "
            "(seismo models register)"
        )
    return max(v.version for v in registered)


def _versions(
    store: Store, model: str, wanted: Sequence[int]
) -> dict[int, tuple[ModelVersion, Reference]]:
    """The registered versions the rebuilt windows hold, with their references."""
    from seismo.profile.dataset import Reference

    versions = {}
    for number in wanted:
        found = store.get_model_version(model, number)
        if found is None:
            raise InputError(
                f"model {model!r} has no version {number} in the store; register it first "
                "(seismo models register)"
            )
        versions[number] = (found, Reference.from_bytes(found.reference))
    return versions


def _labelled_windows(
    frame: DataFrame,
    fresh: DataFrame,
    columns: LakeColumns,
    window: timedelta,
    store: Store,
    model: str,
) -> set[tuple[int, datetime]]:
    """The windows of the predictions that new labels label. Labels that carry their
    prediction's timestamp say it themselves (every version's window then); others are found
    by their ids among the predictions (a scan of the id, timestamp and version columns)."""
    if columns.timestamp in fresh.columns:
        numbers = [v.version for v in store.list_model_versions(model)]
        stamped = fresh.select(_column(columns.timestamp)).withColumn(_VERSION, F().lit(0))
        found = _windows(stamped, columns, window)
        return {(number, start) for _, start in found for number in numbers}
    ids = fresh.select(_column(columns.id)).distinct()
    labelled = frame.join(ids, on=columns.id, how="left_semi")
    return _windows(labelled, columns, window)


def _features(versions: dict[int, tuple[ModelVersion, Reference]]) -> list[str]:
    return sorted({name for found, _ in versions.values() for name in found.features})


def _with_version(frame: DataFrame, columns: LakeColumns, version: int | None) -> DataFrame:
    """The frame with the version of each prediction (its column, else ``version``)."""
    if columns.version in frame.columns and version is None:
        return frame.withColumn(_VERSION, F().col(columns.version).cast("long"))
    return frame.withColumn(_VERSION, F().lit(version).cast("long"))


def _latest_mtime(frame: DataFrame | None) -> int:
    if frame is None:
        return 0
    value = frame.select(F().max(_MTIME)).collect()[0][0]
    return 0 if value is None else int(value)


def _joined(frame: DataFrame, labels: DataFrame | None, columns: LakeColumns) -> DataFrame:
    """Each prediction with its label (the last received) and when it was received."""
    if labels is None:
        return frame.withColumn(_LABEL, F().lit(None)).withColumn(_LABELLED_AT, F().lit(None))
    from pyspark.sql import Window

    received = (
        F().col(columns.received_at)
        if columns.received_at in labels.columns
        else F().lit(None).cast("timestamp")
    )
    latest = labels.select(
        F().col(columns.id).alias("__seismo_id"),
        F().col(columns.label).alias(_LABEL),
        received.alias(_LABELLED_AT),
        F().col(_MTIME).alias("__seismo_label_mtime"),
    )
    # Labels in the order they arrived; the label is the last one, labelled when its value
    # was first received (a label sent again unchanged keeps that time, as the service does).
    arrival = Window.partitionBy("__seismo_id").orderBy(
        F().col(_LABELLED_AT).asc_nulls_first(), F().col("__seismo_label_mtime")
    )
    before = F().lag(_LABEL).over(arrival)
    changed = before.isNull() | (before != F().col(_LABEL))
    since = (
        F()
        .last(F().when(changed, F().col(_LABELLED_AT)), ignorenulls=True)
        .over(arrival.rowsBetween(Window.unboundedPreceding, Window.currentRow))
    )
    last = Window.partitionBy("__seismo_id").orderBy(
        F().col(_LABELLED_AT).desc_nulls_last(), F().col("__seismo_label_mtime").desc()
    )
    latest = (
        latest.withColumn("__seismo_since", since)
        .withColumn("__seismo_rank", F().row_number().over(last))
        .filter(F().col("__seismo_rank") == 1)
        .select("__seismo_id", _LABEL, F().col("__seismo_since").alias(_LABELLED_AT))
    )
    joined = frame.join(latest, frame[columns.id] == latest["__seismo_id"], "left")
    return joined.drop("__seismo_id")


def _in_windows(
    rows: DataFrame,
    columns: LakeColumns,
    window: timedelta,
    touched: set[tuple[int, datetime]],
    timestamp_field: Any,
) -> DataFrame:
    """Only rows in the span of the windows to rebuild (a filter Spark prunes files with)."""
    from pyspark.sql.types import TimestampNTZType, TimestampType

    first = min(start for _, start in touched)
    last = max(start for _, start in touched) + window
    kind = timestamp_field.dataType
    if isinstance(kind, TimestampNTZType):  # wall-clock times, read as UTC
        low = F().lit(first.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp_ntz")
        high = F().lit(last.strftime("%Y-%m-%d %H:%M:%S")).cast("timestamp_ntz")
    elif isinstance(kind, TimestampType):  # instants
        low = F().timestamp_micros(F().lit(_micros(first)))
        high = F().timestamp_micros(F().lit(_micros(last)))
    else:
        return rows  # a date or other type: each row's window is checked in the map
    ts = F().col(columns.timestamp)
    rows = rows.filter((ts >= low) & (ts < high))
    if columns.partition is not None:
        # A day either side: the partition's date may be in the writer's time zone.
        days = F().col(columns.partition).cast("date")
        since = F().lit((first - timedelta(days=1)).date().isoformat()).cast("date")
        until = F().lit((last + timedelta(days=1)).date().isoformat()).cast("date")
        rows = rows.filter(days.between(since, until))
    return rows


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


# --------------------------------------------------------------------------- the jobs


def _windows(
    frame: DataFrame, columns: LakeColumns, window: timedelta
) -> set[tuple[int, datetime]]:
    """The (version, window start) pairs the frame's predictions fall in."""
    task = _WindowsTask(columns.timestamp, window)
    found = positional(frame, [columns.timestamp], [_VERSION]).mapInArrow(
        task, "version long, window long"
    )
    pairs = found.distinct().collect()
    return {(int(row["version"]), _start(int(row["window"]), window)) for row in pairs}


def _start(index: int, window: timedelta) -> datetime:
    return _EPOCH + index * window


class _WindowsTask:
    def __init__(self, timestamp: str, window: timedelta) -> None:
        self.timestamp, self.window = timestamp, window

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np
        import pyarrow as pa

        seen: set[tuple[int, int]] = set()
        for batch in (named_back(b, [self.timestamp]) for b in batches):
            index = _window_index(batch.column(self.timestamp), self.window)
            versions = batch.column(_VERSION).to_numpy(zero_copy_only=False).astype(np.float64)
            ok = ~(np.isnan(index) | np.isnan(versions))
            pairs = zip(
                versions[ok].astype(np.int64).tolist(),
                index[ok].astype(np.int64).tolist(),
                strict=True,
            )
            seen.update(pairs)
        if seen:
            version, window = zip(*sorted(seen), strict=True)
            yield pa.RecordBatch.from_pydict(
                {"version": pa.array(version, pa.int64()), "window": pa.array(window, pa.int64())}
            )


def _window_index(array: Any, window: timedelta) -> Any:
    """Each timestamp's window number (windows aligned to the epoch); NaN where null."""
    import numpy as np

    from seismo.io.arrow import _seconds

    seconds = _seconds(array) if _is_time(array.type) else np.full(len(array), np.nan)
    return np.floor(seconds / window.total_seconds())


def _is_time(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type))


def _kept_segments(
    rows: DataFrame,
    columns: LakeColumns,
    settings: MonitorSettings,
    touched: set[tuple[int, datetime]],
) -> dict[tuple[int, int, str], set[str]] | None:
    """Per (version, window, segment column), the values that get their own summary: the
    ``max_segment_values`` most frequent (ties by value), when there are more."""
    if not settings.segments:
        return None
    task = _SegmentCountTask(columns.timestamp, settings, touched)
    names = [columns.timestamp, *settings.segments]
    counted = positional(rows, names, [_VERSION]).mapInArrow(
        task, "version long, window long, col string, value string, n long"
    )
    totals = counted.groupBy("version", "window", "col", "value").agg(F().sum("n").alias("n"))
    per_key: dict[tuple[int, int, str], list[tuple[int, str]]] = {}
    for row in totals.collect():
        key = (int(row["version"]), int(row["window"]), row["col"])
        per_key.setdefault(key, []).append((int(row["n"]), row["value"]))
    kept: dict[tuple[int, int, str], set[str]] = {}
    limit = settings.max_segment_values
    for key, values in per_key.items():
        if len(values) > limit:
            ranked = sorted(values, key=lambda item: (-item[0], item[1]))
            kept[key] = {value for _, value in ranked[:limit]}
    return kept


class _SegmentCountTask:
    def __init__(
        self, timestamp: str, settings: MonitorSettings, touched: set[tuple[int, datetime]]
    ) -> None:
        self.timestamp, self.settings = timestamp, settings
        self.touched = {(v, int((s - _EPOCH) / settings.window)) for v, s in touched}

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np
        import pyarrow as pa

        from seismo.monitor.job import _hashable

        counts: dict[tuple[int, int, str, str], int] = {}
        names = [self.timestamp, *self.settings.segments]
        for batch in (named_back(b, names) for b in batches):
            for (version, window), indices in _groups(
                batch, self.timestamp, self.settings.window, self.touched
            ):
                for column in self.settings.segments:
                    codes, distinct = _distinct(batch.column(column).take(indices))
                    tally = np.bincount(codes, minlength=len(distinct))
                    for value, n in zip(distinct, tally.tolist(), strict=True):
                        if n:
                            key = (version, window, column, str(_hashable(value)))
                            counts[key] = counts.get(key, 0) + n
        if counts:
            keys = list(counts)
            yield pa.RecordBatch.from_pydict(
                {
                    "version": pa.array([k[0] for k in keys], pa.int64()),
                    "window": pa.array([k[1] for k in keys], pa.int64()),
                    "col": pa.array([k[2] for k in keys], pa.string()),
                    "value": pa.array([k[3] for k in keys], pa.string()),
                    "n": pa.array([counts[k] for k in keys], pa.int64()),
                }
            )


def _groups(
    batch: pa.RecordBatch, timestamp: str, window: timedelta, touched: set[tuple[int, int]]
) -> Iterator[tuple[tuple[int, int], Any]]:
    """Row indices of the batch per (version, window), for the windows to rebuild."""
    import numpy as np
    import pyarrow as pa

    index = _window_index(batch.column(timestamp), window)
    versions = batch.column(_VERSION).to_numpy(zero_copy_only=False).astype(np.float64)
    rows = np.flatnonzero(~(np.isnan(index) | np.isnan(versions)))
    if not len(rows):
        return
    # Rows grouped by (version, window) with numpy: one sort, not a Python step per row.
    pairs = np.stack([versions[rows], index[rows]], axis=1).astype(np.int64)
    unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    bounds = np.cumsum(np.bincount(inverse.ravel(), minlength=len(unique)))[:-1]
    for (version, number), members in zip(
        unique.tolist(), np.split(rows[order], bounds), strict=True
    ):
        if (version, number) in touched:
            yield (version, number), pa.array(members, pa.int64())


def _states(
    rows: DataFrame,
    versions: dict[int, tuple[ModelVersion, Reference]],
    columns: LakeColumns,
    settings: MonitorSettings,
    touched: set[tuple[int, datetime]],
    kept: dict[tuple[int, int, str], set[str]] | None,
) -> dict[tuple[int, int, str], WindowState]:
    """Every (version, window, segment)'s state: summarised per partition, merged by key."""
    from seismo.monitor.windows import WindowState

    has_score = columns.score in rows.columns
    features = _features(versions)
    wanted = [columns.id, columns.timestamp, columns.prediction, *features]
    wanted += [columns.score] if has_score else []
    wanted += [c for c in settings.segments if c not in wanted]
    frame = positional(rows, wanted, [_VERSION, _LABEL, _LABELLED_AT])
    task = _StateTask(versions, columns, settings, touched, kept, has_score, wanted)
    states = frame.mapInArrow(task, "version long, window long, segment string, blob binary")
    merged = (
        states.rdd.map(lambda r: ((int(r[0]), int(r[1]), str(r[2])), bytes(r[3])))
        .reduceByKey(_merge_states)
        .collect()
    )
    return {key: WindowState.from_bytes(blob) for key, blob in merged}


def _merge_states(left: bytes, right: bytes) -> bytes:
    from seismo.monitor.windows import WindowState

    return WindowState.from_bytes(left).merge(WindowState.from_bytes(right)).to_bytes()


class _StateTask:
    """Summarises one partition's rows per (version, window, segment) (runs on an executor)."""

    def __init__(
        self,
        versions: dict[int, tuple[ModelVersion, Reference]],
        columns: LakeColumns,
        settings: MonitorSettings,
        touched: set[tuple[int, datetime]],
        kept: dict[tuple[int, int, str], set[str]] | None,
        has_score: bool,
        names: list[str],
    ) -> None:
        self.versions, self.columns, self.settings = versions, columns, settings
        self.names = names
        self.touched = {(v, int((s - _EPOCH) / settings.window)) for v, s in touched}
        self.kept, self.has_score = kept or {}, has_score

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        states: dict[tuple[int, int, str], WindowState] = {}
        gathered: list[pa.RecordBatch] = []
        # Batches gathered into large ones: a summary per window costs the same for 10 rows
        # as for 100,000.
        for batch in batches:
            gathered.append(named_back(batch, self.names))
            if sum(b.num_rows for b in gathered) >= 131_072:
                self._summarise(pa.Table.from_batches(gathered).combine_chunks(), states)
                gathered = []
        if gathered:
            self._summarise(pa.Table.from_batches(gathered).combine_chunks(), states)
        if states:
            keys = sorted(states)
            yield pa.RecordBatch.from_pydict(
                {
                    "version": pa.array([k[0] for k in keys], pa.int64()),
                    "window": pa.array([k[1] for k in keys], pa.int64()),
                    "segment": pa.array([k[2] for k in keys], pa.string()),
                    "blob": pa.array([states[k].to_bytes() for k in keys], pa.binary()),
                }
            )

    def _summarise(self, table: pa.Table, states: dict[tuple[int, int, str], WindowState]) -> None:
        batch = table.to_batches()[0] if table.num_rows else None
        if batch is None:
            return
        for (version, window), indices in _groups(
            batch, self.columns.timestamp, self.settings.window, self.touched
        ):
            rows = self._rows(batch, version, indices)
            groups: dict[str, Any] = {"": None}
            for column in self.settings.segments:
                groups.update(self._segments(batch, version, window, column, indices))
            found, reference = self.versions[version]
            from seismo.monitor.job import summarize_rows

            for segment, members in groups.items():
                part = rows if members is None else rows.select(members)
                state = summarize_rows(found, reference, part)
                key = (version, window, segment)
                states[key] = state if key not in states else states[key].merge(state)

    def _rows(self, batch: pa.RecordBatch, version: int, indices: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        from seismo.io.arrow import _seconds
        from seismo.monitor.job import _Rows

        found, _ = self.versions[version]
        taken = batch.take(indices)
        columns = self.columns

        def column(name: str) -> pa.ChunkedArray:
            return pa.chunked_array([taken.column(name)])

        labels = taken.column(_LABEL).to_pylist()
        predicted = _seconds(taken.column(columns.timestamp))
        labelled_at = taken.column(_LABELLED_AT)
        received = (
            _seconds(labelled_at) if _is_time(labelled_at.type) else np.full(taken.num_rows, np.nan)
        )
        delays = np.where([label is not None for label in labels], received - predicted, np.nan)
        return _Rows(
            features={name: column(name) for name in found.features},
            outputs=column(columns.prediction),
            scores=column(columns.score) if self.has_score else [None] * taken.num_rows,
            labels=labels,
            delays=np.asarray(delays, dtype=np.float64),
        )

    def _segments(
        self, batch: pa.RecordBatch, version: int, window: int, column: str, indices: Any
    ) -> dict[str, Any]:
        import numpy as np

        from seismo.monitor.job import _hashable

        codes, distinct = _distinct(batch.column(column).take(indices))
        kept = self.kept.get((version, window, column))
        order = np.argsort(codes, kind="stable")
        starts = np.searchsorted(codes[order], np.arange(len(distinct) + 1))
        names: dict[str, list[Any]] = {}
        for code, value in enumerate(distinct):
            rows = order[starts[code] : starts[code + 1]]
            if len(rows):
                text = str(_hashable(value))
                shown = _hashable(value) if kept is None or text in kept else OTHER
                names.setdefault(f"{column}={shown}", []).append(rows)
        found = {name: np.sort(np.concatenate(parts)) for name, parts in names.items()}
        # In the order the rows first show them, as one pass over the rows would.
        return dict(sorted(found.items(), key=lambda item: int(item[1][0])))


def _distinct(values: pa.Array) -> tuple[Any, list[Any]]:
    """Each value's code (an index into the distinct values, missing as ``None`` last) and
    the distinct values: Python work per distinct value, not per row."""
    import numpy as np
    import pyarrow as pa

    try:
        encoded = values.dictionary_encode()
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested values: by their Python form
        from seismo.monitor.job import _hashable

        seen: dict[str, int] = {}
        firsts: list[Any] = []
        codes = []
        for value in values.to_pylist():
            code = seen.setdefault(str(_hashable(value)), len(seen))
            if code == len(firsts):
                firsts.append(value)
            codes.append(code)
        return np.asarray(codes, dtype=np.intp), firsts
    distinct = encoded.dictionary.to_pylist()
    missing = len(distinct)
    codes = encoded.indices.fill_null(missing).to_numpy(zero_copy_only=False).astype(np.intp)
    return codes, [*distinct, None]


def _state_rows(state: WindowState) -> int:
    return state.rows


def _summaries(
    model: str,
    versions: dict[int, tuple[ModelVersion, Reference]],
    states: dict[tuple[int, int, str], WindowState],
    window: timedelta,
) -> list[Any]:
    from seismo.monitor.digest import digest_of
    from seismo.monitor.history import Window
    from seismo.store.base import WindowSummary

    now = datetime.now(UTC)
    summaries = []
    for (version, index, segment), state in sorted(states.items()):
        start = _start(index, window)
        reference = versions[version][1]
        summary = WindowSummary(model, version, start, start + window, segment, b"", now)
        digest = digest_of(Window(summary, state, lambda r=reference: r)).to_json()
        summaries.append(replace(summary, payload=state.to_bytes(), digest=digest))
    return summaries

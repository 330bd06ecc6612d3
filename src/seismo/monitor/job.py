"""The monitor job: turn newly logged predictions and labels into window summaries.

Each run reads what arrived after its watermarks (predictions by ingestion sequence, labels by
the label change log), finds the windows they belong to, and rebuilds exactly those windows from
their rows. Rebuilding a window is idempotent, so a crash between writing summaries and moving
the watermarks only repeats work: no row is ever counted twice. The cost of a run depends on
the windows touched, not on the history.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from seismo.errors import InputError
from seismo.io.sources import open_source
from seismo.monitor.digest import digest_of
from seismo.monitor.history import Window
from seismo.monitor.windows import Performance, WindowState, window_start
from seismo.performance import ClassificationSummary, RegressionSummary
from seismo.profile.build import profile_current
from seismo.profile.dataset import Reference
from seismo.schema.types import Role
from seismo.store.base import (
    RETENTION_JOB,
    ModelVersion,
    MonitorError,
    Store,
    StoreError,
    WindowData,
    WindowSummary,
)
from seismo.store.columnar import Column, take, to_list

log = logging.getLogger("seismo.monitor")

PREDICTIONS_JOB = "monitor.predictions"
LABELS_JOB = "monitor.labels"
LEASE = "monitor"  # one monitor run at a time per store
OTHER = "(other)"  # the segment of the values beyond monitor.max_segment_values
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """window: length of a window; segments: feature columns whose values get their own
    summaries; rolling: windows merged into a rolling window; compact: move rows of closed
    windows written a few at a time into columnar batches (see
    :meth:`~seismo.store.base.Store.compact_predictions`); max_segment_values: per segment
    column and window, the most frequent values that get their own summary (the rest share
    :data:`OTHER`); lease: how long a run holds the monitor's lease between renewals."""

    window: timedelta = timedelta(days=1)
    segments: tuple[str, ...] = ()
    rolling: int = 7
    compact: bool = True
    max_segment_values: int = 100
    lease: timedelta = timedelta(minutes=15)


@dataclass
class RunReport:
    """What one run did."""

    windows: list[tuple[str, int, datetime]] = field(default_factory=list)
    predictions_read: int = 0
    label_changes_read: int = 0
    skipped_windows: int = 0  # before the retention horizon: left as they were
    compacted: int = 0  # rows moved from JSON text into columnar batches
    errors: list[MonitorError] = field(default_factory=list)  # windows that failed to build
    busy: str | None = None  # another run held the lease: who; nothing was done


class Monitor:
    def __init__(self, store: Store, settings: MonitorSettings | None = None) -> None:
        self.store = store
        self.settings = settings or MonitorSettings()
        self._references: dict[tuple[str, int], tuple[ModelVersion, Reference]] = {}

    def version(self, model: str, version: int) -> tuple[ModelVersion, Reference]:
        key = (model, version)
        if key not in self._references:
            found = self.store.get_model_version(model, version)
            if found is None:
                raise InputError(f"model {model!r} has no version {version}")
            self._references[key] = (found, Reference.from_bytes(found.reference))
        return self._references[key]

    def run(self, models: Iterable[str] | None = None) -> RunReport:
        """Process everything new for the given models (default: all registered models).

        One run at a time per store: a run takes the monitor's lease, and a run that finds it
        held returns at once with ``busy`` set (two runs would both be correct, and both do
        all the work). A window that fails to build is recorded (:class:`MonitorError`,
        retried by every later run) and the run goes on with the others; only a store that
        fails stops it, before any watermark moves.
        """
        report = RunReport()
        holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        if not self._lease(holder):
            report.busy = "another monitor run"
            return report
        try:
            names = (
                list(models)
                if models is not None
                else sorted({v.model for v in self.store.list_model_versions()})
            )
            for model in names:
                try:
                    self._run_model(model, report)
                except StoreError:
                    raise
                except Exception as error:  # one model's failure must not stop the others
                    log.exception("monitor: model %s failed", model)
                    report.errors.append(
                        MonitorError(model, 0, EPOCH, _describe(error), datetime.now(UTC))
                    )
                self._lease(holder)  # renewed between models
        finally:
            self.store.release_lease(LEASE, holder)
        return report

    def _lease(self, holder: str) -> bool:
        now = datetime.now(UTC)
        return self.store.acquire_lease(LEASE, holder, until=now + self.settings.lease, now=now)

    def _run_model(self, model: str, report: RunReport) -> None:
        window = self.settings.window
        if self.settings.compact:
            # Rows of closed windows written a few at a time move into columnar batches
            # first, so rebuilding their windows (now or on a late label) reads batches.
            closed = window_start(datetime.now(UTC), window)
            report.compacted += self.store.compact_predictions(model, closed)
        touched: set[tuple[int, datetime]] = set()
        predictions_mark = self.store.get_watermark(PREDICTIONS_JOB, model)
        windows, new_predictions_mark, new_rows = self.store.prediction_windows(
            model, after_seq=predictions_mark, window_seconds=int(window.total_seconds())
        )
        touched.update(windows)
        report.predictions_read += new_rows
        labels_mark = self.store.get_watermark(LABELS_JOB, model)
        new_labels_mark = labels_mark
        for change in self.store.iter_label_changes(model, after_seq=labels_mark):
            touched.add((change.version, window_start(change.timestamp, window)))
            new_labels_mark = change.seq
            report.label_changes_read += 1
        # Windows that failed before are tried again, whatever arrived.
        failed_before = {(e.version, e.start) for e in self.store.list_monitor_errors(model)}
        touched |= failed_before
        horizon = self.store.get_watermark(RETENTION_JOB, model)
        if horizon:
            # Windows before the retention horizon lost their rows: rebuilding one from late
            # arrivals would replace its summary with a smaller one. They keep what they have.
            cut = datetime.fromtimestamp(horizon, UTC)
            stale = {key for key in touched if key[1] < cut}
            if stale:
                log.warning(
                    "%s: %d window(s) before the retention horizon %s got late predictions or "
                    "labels; their summaries were kept as they were",
                    model,
                    len(stale),
                    cut.isoformat(),
                )
                touched -= stale
                report.skipped_windows += len(stale - failed_before)
                # A failed window whose rows are gone has nothing left to build.
                stale_failures = sorted(stale & failed_before)
                built_later = [(model, version, start) for version, start in stale_failures]
            else:
                built_later = []
        else:
            built_later = []
        summaries: list[WindowSummary] = []
        errors: list[MonitorError] = []
        built: list[tuple[str, int, datetime]] = []
        for version, start in sorted(touched):
            try:
                summaries.extend(self.summaries(model, version, start))
            except StoreError:
                raise
            except Exception as error:  # recorded, and the other windows go on
                log.exception("monitor: window %s v%s %s failed", model, version, start)
                errors.append(
                    MonitorError(model, version, start, _describe(error), datetime.now(UTC))
                )
                continue
            report.windows.append((model, version, start))
            if (version, start) in failed_before:
                built.append((model, version, start))
        built.extend(built_later)
        report.errors.extend(errors)
        # One transaction: the rebuilt windows, the failures and the watermarks move together.
        self.store.put_windows(
            summaries,
            watermarks=[
                (PREDICTIONS_JOB, model, new_predictions_mark),
                (LABELS_JOB, model, new_labels_mark),
            ],
            errors=errors,
            cleared=built,
        )

    def rebuild(self, model: str, version: int, start: datetime) -> None:
        """Recompute one window (and its segments) from its rows and store the summaries."""
        self.store.put_windows(self.summaries(model, version, start))

    def summaries(self, model: str, version: int, start: datetime) -> list[WindowSummary]:
        """The summaries of one window and its segments, computed from the window's rows."""
        end = start + self.settings.window
        data = self.store.read_window(model, version=version, start=start, end=end)
        if not len(data):
            return []
        model_version, reference = self.version(model, version)
        rows = _Rows.of(data, model_version)
        now = datetime.now(UTC)
        groups: dict[str, NDArray[np.intp] | None] = {"": None}
        for column in self.settings.segments:
            groups.update(
                _segments(column, data.columns.feature(column), self.settings.max_segment_values)
            )
        summaries = []
        for segment, members in groups.items():
            state = summarize_rows(
                model_version, reference, rows if members is None else rows.select(members)
            )
            summary = WindowSummary(model, version, start, end, segment, b"", now)
            digest = digest_of(Window(summary, state, lambda: reference)).to_json()
            summaries.append(replace(summary, payload=state.to_bytes(), digest=digest))
        return summaries


def _segments(column: str, values: Column, limit: int) -> dict[str, NDArray[np.intp]]:
    """Row indices per value of a segment column, keyed "column=value": the ``limit`` most
    frequent values (ties: by the value's text, so the choice depends on the rows only, not on
    their order), the others together as "column=(other)"."""
    codes: dict[Any, int] = {}
    numbered = np.array(
        [codes.setdefault(_hashable(value), len(codes)) for value in to_list(values)],
        dtype=np.intp,
    )
    counts = np.bincount(numbered, minlength=len(codes))
    names = list(codes)
    if len(names) > limit:
        ranked = sorted(range(len(names)), key=lambda i: (-int(counts[i]), str(names[i])))
        kept = np.sort(np.array(ranked[:limit], dtype=np.intp))
        log.warning(
            "segment column %s has %d values in one window; the %d most frequent get their "
            "own summaries, the other %d share %s=%s (monitor.max_segment_values)",
            column,
            len(names),
            limit,
            len(names) - limit,
            column,
            OTHER,
        )
        relabel = np.full(len(names), limit, dtype=np.intp)
        relabel[kept] = np.arange(limit)
        numbered = relabel[numbered]
        names = [names[i] for i in kept.tolist()] + [OTHER]
        counts = np.bincount(numbered, minlength=len(names))
    order = np.argsort(numbered, kind="stable")
    pieces = np.split(order, np.cumsum(counts)[:-1])
    return {f"{column}={value}": piece for value, piece in zip(names, pieces, strict=True)}


def _describe(error: BaseException) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= 500 else text[:497] + "..."


def _hashable(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


@dataclass(frozen=True, slots=True)
class _Rows:
    """A window's rows (or a segment's) as the columns a summary needs."""

    features: dict[str, Column]
    outputs: Column
    scores: Column
    labels: list[Any]
    delays: NDArray[np.float64]

    @classmethod
    def of(cls, data: WindowData, version: ModelVersion) -> _Rows:
        columns = data.columns
        return cls(
            features={name: columns.feature(name) for name in version.features},
            outputs=columns.outputs,
            scores=columns.scores,
            labels=data.labels,
            delays=data.label_delays,
        )

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, indices: NDArray[np.intp]) -> _Rows:
        return _Rows(
            features={name: take(column, indices) for name, column in self.features.items()},
            outputs=take(self.outputs, indices),
            scores=take(self.scores, indices),
            labels=[self.labels[i] for i in indices.tolist()],
            delays=self.delays[indices],
        )


def summarize_rows(version: ModelVersion, reference: Reference, rows: _Rows) -> WindowState:
    """The summary of some logged predictions: profile on the reference grids, performance."""
    columns: dict[str, Any] = dict(rows.features)
    # Prediction drift: the reference's prediction/score columns (the model's outputs on the
    # training data) are compared with the logged outputs and scores.
    for column in reference.schema.with_role(Role.PREDICTION):
        columns[column.name] = rows.outputs
    for column in reference.schema.with_role(Role.SCORE):
        columns[column.name] = _scalar_scores(rows.scores)
    profile = profile_current(reference, open_source(columns, "window"))
    labelled = np.flatnonzero(np.fromiter((v is not None for v in rows.labels), bool, len(rows)))
    delay = float(np.nansum(rows.delays[labelled]))
    performance = _performance(
        version,
        [rows.labels[i] for i in labelled.tolist()],
        to_list(take(rows.outputs, labelled)),
        take(rows.scores, labelled),
    )
    return WindowState(len(rows), len(labelled), delay, profile, performance)


def _performance(
    version: ModelVersion, labels: list[Any], outputs: list[Any], scores: Column
) -> Performance | None:
    if version.task == "regression":
        if not labels:
            return RegressionSummary.empty()
        return RegressionSummary.from_batch(
            np.array([_number(v) for v in labels], dtype=np.float64),
            np.array([_number(v) for v in outputs], dtype=np.float64),
        )
    classes = list(version.classes)
    if not labels:
        return ClassificationSummary.empty(classes)
    labels_text = np.array([_text(v) for v in labels], dtype=object)
    outputs_text = np.array([_text(v) for v in outputs], dtype=object)
    return ClassificationSummary.from_batch(
        classes, labels_text, outputs_text, _score_matrix(scores, len(classes))
    )


def _score_matrix(scores: Column, classes: int) -> NDArray[np.float64] | None:
    """One score per row (positive class) or one per class, or None when rows differ."""
    if isinstance(scores, pa.ChunkedArray):
        if scores.null_count:
            return None
        if pa.types.is_integer(scores.type) or pa.types.is_floating(scores.type):
            return np.asarray(scores.to_numpy(), dtype=np.float64)
        if pa.types.is_list(scores.type):
            array = scores.combine_chunks()
            offsets = np.asarray(array.offsets)
            if not np.all(np.diff(offsets) == classes):
                return None
            flat = np.asarray(array.values.to_numpy(zero_copy_only=False), dtype=np.float64)
            return flat[offsets[0] : offsets[-1]].reshape(-1, classes)
        return None
    if all(type(score) in (int, float) for score in scores):
        return np.array(scores, dtype=np.float64)
    if all(isinstance(s, list) and len(s) == classes for s in scores):
        try:
            return np.array(scores, dtype=np.float64)
        except (TypeError, ValueError):
            return None
    return None


def _scalar_scores(scores: Column) -> Column:
    """A binary model's positive-class probability per row: the score itself, or the last of
    two class probabilities (None otherwise)."""
    if isinstance(scores, pa.ChunkedArray):
        if pa.types.is_list(scores.type):
            array = scores.combine_chunks()
            offsets = np.asarray(array.offsets)
            valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            pairs = (np.diff(offsets) == 2) & valid
            flat = np.asarray(array.values.to_numpy(zero_copy_only=False), dtype=np.float64)
            last = flat[np.maximum(offsets[1:] - 1, 0)] if len(flat) else np.zeros(len(array))
            return pa.chunked_array([pa.array(last, mask=~pairs)])
        if scores.type == pa.bool_() or pa.types.is_string(scores.type):
            return [None] * len(scores)
        return scores
    return [_scalar_score(score) for score in scores]


def _scalar_score(score: Any) -> float | None:
    if isinstance(score, list):
        return float(score[-1]) if len(score) == 2 else None
    return None if score is None or isinstance(score, bool | str | dict) else float(score)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

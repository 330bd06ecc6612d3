"""The monitor job: turn newly logged predictions and labels into window summaries.

Each run reads what arrived after its watermarks (predictions by ingestion sequence, labels by
the label change log), finds the windows they belong to, and rebuilds exactly those windows from
their rows. Rebuilding a window is idempotent, so a crash between writing summaries and moving
the watermarks only repeats work: no row is ever counted twice. The cost of a run depends on
the windows touched, not on the history.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from seismo.errors import InputError
from seismo.io.sources import open_source
from seismo.monitor.windows import Performance, WindowState, window_start
from seismo.performance import ClassificationSummary, RegressionSummary
from seismo.profile.build import profile_current
from seismo.profile.dataset import Reference
from seismo.schema.types import Role
from seismo.store.base import ModelVersion, Store, StoredPrediction, WindowSummary

log = logging.getLogger("seismo.monitor")

PREDICTIONS_JOB = "monitor.predictions"
LABELS_JOB = "monitor.labels"


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """window: length of a window; segments: feature columns whose values get their own
    summaries; rolling: windows merged into a rolling window."""

    window: timedelta = timedelta(days=1)
    segments: tuple[str, ...] = ()
    rolling: int = 7


@dataclass
class RunReport:
    """What one run did."""

    windows: list[tuple[str, int, datetime]] = field(default_factory=list)
    predictions_read: int = 0
    label_changes_read: int = 0


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
        """Process everything new for the given models (default: all registered models)."""
        report = RunReport()
        names = (
            list(models)
            if models is not None
            else sorted({v.model for v in self.store.list_model_versions()})
        )
        for model in names:
            self._run_model(model, report)
        return report

    def _run_model(self, model: str, report: RunReport) -> None:
        window = self.settings.window
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
        summaries: list[WindowSummary] = []
        for version, start in sorted(touched):
            summaries.extend(self.summaries(model, version, start))
            report.windows.append((model, version, start))
        # One transaction: the rebuilt windows and the watermarks move together.
        self.store.put_windows(
            summaries,
            watermarks=[
                (PREDICTIONS_JOB, model, new_predictions_mark),
                (LABELS_JOB, model, new_labels_mark),
            ],
        )

    def rebuild(self, model: str, version: int, start: datetime) -> None:
        """Recompute one window (and its segments) from its rows and store the summaries."""
        self.store.put_windows(self.summaries(model, version, start))

    def summaries(self, model: str, version: int, start: datetime) -> list[WindowSummary]:
        """The summaries of one window and its segments, computed from the window's rows."""
        end = start + self.settings.window
        rows: list[StoredPrediction] = []
        for batch in self.store.iter_predictions(model, version=version, start=start, end=end):
            rows.extend(batch)
        if not rows:
            return []
        model_version, reference = self.version(model, version)
        now = datetime.now(UTC)
        groups: dict[str, list[StoredPrediction]] = {"": rows}
        for column in self.settings.segments:
            by_value: dict[str, list[StoredPrediction]] = defaultdict(list)
            for stored in rows:
                by_value[f"{column}={stored.prediction.features.get(column)}"].append(stored)
            groups.update(by_value)
        return [
            WindowSummary(
                model,
                version,
                start,
                end,
                segment,
                summarize_rows(model_version, reference, members).to_bytes(),
                now,
            )
            for segment, members in groups.items()
        ]


def summarize_rows(
    version: ModelVersion, reference: Reference, rows: list[StoredPrediction]
) -> WindowState:
    """The summary of some logged predictions: profile on the reference grids, performance."""
    features = version.features
    columns: dict[str, Any] = {
        name: [stored.prediction.features.get(name) for stored in rows] for name in features
    }
    # Prediction drift: the reference's prediction/score columns (the model's outputs on the
    # training data) are compared with the logged outputs and scores.
    for column in reference.schema.with_role(Role.PREDICTION):
        columns[column.name] = [stored.prediction.output for stored in rows]
    for column in reference.schema.with_role(Role.SCORE):
        columns[column.name] = [_scalar_score(stored.prediction.score) for stored in rows]
    profile = profile_current(reference, open_source(columns, "window"))
    labelled = [stored for stored in rows if stored.label is not None]
    delay = sum(
        (stored.labelled_at - stored.prediction.timestamp).total_seconds()
        for stored in labelled
        if stored.labelled_at is not None
    )
    return WindowState(len(rows), len(labelled), delay, profile, _performance(version, labelled))


def _performance(version: ModelVersion, labelled: list[StoredPrediction]) -> Performance | None:
    if version.task == "regression":
        if not labelled:
            return RegressionSummary.empty()
        labels = np.array([_number(s.label) for s in labelled], dtype=np.float64)
        outputs = np.array([_number(s.prediction.output) for s in labelled], dtype=np.float64)
        return RegressionSummary.from_batch(labels, outputs)
    classes = list(version.classes)
    if not labelled:
        return ClassificationSummary.empty(classes)
    labels_text = np.array([_text(s.label) for s in labelled], dtype=object)
    outputs_text = np.array([_text(s.prediction.output) for s in labelled], dtype=object)
    scores = [s.prediction.score for s in labelled]
    score_array: Any = None
    one_each = all(isinstance(score, int | float) for score in scores)
    if one_each or all(isinstance(s, list) and len(s) == len(classes) for s in scores):
        score_array = np.array(scores, dtype=np.float64)
    return ClassificationSummary.from_batch(classes, labels_text, outputs_text, score_array)


def _scalar_score(score: Any) -> float | None:
    """A binary model's positive-class probability (the last of two class probabilities)."""
    if isinstance(score, list):
        return float(score[-1]) if len(score) == 2 else None
    return None if score is None else float(score)


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

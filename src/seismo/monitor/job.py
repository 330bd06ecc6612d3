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
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seismo.errors import InputError
from seismo.io.sources import open_source
from seismo.monitor.windows import Performance, WindowState, window_start
from seismo.performance import ClassificationSummary, RegressionSummary
from seismo.profile.build import profile_current
from seismo.profile.dataset import Reference
from seismo.schema.types import Role
from seismo.store.base import ModelVersion, Store, WindowRows, WindowSummary

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
        rows = _DecodedRows()
        for page in self.store.iter_window_rows(model, version=version, start=start, end=end):
            rows.add(page)
        if not rows.features:
            return []
        model_version, reference = self.version(model, version)
        now = datetime.now(UTC)
        groups: dict[str, NDArray[np.intp]] = {"": np.arange(len(rows.features))}
        for column in self.settings.segments:
            by_value: dict[str, list[int]] = defaultdict(list)
            for index, features in enumerate(rows.features):
                by_value[f"{column}={features.get(column)}"].append(index)
            groups.update({key: np.array(value) for key, value in by_value.items()})
        return [
            WindowSummary(
                model,
                version,
                start,
                end,
                segment,
                summarize_rows(model_version, reference, rows.select(members)).to_bytes(),
                now,
            )
            for segment, members in groups.items()
        ]


class _DecodedRows:
    """A window's rows decoded from JSON text a page at a time (one ``json.loads`` per column
    and page, not per value)."""

    def __init__(self) -> None:
        self.features: list[dict[str, Any]] = []
        self.outputs: list[Any] = []
        self.scores: list[Any] = []
        self.labels: list[Any] = []
        self.delays: list[float | None] = []

    def add(self, page: WindowRows) -> None:
        self.features += _decode_all(page.features)
        self.outputs += _decode_all(page.outputs)
        self.scores += _decode_all(page.scores)
        self.labels += _decode_all(page.labels)
        self.delays += page.label_delays

    def select(self, indices: NDArray[np.intp]) -> _DecodedRows:
        if len(indices) == len(self.features):
            return self
        chosen = _DecodedRows()
        for name in ("features", "outputs", "scores", "labels", "delays"):
            values = getattr(self, name)
            setattr(chosen, name, [values[i] for i in indices.tolist()])
        return chosen


def _decode_all(texts: Sequence[str | None]) -> list[Any]:
    return list(json.loads("[" + ",".join("null" if t is None else t for t in texts) + "]"))


def summarize_rows(version: ModelVersion, reference: Reference, rows: _DecodedRows) -> WindowState:
    """The summary of some logged predictions: profile on the reference grids, performance."""
    columns: dict[str, Any] = {
        name: [features.get(name) for features in rows.features] for name in version.features
    }
    # Prediction drift: the reference's prediction/score columns (the model's outputs on the
    # training data) are compared with the logged outputs and scores.
    for column in reference.schema.with_role(Role.PREDICTION):
        columns[column.name] = rows.outputs
    for column in reference.schema.with_role(Role.SCORE):
        columns[column.name] = [_scalar_score(score) for score in rows.scores]
    profile = profile_current(reference, open_source(columns, "window"))
    labelled = [i for i, label in enumerate(rows.labels) if label is not None]
    delay = sum(rows.delays[i] or 0.0 for i in labelled)
    performance = _performance(
        version,
        [rows.labels[i] for i in labelled],
        [rows.outputs[i] for i in labelled],
        [rows.scores[i] for i in labelled],
    )
    return WindowState(len(rows.features), len(labelled), delay, profile, performance)


def _performance(
    version: ModelVersion, labels: list[Any], outputs: list[Any], scores: list[Any]
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

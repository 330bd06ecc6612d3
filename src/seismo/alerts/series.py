"""The numbers a rule watches, read off one window summary.

Series names (what a rule's ``series`` field takes):

=========================  ===============================================================
``drift.psi``              PSI of each feature (one value per feature; the engine's drift
                           decision per feature comes along as ``drifted``)
``drift.share``            share of tested features that drifted
``performance.<metric>``   accuracy, precision, recall, f1, roc_auc, log_loss (classification),
                           mae, rmse, mape, r2, bias (regression), with the confidence interval
``quality.errors``         data-quality anomalies of level error (warnings: quality.warnings)
``volume.rows``            predictions in the window
``labels.coverage``        share of the window's predictions with a label
``labels.delay``           mean seconds from prediction to label
=========================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from seismo.drift.result import DriftReport
from seismo.monitor.windows import WindowState
from seismo.performance.intervals import Estimate

CLASSIFICATION_METRICS: Final = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
REGRESSION_METRICS: Final = ("mae", "rmse", "mape", "r2", "bias")
# Higher is worse for these: a problem is the value going up.
LOWER_IS_BETTER: Final = frozenset({"log_loss", "mae", "rmse", "mape"})

SERIES: Final = (
    "drift.psi",
    "drift.share",
    *(f"performance.{m}" for m in CLASSIFICATION_METRICS + REGRESSION_METRICS),
    "quality.errors",
    "quality.warnings",
    "volume.rows",
    "labels.coverage",
    "labels.delay",
)


@dataclass(frozen=True, slots=True)
class Point:
    """One value of a series in one window.

    ``low``/``high`` bound the value's confidence interval (performance metrics; equal to
    ``value`` elsewhere); ``n`` is the sample size behind it (rows, or labelled rows for
    performance); ``flagged`` is the drift engine's own decision for a feature's PSI.
    """

    value: float
    n: int
    low: float
    high: float
    flagged: bool = False


def exact(value: float, n: int) -> Point:
    return Point(value, n, value, value)


def points(
    series: str, state: WindowState, report: DriftReport | None, metrics: Any = None
) -> dict[str, Point]:
    """The series' values in one window, by key: the feature name for ``drift.psi``, ``""``
    for the single-valued series. Missing when undefined (no labels, no scores ...).

    ``report`` is the window's drift report (drift and quality series); ``metrics`` its
    performance metrics when already computed (they cost a bootstrap: compute them once per
    window, not once per metric)."""
    if series == "drift.psi":
        if report is None:
            return {}
        return {
            column.column: Point(column.psi, state.rows, column.psi, column.psi, column.drifted)
            for column in report.columns
            if column.tested and column.psi is not None
        }
    if series == "drift.share":
        if report is None:
            return {}
        tested = [column for column in report.columns if column.tested]
        if not tested:
            return {}
        share = sum(column.drifted for column in tested) / len(tested)
        return {"": exact(share, state.rows)}
    if series.startswith("performance."):
        return _performance(series.removeprefix("performance."), state, metrics)
    if series in ("quality.errors", "quality.warnings"):
        if report is None:
            return {}
        level = "error" if series == "quality.errors" else "warning"
        count = sum(anomaly.level.value == level for anomaly in report.anomalies)
        return {"": exact(float(count), state.rows)}
    if series == "volume.rows":
        return {"": exact(float(state.rows), state.rows)}
    if series == "labels.coverage":
        return {"": exact(state.label_coverage, state.rows)}
    if series == "labels.delay":
        delay = state.mean_label_delay
        return {} if delay is None else {"": exact(delay, state.labelled)}
    raise ValueError(f"unknown series {series!r}; use one of {', '.join(SERIES)}")


def _performance(metric: str, state: WindowState, metrics: Any) -> dict[str, Point]:
    if state.performance is None or not state.labelled:
        return {}
    if metrics is None:
        metrics = state.performance.metrics()
    estimate: Estimate | None = getattr(metrics, metric, None)
    if estimate is None:
        return {}
    interval = estimate.interval
    low, high = (
        (estimate.value, estimate.value) if interval is None else (interval.low, interval.high)
    )
    return {"": Point(estimate.value, metrics.n, low, high)}

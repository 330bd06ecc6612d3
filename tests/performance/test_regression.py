from __future__ import annotations

import dataclasses
import json
import math
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.stats import norm
from sklearn.metrics import (
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    r2_score,
)

from seismo.errors import InputError
from seismo.performance import Estimate, RegressionMetrics, RegressionSummary


def _value(estimate: Estimate | None) -> float:
    assert estimate is not None
    return estimate.value


def _data(seed: int, n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    labels = rng.gamma(2.0, 3.0, n)
    predictions = 0.9 * labels + rng.normal(0.5, 1.5, n)
    return labels, predictions


def _direct(labels: NDArray[np.float64], predictions: NDArray[np.float64]) -> dict[str, float]:
    """Every summary field computed directly (two-pass) from the rows."""
    error = predictions - labels
    label_dev = labels - labels.mean()
    sq_dev = error**2 - np.mean(error**2)
    nonzero = labels != 0
    ape = np.abs(error[nonzero]) / np.abs(labels[nonzero])
    return {
        "label_mean": labels.mean(),
        "label_m2": np.sum(label_dev**2),
        "label_m3": np.sum(label_dev**3),
        "label_m4": np.sum(label_dev**4),
        "error_mean": error.mean(),
        "error_m2": np.sum((error - error.mean()) ** 2),
        "abs_error_mean": np.abs(error).mean(),
        "abs_error_m2": np.sum((np.abs(error) - np.abs(error).mean()) ** 2),
        "sq_error_mean": np.mean(error**2),
        "sq_error_m2": np.sum(sq_dev**2),
        "sq_error_label_c11": np.sum(sq_dev * label_dev),
        "sq_error_label_c12": np.sum(sq_dev * label_dev**2),
        "ape_mean": ape.mean() if len(ape) else 0.0,
        "ape_m2": np.sum((ape - ape.mean()) ** 2) if len(ape) else 0.0,
    }


def _assert_fields_close(
    summary: RegressionSummary, expected: dict[str, float], rel: float = 1e-9
) -> None:
    for name, value in expected.items():
        scale = max(abs(value), 1e-9 * max(1.0, abs(summary.label_mean) ** 4))
        assert abs(getattr(summary, name) - value) <= rel * scale, name


# --- point estimates ---


def test_point_estimates_equal_sklearn() -> None:
    labels, predictions = _data(0, 5000)
    labels[:20] = 0.0  # left out of MAPE only
    m = RegressionSummary.from_batch(labels, predictions).metrics()
    assert (m.n, m.dropped, m.mape_excluded) == (5000, 0, 20)
    assert _value(m.mae) == pytest.approx(mean_absolute_error(labels, predictions), abs=1e-9)
    rmse = math.sqrt(mean_squared_error(labels, predictions))
    assert _value(m.rmse) == pytest.approx(rmse, abs=1e-9)
    assert _value(m.r2) == pytest.approx(r2_score(labels, predictions), abs=1e-9)
    assert _value(m.bias) == pytest.approx(np.mean(predictions - labels), abs=1e-9)
    nonzero = labels != 0
    mape = mean_absolute_percentage_error(labels[nonzero], predictions[nonzero])
    assert _value(m.mape) == pytest.approx(mape, abs=1e-9)


def test_nan_and_infinite_pairs_are_dropped_and_counted() -> None:
    labels, predictions = _data(1, 100)
    labels[3] = np.nan
    predictions[7] = np.nan
    predictions[8] = np.inf
    labels[9] = -np.inf
    summary = RegressionSummary.from_batch(labels, predictions)
    assert (summary.count, summary.dropped) == (96, 4)
    keep = np.isfinite(labels) & np.isfinite(predictions)
    m = summary.metrics()
    assert _value(m.mae) == pytest.approx(mean_absolute_error(labels[keep], predictions[keep]))
    assert _value(m.r2) == pytest.approx(r2_score(labels[keep], predictions[keep]))
    all_nan = RegressionSummary.from_batch([np.nan, 1.0], [2.0, np.nan])
    assert (all_nan.count, all_nan.dropped) == (0, 2)
    assert all_nan.merge(summary).dropped == 6


def test_labels_far_from_zero_keep_their_precision() -> None:
    rng = np.random.default_rng(2)
    offset = 1e9
    labels = offset + rng.normal(0.0, 1.0, 20_000)
    predictions = labels + rng.normal(0.1, 0.3, 20_000)
    # Near 1e9, subtracting the offset is exact, so the shifted data are an exact reference.
    shifted_labels, shifted_predictions = labels - offset, predictions - offset
    whole = RegressionSummary.from_batch(labels, predictions)
    parts = [
        RegressionSummary.from_batch(labels[i : i + 500], predictions[i : i + 500])
        for i in range(0, 20_000, 500)
    ]
    merged = reduce(RegressionSummary.merge, parts)
    expected_r2 = r2_score(shifted_labels, shifted_predictions)
    label_m2 = np.sum((shifted_labels - shifted_labels.mean()) ** 2)
    for summary in (whole, merged):
        assert summary.label_m2 == pytest.approx(label_m2, rel=1e-9)
        assert _value(summary.metrics().r2) == pytest.approx(expected_r2, abs=1e-9)
        label_m4 = np.sum((shifted_labels - shifted_labels.mean()) ** 4)
        assert summary.label_m4 == pytest.approx(label_m4, rel=1e-6)
    # The naive one-pass formula loses everything at this offset: the test can fail.
    naive = np.sum(labels**2) - np.sum(labels) ** 2 / len(labels)
    assert abs(naive - label_m2) > 0.01 * label_m2


# --- merge and serialisation ---

_FLOAT = st.one_of(
    # Rounded: a label of 1e-160 makes a percentage error that overflows (MAPE's own flaw).
    st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 3)),
    st.sampled_from([0.0, float("nan"), 1e6 + 0.5]),
)
_PAIRS = st.lists(st.tuples(_FLOAT, _FLOAT), min_size=0, max_size=30)


def _summary(pairs: list[tuple[float, float]]) -> RegressionSummary:
    return RegressionSummary.from_batch(
        np.array([p[0] for p in pairs], dtype=float), np.array([p[1] for p in pairs], dtype=float)
    )


def _scales(pairs: list[tuple[float, float]]) -> dict[str, float]:
    """Magnitudes the rounding error of each field is relative to (max |label|, |error|, ...)."""
    labels = np.array([p[0] for p in pairs], dtype=float)
    predictions = np.array([p[1] for p in pairs], dtype=float)
    keep = np.isfinite(labels) & np.isfinite(predictions)
    labels, predictions = labels[keep], predictions[keep]
    n = max(len(labels), 1)
    y = 2.0 * float(np.max(np.abs(labels), initial=1.0))
    e = 2.0 * float(np.max(np.abs(predictions - labels), initial=1.0))
    nonzero = labels != 0
    a = 2.0 * float(
        np.max(np.abs(predictions - labels)[nonzero] / np.abs(labels[nonzero]), initial=1.0)
    )
    return {
        "label_mean": y,
        "label_m2": n * y**2,
        "label_m3": n * y**3,
        "label_m4": n * y**4,
        "error_mean": e,
        "error_m2": n * e**2,
        "abs_error_mean": e,
        "abs_error_m2": n * e**2,
        "sq_error_mean": e**2,
        "sq_error_m2": n * e**4,
        "sq_error_label_c11": n * e**2 * y,
        "sq_error_label_c12": n * e**2 * y**2,
        "ape_mean": a,
        "ape_m2": n * a**2,
    }


def _assert_same(
    left: RegressionSummary, right: RegressionSummary, scales: dict[str, float] | None = None
) -> None:
    """Counts equal; float fields equal (exactly without ``scales``, else to 1e-12 of them)."""
    for field in dataclasses.fields(RegressionSummary):
        a, b = getattr(left, field.name), getattr(right, field.name)
        if scales is None or isinstance(a, int):
            assert a == b, field.name
        else:
            assert abs(a - b) <= 1e-12 * scales[field.name], field.name


@settings(max_examples=150, deadline=None)
@given(a=_PAIRS, b=_PAIRS, c=_PAIRS)
def test_merge_is_associative_commutative_and_equals_the_concatenation(
    a: list[tuple[float, float]], b: list[tuple[float, float]], c: list[tuple[float, float]]
) -> None:
    whole = _summary(a + b + c)
    scales = _scales(a + b + c)
    sa, sb, sc = _summary(a), _summary(b), _summary(c)
    _assert_same(sa.merge(sb).merge(sc), whole, scales)
    _assert_same(sa.merge(sb.merge(sc)), whole, scales)
    _assert_same(sc.merge(sb).merge(sa), whole, scales)
    _assert_same(sa.merge(RegressionSummary.empty()), sa)
    _assert_same(RegressionSummary.empty().merge(sa), sa)
    restored = RegressionSummary.from_dict(json.loads(json.dumps(whole.to_dict())))
    _assert_same(restored, whole)
    assert restored.metrics() == whole.metrics()


def test_merged_moments_equal_the_two_pass_moments() -> None:
    labels, predictions = _data(3, 3000)
    labels[::50] = 0.0
    parts = [
        RegressionSummary.from_batch(labels[i:j], predictions[i:j])
        for i, j in [(0, 1), (1, 700), (700, 701), (701, 2000), (2000, 3000)]
    ]
    merged = reduce(RegressionSummary.merge, parts)
    _assert_fields_close(merged, _direct(labels, predictions), rel=1e-9)
    assert merged.mape_excluded == 60


def test_serialisation_is_versioned() -> None:
    payload = RegressionSummary.from_batch(*_data(4, 50)).to_dict()
    assert payload["type"] == "regression" and payload["version"] == 1
    with pytest.raises(InputError, match="version 0"):
        RegressionSummary.from_dict({**payload, "version": 0})
    with pytest.raises(InputError, match="not a regression"):
        RegressionSummary.from_dict({**payload, "type": "classification"})


# --- intervals ---

_BIAS, _NOISE = 0.2, 0.5  # y ~ N(3, 1), prediction = y + N(0.2, 0.5)
_TRUE = {
    "bias": _BIAS,
    "rmse": math.hypot(_BIAS, _NOISE),
    "mae": _NOISE * math.sqrt(2 / math.pi) * math.exp(-(_BIAS**2) / (2 * _NOISE**2))
    + _BIAS * (1 - 2 * float(norm.cdf(-_BIAS / _NOISE))),
    "r2": 1.0 - (_BIAS**2 + _NOISE**2),
}


@pytest.fixture(scope="module")
def simulated() -> dict[int, list[RegressionMetrics]]:
    out = {}
    for n in (30, 200, 5000):
        rng = np.random.default_rng(n)
        windows = []
        for _ in range(1000):
            labels = rng.normal(3.0, 1.0, n)
            predictions = labels + rng.normal(_BIAS, _NOISE, n)
            windows.append(RegressionSummary.from_batch(labels, predictions).metrics())
        out[n] = windows
    return out


def _coverage(windows: list[RegressionMetrics], metric: str) -> float:
    hits = 0
    for window in windows:
        estimate = getattr(window, metric)
        hits += _TRUE[metric] in estimate.interval
    return hits / len(windows)


@pytest.mark.parametrize("n", [30, 200, 5000])
@pytest.mark.parametrize("metric", ["rmse", "mae", "bias", "r2"])
def test_coverage_of_the_95_percent_intervals(
    simulated: dict[int, list[RegressionMetrics]], n: int, metric: str
) -> None:
    coverage = _coverage(simulated[n], metric)
    assert 0.90 <= coverage <= 0.975


@pytest.mark.parametrize("metric", ["rmse", "mae", "bias", "r2"])
def test_interval_width_shrinks_like_one_over_root_n(
    simulated: dict[int, list[RegressionMetrics]], metric: str
) -> None:
    def mean_width(n: int) -> float:
        return float(np.mean([getattr(w, metric).interval.width for w in simulated[n]]))

    assert mean_width(200) / mean_width(5000) == pytest.approx(np.sqrt(5000 / 200), rel=0.1)


def test_mape_interval_covers_with_labels_away_from_zero() -> None:
    rng = np.random.default_rng(5)
    truth = 0.05 * math.sqrt(2 / math.pi) * 1.0  # |N(0, 0.05 y)| / y has mean 0.05 sqrt(2/pi)
    hits = 0
    for _ in range(500):
        labels = rng.uniform(10.0, 20.0, 200)
        predictions = labels * (1.0 + rng.normal(0.0, 0.05, 200))
        mape = RegressionSummary.from_batch(labels, predictions).metrics().mape
        assert mape is not None and mape.interval is not None
        hits += truth in mape.interval
    assert hits / 500 >= 0.92


# --- edge cases ---


@pytest.mark.filterwarnings("error")
def test_empty_summary() -> None:
    for summary in (RegressionSummary.empty(), RegressionSummary.from_batch([], [])):
        m = summary.metrics()
        assert m.n == 0
        assert (m.mae, m.rmse, m.mape, m.r2, m.bias) == (None, None, None, None, None)
        assert json.dumps(m.to_dict())


@pytest.mark.filterwarnings("error")
def test_a_single_pair() -> None:
    m = RegressionSummary.from_batch([4.0], [5.0]).metrics()
    assert (_value(m.mae), _value(m.rmse), _value(m.bias), _value(m.mape)) == (1.0, 1.0, 1.0, 0.25)
    assert m.r2 is None
    for estimate in (m.mae, m.rmse, m.bias, m.mape):
        assert estimate is not None and estimate.interval is None


@pytest.mark.filterwarnings("error")
def test_constant_and_zero_labels() -> None:
    constant = RegressionSummary.from_batch([2.0, 2.0, 2.0], [1.0, 2.0, 4.0]).metrics()
    assert constant.r2 is None  # undefined; sklearn returns 0.0 here
    assert _value(constant.rmse) == pytest.approx(math.sqrt(5 / 3))
    zeros = RegressionSummary.from_batch([0.0, 0.0, 0.0, 0.0], [0.0, 1.0, -1.0, 0.5]).metrics()
    assert zeros.mape is None and zeros.mape_excluded == 4
    perfect = RegressionSummary.from_batch([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).metrics()
    assert perfect.rmse is not None and perfect.rmse.interval is not None
    assert (perfect.rmse.value, perfect.rmse.interval.low, perfect.rmse.interval.high) == (
        0.0,
        0.0,
        0.0,
    )
    assert _value(perfect.r2) == 1.0


def test_bad_input() -> None:
    with pytest.raises(InputError, match="same length"):
        RegressionSummary.from_batch([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="1-D"):
        RegressionSummary.from_batch([[1.0]], [[1.0]])
    with pytest.raises(ValueError, match="confidence"):
        RegressionSummary.from_batch([1.0, 2.0], [1.0, 2.5]).metrics(confidence=0.0)

"""Tests for the Population Stability Index."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seismo.stats import PSIResult, psi, psi_counts
from seismo.stats._binning import bin_counts

counts = st.lists(st.integers(0, 500), min_size=1, max_size=15)


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    k = draw(st.integers(1, 15))
    ref = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    cur = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    return ref, cur


def psi_by_hand(ref: list[int], cur: list[int], smoothing: float) -> float:
    """Independent scalar-loop implementation of the documented formula."""
    k, n_ref, n_cur = len(ref), sum(ref), sum(cur)
    total = 0.0
    for r, c in zip(ref, cur, strict=True):
        p = (r / n_ref + smoothing) / (1 + k * smoothing)
        q = (c / n_cur + smoothing) / (1 + k * smoothing)
        total += (q - p) * math.log(q / p)
    return total


def test_known_value() -> None:
    # p = (.5, .3, .2), q = (.3, .3, .4), no smoothing: -0.2 ln(.6) + 0.2 ln(2)
    expected = -0.2 * math.log(0.6) + 0.2 * math.log(2.0)
    result = psi_counts([50, 30, 20], [30, 30, 40], smoothing=0.0)
    assert result == PSIResult(statistic=pytest.approx(expected, rel=1e-14), n_bins=3)


@settings(deadline=None)
@given(count_pairs(), st.sampled_from([1e-4, 1e-3, 0.05]))
def test_matches_scalar_reference(pair: tuple[list[int], list[int]], smoothing: float) -> None:
    ref, cur = pair
    result = psi_counts(ref, cur, smoothing=smoothing)
    assert result.statistic == pytest.approx(psi_by_hand(ref, cur, smoothing), rel=1e-10, abs=1e-14)
    assert result.n_bins == len(ref)


@settings(deadline=None)
@given(count_pairs())
def test_non_negative_symmetric_and_zero_on_identical(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = pair
    forward = psi_counts(ref, cur).statistic
    assert forward >= 0.0
    assert forward == pytest.approx(psi_counts(cur, ref).statistic, rel=1e-12, abs=1e-15)
    assert psi_counts(ref, ref).statistic == 0.0
    # Only proportions matter: scaling counts leaves the PSI unchanged.
    scaled = psi_counts([3 * r for r in ref], [7 * c for c in cur]).statistic
    assert scaled == pytest.approx(forward, rel=1e-10, abs=1e-15)


def test_raw_numeric_uses_reference_quantile_bins() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.normal(size=5000), rng.normal(0.3, 1.2, size=3000)
    edges = np.quantile(reference, np.arange(1, 10) / 10, method="inverted_cdf")
    expected = psi_counts(bin_counts(reference, edges), bin_counts(current, edges))
    assert psi(reference, current) == expected
    assert psi(reference, current).n_bins == 10
    assert psi(reference, current, bins=20).n_bins == 20


def test_raw_drops_nan_and_detects_categories() -> None:
    rng = np.random.default_rng(3)
    reference, current = rng.normal(size=200), rng.normal(size=200)
    with_nan = np.concatenate([reference, [np.nan] * 5])
    assert psi(with_nan, current) == psi(reference, current)
    result = psi(["a", "a", "b", None], np.array(["a", "b", "b", "c"]))
    assert result == psi_counts([2, 1, 0], [1, 2, 1])
    assert result.n_bins == 3
    assert psi([1, 2, 2], [2, 3], categorical=True) == psi_counts([1, 2, 0], [0, 1, 1])


def test_conventional_bands_for_mean_shifts() -> None:
    rng = np.random.default_rng(4)
    reference = rng.normal(size=50_000)
    assert psi(reference, rng.normal(size=50_000)).statistic < 0.01
    assert 0.1 <= psi(reference, rng.normal(0.35, 1, size=50_000)).statistic < 0.25
    assert psi(reference, rng.normal(1.0, 1, size=50_000)).statistic >= 0.25


def test_smoothing_keeps_empty_bins_finite() -> None:
    assert math.isfinite(psi_counts([10, 0], [0, 10]).statistic)
    assert psi_counts([10, 0], [0, 10], smoothing=0.0).statistic == math.inf
    # a bin empty in both samples contributes nothing even without smoothing
    assert psi_counts([5, 0, 5], [5, 0, 5], smoothing=0.0).statistic == 0.0
    # more smoothing shrinks the PSI of disjoint supports
    assert (
        psi_counts([10, 0], [0, 10], smoothing=0.1).statistic
        < psi_counts([10, 0], [0, 10], smoothing=1e-4).statistic
    )


def test_errors() -> None:
    with pytest.raises(ValueError, match="same bins"):
        psi_counts([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="reference is empty"):
        psi([np.nan], [1.0])
    with pytest.raises(ValueError, match="current is empty"):
        psi([1.0], [])
    with pytest.raises(ValueError, match="smoothing"):
        psi_counts([1], [1], smoothing=-1.0)
    with pytest.raises(ValueError, match="bins"):
        psi([1.0], [1.0], bins=0)

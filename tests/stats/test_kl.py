"""Tests for the Kullback–Leibler divergence KL(current || reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

from seismo.stats import kl, kl_counts, psi_counts
from seismo.stats._binning import proportions


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    k = draw(st.integers(1, 15))
    ref = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    cur = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    return ref, cur


@settings(deadline=None)
@given(count_pairs(), st.sampled_from([1e-4, 1e-2]))
def test_matches_scipy_entropy_on_smoothed_proportions(
    pair: tuple[list[int], list[int]], smoothing: float
) -> None:
    ref, cur = pair
    p, q = proportions(ref, smoothing), proportions(cur, smoothing)
    result = kl_counts(ref, cur, smoothing=smoothing)
    # direction: KL(current || reference) = entropy(q, p)
    assert result.statistic == pytest.approx(float(entropy(q, p)), rel=1e-10, abs=1e-14)
    assert result.statistic >= 0.0
    assert result.n_bins == len(ref)


@settings(deadline=None)
@given(count_pairs())
def test_psi_is_symmetrised_kl(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = pair
    both = kl_counts(ref, cur).statistic + kl_counts(cur, ref).statistic
    assert psi_counts(ref, cur).statistic == pytest.approx(both, rel=1e-9, abs=1e-13)


def test_direction_and_known_value() -> None:
    # p = reference (.5, .5), q = current (.9, .1): KL(q||p) = .9 ln 1.8 + .1 ln .2
    expected = 0.9 * math.log(1.8) + 0.1 * math.log(0.2)
    assert kl_counts([5, 5], [9, 1], smoothing=0.0).statistic == pytest.approx(expected, rel=1e-14)
    reverse = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    assert kl_counts([9, 1], [5, 5], smoothing=0.0).statistic == pytest.approx(reverse, rel=1e-14)


def test_zero_and_infinite_cases() -> None:
    assert kl_counts([3, 4, 0], [6, 8, 0]).statistic == 0.0
    # current mass where the reference has none: infinite without smoothing
    assert kl_counts([1, 0], [1, 1], smoothing=0.0).statistic == math.inf
    assert math.isfinite(kl_counts([1, 0], [1, 1]).statistic)
    # reference mass where current has none is fine without smoothing (0 log 0 = 0)
    assert kl_counts([1, 1], [1, 0], smoothing=0.0).statistic == pytest.approx(math.log(2.0))


def test_raw_matches_counts() -> None:
    rng = np.random.default_rng(5)
    reference, current = rng.exponential(size=2000), rng.exponential(1.3, size=1500)
    edges = np.quantile(reference, np.arange(1, 8) / 8, method="inverted_cdf")
    ref_counts = np.bincount(np.searchsorted(edges, reference), minlength=8)
    cur_counts = np.bincount(np.searchsorted(edges, current), minlength=8)
    assert kl(reference, current, bins=8) == kl_counts(ref_counts, cur_counts)
    assert kl(["a", "b"], ["b", "b", "c"]) == kl_counts([1, 1, 0], [0, 2, 1])


def test_errors() -> None:
    with pytest.raises(ValueError, match="same bins"):
        kl_counts([1], [1, 2])
    with pytest.raises(ValueError, match="reference is empty"):
        kl([], [1.0])

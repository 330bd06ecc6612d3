"""Tests for the Hellinger distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seismo.stats import HellingerResult, hellinger, hellinger_counts
from seismo.stats._binning import bin_counts, quantile_edges


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    k = draw(st.integers(1, 15))
    ref = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    cur = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    return ref, cur


def hellinger_by_norm(ref: list[int], cur: list[int]) -> float:
    """Independent formula: ||sqrt(p) - sqrt(q)||_2 / sqrt(2)."""
    p = np.asarray(ref, dtype=float) / sum(ref)
    q = np.asarray(cur, dtype=float) / sum(cur)
    return float(np.linalg.norm(np.sqrt(p) - np.sqrt(q)) / math.sqrt(2.0))


@settings(deadline=None)
@given(count_pairs())
def test_matches_norm_formula(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = pair
    result = hellinger_counts(ref, cur)
    # the two formulas differ by cancellation error ~ sqrt(machine eps) near 0
    assert result.statistic == pytest.approx(hellinger_by_norm(ref, cur), rel=1e-9, abs=1e-7)
    assert result.n_bins == len(ref)


@settings(deadline=None)
@given(count_pairs())
def test_bounded_symmetric_zero_on_identical(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = pair
    forward = hellinger_counts(ref, cur).statistic
    assert 0.0 <= forward <= 1.0
    assert forward == pytest.approx(hellinger_counts(cur, ref).statistic, abs=1e-15)
    assert hellinger_counts(ref, [3 * r for r in ref]).statistic == pytest.approx(0.0, abs=1e-7)


def test_known_values() -> None:
    assert hellinger_counts([1, 0], [0, 1]) == HellingerResult(1.0, 2)
    assert hellinger_counts([1, 1], [1, 1]) == HellingerResult(0.0, 2)
    # p = (1, 0), q = (1/2, 1/2): H^2 = 1 - sqrt(1/2)
    assert hellinger_counts([4, 0], [1, 1]).statistic == pytest.approx(
        math.sqrt(1 - math.sqrt(0.5)), rel=1e-14
    )


def test_raw_inputs() -> None:
    rng = np.random.default_rng(7)
    reference, current = rng.normal(size=2000), rng.normal(0.2, 1, size=2500)
    edges = quantile_edges(np.sort(reference), 12)
    expected = hellinger_counts(bin_counts(reference, edges), bin_counts(current, edges))
    assert hellinger(reference, current, bins=12) == expected
    assert hellinger(["a", "b"], ["c"]).statistic == 1.0


def test_errors() -> None:
    with pytest.raises(ValueError, match="same bins"):
        hellinger_counts([1, 2], [1])
    with pytest.raises(ValueError, match="non-negative"):
        hellinger_counts([1, -1], [1, 1])

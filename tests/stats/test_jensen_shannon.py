"""Tests for the Jensen–Shannon distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from seismo.stats import JensenShannonResult, jensen_shannon, jensen_shannon_counts
from seismo.stats._binning import bin_counts, quantile_edges


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    k = draw(st.integers(1, 15))
    ref = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    cur = draw(st.lists(st.integers(0, 500), min_size=k, max_size=k).filter(any))
    return ref, cur


@settings(deadline=None)
@given(count_pairs(), st.sampled_from([2.0, math.e, 10.0]))
def test_matches_scipy(pair: tuple[list[int], list[int]], base: float) -> None:
    ref, cur = pair
    expected = float(jensenshannon(ref, cur, base=base))
    result = jensen_shannon_counts(ref, cur, base=base)
    # scipy can return NaN for (numerically) identical inputs via sqrt of a tiny negative
    if math.isnan(expected):
        assert result.statistic == pytest.approx(0.0, abs=1e-7)
    else:
        assert result.statistic == pytest.approx(expected, rel=1e-9, abs=1e-7)
    assert result.n_bins == len(ref)


@settings(deadline=None)
@given(count_pairs())
def test_bounded_symmetric_zero_on_identical(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = pair
    forward = jensen_shannon_counts(ref, cur).statistic
    assert 0.0 <= forward <= 1.0
    assert forward == jensen_shannon_counts(cur, ref).statistic
    assert jensen_shannon_counts(ref, [5 * r for r in ref]).statistic == pytest.approx(
        0.0, abs=1e-7
    )


@settings(deadline=None)
@given(count_pairs(), count_pairs())
def test_triangle_inequality(
    first: tuple[list[int], list[int]], second: tuple[list[int], list[int]]
) -> None:
    a, b = first
    c = second[0]
    if len(c) != len(a):
        return
    d_ab = jensen_shannon_counts(a, b).statistic
    d_bc = jensen_shannon_counts(b, c).statistic
    d_ac = jensen_shannon_counts(a, c).statistic
    assert d_ac <= d_ab + d_bc + 1e-9


def test_known_values() -> None:
    assert jensen_shannon_counts([3, 0], [0, 8]) == JensenShannonResult(1.0, 2)
    assert jensen_shannon_counts([2, 2], [4, 4]) == JensenShannonResult(0.0, 2)
    # p = (1, 0), q = (1/2, 1/2): JSD = (log2(4/3) + (1/2)(log2(2/3) + log2 2)) / 2
    divergence = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5) / 2
    result = jensen_shannon_counts([1, 0], [1, 1])
    assert result.statistic == pytest.approx(math.sqrt(divergence), rel=1e-14)
    natural = jensen_shannon_counts([1, 0], [0, 1], base=math.e).statistic
    assert natural == pytest.approx(math.sqrt(math.log(2.0)), rel=1e-14)


def test_raw_inputs() -> None:
    rng = np.random.default_rng(6)
    reference, current = rng.gamma(2.0, size=3000), rng.gamma(2.2, size=2000)
    edges = quantile_edges(np.sort(reference), 15)
    expected = float(
        jensenshannon(bin_counts(reference, edges), bin_counts(current, edges), base=2)
    )
    result = jensen_shannon(reference, current, bins=15)
    assert result.statistic == pytest.approx(expected, rel=1e-12)
    assert result.n_bins == 15
    categorical = jensen_shannon(["a", "b", None], ["b", "c"])
    assert categorical.statistic == pytest.approx(
        float(jensenshannon([1, 1, 0], [0, 1, 1], base=2))
    )


def test_errors() -> None:
    with pytest.raises(ValueError, match="base"):
        jensen_shannon_counts([1], [1], base=1.0)
    with pytest.raises(ValueError, match="same bins"):
        jensen_shannon_counts([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        jensen_shannon([], [1.0])

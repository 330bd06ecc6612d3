"""Tests for the chi-squared test of homogeneity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency

from seismo.stats import Chi2Result, chi2, chi2_counts
from seismo.stats._binning import bin_counts, quantile_edges


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    k = draw(st.integers(1, 12))
    ref = draw(st.lists(st.integers(0, 300), min_size=k, max_size=k).filter(any))
    cur = draw(st.lists(st.integers(0, 300), min_size=k, max_size=k).filter(any))
    return ref, cur


def scipy_reference(ref: list[int], cur: list[int]) -> tuple[float, float, int]:
    table = np.array([ref, cur], dtype=float)
    table = table[:, table.sum(axis=0) > 0]  # scipy rejects all-zero columns
    if table.shape[1] < 2:
        return 0.0, 1.0, 0
    result = chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue), int(result.dof)


@settings(deadline=None)
@given(count_pairs())
def test_matches_scipy_chi2_contingency(pair: tuple[list[int], list[int]]) -> None:
    ref, cur = pair
    statistic, pvalue, dof = scipy_reference(ref, cur)
    result = chi2_counts(ref, cur)
    assert result.statistic == pytest.approx(statistic, rel=1e-10, abs=1e-10)
    assert result.pvalue == pytest.approx(pvalue, rel=1e-9, abs=1e-12)
    assert result.dof == dof
    swapped = chi2_counts(cur, ref)
    assert swapped.statistic == pytest.approx(result.statistic, rel=1e-12, abs=1e-12)
    assert swapped.dof == result.dof


def test_large_table_matches_scipy() -> None:
    rng = np.random.default_rng(9)
    ref = rng.multinomial(100_000, np.full(50, 1 / 50))
    cur = rng.multinomial(80_000, rng.dirichlet(np.full(50, 200.0)))
    statistic, pvalue, dof = scipy_reference(ref.tolist(), cur.tolist())
    result = chi2_counts(ref, cur)
    assert result.statistic == pytest.approx(statistic, rel=1e-10)
    assert result.pvalue == pytest.approx(pvalue, rel=1e-8, abs=1e-300)
    assert result.dof == dof == 49


def test_empty_categories_dropped_and_degenerate_cases() -> None:
    assert chi2_counts([5, 0, 5], [3, 0, 7]).dof == 1
    assert chi2_counts([5, 0, 5], [3, 0, 7]) == chi2_counts([5, 5], [3, 7])
    assert chi2_counts([4, 0], [9, 0]) == Chi2Result(0.0, 1.0, 0)
    assert chi2_counts([4], [9]) == Chi2Result(0.0, 1.0, 0)
    identical = chi2_counts([10, 20, 30], [10, 20, 30])
    assert identical.statistic == pytest.approx(0.0, abs=1e-12)
    assert identical.pvalue == pytest.approx(1.0)


def test_hand_computed() -> None:
    # Expected counts are 40, 30, 30 in both rows: 2 * (100/40 + 0 + 100/30)
    result = chi2_counts([50, 30, 20], [30, 30, 40])
    assert result.statistic == pytest.approx(2 * (100 / 40 + 100 / 30), rel=1e-14)
    assert result.dof == 2


def test_raw_categorical_and_numeric() -> None:
    reference = ["x"] * 30 + ["y"] * 20 + [None]
    current = np.array(["y"] * 25 + ["z"] * 5, dtype=object)
    assert chi2(reference, current) == chi2_counts([30, 20, 0], [0, 25, 5])
    rng = np.random.default_rng(10)
    a, b = rng.normal(size=1000), rng.normal(0.1, 1, size=900)
    edges = quantile_edges(np.sort(a), 10)
    assert chi2(a, b) == chi2_counts(bin_counts(a, edges), bin_counts(b, edges))
    assert chi2([1, 2, 2], [2, 3], categorical=True) == chi2_counts([1, 2, 0], [0, 1, 1])


def test_errors() -> None:
    with pytest.raises(ValueError, match="same bins"):
        chi2_counts([1, 2], [1])
    with pytest.raises(ValueError, match="reference is empty"):
        chi2([None], ["a"])

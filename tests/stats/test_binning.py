"""Tests for the shared binning contract in ``seismo.stats._binning``."""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seismo.stats._binning import (
    bin_counts,
    category_counts,
    check_counts,
    numeric_values,
    proportions,
    quantile_edges,
    raw_counts,
)

finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
# Few distinct values -> many ties and values exactly on the edges.
tied_floats = st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])
samples = st.lists(st.one_of(finite_floats, tied_floats), min_size=1, max_size=60)


def reference_edges(values: list[float], n_bins: int) -> np.ndarray:
    """Inverted-CDF quantiles with exact rational index arithmetic."""
    ordered = sorted(values)
    n = len(ordered)
    picked = [ordered[math.ceil(Fraction(j * n, n_bins)) - 1] for j in range(1, n_bins)]
    return np.unique(np.array(picked, dtype=np.float64))


# --- quantile_edges ------------------------------------------------------------------------


@settings(deadline=None)
@given(samples, st.integers(1, 25))
def test_quantile_edges_matches_exact_rational_reference(values: list[float], n_bins: int) -> None:
    edges = quantile_edges(np.sort(np.array(values)), n_bins)
    np.testing.assert_array_equal(edges, reference_edges(values, n_bins))
    assert edges.dtype == np.float64
    assert len(edges) <= n_bins - 1
    assert np.all(np.diff(edges) > 0)


@pytest.mark.parametrize("n", [1, 7, 100, 1001, 12345])
@pytest.mark.parametrize("n_bins", [2, 3, 10, 64, 1000])
def test_quantile_edges_match_numpy_inverted_cdf(n: int, n_bins: int) -> None:
    values = np.sort(np.random.default_rng(n * n_bins).normal(size=n))
    expected = np.unique(np.quantile(values, np.arange(1, n_bins) / n_bins, method="inverted_cdf"))
    np.testing.assert_array_equal(quantile_edges(values, n_bins), expected)


def test_quantile_edges_equal_frequency_when_divisible() -> None:
    values = np.arange(1000.0)
    edges = quantile_edges(values, 10)
    np.testing.assert_array_equal(edges, np.arange(99.0, 1000.0, 100.0)[:-1])
    np.testing.assert_array_equal(bin_counts(values, edges), np.full(10, 100))


def test_quantile_edges_ties_merge_bins() -> None:
    values = np.array([1.0] * 8 + [2.0, 3.0])
    np.testing.assert_array_equal(quantile_edges(values, 5), [1.0])
    np.testing.assert_array_equal(quantile_edges(values, 10), [1.0, 2.0])
    np.testing.assert_array_equal(quantile_edges(np.full(5, 4.0), 10), [4.0])
    assert quantile_edges(np.array([1.0, 2.0]), 1).size == 0


def test_quantile_edges_integer_index_is_exact_for_large_n() -> None:
    # j * n / n_bins in floating point would misplace indices for n near 2**53; the integer
    # formula must still pick ceil(j n / n_bins) - 1 exactly (checked on a strided view).
    n, n_bins = 10**6 + 3, 7
    values = np.arange(n, dtype=np.float64)
    expected = [math.ceil(Fraction(j * n, n_bins)) - 1 for j in range(1, n_bins)]
    np.testing.assert_array_equal(quantile_edges(values, n_bins), expected)


@pytest.mark.parametrize(
    ("values", "n_bins", "message"),
    [
        (np.array([]), 3, "empty"),
        (np.array([2.0, 1.0]), 3, "sorted"),
        (np.array([1.0, np.nan]), 3, "NaN"),
        (np.array([np.nan]), 3, "NaN"),
        (np.zeros((2, 2)), 3, "1-D"),
        (np.array([1.0]), 0, "positive integer"),
        (np.array([1.0]), 2.5, "positive integer"),
        (np.array([1.0]), True, "positive integer"),
    ],
)
def test_quantile_edges_errors(values: np.ndarray, n_bins: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quantile_edges(values, n_bins)


# --- bin_counts ----------------------------------------------------------------------------


@settings(deadline=None)
@given(samples, samples, st.integers(1, 12))
def test_bin_counts_matches_searchsorted_bincount(
    reference: list[float], values: list[float], n_bins: int
) -> None:
    edges = quantile_edges(np.sort(np.array(reference)), n_bins)
    array = np.array(values)
    expected = np.bincount(np.searchsorted(edges, array, side="left"), minlength=len(edges) + 1)
    counts = bin_counts(array, edges)
    np.testing.assert_array_equal(counts, expected)
    assert counts.dtype == np.int64


def test_bin_counts_right_closed_bins() -> None:
    # (-inf, 1], (1, 2], (2, inf): a value on an edge goes to the bin on its left.
    np.testing.assert_array_equal(bin_counts([1.0, 1.0, 2.0, 2.5, -5.0], [1.0, 2.0]), [3, 1, 1])
    np.testing.assert_array_equal(bin_counts([np.inf, -np.inf], [0.0]), [1, 1])


def test_bin_counts_ignores_nan_and_accepts_no_edges() -> None:
    np.testing.assert_array_equal(bin_counts([np.nan, 1.0, np.nan, 3.0], [2.0]), [1, 1])
    np.testing.assert_array_equal(bin_counts([1.0, 2.0], np.array([])), [2])
    np.testing.assert_array_equal(bin_counts(np.array([]), [0.0]), [0, 0])
    np.testing.assert_array_equal(bin_counts([np.nan], [0.0]), [0, 0])


def test_bin_counts_errors() -> None:
    with pytest.raises(ValueError, match="ascending"):
        bin_counts([1.0], [2.0, 1.0])
    with pytest.raises(ValueError, match="ascending"):
        bin_counts([1.0], [np.nan])
    with pytest.raises(ValueError, match="1-D"):
        bin_counts(np.zeros((2, 2)), [1.0])


# --- category_counts -----------------------------------------------------------------------


@settings(deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "dd", "é"]), min_size=1, max_size=40),
    st.lists(st.sampled_from(["a", "b", "x", "é"]), min_size=1, max_size=40),
)
def test_category_counts_matches_counter(reference: list[str], current: list[str]) -> None:
    categories, ref, cur = category_counts(np.array(reference), current)
    expected = sorted(set(reference) | set(current))
    assert categories == expected
    np.testing.assert_array_equal(ref, [Counter(reference)[c] for c in expected])
    np.testing.assert_array_equal(cur, [Counter(current)[c] for c in expected])
    assert ref.dtype == np.int64 and cur.dtype == np.int64


def test_category_counts_drops_missing_and_sorts_mixed_types() -> None:
    reference = np.array(["b", None, 1, float("nan"), "1", "b"], dtype=object)
    current = ["c", "b", None]
    categories, ref, cur = category_counts(reference, current)
    assert categories == [1, "1", "b", "c"]
    np.testing.assert_array_equal(ref, [1, 1, 2, 0])
    np.testing.assert_array_equal(cur, [0, 0, 1, 1])
    # Values that compare equal (1 == 1.0 == True) are one category, as in a dict.
    categories, ref, cur = category_counts(np.array([1, "a"], dtype=object), [1.0, True])
    assert categories == [1, "a"]
    np.testing.assert_array_equal(ref, [1, 1])
    np.testing.assert_array_equal(cur, [2, 0])


def test_category_counts_numeric_and_bool_arrays() -> None:
    categories, ref, cur = category_counts(np.array([3, 1, 3]), np.array([2.0, np.nan]))
    assert categories == [1, 2.0, 3]
    np.testing.assert_array_equal(ref, [1, 0, 2])
    np.testing.assert_array_equal(cur, [0, 1, 0])
    categories, ref, cur = category_counts(np.array([True, False, True]), np.array([True]))
    assert categories == [False, True]
    np.testing.assert_array_equal(ref, [1, 2])
    np.testing.assert_array_equal(cur, [0, 1])


def test_category_counts_errors() -> None:
    with pytest.raises(ValueError, match="reference is empty"):
        category_counts([None, float("nan")], ["a"])
    with pytest.raises(ValueError, match="current is empty"):
        category_counts(["a"], [])


# --- proportions ---------------------------------------------------------------------------


@settings(deadline=None)
@given(
    st.lists(st.integers(0, 10**6), min_size=1, max_size=30).filter(lambda c: sum(c) > 0),
    st.floats(0.0, 0.1),
)
def test_proportions_formula(counts: list[int], smoothing: float) -> None:
    p = proportions(counts, smoothing)
    total, k = sum(counts), len(counts)
    expected = [(c / total + smoothing) / (1 + k * smoothing) for c in counts]
    np.testing.assert_allclose(p, expected, rtol=1e-12, atol=0)
    assert math.isclose(float(p.sum()), 1.0, rel_tol=1e-12)
    if smoothing > 0:
        assert np.all(p > 0)


def test_proportions_errors() -> None:
    with pytest.raises(ValueError, match="sum to zero"):
        proportions([0, 0], 0.1)
    with pytest.raises(ValueError, match="smoothing"):
        proportions([1, 2], -0.1)
    with pytest.raises(ValueError, match="smoothing"):
        proportions([1, 2], float("nan"))
    with pytest.raises(ValueError, match="non-negative"):
        proportions([1, -2], 0.0)
    with pytest.raises(ValueError, match="numeric counts"):
        proportions(["a"], 0.0)


# --- internal helpers ------------------------------------------------------------------------


def test_check_counts_errors() -> None:
    with pytest.raises(ValueError, match=r"same bins.*lengths 2 and 3"):
        check_counts([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="reference_counts is empty"):
        check_counts([], [])
    with pytest.raises(ValueError, match="reference_counts sum to zero"):
        check_counts([0, 0], [1, 0])
    with pytest.raises(ValueError, match="current_counts sum to zero"):
        check_counts([1, 0], [0, 0])
    with pytest.raises(ValueError, match="finite"):
        check_counts([1, np.inf], [1, 0])
    with pytest.raises(ValueError, match="1-D"):
        check_counts(5, 5)


def test_numeric_values() -> None:
    np.testing.assert_array_equal(numeric_values([1, 2], "x"), [1.0, 2.0])
    np.testing.assert_array_equal(numeric_values([True, False], "x"), [1.0, 0.0])
    np.testing.assert_array_equal(
        numeric_values(np.array([1.5, None, 2], dtype=object), "x"), [1.5, 2.0]
    )
    dates = np.array(["2024-01-01", "NaT", "2024-01-02"], dtype="datetime64[D]")
    np.testing.assert_array_equal(numeric_values(dates, "x"), [19723.0, 19724.0])
    with pytest.raises(ValueError, match="x must be numeric"):
        numeric_values(["a", "b"], "x")
    with pytest.raises(ValueError, match="x must be numeric"):
        numeric_values(np.array(["1.5"], dtype=object), "x")
    with pytest.raises(ValueError, match="x is empty"):
        numeric_values([np.nan], "x")


def test_raw_counts_numeric_uses_reference_quantile_bins() -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=1000), rng.normal(0.5, 1, size=700)
    ref_counts, cur_counts = raw_counts(reference, current, bins=10, categorical=None)
    edges = quantile_edges(np.sort(reference), 10)
    np.testing.assert_array_equal(ref_counts, np.full(10, 100))
    np.testing.assert_array_equal(cur_counts, bin_counts(current, edges))


def test_raw_counts_dtype_dispatch() -> None:
    # strings and booleans are categorical, integers are binned unless forced.
    ref, cur = raw_counts(["a", "b"], ["b", "c", "c"], bins=10, categorical=None)
    np.testing.assert_array_equal(ref, [1, 1, 0])
    np.testing.assert_array_equal(cur, [0, 1, 2])
    ref, cur = raw_counts([True, True, False], [False], bins=10, categorical=None)
    np.testing.assert_array_equal(ref, [1, 2])
    np.testing.assert_array_equal(cur, [1, 0])
    codes = [10, 20, 30, 40]
    ref, cur = raw_counts(codes, [40, 50], bins=2, categorical=None)
    np.testing.assert_array_equal(ref, [2, 2])  # edge at 20: (-inf, 20], (20, inf)
    np.testing.assert_array_equal(cur, [0, 2])
    ref, cur = raw_counts(codes, [40, 50], bins=2, categorical=True)
    np.testing.assert_array_equal(ref, [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(cur, [0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="must be numeric"):
        raw_counts(["a"], ["b"], bins=2, categorical=False)
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        raw_counts([1.0], [1.0], bins=0, categorical=None)


def test_raw_counts_datetimes_are_binned() -> None:
    reference = np.arange("2024-01-01", "2024-01-11", dtype="datetime64[D]")
    current = np.array(["2024-01-09", "2024-02-01", "NaT"], dtype="datetime64[D]")
    ref, cur = raw_counts(reference, current, bins=2, categorical=None)
    np.testing.assert_array_equal(ref, [5, 5])
    np.testing.assert_array_equal(cur, [0, 2])

"""Tests for the two-sample Kolmogorov–Smirnov test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp

from seismo.stats import KSResult, ks, ks_counts
from seismo.stats._binning import bin_counts, quantile_edges

SIZES = [(2, 3), (5, 5), (17, 40), (100, 100), (250, 1000), (999, 1001), (5000, 20_000)]


@pytest.mark.parametrize(("n", "m"), SIZES)
@pytest.mark.parametrize("kind", ["continuous", "ties", "shifted"])
def test_matches_scipy_asymp(n: int, m: int, kind: str) -> None:
    rng = np.random.default_rng(n + 7 * m)
    if kind == "continuous":
        a, b = rng.normal(size=n), rng.normal(size=m)
    elif kind == "ties":
        a, b = rng.poisson(3, size=n).astype(float), rng.poisson(3.3, size=m).astype(float)
    else:
        a, b = rng.normal(size=n), rng.standard_t(4, size=m) + 0.2
    expected = ks_2samp(a, b, method="asymp")
    result = ks(a, b)
    assert result.statistic == pytest.approx(float(expected.statistic), abs=1e-12)
    assert result.pvalue == pytest.approx(float(expected.pvalue), abs=1e-10, rel=1e-10)
    assert (result.n_reference, result.n_current, result.bound) == (n, m, 0.0)
    swapped = ks(b, a)
    assert swapped.statistic == result.statistic
    assert swapped.pvalue == pytest.approx(result.pvalue, abs=1e-15)


@settings(deadline=None, max_examples=60)
@given(
    st.lists(st.integers(-3, 3), min_size=2, max_size=30),
    st.lists(st.integers(-3, 3), min_size=2, max_size=30),
)
def test_matches_scipy_on_small_tied_samples(a: list[int], b: list[int]) -> None:
    expected = ks_2samp(a, b, method="asymp")
    result = ks(a, b)
    assert result.statistic == pytest.approx(float(expected.statistic), abs=1e-12)
    assert result.pvalue == pytest.approx(float(expected.pvalue), abs=1e-10)


def test_hand_computed_statistic() -> None:
    # F_ref and F_cur at 1, 2, 3, 4: (1/3, 2/3, 1, 1) vs (0, 1/2, 1/2, 1) -> D = 1/2
    result = ks([1.0, 2.0, 3.0], [2.0, 4.0])
    assert result.statistic == pytest.approx(0.5, abs=1e-15)


def test_identical_and_degenerate() -> None:
    assert ks([1.0, 2.0], [2.0, 1.0]) == KSResult(0.0, 1.0, 2, 2, 0.0)
    single = ks([5.0], [6.0])  # scipy gives NaN here (effective size rounds to 0)
    assert single.statistic == 1.0 and math.isfinite(single.pvalue)
    constant = ks(np.zeros(50), np.ones(3))
    assert constant.statistic == 1.0 and 0.0 <= constant.pvalue < 0.05


def test_nan_dropped_inf_kept() -> None:
    a = np.array([1.0, np.nan, 2.0, np.inf])
    b = np.array([-np.inf, 1.5, np.nan])
    expected = ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)], method="asymp")
    assert ks(a, b).statistic == pytest.approx(float(expected.statistic))
    assert ks(a, b).pvalue == pytest.approx(float(expected.pvalue))


@pytest.mark.parametrize(
    "kind", ["normal", "lognormal", "shifted", "poisson", "few_values", "mixed"]
)
def test_grid_brackets_exact_statistic(kind: str) -> None:
    rng = np.random.default_rng(sum(map(ord, kind)))
    n, m = 4000, 3000
    if kind == "normal":
        a, b = rng.normal(size=n), rng.normal(size=m)
    elif kind == "lognormal":
        a, b = rng.lognormal(size=n), rng.lognormal(0.05, 1.1, size=m)
    elif kind == "shifted":
        a, b = rng.normal(size=n), rng.normal(0.1, 1, size=m)
    elif kind == "poisson":
        a, b = rng.poisson(4, n).astype(float), rng.poisson(4.2, m).astype(float)
    elif kind == "few_values":
        a, b = rng.integers(0, 3, n).astype(float), rng.integers(0, 4, m).astype(float)
    else:
        a = np.where(rng.random(n) < 0.3, 0.0, rng.normal(size=n))
        b = np.where(rng.random(m) < 0.2, 0.0, rng.normal(size=m))
    exact = float(ks_2samp(a, b, method="asymp").statistic)
    for n_bins in (5, 50, 1000):
        edges = quantile_edges(np.sort(a), n_bins)
        grid = ks_counts(bin_counts(a, edges), bin_counts(b, edges))
        assert grid.statistic - 1e-12 <= exact <= grid.statistic + grid.bound + 1e-12
        assert (grid.n_reference, grid.n_current) == (n, m)
        # the simpler bound of the proof, max_i max(p_i, q_i), is never smaller
        p = bin_counts(a, edges) / n
        q = bin_counts(b, edges) / m
        assert grid.bound <= float(np.max(np.maximum(p, q))) + 1e-15
    if kind in ("normal", "lognormal", "shifted"):
        assert grid.bound < 0.005  # 1000 quantile bins of continuous data: tight


def test_counts_on_every_distinct_value_are_exact() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=300), rng.normal(0.2, 1, size=200)
    edges = np.unique(np.concatenate([a, b]))
    grid = ks_counts(bin_counts(a, edges), bin_counts(b, edges))
    exact = ks(a, b)
    assert grid.statistic == pytest.approx(exact.statistic, abs=1e-12)
    assert grid.pvalue == pytest.approx(exact.pvalue, abs=1e-10)


def test_counts_known_values() -> None:
    result = ks_counts([30, 40, 30], [10, 40, 50])
    assert result.statistic == pytest.approx(0.2)
    assert result.bound == pytest.approx(0.4)  # bin 3: (0.3 + 0.5) / 2
    assert result.pvalue == pytest.approx(
        float(
            ks_2samp(
                [0] * 30 + [1] * 40 + [2] * 30, [0] * 10 + [1] * 40 + [2] * 50, method="asymp"
            ).pvalue
        )
    )


def test_counts_weighted_totals_are_rounded() -> None:
    result = ks_counts([10.4, 20.0], [5.0, 4.6])
    assert (result.n_reference, result.n_current) == (30, 10)


def test_errors() -> None:
    with pytest.raises(ValueError, match="must be numeric"):
        ks(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="current is empty"):
        ks([1.0], [np.nan])
    with pytest.raises(ValueError, match="same bins"):
        ks_counts([1, 2], [1])


@pytest.mark.parametrize("en_target", [12_000, 60_000, 500_000])
def test_large_samples_use_the_corrected_limit_within_1e_3_of_scipy(en_target: int) -> None:
    from scipy.stats import kstwo

    from seismo.stats.ks import _pvalue

    n = m = 2 * en_target
    for d in (0.5 / np.sqrt(en_target), 1 / np.sqrt(en_target), 2 / np.sqrt(en_target)):
        expected = float(kstwo.sf(d, en_target))
        assert _pvalue(d, n, m) == pytest.approx(expected, abs=1e-3)

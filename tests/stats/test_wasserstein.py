"""Tests for the Wasserstein-1 distance and its binned estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from seismo.stats import WassersteinResult, wasserstein, wasserstein_grid
from seismo.stats._binning import bin_counts, quantile_edges


def samples(kind: str, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(sum(map(ord, kind)) + n + m)
    if kind == "normal":
        return rng.normal(size=n), rng.normal(size=m)
    if kind == "shifted":
        return rng.normal(size=n), rng.normal(0.5, 1.5, size=m)
    if kind == "mean_shift":
        return rng.normal(size=n), rng.normal(0.3, 1.0, size=m)
    if kind == "lognormal":
        return rng.lognormal(size=n), rng.lognormal(0.1, 1.0, size=m)
    if kind == "uniform":
        return rng.random(n), rng.random(m)
    if kind == "discrete":
        return rng.poisson(3, n).astype(float), rng.poisson(3.5, m).astype(float)
    if kind == "few_values":
        return rng.integers(0, 3, n).astype(float), rng.integers(1, 5, m).astype(float)
    if kind == "mixed":
        a = np.where(rng.random(n) < 0.4, 0.0, rng.exponential(size=n))
        b = np.where(rng.random(m) < 0.1, 0.0, rng.exponential(size=m))
        return a, b
    raise AssertionError(kind)


KINDS = [
    "normal",
    "shifted",
    "mean_shift",
    "lognormal",
    "uniform",
    "discrete",
    "few_values",
    "mixed",
]


def grid_result(a: np.ndarray, b: np.ndarray, n_bins: int) -> WassersteinResult:
    edges = quantile_edges(np.sort(a), n_bins)
    both = np.concatenate([a, b])
    return wasserstein_grid(
        edges,
        bin_counts(a, edges),
        bin_counts(b, edges),
        low=float(both.min()),
        high=float(both.max()),
        reference_std=float(a.std()),
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("n", "m"), [(1, 1), (3, 7), (200, 150), (5000, 4000)])
def test_exact_matches_scipy(kind: str, n: int, m: int) -> None:
    a, b = samples(kind, n, m)
    expected = float(wasserstein_distance(a, b))
    result = wasserstein(a, b)
    assert result.statistic == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert result.bound == 0.0
    assert result.reference_std == pytest.approx(float(np.std(a)), rel=1e-12)
    assert wasserstein(b, a).statistic == pytest.approx(result.statistic, rel=1e-12, abs=1e-14)


def test_hand_computed_and_normalized() -> None:
    assert wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0]).statistic == pytest.approx(5.0)
    rng = np.random.default_rng(11)
    reference = rng.normal(3.0, 2.0, size=1000)
    shifted = wasserstein(reference, reference + 3.0)  # a shift of 1.5 standard deviations
    assert shifted.statistic == pytest.approx(3.0, rel=1e-12)
    assert shifted.normalized == pytest.approx(3.0 / float(np.std(reference)), rel=1e-12)


def test_zero_reference_std() -> None:
    assert wasserstein([2.0, 2.0], [2.0]) == WassersteinResult(0.0, 0.0, 0.0, 0.0)
    moved = wasserstein([2.0, 2.0], [3.0])
    assert moved.statistic == 1.0 and moved.normalized == math.inf


def test_nan_dropped_inf_rejected() -> None:
    assert wasserstein([1.0, np.nan, 2.0], [np.nan, 3.0]) == wasserstein([1.0, 2.0], [3.0])
    with pytest.raises(ValueError, match="infinite"):
        wasserstein([1.0, np.inf], [1.0])
    with pytest.raises(ValueError, match="must be numeric"):
        wasserstein(["a"], ["b"])
    with pytest.raises(ValueError, match="current is empty"):
        wasserstein([1.0], [np.nan])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_bins", [1, 5, 50, 1000])
def test_grid_error_within_bound(kind: str, n_bins: int) -> None:
    a, b = samples(kind, 6000, 4000)
    exact = float(wasserstein_distance(a, b))
    grid = grid_result(a, b, n_bins)
    assert abs(grid.statistic - exact) <= grid.bound + 1e-12 * max(1.0, exact)
    assert grid.bound >= 0.0


@pytest.mark.parametrize("kind", ["normal", "mean_shift", "uniform"])
def test_grid_bound_small_with_1000_quantile_bins(kind: str) -> None:
    a, b = samples(kind, 20_000, 20_000)
    grid = grid_result(a, b, 1000)
    exact = float(wasserstein_distance(a, b))
    std = float(a.std())
    # bound ~ (range of the data) / n_bins: about 0.35% of std for uniform data and
    # 0.8-1.2% for normal data (whose extremes lie ~4 std out); the actual error is far
    # smaller than the guarantee. (When much current mass lies beyond the reference's
    # outermost edges the outer intervals dominate the bound: see the "shifted" case.)
    assert grid.bound < (0.01 if kind == "uniform" else 0.015) * std
    assert abs(grid.statistic - exact) < 0.002 * std
    assert grid.normalized == pytest.approx(grid.statistic / std, rel=1e-12)


@settings(deadline=None)
@given(
    st.lists(st.integers(-5, 5) | st.floats(-5, 5), min_size=1, max_size=40),
    st.lists(st.integers(-8, 8) | st.floats(-8, 8), min_size=1, max_size=40),
    st.integers(1, 12),
)
def test_grid_bound_holds_on_arbitrary_small_samples(
    a_list: list[float], b_list: list[float], n_bins: int
) -> None:
    a, b = np.array(a_list, dtype=float), np.array(b_list, dtype=float)
    exact = float(wasserstein_distance(a, b))
    grid = grid_result(a, b, n_bins)
    assert abs(grid.statistic - exact) <= grid.bound + 1e-9


def test_grid_with_foreign_edges_is_clipped() -> None:
    # Edges from another sample may lie outside [low, high]; they are clipped.
    rng = np.random.default_rng(12)
    a, b = rng.normal(5.0, 0.1, size=500), rng.normal(5.05, 0.1, size=400)
    edges = np.linspace(0.0, 10.0, 101)
    both = np.concatenate([a, b])
    grid = wasserstein_grid(
        edges,
        bin_counts(a, edges),
        bin_counts(b, edges),
        low=float(both.min()),
        high=float(both.max()),
        reference_std=float(a.std()),
    )
    assert abs(grid.statistic - float(wasserstein_distance(a, b))) <= grid.bound
    # only the intervals inside [low, high] count: at most the width of the data range
    assert grid.bound <= float(both.max() - both.min())


def test_grid_degenerate_inputs() -> None:
    flat = wasserstein_grid([1.0], [3, 0], [2, 0], low=1.0, high=1.0, reference_std=0.0)
    assert flat == WassersteinResult(0.0, 0.0, 0.0, 0.0)
    no_edges = wasserstein_grid([], [3], [2], low=0.0, high=2.0, reference_std=1.0)
    assert no_edges.statistic == 0.0 and no_edges.bound == 2.0
    # all mass on the edges themselves: [0, 0, 1, 1] vs [1, 1, 1, 2] on edges (0, 1)
    grid = wasserstein_grid([0.0, 1.0], [2, 2, 0], [0, 3, 1], low=0.0, high=2.0, reference_std=0.5)
    exact = float(wasserstein_distance([0, 0, 1, 1], [1, 1, 1, 2]))
    assert abs(grid.statistic - exact) <= grid.bound


def test_grid_errors() -> None:
    with pytest.raises(ValueError, match=r"len\(edges\) \+ 1 = 2"):
        wasserstein_grid([0.0], [1], [1], low=0.0, high=1.0, reference_std=1.0)
    with pytest.raises(ValueError, match="low <= high"):
        wasserstein_grid([0.0], [1, 1], [1, 1], low=1.0, high=0.0, reference_std=1.0)
    with pytest.raises(ValueError, match="low <= high"):
        wasserstein_grid([0.0], [1, 1], [1, 1], low=-np.inf, high=0.0, reference_std=1.0)
    with pytest.raises(ValueError, match="ascending"):
        wasserstein_grid([1.0, 0.0], [1, 1, 1], [1, 1, 1], low=0.0, high=1.0, reference_std=1.0)
    with pytest.raises(ValueError, match="reference_std"):
        wasserstein_grid([0.0], [1, 1], [1, 1], low=0.0, high=1.0, reference_std=-1.0)
    with pytest.raises(ValueError, match="same bins"):
        wasserstein_grid([0.0], [1, 1], [1, 1, 1], low=0.0, high=1.0, reference_std=1.0)


def _heavy_tied_outlier(kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
    if kind == "lognormal-sigma-2":
        return rng.lognormal(0.0, 2.0, n)
    if kind == "pareto-1.1":
        return rng.pareto(1.1, n)
    if kind == "student-t-1.5":
        return rng.standard_t(1.5, n)
    if kind == "poisson":
        return rng.poisson(3.0, n).astype(float)
    if kind == "rounded-delays":  # minutes: many ties, a long right tail
        return np.round(rng.exponential(30.0, n) - 5.0)
    if kind == "zero-inflated":  # precipitation-like: most values 0
        return np.where(rng.random(n) < 0.7, 0.0, np.round(rng.gamma(0.8, 5.0, n), 1))
    if kind == "one-far-outlier":
        values = rng.normal(0.0, 1.0, n)
        values[rng.integers(n)] = 1000.0
        return values
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "lognormal-sigma-2",
        "pareto-1.1",
        "student-t-1.5",
        "poisson",
        "rounded-delays",
        "zero-inflated",
        "one-far-outlier",
    ],
)
@pytest.mark.parametrize(("n", "m", "change"), [(50_000, 60_000, 1.3), (3_000, 800, 1.0)])
def test_profile_wasserstein_is_exact_enough_on_heavy_tails_ties_and_outliers(
    kind: str, n: int, m: int, change: float
) -> None:
    """From per-bin counts, sums and extremes the grid value is within 1% of scipy's exact
    distance (or 1e-3 reference std), the bound holds, and it is tight: a far outlier or a
    heavy tail no longer makes it as large as the distance itself."""
    from seismo.drift import profile_statistics
    from seismo.profile import NumericGrid, NumericProfile

    rng = np.random.default_rng(sum(map(ord, kind)) + n)
    reference = _heavy_tied_outlier(kind, rng, n)
    current = _heavy_tied_outlier(kind, rng, m) * change
    grid = NumericGrid.from_sorted(np.sort(reference))
    # The current side arrives in three batches and is merged, as windows are.
    parts = np.array_split(current, 3)
    current_profile = NumericProfile.from_batch(grid, parts[0])
    for part in parts[1:]:
        current_profile = current_profile.merge(NumericProfile.from_batch(grid, part))
    found = profile_statistics(NumericProfile.from_batch(grid, reference), current_profile)
    assert found.wasserstein is not None
    exact = float(wasserstein_distance(reference, current))
    error = abs(found.wasserstein.statistic - exact)
    scale = float(reference.std())
    assert error <= max(0.01 * exact, 1e-3 * scale), (found.wasserstein, exact)
    assert error <= found.wasserstein.bound + 1e-9 * exact
    assert found.wasserstein.bound <= 0.3 * exact + 0.01 * scale


def test_profiles_without_bin_values_fall_back_to_the_trapezoid_rule() -> None:
    """Profiles stored before per-bin values existed still give a bounded estimate."""
    from dataclasses import replace

    from seismo.drift import profile_statistics
    from seismo.profile import NumericGrid, NumericProfile

    rng = np.random.default_rng(4)
    reference, current = rng.normal(0, 1, 5000), rng.normal(0.4, 1, 5000)
    grid = NumericGrid.from_sorted(np.sort(reference))
    old = replace(NumericProfile.from_batch(grid, current), bin_sums=None)
    assert not old.has_bin_values
    found = profile_statistics(NumericProfile.from_batch(grid, reference), old)
    assert found.wasserstein is not None
    exact = float(wasserstein_distance(reference, current))
    assert abs(found.wasserstein.statistic - exact) <= found.wasserstein.bound
    assert not NumericProfile.from_dict(old.to_dict()).has_bin_values

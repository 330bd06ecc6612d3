from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seismo.errors import ProfileMismatchError
from seismo.profile.batch import NumericBatch
from seismo.profile.grid import NumericGrid
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import Physical


def _grid(seed: int = 0, n: int = 5000) -> NumericGrid:
    rng = np.random.default_rng(seed)
    return NumericGrid.from_sorted(np.sort(rng.normal(size=n)))


def test_counts_nan_inf_and_moments_match_numpy() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(3.0, 2.0, 10_000)
    values[:7] = np.nan
    values[7:10] = np.inf
    values[10:12] = -np.inf
    profile = NumericProfile.from_batch(_grid(), NumericBatch(values, 4, Physical.FLOAT))
    finite = values[np.isfinite(values)]
    assert profile.count == 10_000
    assert profile.null_count == 4 and profile.nan_count == 3
    assert profile.posinf_count == 3 and profile.neginf_count == 2
    assert profile.finite_count == len(finite)
    assert profile.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert profile.variance == pytest.approx(finite.var(), rel=1e-12)
    assert (profile.minimum, profile.maximum) == (finite.min(), finite.max())


def test_bin_counts_follow_the_documented_bins() -> None:
    grid = _grid()
    values = np.random.default_rng(2).normal(size=3000)
    profile = NumericProfile.from_batch(grid, values)
    expected = np.bincount(np.searchsorted(grid.edges, values, side="left"), minlength=grid.n_bins)
    np.testing.assert_array_equal(profile.bin_counts, expected)


def test_grid_edges_are_reference_quantiles_and_deciles_are_a_subset() -> None:
    reference = np.sort(np.random.default_rng(3).exponential(size=20_000))
    grid = NumericGrid.from_sorted(reference)
    assert set(grid.psi_edges.tolist()) <= set(grid.edges.tolist())
    profile = NumericProfile.from_batch(grid, reference)
    deciles = grid.psi_counts(profile.bin_counts)
    np.testing.assert_array_equal(deciles, np.full(10, 2000))
    below, above = grid.out_of_range(profile.bin_counts)
    assert (below, above) == (0, 0)


def test_discrete_values_get_one_bin_each() -> None:
    reference = np.sort(np.repeat(np.arange(5.0), [10, 200, 5, 50, 1]))
    grid = NumericGrid.from_sorted(reference)
    profile = NumericProfile.from_batch(grid, reference)
    assert profile.bin_counts[profile.bin_counts > 0].tolist() == [10, 200, 5, 50, 1]


finite_floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
value_arrays = arrays(
    np.float64,
    st.integers(0, 60),
    elements=st.one_of(finite_floats, st.just(np.nan), st.just(np.inf), st.just(-np.inf)),
)


def _assert_same(left: NumericProfile, right: NumericProfile) -> None:
    np.testing.assert_array_equal(left.bin_counts, right.bin_counts)
    for name in ("count", "null_count", "nan_count", "posinf_count", "neginf_count"):
        assert getattr(left, name) == getattr(right, name)
    for name in ("minimum", "maximum", "mean"):
        a, b = getattr(left, name), getattr(right, name)
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-6)
    assert left.m2 == pytest.approx(right.m2, rel=1e-7, abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(value_arrays, value_arrays, value_arrays)
def test_merge_is_associative_commutative_and_equals_profiling_the_union(
    a: np.ndarray, b: np.ndarray, c: np.ndarray
) -> None:
    grid = _grid(n=300)
    pa, pb, pc = (NumericProfile.from_batch(grid, x) for x in (a, b, c))
    left = pa.merge(pb).merge(pc)
    right = pa.merge(pb.merge(pc))
    _assert_same(left, right)
    _assert_same(pa.merge(pb), pb.merge(pa))
    _assert_same(left, NumericProfile.from_batch(grid, np.concatenate([a, b, c])))


def test_merge_refuses_different_grids() -> None:
    left = NumericProfile.from_batch(_grid(0), np.arange(5.0))
    right = NumericProfile.from_batch(_grid(1), np.arange(5.0))
    with pytest.raises(ProfileMismatchError, match="different grids"):
        left.merge(right)


def test_serialisation_round_trips_and_a_million_rows_fit_in_64_kb() -> None:
    from seismo.profile.dataset import DatasetProfile

    values = np.random.default_rng(4).lognormal(size=1_000_000)
    grid = NumericGrid.from_sorted(np.sort(values[:131_072]))
    profile = NumericProfile.from_batch(grid, values)
    dataset = DatasetProfile(len(values), {"x": profile}, {"x": Physical.FLOAT})
    blob = dataset.to_bytes()
    assert len(blob) <= 64 * 1024
    back = DatasetProfile.from_bytes(blob).columns["x"]
    assert isinstance(back, NumericProfile)
    _assert_same(back, profile)
    assert back.grid.same_as(grid)


def test_quantiles_and_cdf_are_close_to_numpy() -> None:
    values = np.random.default_rng(5).normal(size=50_000)
    grid = NumericGrid.from_sorted(np.sort(values))
    profile = NumericProfile.from_batch(grid, values)
    probabilities = np.array([0.01, 0.25, 0.5, 0.75, 0.99])
    np.testing.assert_allclose(
        profile.quantiles(probabilities), np.quantile(values, probabilities), atol=0.01
    )
    points = np.array([-2.0, 0.0, 1.5])
    np.testing.assert_allclose(
        profile.cdf_at(points), [(values <= p).mean() for p in points], atol=0.002
    )


def test_step_quantiles_are_data_values_on_discrete_data() -> None:
    values = np.random.default_rng(6).poisson(3.0, 10_001).astype(np.float64)
    grid = NumericGrid.from_sorted(np.sort(values))
    profile = NumericProfile.from_batch(grid, values)
    probabilities = np.array([0.1, 0.5, 0.9, 1.0])
    np.testing.assert_array_equal(
        profile.quantiles(probabilities, interpolate=False),
        np.quantile(values, probabilities, method="inverted_cdf"),
    )

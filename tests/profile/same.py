"""One check that two profiles describe the same rows: every count, extreme and grid edge
identical; sums (mean, m2, per-bin sums) equal up to the order they were added in."""

from __future__ import annotations

import numpy as np

from seismo.profile.categorical import CategoricalProfile
from seismo.profile.dataset import DatasetProfile, Reference
from seismo.profile.numeric import NumericProfile

_EXACT = ("count", "null_count", "invalid_count", "nan_count", "posinf_count", "neginf_count")


def assert_same_reference(left: Reference, right: Reference) -> None:
    assert left.schema.to_dict() == right.schema.to_dict()
    assert_same_profile(left.profile, right.profile)


def assert_same_profile(left: DatasetProfile, right: DatasetProfile) -> None:
    assert left.row_count == right.row_count
    assert dict(left.physical) == dict(right.physical)
    assert set(left.columns) == set(right.columns)
    for name, a in left.columns.items():
        b = right.columns[name]
        assert type(a) is type(b), name
        assert a.grid.to_dict() == b.grid.to_dict(), f"{name}: grids differ"
        if isinstance(a, NumericProfile):
            assert isinstance(b, NumericProfile)
            for field in _EXACT:
                assert getattr(a, field) == getattr(b, field), f"{name}.{field}"
            np.testing.assert_array_equal(a.bin_counts, b.bin_counts, err_msg=name)
            for field in ("minimum", "maximum"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field), name)
            for field in ("bin_minima", "bin_maxima"):
                np.testing.assert_array_equal(getattr(a, field), getattr(b, field), name)
            scale = max(1.0, abs(a.minimum), abs(a.maximum)) if a.count else 1.0
            np.testing.assert_allclose(a.mean, b.mean, rtol=1e-9, atol=1e-12 * scale, err_msg=name)
            np.testing.assert_allclose(a.m2, b.m2, rtol=1e-9, atol=1e-9 * scale**2, err_msg=name)
            assert (a.bin_sums is None) == (b.bin_sums is None), name
            if a.bin_sums is not None and b.bin_sums is not None:
                np.testing.assert_allclose(a.bin_sums, b.bin_sums, rtol=1e-9, atol=1e-9 * scale)
        else:
            assert isinstance(a, CategoricalProfile) and isinstance(b, CategoricalProfile)
            assert (a.count, a.null_count) == (b.count, b.null_count), name
            np.testing.assert_array_equal(a.bin_counts, b.bin_counts, err_msg=name)
            assert a.off_grid == b.off_grid, name

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seismo.profile.batch import CodesBatch
from seismo.profile.categorical import OFF_GRID_SAMPLE, CategoricalProfile
from seismo.profile.grid import CategoricalGrid
from seismo.schema.types import Physical

GRID = CategoricalGrid(("a", "b", "c"))


def _batch(values: list[str | None]) -> CodesBatch:
    categories = tuple(sorted({v for v in values if v is not None}))
    index = {name: i for i, name in enumerate(categories)}
    codes = np.array([-1 if v is None else index[v] for v in values], dtype=np.int32)
    return CodesBatch(codes, categories, Physical.STRING)


def test_counts_on_grid_other_bin_and_nulls() -> None:
    profile = CategoricalProfile.from_batch(GRID, _batch(["a", "a", "c", "zz", None, "yy", "zz"]))
    assert profile.bin_counts.tolist() == [2, 0, 1, 3]
    assert profile.null_count == 1 and profile.count == 7
    assert profile.off_grid == {"zz": 2, "yy": 1}


def test_grid_keeps_most_frequent_categories_when_capped() -> None:
    counts = {f"v{i}": i for i in range(1, 2001)}
    grid = CategoricalGrid.from_counts(counts, max_categories=1000)
    assert len(grid.categories) == 1000 and not grid.complete
    assert grid.categories[0] == "v2000" and "v1" not in grid.categories


labels = st.sampled_from(["a", "b", "c", *[f"x{i}" for i in range(300)]])
columns = st.lists(st.one_of(labels, st.none()), max_size=400)


@settings(max_examples=100, deadline=None)
@given(columns, columns, columns)
def test_merge_is_associative_and_off_grid_counts_stay_exact(
    a: list[str | None], b: list[str | None], c: list[str | None]
) -> None:
    pa, pb, pc = (CategoricalProfile.from_batch(GRID, _batch(x)) for x in (a, b, c))
    left, right = pa.merge(pb).merge(pc), pa.merge(pb.merge(pc))
    whole = CategoricalProfile.from_batch(GRID, _batch(a + b + c))
    for profile in (left, right, pc.merge(pb).merge(pa)):
        np.testing.assert_array_equal(profile.bin_counts, whole.bin_counts)
        assert profile.off_grid == whole.off_grid
        assert profile.null_count == whole.null_count
    assert len(whole.off_grid) <= OFF_GRID_SAMPLE
    union = [v for v in a + b + c if v is not None and v not in GRID.categories]
    for name, count in whole.off_grid.items():
        assert count == union.count(name)

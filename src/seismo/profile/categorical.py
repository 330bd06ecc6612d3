"""Mergeable summary of a categorical, boolean, text or id column."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seismo.profile._codec import decode_array, encode_array
from seismo.profile.batch import CodesBatch
from seismo.profile.grid import CategoricalGrid, require_same_grid

OFF_GRID_SAMPLE = 100


def _hash_key(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")


@dataclass(frozen=True, eq=False)
class CategoricalProfile:
    """Counts of a column's values on a categorical grid.

    Values not on the grid are counted in the last bin ("other"). Of those, exact counts are kept
    for the ``OFF_GRID_SAMPLE`` values with the smallest hash: a uniform sample of the distinct
    off-grid values. Keeping the smallest hashes makes ``merge`` associative and keeps every kept
    count exact (a value among the smallest hashes of a union is among the smallest of each part).

    Examples
    --------
    >>> grid = CategoricalGrid(("a", "b"))
    >>> batch = CodesBatch(np.array([0, 1, 1, 2, -1], dtype=np.int32), ("a", "b", "z"), "string")
    >>> profile = CategoricalProfile.from_batch(grid, batch)
    >>> profile.bin_counts.tolist(), profile.null_count, profile.off_grid
    ([1, 2, 1], 1, {'z': 1})
    """

    grid: CategoricalGrid
    count: int
    null_count: int
    bin_counts: NDArray[np.int64]
    off_grid: dict[str, int] = field(default_factory=dict)

    @classmethod
    def empty(cls, grid: CategoricalGrid) -> CategoricalProfile:
        return cls(grid, 0, 0, np.zeros(grid.n_bins, dtype=np.int64), {})

    @classmethod
    def from_batch(cls, grid: CategoricalGrid, batch: CodesBatch) -> CategoricalProfile:
        per_category = batch.category_counts()
        positions = grid.index_of(batch.categories)
        bin_counts = np.zeros(grid.n_bins, dtype=np.int64)
        np.add.at(bin_counts, positions, per_category)
        other = len(grid.categories)
        off_grid = {
            batch.categories[i]: int(per_category[i])
            for i in np.flatnonzero((positions == other) & (per_category > 0)).tolist()
        }
        return cls(grid, len(batch), batch.null_count, bin_counts, _smallest_hashes(off_grid))

    @property
    def valid_count(self) -> int:
        return int(self.bin_counts.sum())

    @property
    def missing_count(self) -> int:
        return self.null_count

    @property
    def other_count(self) -> int:
        return int(self.bin_counts[-1])

    def merge(self, other: CategoricalProfile) -> CategoricalProfile:
        require_same_grid(self.grid, other.grid, "merge")
        off_grid = dict(self.off_grid)
        for name, count in other.off_grid.items():
            off_grid[name] = off_grid.get(name, 0) + count
        return CategoricalProfile(
            self.grid,
            self.count + other.count,
            self.null_count + other.null_count,
            self.bin_counts + other.bin_counts,
            _smallest_hashes(off_grid),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "categorical",
            "grid": self.grid.to_dict(),
            "count": self.count,
            "null_count": self.null_count,
            "bin_counts": encode_array(self.bin_counts),
            "off_grid": dict(sorted(self.off_grid.items())),
        }

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], grid: CategoricalGrid | None = None
    ) -> CategoricalProfile:
        return cls(
            grid if grid is not None else CategoricalGrid.from_dict(data["grid"]),
            int(data["count"]),
            int(data["null_count"]),
            decode_array(data["bin_counts"], np.int64),  # type: ignore[arg-type]
            {str(k): int(v) for k, v in data["off_grid"].items()},
        )


def _smallest_hashes(counts: dict[str, int]) -> dict[str, int]:
    if len(counts) <= OFF_GRID_SAMPLE:
        return counts
    kept = sorted(counts, key=_hash_key)[:OFF_GRID_SAMPLE]
    return {name: counts[name] for name in kept}

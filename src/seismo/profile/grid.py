"""Grids: the bins a column is counted on, fixed once from the reference.

A numeric grid is a set of bin edges taken at equal-frequency quantiles of the reference (1,000
bins by default, fewer when values repeat), so every later batch is counted on the same bins and
two counts always merge by addition. The 10 reference deciles used by PSI are a subset of the
edges, so decile PSI comes from the fine counts exactly.

A categorical grid is the reference's categories (all of them up to ``max_categories``, otherwise
the most frequent ones); every other value is counted in one trailing "other" bin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seismo.errors import ProfileMismatchError
from seismo.profile._codec import decode_array, encode_array
from seismo.stats._binning import quantile_edges

DEFAULT_BINS = 1000
#: Sampled values of each tail that become edges of their own (see NumericGrid.from_sorted).
TAIL_EDGES = 256
PSI_BINS = 10
DEFAULT_MAX_CATEGORIES = 1000
OTHER = "(other)"


@dataclass(frozen=True, eq=False)
class NumericGrid:
    """Bin edges for a numeric column.

    Bin 0 is ``(-inf, edges[0]]``, bin i is ``(edges[i-1], edges[i]]`` and the last bin is
    ``(edges[-1], +inf)``, so a grid with E edges has E + 1 bins.

    Examples
    --------
    >>> grid = NumericGrid.from_sorted(np.arange(1.0, 101.0), bins=4, psi_bins=2)
    >>> grid.edges.tolist()[:4], grid.edges.tolist()[-4:]
    ([0.9999999999999999, 1.0, 2.0, 3.0], [97.0, 98.0, 99.0, 100.0])
    >>> grid.psi_edges.tolist()
    [50.0]
    """

    edges: NDArray[np.float64]
    psi_edges: NDArray[np.float64]
    _psi_positions: NDArray[np.intp] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        positions = np.searchsorted(self.edges, self.psi_edges)
        if len(self.psi_edges) and (
            positions.max() >= len(self.edges)
            or not np.array_equal(self.edges[positions], self.psi_edges)
        ):
            raise ValueError("psi_edges must be a subset of edges")
        object.__setattr__(self, "_psi_positions", positions)

    @classmethod
    def from_sorted(
        cls,
        sorted_values: NDArray[np.float64],
        *,
        bins: int = DEFAULT_BINS,
        psi_bins: int = PSI_BINS,
    ) -> NumericGrid:
        """Grid from ascending finite values (the reference, or a uniform sample of it)."""
        if len(sorted_values) == 0:
            empty = np.empty(0, dtype=np.float64)
            return cls(empty, empty)
        if bins % psi_bins:
            raise ValueError(f"bins ({bins}) must be a multiple of psi_bins ({psi_bins})")
        interior = quantile_edges(sorted_values, bins)
        below_min = np.nextafter(sorted_values[0], -np.inf)
        ends = np.array([below_min, sorted_values[0], sorted_values[-1]], dtype=np.float64)
        # The outermost equal-frequency bins of a heavy tail span orders of magnitude; every
        # sampled value in them is an edge too, so the tails are binned as finely as the
        # sample allows (at most TAIL_EDGES per side).
        tail = min(TAIL_EDGES, len(sorted_values) // bins)
        tails = np.concatenate([sorted_values[:tail], sorted_values[len(sorted_values) - tail :]])
        edges = np.unique(np.concatenate([interior, ends, tails]))
        return cls(edges, quantile_edges(sorted_values, psi_bins))

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1

    def out_of_range(self, bin_counts: NDArray[np.int64]) -> tuple[int, int]:
        """Values below the reference minimum and above the reference maximum."""
        if len(self.edges) == 0:
            return 0, 0
        return int(bin_counts[0]), int(bin_counts[-1])

    @property
    def fingerprint(self) -> str:
        digest = hashlib.blake2b(self.edges.tobytes(), digest_size=8)
        digest.update(self.psi_edges.tobytes())
        return digest.hexdigest()

    def same_as(self, other: object) -> bool:
        return isinstance(other, NumericGrid) and (
            self is other
            or (
                np.array_equal(self.edges, other.edges)
                and np.array_equal(self.psi_edges, other.psi_edges)
            )
        )

    def psi_counts(self, bin_counts: NDArray[np.int64]) -> NDArray[np.int64]:
        """Aggregate fine-bin counts onto the reference-decile bins used by PSI."""
        cumulative = np.cumsum(bin_counts)
        at_edges = cumulative[self._psi_positions]
        return np.diff(np.concatenate([[0], at_edges, [cumulative[-1]]])).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {"edges": encode_array(self.edges), "psi_edges": encode_array(self.psi_edges)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumericGrid:
        return cls(
            decode_array(data["edges"], np.float64),  # type: ignore[arg-type]
            decode_array(data["psi_edges"], np.float64),  # type: ignore[arg-type]
        )


@dataclass(frozen=True, eq=False)
class CategoricalGrid:
    """The categories a column is counted on; everything else lands in a trailing other bin.

    ``complete`` is False when the reference had more distinct values than the grid holds, so the
    other bin also contains reference values.

    Examples
    --------
    >>> grid = CategoricalGrid.from_counts({"a": 5, "b": 9, "c": 1}, max_categories=2)
    >>> grid.categories, grid.complete, grid.n_bins
    (('b', 'a'), False, 3)
    """

    categories: tuple[str, ...]
    complete: bool = True
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(self.categories)})

    @classmethod
    def from_counts(
        cls, counts: Mapping[str, int], *, max_categories: int = DEFAULT_MAX_CATEGORIES
    ) -> CategoricalGrid:
        # Most frequent first; ties broken by name so the grid is deterministic.
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        kept = tuple(name for name, _ in ordered[:max_categories])
        return cls(kept, complete=len(ordered) <= max_categories)

    @property
    def n_bins(self) -> int:
        return len(self.categories) + 1

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.categories, OTHER)

    def index_of(self, categories: tuple[str, ...]) -> NDArray[np.intp]:
        """Grid bin of each given category (the other bin for those not on the grid)."""
        other = len(self.categories)
        return np.fromiter(
            (self._index.get(name, other) for name in categories),
            dtype=np.intp,
            count=len(categories),
        )

    def same_as(self, other: object) -> bool:
        return isinstance(other, CategoricalGrid) and (
            self is other
            or (self.categories == other.categories and self.complete == other.complete)
        )

    def to_dict(self) -> dict[str, Any]:
        return {"categories": list(self.categories), "complete": self.complete}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalGrid:
        return cls(tuple(str(c) for c in data["categories"]), bool(data["complete"]))


Grid = NumericGrid | CategoricalGrid


def require_same_grid(left: Grid, right: Grid, what: str) -> None:
    if not left.same_as(right):
        raise ProfileMismatchError(
            f"{what}: the profiles were counted on different grids; profile both batches against "
            "the same reference"
        )

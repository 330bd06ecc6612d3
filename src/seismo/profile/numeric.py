"""Mergeable summary of a numeric column."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seismo.profile._codec import decode_array, encode_array
from seismo.profile.batch import NumericBatch
from seismo.profile.grid import NumericGrid, require_same_grid


@dataclass(frozen=True, eq=False)
class NumericProfile:
    """Counts, moments and grid counts of one numeric column over one or more batches.

    Finite values are counted on ``grid``; NaN and infinities are counted apart. ``bin_sums``,
    ``bin_minima`` and ``bin_maxima`` hold the sum, smallest and largest finite value in each
    bin (NaN extremes for empty bins): with them the Wasserstein distance from the grid is exact
    wherever the two CDFs do not cross inside a bin, and its bound stays tight in wide tail bins
    and on tied values (see :func:`seismo.stats.wasserstein_grid`). They are ``None`` for
    profiles written before they existed. ``merge`` is associative and commutative: counts and
    sums add, min/max combine, and mean/variance use the parallel (Chan et al.) update, which is
    exact up to floating-point rounding.

    Examples
    --------
    >>> grid = NumericGrid.from_sorted(np.array([1.0, 2.0, 3.0, 4.0]), bins=2, psi_bins=2)
    >>> a = NumericProfile.from_batch(grid, np.array([1.0, 2.0, np.nan]))
    >>> b = NumericProfile.from_batch(grid, np.array([3.0, 9.0, np.inf]))
    >>> both = a.merge(b)
    >>> both.count, both.nan_count, both.posinf_count, both.bin_counts.tolist()
    (6, 1, 1, [0, 1, 1, 1, 0, 1])
    >>> round(both.mean, 6), both.minimum, both.maximum
    (3.75, 1.0, 9.0)
    """

    grid: NumericGrid
    count: int
    null_count: int
    invalid_count: int
    nan_count: int
    posinf_count: int
    neginf_count: int
    minimum: float
    maximum: float
    mean: float
    m2: float
    bin_counts: NDArray[np.int64]
    bin_sums: NDArray[np.float64] | None = None
    bin_minima: NDArray[np.float64] | None = None
    bin_maxima: NDArray[np.float64] | None = None

    @property
    def has_bin_values(self) -> bool:
        """Whether the per-bin sums and extremes are known (profiles since format 1.1)."""
        return not (self.bin_sums is None or self.bin_minima is None or self.bin_maxima is None)

    @classmethod
    def empty(cls, grid: NumericGrid) -> NumericProfile:
        return cls(
            grid,
            0,
            0,
            0,
            0,
            0,
            0,
            math.nan,
            math.nan,
            math.nan,
            0.0,
            np.zeros(grid.n_bins, dtype=np.int64),
            np.zeros(grid.n_bins, dtype=np.float64),
            np.full(grid.n_bins, np.nan),
            np.full(grid.n_bins, np.nan),
        )

    @classmethod
    def from_batch(
        cls, grid: NumericGrid, values: NDArray[np.float64] | NumericBatch
    ) -> NumericProfile:
        """Profile one batch. One sort of the batch gives every count by binary search."""
        null_count = invalid_count = 0
        if isinstance(values, NumericBatch):
            null_count, invalid_count = values.null_count, values.invalid_count
            values = values.values
        ordered = _sorted_scratch(values)  # -inf first, then finite, +inf, NaN last
        n = len(ordered)
        first_nan = int(np.searchsorted(ordered, np.nan, side="left"))
        low = int(np.searchsorted(ordered[:first_nan], -np.inf, side="right"))
        high = int(np.searchsorted(ordered[:first_nan], np.inf, side="left"))
        finite = ordered[low:high]
        at_or_below = np.searchsorted(finite, grid.edges, side="right")
        bin_counts = np.diff(np.concatenate([[0], at_or_below, [len(finite)]])).astype(np.int64)
        bin_sums = np.zeros(len(bin_counts), dtype=np.float64)
        bin_minima = np.full(len(bin_counts), np.nan)
        bin_maxima = np.full(len(bin_counts), np.nan)
        occupied = np.flatnonzero(bin_counts)
        if len(occupied):
            # The values are sorted: a bin's run starts at its first value and ends at its last,
            # and each occupied bin's run ends where the next occupied bin's starts.
            starts = np.concatenate([[0], at_or_below])[occupied]
            bin_sums[occupied] = np.add.reduceat(finite, starts)
            bin_minima[occupied] = finite[starts]
            bin_maxima[occupied] = finite[starts + bin_counts[occupied] - 1]
        if len(finite):
            mean = float(finite.mean())
            minimum, maximum = float(finite[0]), float(finite[-1])
            # In place: the scratch copy is ours and no longer needed. (No BLAS dot: its own
            # threads fight the column threads.)
            finite -= mean
            np.square(finite, out=finite)
            m2 = float(finite.sum())
        else:
            mean, m2, minimum, maximum = math.nan, 0.0, math.nan, math.nan
        return cls(
            grid=grid,
            count=n,
            null_count=null_count,
            invalid_count=invalid_count,
            nan_count=n - first_nan - null_count - invalid_count,
            posinf_count=first_nan - high,
            neginf_count=low,
            minimum=minimum,
            maximum=maximum,
            mean=mean,
            m2=m2,
            bin_counts=bin_counts,
            bin_sums=bin_sums,
            bin_minima=bin_minima,
            bin_maxima=bin_maxima,
        )

    @property
    def finite_count(self) -> int:
        return int(self.bin_counts.sum())

    @property
    def missing_count(self) -> int:
        """Nulls, NaN and unparseable text: values that carry no number."""
        return self.null_count + self.nan_count + self.invalid_count

    @property
    def variance(self) -> float:
        """Population variance of the finite values."""
        n = self.finite_count
        return self.m2 / n if n else math.nan

    @property
    def std(self) -> float:
        return math.sqrt(self.variance) if self.finite_count else math.nan

    def merge(self, other: NumericProfile) -> NumericProfile:
        require_same_grid(self.grid, other.grid, "merge")
        n_a, n_b = self.finite_count, other.finite_count
        if n_a == 0 or n_b == 0:
            source = self if n_b == 0 else other
            mean, m2 = source.mean, source.m2
            minimum, maximum = source.minimum, source.maximum
        else:
            n = n_a + n_b
            delta = other.mean - self.mean
            mean = self.mean + delta * n_b / n
            m2 = self.m2 + other.m2 + delta * delta * n_a * n_b / n
            minimum = min(self.minimum, other.minimum)
            maximum = max(self.maximum, other.maximum)
        return NumericProfile(
            grid=self.grid,
            count=self.count + other.count,
            null_count=self.null_count + other.null_count,
            invalid_count=self.invalid_count + other.invalid_count,
            nan_count=self.nan_count + other.nan_count,
            posinf_count=self.posinf_count + other.posinf_count,
            neginf_count=self.neginf_count + other.neginf_count,
            minimum=minimum,
            maximum=maximum,
            mean=mean,
            m2=m2,
            bin_counts=self.bin_counts + other.bin_counts,
            **_merged_bin_values(self, other),
        )

    def cdf_at(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Share of finite values at or below each point, interpolated linearly inside bins."""
        total = self.finite_count
        if total == 0 or len(self.grid.edges) == 0:
            return np.zeros(len(points))
        cumulative = np.cumsum(self.bin_counts)[:-1] / total  # at each edge
        lo = min(self.minimum, self.grid.edges[0])
        hi = max(self.maximum, self.grid.edges[-1])
        xs = np.concatenate([[lo], self.grid.edges, [hi]])
        ys = np.concatenate([[0.0], cumulative, [1.0]])
        if self.minimum >= self.grid.edges[0]:
            xs, ys = xs[1:], ys[1:]  # no mass below the first edge but at it
        return np.asarray(np.interp(points, xs, ys, left=0.0, right=1.0), dtype=np.float64)

    def quantiles(
        self, probabilities: NDArray[np.float64], *, interpolate: bool = True
    ) -> NDArray[np.float64]:
        """Approximate quantiles (inverse of :meth:`cdf_at`); exact at the grid edges.

        With ``interpolate=False`` each quantile is the upper edge of the bin that holds it,
        clipped to [minimum, maximum]: a value the reference really had whenever that bin holds
        one distinct value (discrete data), and within one bin width otherwise.
        """
        total = self.finite_count
        if total == 0:
            return np.full(len(probabilities), math.nan)
        cumulative = np.concatenate([[0.0], np.cumsum(self.bin_counts) / total])
        lo, hi = self.minimum, self.maximum
        xs = np.clip(np.concatenate([[lo], self.grid.edges, [hi]]), lo, hi)
        if not interpolate:
            holding = np.searchsorted(cumulative[1:], probabilities, side="left")
            return np.asarray(xs[1:][np.minimum(holding, len(xs) - 2)], dtype=np.float64)
        # Bins with no mass add flat steps; np.interp needs increasing x, so use unique cumulative.
        keep = np.concatenate([[True], np.diff(cumulative) > 0])
        return np.asarray(np.interp(probabilities, cumulative[keep], xs[keep]), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "numeric",
            "grid": self.grid.to_dict(),
            "count": self.count,
            "null_count": self.null_count,
            "invalid_count": self.invalid_count,
            "nan_count": self.nan_count,
            "posinf_count": self.posinf_count,
            "neginf_count": self.neginf_count,
            "minimum": _float_out(self.minimum),
            "maximum": _float_out(self.maximum),
            "mean": _float_out(self.mean),
            "m2": self.m2,
            "bin_counts": encode_array(self.bin_counts),
            **{
                key: encode_array(values)
                for key, values in (
                    ("bin_sums", self.bin_sums),
                    ("bin_minima", self.bin_minima),
                    ("bin_maxima", self.bin_maxima),
                )
                if values is not None and self.has_bin_values
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], grid: NumericGrid | None = None) -> NumericProfile:
        return cls(
            grid=grid if grid is not None else NumericGrid.from_dict(data["grid"]),
            count=int(data["count"]),
            null_count=int(data["null_count"]),
            invalid_count=int(data["invalid_count"]),
            nan_count=int(data["nan_count"]),
            posinf_count=int(data["posinf_count"]),
            neginf_count=int(data["neginf_count"]),
            minimum=_float_in(data["minimum"]),
            maximum=_float_in(data["maximum"]),
            mean=_float_in(data["mean"]),
            m2=float(data["m2"]),
            bin_counts=decode_array(data["bin_counts"], np.int64),  # type: ignore[arg-type]
            bin_sums=_optional_array(data, "bin_sums"),
            bin_minima=_optional_array(data, "bin_minima"),
            bin_maxima=_optional_array(data, "bin_maxima"),
        )


def _merged_bin_values(
    left: NumericProfile, right: NumericProfile
) -> dict[str, NDArray[np.float64] | None]:
    if not (left.has_bin_values and right.has_bin_values):
        return {"bin_sums": None, "bin_minima": None, "bin_maxima": None}
    return {
        "bin_sums": left.bin_sums + right.bin_sums,  # type: ignore[operator]
        "bin_minima": np.fmin(left.bin_minima, right.bin_minima),  # type: ignore[arg-type]
        "bin_maxima": np.fmax(left.bin_maxima, right.bin_maxima),  # type: ignore[arg-type]
    }


def _optional_array(data: Mapping[str, Any], key: str) -> NDArray[np.float64] | None:
    payload = data.get(key)
    return None if payload is None else decode_array(payload, np.float64)  # type: ignore[return-value]


_scratch = threading.local()
#: Batches up to this many rows are sorted in a per-thread buffer that is reused, which saves
#: the page faults of a fresh allocation per column (a large share of the cost of a sort).
SCRATCH_ROWS = 1 << 22


def _sorted_scratch(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """A sorted copy of ``values``; valid until the next call in the same thread."""
    n = len(values)
    if n > SCRATCH_ROWS:
        return np.sort(values)
    buffer: NDArray[np.float64] | None = getattr(_scratch, "buffer", None)
    if buffer is None or len(buffer) < n:
        buffer = np.empty(max(n, 1 << 16), dtype=np.float64)
        _scratch.buffer = buffer
    ordered = buffer[:n]
    np.copyto(ordered, values)
    ordered.sort()
    return ordered


def _float_out(value: float) -> float | None:
    return None if math.isnan(value) else value


def _float_in(value: float | None) -> float:
    return math.nan if value is None else float(value)

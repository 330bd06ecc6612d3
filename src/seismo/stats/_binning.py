"""Binning, category counting and input validation shared by the statistics.

The binning rules here are a contract: profiles built elsewhere in seismo use the same
reference-quantile grid, so counts computed from raw arrays and counts read from a profile
are interchangeable.

Bins
----
``quantile_edges`` returns strictly increasing *interior* edges ``e_0 < ... < e_{m-1}``.
They define ``m + 1`` bins, closed on the right::

    bin 0 = (-inf, e_0],  bin i = (e_{i-1}, e_i],  bin m = (e_{m-1}, +inf)

so a value equal to an edge falls into the bin on its left, exactly like
``np.searchsorted(edges, value, side="left")``.
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "bin_counts",
    "category_counts",
    "proportions",
    "quantile_edges",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_NUMERIC_KINDS = "iuf"
_TIME_KINDS = "mM"


# ---------------------------------------------------------------------------------------------
# Public binning contract
# ---------------------------------------------------------------------------------------------


def quantile_edges(sorted_values: ArrayLike, n_bins: int) -> FloatArray:
    """Interior edges of ``n_bins`` equal-frequency bins of an ascending-sorted sample.

    For ``j = 1 .. n_bins - 1`` the edge is the "inverted CDF" quantile
    ``sorted_values[ceil(j * n / n_bins) - 1]`` (index computed with integer arithmetic, so
    there is no floating-point rounding). Duplicate edges are merged with ``np.unique``:
    ties in the data can therefore give fewer than ``n_bins`` bins.

    Parameters
    ----------
    sorted_values : array_like
        Finite values sorted in ascending order (e.g. ``np.sort(reference)``).
    n_bins : int
        Requested number of bins, at least 1.

    Returns
    -------
    numpy.ndarray of float64
        Strictly increasing interior edges; at most ``n_bins - 1`` of them. The bins they
        define are ``(-inf, e_0], (e_0, e_1], ..., (e_last, +inf)``.

    Raises
    ------
    ValueError
        If the input is empty, not 1-D, not sorted or contains NaN, or ``n_bins < 1``.

    Examples
    --------
    >>> import numpy as np
    >>> quantile_edges(np.arange(1.0, 11.0), 4)
    array([3., 5., 8.])
    >>> quantile_edges(np.array([0.0, 0.0, 0.0, 1.0]), 4)  # ties merge bins
    array([0.])
    """
    values = np.asarray(sorted_values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"sorted_values must be 1-D, got an array of shape {values.shape}.")
    n = values.size
    if n == 0:
        raise ValueError("sorted_values is empty; quantile edges need at least one value.")
    n_bins = _check_n_bins(n_bins)
    if np.isnan(values[-1]) or not bool(np.all(values[1:] >= values[:-1])):
        raise ValueError(
            "sorted_values must be sorted in ascending order and free of NaN; "
            "pass np.sort(values[~np.isnan(values)])."
        )
    j = np.arange(1, n_bins, dtype=np.int64)
    index = (j * n + n_bins - 1) // n_bins - 1
    return np.unique(values[index])


def bin_counts(values: ArrayLike, edges: ArrayLike) -> IntArray:
    """Count values into the bins defined by interior ``edges``.

    Bin 0 is ``(-inf, e_0]``, bin ``i`` is ``(e_{i-1}, e_i]`` and the last bin is
    ``(e_last, +inf)``; this is ``np.bincount(np.searchsorted(edges, values, side="left"))``
    computed by sorting the values once. NaN values are ignored.

    Parameters
    ----------
    values : array_like
        1-D numeric values.
    edges : array_like
        Non-decreasing interior edges, e.g. from :func:`quantile_edges`.

    Returns
    -------
    numpy.ndarray of int64
        ``len(edges) + 1`` counts.

    Examples
    --------
    >>> bin_counts([0.5, 1.0, 1.5, 2.0, 9.0], [1.0, 2.0])
    array([2, 2, 1])
    >>> bin_counts([3.0, float("nan")], [])
    array([1])
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"values must be 1-D, got an array of shape {array.shape}.")
    return _bin_counts_sorted(np.sort(array), _check_edges(edges))


def category_counts(
    reference: ArrayLike, current: ArrayLike
) -> tuple[list[Any], IntArray, IntArray]:
    """Aligned counts of the categories of two raw categorical samples.

    Missing values (``None`` and NaN) are dropped. The categories are the union of the
    categories of both samples, sorted by their string representation (then by type name, so
    ``1`` and ``"1"`` stay distinct and the order is deterministic). Values that compare
    equal are one category, as in a ``dict`` (``1``, ``1.0`` and ``True`` merge).

    Parameters
    ----------
    reference, current : array_like
        1-D arrays of hashable values (strings, integers, booleans, objects).

    Returns
    -------
    categories : list
        The sorted union of categories, as Python scalars.
    reference_counts, current_counts : numpy.ndarray of int64
        Counts of each category in each sample (zeros where a category is absent).

    Examples
    --------
    >>> cats, ref, cur = category_counts(["a", "b", "b"], ["c", "b", None])
    >>> cats
    ['a', 'b', 'c']
    >>> ref, cur
    (array([1, 2, 0]), array([0, 1, 1]))
    """
    ref_counter = _count_categories(drop_missing(reference, "reference"))
    cur_counter = _count_categories(drop_missing(current, "current"))
    categories = sorted(
        set(ref_counter) | set(cur_counter), key=lambda c: (str(c), type(c).__name__)
    )
    ref = np.fromiter((ref_counter.get(c, 0) for c in categories), np.int64, len(categories))
    cur = np.fromiter((cur_counter.get(c, 0) for c in categories), np.int64, len(categories))
    return categories, ref, cur


def proportions(counts: ArrayLike, smoothing: float) -> FloatArray:
    """Additively smoothed proportions of a count vector.

    With ``N = sum(counts)`` and ``k = len(counts)``::

        p_i = (c_i / N + smoothing) / (1 + k * smoothing)

    i.e. ``smoothing`` is added to every *proportion* (not to every count, so the amount of
    smoothing does not depend on the sample size) and the result is renormalised to sum to 1.
    With ``smoothing > 0`` no proportion is zero, so logarithms of empty bins stay finite.

    Parameters
    ----------
    counts : array_like
        Non-negative counts with a positive total.
    smoothing : float
        Non-negative pseudo-proportion added to each bin; ``0`` gives raw proportions.

    Returns
    -------
    numpy.ndarray of float64
        Proportions summing to 1.

    Examples
    --------
    >>> proportions([3, 1, 0], 0.0)
    array([0.75, 0.25, 0.  ])
    >>> proportions([3, 1, 0], 0.01)
    array([0.7378..., 0.2524..., 0.0097...])
    """
    array = _as_counts(counts, "counts")
    total = float(array.sum())
    if total <= 0.0:
        raise ValueError("counts sum to zero; proportions need at least one observation.")
    smoothing = check_smoothing(smoothing)
    return (array / total + smoothing) / (1.0 + array.size * smoothing)


# ---------------------------------------------------------------------------------------------
# Internal helpers used by the statistic modules
# ---------------------------------------------------------------------------------------------


def _bin_counts_sorted(sorted_values: FloatArray, edges: FloatArray) -> IntArray:
    """``bin_counts`` for values already sorted ascending (NaN last, as ``np.sort`` does)."""
    n_valid = sorted_values.size
    if n_valid and np.isnan(sorted_values[-1]):
        # np.sort puts NaN last and searchsorted uses the same order: this finds the first NaN.
        n_valid = int(np.searchsorted(sorted_values, np.nan, side="left"))
    cumulative = np.searchsorted(sorted_values[:n_valid], edges, side="right")
    bounds = np.concatenate(([0], cumulative, [n_valid])).astype(np.int64)
    return np.diff(bounds)


def _check_edges(edges: ArrayLike) -> FloatArray:
    array = np.asarray(edges, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"edges must be 1-D, got an array of shape {array.shape}.")
    if np.isnan(array).any() or not bool(np.all(array[1:] >= array[:-1])):
        raise ValueError("edges must be sorted in ascending order and free of NaN.")
    return array


def _check_n_bins(n_bins: int) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"bins must be a positive integer, got {n_bins!r}.")
    return int(n_bins)


def check_smoothing(smoothing: float) -> float:
    """Validate a smoothing parameter (finite and >= 0)."""
    value = float(smoothing)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"smoothing must be a finite number >= 0, got {smoothing!r}.")
    return value


def _as_1d(values: ArrayLike, name: str) -> NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got an array of shape {array.shape}.")
    return array


def _as_counts(counts: ArrayLike, name: str) -> FloatArray:
    array = _as_1d(counts, name)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must contain numeric counts, got dtype {array.dtype}.")
    array = array.astype(np.float64)
    if array.size == 0:
        raise ValueError(f"{name} is empty; pass one count per bin or category.")
    if not bool(np.all(np.isfinite(array))) or bool(np.any(array < 0)):
        raise ValueError(f"{name} must contain finite, non-negative counts.")
    return array


def check_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Validate two aligned count vectors and return them as float64 arrays.

    Both must be 1-D, of the same non-zero length, finite, non-negative and have a positive
    total. Counts need not be integers (weighted counts are accepted).
    """
    ref = _as_counts(reference_counts, "reference_counts")
    cur = _as_counts(current_counts, "current_counts")
    if ref.size != cur.size:
        raise ValueError(
            f"reference_counts and current_counts must count the same bins, got lengths "
            f"{ref.size} and {cur.size}; align them on a common set of bins/categories first."
        )
    if ref.sum() <= 0:
        raise ValueError("reference_counts sum to zero; the reference sample is empty.")
    if cur.sum() <= 0:
        raise ValueError("current_counts sum to zero; the current sample is empty.")
    return ref, cur


def is_numeric(array: NDArray[Any]) -> bool:
    """Whether a (missing-free) sample is binned on quantiles rather than counted by category.

    True for integer, float and datetime/timedelta dtypes, and for object arrays holding only
    real numbers (e.g. ``[1.5, None, 2.0]`` once ``None`` is dropped). Booleans, strings and
    other objects are categorical.
    """
    kind = array.dtype.kind
    if kind == "O":
        return all(
            isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)
            for v in array.tolist()
        )
    return kind in _NUMERIC_KINDS + _TIME_KINDS


def drop_missing(values: ArrayLike, name: str) -> NDArray[Any]:
    """Return ``values`` as a 1-D array without NaN / NaT / None; raise if nothing is left."""
    array = _as_1d(values, name)
    kind = array.dtype.kind
    if kind == "f" or kind == "c":
        array = array[~np.isnan(array)]
    elif kind in _TIME_KINDS:
        array = array[~np.isnat(array)]
    elif kind == "O":
        keep = np.fromiter((not _is_missing(v) for v in array), dtype=bool, count=array.size)
        array = array[keep]
    if array.size == 0:
        raise ValueError(
            f"{name} is empty (after dropping missing values); pass at least one value."
        )
    return array


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def numeric_values(values: ArrayLike, name: str) -> FloatArray:
    """Drop NaN and return a float64 array; raise for non-numeric or empty input."""
    array = drop_missing(values, name)
    kind = array.dtype.kind
    if kind in _TIME_KINDS:
        return array.view(np.int64).astype(np.float64)
    if kind in "biuf":
        return array.astype(np.float64)
    if kind == "O" and all(isinstance(v, numbers.Real) for v in array.tolist()):
        return array.astype(np.float64)
    raise ValueError(
        f"{name} must be numeric for this statistic, got dtype {array.dtype}; use a "
        "statistic that accepts categorical data (psi, jensen_shannon, kl, hellinger, chi2)."
    )


def _count_categories(array: NDArray[Any]) -> Counter[Any]:
    if array.dtype.kind != "O":
        unique, counts = np.unique(array, return_counts=True)
        return Counter(dict(zip(unique.tolist(), counts.tolist(), strict=True)))
    return Counter(array.tolist())


def raw_counts(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int,
    categorical: bool | None,
) -> tuple[IntArray, IntArray]:
    """Aligned counts for two raw samples.

    Numeric samples (integer, float, datetime dtypes, or object arrays of real numbers) are
    counted on ``bins`` reference-quantile bins (:func:`quantile_edges`, :func:`bin_counts`);
    anything else, or ``categorical=True``, is counted per category
    (:func:`category_counts`).
    ``categorical=None`` chooses from the dtypes of both samples.
    """
    n_bins = _check_n_bins(bins)
    ref = drop_missing(reference, "reference")
    cur = drop_missing(current, "current")
    if categorical is None:
        categorical = not (is_numeric(ref) and is_numeric(cur))
    if categorical:
        _, ref_counts, cur_counts = category_counts(ref, cur)
        return ref_counts, cur_counts
    ref_sorted = np.sort(numeric_values(ref, "reference"))
    edges = quantile_edges(ref_sorted, n_bins)
    cur_sorted = np.sort(numeric_values(cur, "current"))
    return _bin_counts_sorted(ref_sorted, edges), _bin_counts_sorted(cur_sorted, edges)

"""Wasserstein-1 (earth mover's) distance between two one-dimensional samples."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.stats._binning import FloatArray, check_counts, numeric_values

__all__ = ["WassersteinResult", "wasserstein", "wasserstein_grid"]


@dataclass(frozen=True, slots=True)
class WassersteinResult:
    """Result of :func:`wasserstein` / :func:`wasserstein_grid`.

    Attributes
    ----------
    statistic : float
        The Wasserstein-1 distance ``W1 = integral |F_ref(x) - F_cur(x)| dx``, in the units
        of the data (an estimate for :func:`wasserstein_grid`).
    normalized : float
        ``statistic / reference_std``; ``0.0`` when both are zero and ``inf`` when only the
        standard deviation is zero.
    reference_std : float
        Population (``ddof=0``) standard deviation of the reference.
    bound : float
        Guaranteed bound on ``|statistic - exact W1|``; ``0.0`` when exact.
    """

    statistic: float
    normalized: float
    reference_std: float
    bound: float


def _normalize(distance: float, reference_std: float) -> float:
    if reference_std > 0.0:
        return distance / reference_std
    return math.inf if distance > 0.0 else 0.0


def _finite_values(values: ArrayLike, name: str) -> FloatArray:
    array = numeric_values(values, name)
    if not bool(np.all(np.isfinite(array))):
        raise ValueError(
            f"{name} contains infinite values; the Wasserstein distance is only defined for "
            "finite data. Drop or clip them first."
        )
    return array


def wasserstein(reference: ArrayLike, current: ArrayLike) -> WassersteinResult:
    """Exact Wasserstein-1 distance between two raw numeric samples.

    ``W1 = integral |F_ref(x) - F_cur(x)| dx`` over the real line, computed exactly from the
    sorted pooled sample (same result as ``scipy.stats.wasserstein_distance``). It is
    symmetric and in the units of the data; ``normalized`` divides it by the reference's
    population standard deviation so that it can be compared across features (a shift of
    the whole distribution by ``k`` standard deviations gives ``normalized == k``).
    NaN values are dropped.

    Parameters
    ----------
    reference, current : array_like
        1-D finite numeric samples.

    Returns
    -------
    WassersteinResult
        With ``bound = 0.0``.

    Raises
    ------
    ValueError
        If a sample is empty after dropping NaN, not numeric or contains ``±inf``.

    Examples
    --------
    >>> wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    WassersteinResult(statistic=5.0, normalized=4.0089..., reference_std=1.2472..., bound=0.0)
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(0.0, 2.0, 10_000)
    >>> round(wasserstein(reference, reference + 1.0).normalized, 3)
    0.5
    """
    ref = np.sort(_finite_values(reference, "reference"))
    cur = np.sort(_finite_values(current, "current"))
    pooled = np.sort(np.concatenate([ref, cur]))
    deltas = np.diff(pooled)
    cdf_ref = np.searchsorted(ref, pooled[:-1], side="right") / ref.size
    cdf_cur = np.searchsorted(cur, pooled[:-1], side="right") / cur.size
    distance = float(np.dot(np.abs(cdf_ref - cdf_cur), deltas))
    reference_std = float(np.std(ref))
    return WassersteinResult(
        statistic=distance,
        normalized=_normalize(distance, reference_std),
        reference_std=reference_std,
        bound=0.0,
    )


def wasserstein_grid(
    edges: ArrayLike,
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    low: float,
    high: float,
    reference_std: float,
    reference_bins: BinValues | None = None,
    current_bins: BinValues | None = None,
) -> WassersteinResult:
    """Wasserstein-1 estimate with a guaranteed error bound from counts on a bin grid.

    With the sum, smallest and largest value of each bin on both sides (``reference_bins``,
    ``current_bins``: three arrays each, NaN extremes for empty bins) the result is exact
    wherever the two CDFs do not cross inside a bin, and the bound only covers what the bins
    leave open (see "With bin values" below); without them it is the trapezoid rule.

    The counts are on the ``len(edges) + 1`` bins of :mod:`seismo.stats._binning`:
    ``(-inf, e_0], (e_0, e_1], ..., (e_last, +inf)``. ``low`` and ``high`` are the smallest
    and largest finite values seen in *either* sample; they close the outer bins, so the
    integral runs over the intervals ``[low, e_0], [e_0, e_1], ..., [e_last, high]``
    (edges outside ``[low, high]`` are clipped to it; those intervals have zero width).

    At every knot both CDFs are known exactly (cumulative proportions), and ``W1`` is
    estimated by the trapezoid rule on ``|F_ref - F_cur|``::

        W1_hat = sum_i w_i (|d_i| + |d_{i+1}|) / 2        bound = sum_i w_i (p_i + q_i) / 2

    with ``w_i`` the width of interval ``i``, ``d_i`` the CDF difference at its left knot
    and ``p_i, q_i`` the reference and current proportions of bin ``i``.

    Why the bound holds: inside interval ``i`` each CDF moves only by its own bin mass,
    ``F in [a, a + p_i]`` and ``G in [b, b + q_i]``. Writing ``u = a - b`` and
    ``v = u + p_i - q_i`` (the knot differences), pointwise
    ``|F - G| <= |(u + v)/2| + (p_i + q_i)/2 <= (|u| + |v|)/2 + (p_i + q_i)/2``; and
    ``|F - G| >= (|u| + |v|)/2 - (p_i + q_i)/2`` when ``u, v`` have the same sign, while for
    opposite signs ``(|u| + |v|)/2 = |p_i - q_i|/2 <= (p_i + q_i)/2``. So on each interval
    the true integral and the trapezoid differ by at most ``w_i (p_i + q_i)/2``. (This is
    half of the cruder ``sum_i w_i (p_i + q_i)``.) Outside ``[low, high]`` both CDFs are 0
    or 1 and contribute nothing.

    With bin values: on interval ``i = [a, b]`` a CDF rising by ``p_i`` over values of mean
    ``m_i`` integrates exactly: ``integral_a^b (F(x) - F(a)) dx = p_i (b - m_i)`` (each value
    ``x`` adds ``1/N`` on ``[x, b]``). So ``A_i = integral_i (F - G) = w_i u + p_i (b - m_i)
    - q_i (b - m'_i)`` is exact, with ``u`` the CDF difference at ``a``. When ``F - G`` cannot
    change sign inside the interval, ``integral_i |F - G| = |A_i|`` exactly. Where it can, the
    bin's extremes cut the interval into pieces on which each CDF is either constant (before
    its smallest value, after its largest) or strictly between its two ends (at least one
    value at each extreme), so ``F - G`` lies in a known range ``[l_k, r_k]`` on piece ``k``
    of width ``h_k``. With ``x_k = integral_k (F - G)`` in ``[h_k l_k, h_k r_k]`` and
    ``sum_k x_k = A_i``: ``integral_i |F - G| = A_i + 2 sum_k x_k^-`` is at most
    ``A_i + 2 min(N, P - A_i)`` (``N``, ``P``: the largest negative and positive parts the
    boxes allow) and at least ``C + |A_i - S|`` (every ``x_k`` at its point nearest 0, with
    cost ``C`` and sum ``S``). The estimate spreads each side's bin mass uniformly with its
    exact mean (a distribution the counts and sums allow) and is clipped into those limits;
    the bound is the distance to the farther limit. Only bins where the CDFs may cross
    contribute to the bound, so a far outlier, a heavy tail (a wide outer bin) or tied
    values (a bin holding one value) do not make it loose.

    Parameters
    ----------
    edges : array_like
        Non-decreasing interior edges (e.g. :func:`seismo.stats._binning.quantile_edges`
        of the reference).
    reference_counts, current_counts : array_like
        Counts of the ``len(edges) + 1`` bins.
    low, high : float
        Smallest and largest finite value of the two samples together (``low <= high``).
    reference_std : float
        Population standard deviation of the reference, used for ``normalized``.

    Returns
    -------
    WassersteinResult

    Examples
    --------
    >>> import numpy as np
    >>> from seismo.stats._binning import bin_counts, quantile_edges
    >>> rng = np.random.default_rng(0)
    >>> reference, current = rng.normal(0, 1, 20_000), rng.normal(0.3, 1, 20_000)
    >>> edges = quantile_edges(np.sort(reference), 1000)
    >>> both = np.concatenate([reference, current])
    >>> grid = wasserstein_grid(
    ...     edges, bin_counts(reference, edges), bin_counts(current, edges),
    ...     low=both.min(), high=both.max(), reference_std=reference.std(),
    ... )
    >>> exact = wasserstein(reference, current).statistic
    >>> round(exact, 4), round(grid.statistic, 4), round(grid.bound, 4)
    (0.2952, 0.2971, 0.0121)
    >>> abs(grid.statistic - exact) <= grid.bound
    True
    """
    knots = np.asarray(edges, dtype=np.float64)
    if knots.ndim != 1 or np.isnan(knots).any() or not bool(np.all(knots[1:] >= knots[:-1])):
        raise ValueError("edges must be a 1-D, NaN-free array sorted in ascending order.")
    ref, cur = check_counts(reference_counts, current_counts)
    if ref.size != knots.size + 1:
        raise ValueError(
            f"counts must have len(edges) + 1 = {knots.size + 1} bins, got {ref.size}; the "
            "first and last bins are the open-ended ones below e_0 and above e_last."
        )
    low, high, reference_std = float(low), float(high), float(reference_std)
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise ValueError(
            f"low and high must be finite with low <= high (the smallest and largest values "
            f"seen in either sample), got low={low!r}, high={high!r}."
        )
    if not math.isfinite(reference_std) or reference_std < 0.0:
        raise ValueError(f"reference_std must be finite and >= 0, got {reference_std!r}.")

    points = np.clip(np.concatenate(([low], knots, [high])), low, high)
    widths = np.diff(points)
    p, q = ref / ref.sum(), cur / cur.sum()
    cdf_ref = np.concatenate(([0.0], np.cumsum(p)))
    cdf_cur = np.concatenate(([0.0], np.cumsum(q)))
    if reference_bins is not None and current_bins is not None:
        distance, bound = _with_bin_values(
            points,
            (cdf_ref - cdf_cur)[:-1],
            _Side(p, ref, *_bin_values(reference_bins, ref, points)),
            _Side(q, cur, *_bin_values(current_bins, cur, points)),
        )
    else:
        gaps = np.abs(cdf_ref - cdf_cur)
        gaps[-1] = 0.0  # both CDFs are exactly 1 at ``high``; drop the rounding residue
        distance = float(np.dot(widths, (gaps[:-1] + gaps[1:]) / 2.0))
        bound = float(np.dot(widths, (p + q) / 2.0))
    return WassersteinResult(
        statistic=distance,
        normalized=_normalize(distance, reference_std),
        reference_std=reference_std,
        bound=bound,
    )


BinValues = tuple[ArrayLike, ArrayLike, ArrayLike]
_ROUNDING = 1e-12


@dataclass(frozen=True, slots=True)
class _Side:
    """One sample on the bins: shares, counts, and each bin's mean, smallest and largest value."""

    share: FloatArray
    count: FloatArray
    mean: FloatArray
    low: FloatArray
    high: FloatArray


def _bin_values(
    values: BinValues, counts: FloatArray, points: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bin means and extremes, kept inside each interval (rounding); empty bins sit at the right
    end so their CDF stays flat over the interval."""
    sums, minima, maxima = (np.asarray(v, dtype=np.float64) for v in values)
    if not (sums.shape == minima.shape == maxima.shape == counts.shape):
        raise ValueError(f"bin values must be three arrays of {counts.size} numbers, one per bin.")
    left, right = points[:-1], points[1:]
    filled = counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(filled, sums / np.maximum(counts, 1), right)
    low = np.where(filled, minima, right)
    high = np.where(filled, maxima, right)
    if not bool(np.all(np.isfinite(mean) & np.isfinite(low) & np.isfinite(high))):
        raise ValueError("bin sums and extremes must be finite where a bin holds values.")
    low = np.clip(low, left, right)
    high = np.clip(high, low, right)
    return np.clip(mean, low, high), low, high


def _with_bin_values(
    points: FloatArray, left_gaps: FloatArray, ref: _Side, cur: _Side
) -> tuple[float, float]:
    """``integral |F - G|`` per interval from the bin means and extremes (see
    wasserstein_grid)."""
    widths = np.diff(points)
    right = points[1:]
    u = left_gaps
    p, q = ref.share, cur.share
    area = widths * u + p * (right - ref.mean) - q * (right - cur.mean)
    # A sign change needs room on both sides of 0 (beyond the cumulative sums' rounding).
    crossing = np.flatnonzero((u + p > _ROUNDING) & (u - q < -_ROUNDING) & (widths > 0))
    distance = np.abs(area)
    slack = np.zeros_like(distance)
    if len(crossing):
        c = crossing
        lower, upper = _piece_limits(points[:-1][c], right[c], u[c], area[c], ref, cur, c)
        model = _uniform_model_distance(
            points[:-1][c], right[c], u[c], (p[c], ref.mean[c]), (q[c], cur.mean[c])
        )
        model = np.clip(model, lower, np.maximum(upper, lower))
        distance[c] = model
        slack[c] = np.maximum(model - lower, upper - model)
    return float(distance.sum()), float(slack.sum())


def _piece_limits(
    left: FloatArray,
    right: FloatArray,
    gap: FloatArray,
    area: FloatArray,
    ref: _Side,
    cur: _Side,
    bins: NDArray[np.intp],
) -> tuple[FloatArray, FloatArray]:
    """Lower and upper limits of ``integral |F - G|`` over each bin (see wasserstein_grid)."""
    knots = np.sort(
        np.stack([left, ref.low[bins], ref.high[bins], cur.low[bins], cur.high[bins], right]),
        axis=0,
    )
    # All pieces at once: rows are the five pieces between consecutive knots, columns bins.
    x0, x1 = knots[:-1], knots[1:]
    width = x1 - x0
    ref_low, ref_high = _rise_range(x0, x1, ref, bins)
    cur_low, cur_high = _rise_range(x0, x1, cur, bins)
    low = width * (gap + ref_low - cur_high)
    high = width * (gap + ref_high - cur_low)
    positive = np.maximum(high, 0.0).sum(axis=0)
    negative = np.maximum(-low, 0.0).sum(axis=0)
    nearest = np.clip(0.0, low, high)
    upper = area + 2 * np.minimum(negative, positive - area)
    lower = np.maximum(
        np.abs(nearest).sum(axis=0) + np.abs(area - nearest.sum(axis=0)), np.abs(area)
    )
    return lower, upper


def _rise_range(
    x0: FloatArray, x1: FloatArray, side: _Side, bins: NDArray[np.intp]
) -> tuple[FloatArray, FloatArray]:
    """Range of a CDF's rise above the bin's left end on the open piece (x0, x1)."""
    share, count = side.share[bins], side.count[bins]
    low, high = side.low[bins], side.high[bins]
    one = np.where(count > 0, share / np.maximum(count, 1), 0.0)  # one value's share
    before = x1 <= low
    after = x0 >= high
    rise_low = np.where(before, 0.0, np.where(after, share, one))
    rise_high = np.where(before, 0.0, np.where(after, share, share - one))
    return rise_low, rise_high


def _uniform_support(
    left: FloatArray, right: FloatArray, mean: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The widest uniform inside [left, right] with the given mean: anchored at the near end."""
    lower_half = mean - left <= right - mean
    start = np.where(lower_half, left, 2 * mean - right)
    stop = np.where(lower_half, 2 * mean - left, right)
    return start, stop


def _uniform_model_distance(
    left: FloatArray,
    right: FloatArray,
    gap: FloatArray,
    reference: tuple[FloatArray, FloatArray],
    current: tuple[FloatArray, FloatArray],
) -> FloatArray:
    """``integral |F - G|`` over each bin when each side's bin mass is uniform on its support."""
    (p, ref_mean), (q, cur_mean) = reference, current
    ref_start, ref_stop = _uniform_support(left, right, ref_mean)
    cur_start, cur_stop = _uniform_support(left, right, cur_mean)
    knots = np.sort(np.stack([left, ref_start, ref_stop, cur_start, cur_stop, right]), axis=0)

    def rise(x: FloatArray, start: FloatArray, stop: FloatArray, after: bool) -> FloatArray:
        # Share of the bin's mass at or below x (just after x when ``after``, else just before);
        # a subnormal span overflows the ratio to inf, which the clip makes 1, as it should.
        span = stop - start
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            linear = np.clip((x - start) / span, 0.0, 1.0)
        step = (x >= start) if after else (x > start)
        return np.where(span > 0, linear, step.astype(np.float64))

    x0, x1 = knots[:-1], knots[1:]  # every piece at once: rows pieces, columns bins
    d0 = gap + p * rise(x0, ref_start, ref_stop, True) - q * rise(x0, cur_start, cur_stop, True)
    d1 = gap + p * rise(x1, ref_start, ref_stop, False) - q * rise(x1, cur_start, cur_stop, False)
    return np.asarray(_abs_linear_integral(x1 - x0, d0, d1).sum(axis=0), dtype=np.float64)


def _abs_linear_integral(width: FloatArray, d0: FloatArray, d1: FloatArray) -> FloatArray:
    """``integral |d|`` of a linear function from d0 to d1 over ``width``."""
    same = d0 * d1 >= 0
    magnitude = np.abs(d0) + np.abs(d1)
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = (d0 * d0 + d1 * d1) / (2 * magnitude)
    return width * np.where(same, magnitude / 2, np.where(magnitude > 0, crossing, 0.0))

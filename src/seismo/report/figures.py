"""Display data for the report's charts, computed from profiles alone (no raw data).

Numeric columns become histograms on a few equal-width *display* bins over a robust range: the
fine grid counts of each profile are interpolated onto those bins through
:meth:`~seismo.profile.numeric.NumericProfile.cdf_at`, so both datasets share the same bins and
are shown as shares of their finite values. Mass outside the display range is kept in an
"under" and an "over" bar, so the shares of each dataset always add up to one. Numeric columns
with few distinct reference values, categorical and boolean columns become one bar per value.

Everything here is a pure function of the profiles; rendering lives in :mod:`seismo.report.html`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seismo.profile.categorical import CategoricalProfile
from seismo.profile.grid import OTHER
from seismo.profile.numeric import NumericProfile

__all__ = [
    "DISPLAY_BINS",
    "MAX_CATEGORIES",
    "MAX_DISCRETE_VALUES",
    "Bars",
    "Histogram",
    "category_bars",
    "discrete_bars",
    "display_range",
    "figure_for",
    "nice_step",
    "numeric_histogram",
]

#: Number of display bins a numeric histogram aims at (the nice bin width may give a few less).
DISPLAY_BINS = 30
#: Categories shown by name; the rest are added to the "(other)" bar.
MAX_CATEGORIES = 20
#: A numeric column with at most this many distinct reference values is shown value by value.
MAX_DISCRETE_VALUES = 30

_LOW_QUANTILE = 0.005
_HIGH_QUANTILE = 0.995
_CURRENT_LOW_QUANTILE = 0.01
_CURRENT_HIGH_QUANTILE = 0.99

_DAY = 86400.0
_TIME_STEPS = (
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
    3600.0, 7200.0, 10800.0, 21600.0, 43200.0,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY, 91 * _DAY, 365 * _DAY,
)  # fmt: skip

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Histogram:
    """Reference and current shares on common equal-width display bins.

    Attributes
    ----------
    edges : numpy.ndarray
        Display bin edges, ascending (``len(reference) + 1`` of them).
    reference, current : numpy.ndarray
        Share of each dataset's finite values in each display bin.
    reference_under, current_under : float
        Share below ``edges[0]``.
    reference_over, current_over : float
        Share above ``edges[-1]``.
    integer : bool
        True when the reference holds integers only: every bin then covers whole numbers
        ``ceil(edges[i]) .. floor(edges[i + 1])`` and its share is exact at the grid edges.
    """

    edges: FloatArray
    reference: FloatArray
    current: FloatArray
    reference_under: float
    reference_over: float
    current_under: float
    current_over: float
    integer: bool = False

    @property
    def width(self) -> float:
        return float(self.edges[1] - self.edges[0])

    @property
    def has_under(self) -> bool:
        return self.reference_under > 0 or self.current_under > 0

    @property
    def has_over(self) -> bool:
        return self.reference_over > 0 or self.current_over > 0

    def totals(self) -> tuple[float, float]:
        """Sum of the shares of each dataset, out-of-range bars included (1 when non-empty)."""
        ref = float(self.reference.sum()) + self.reference_under + self.reference_over
        cur = float(self.current.sum()) + self.current_under + self.current_over
        return ref, cur


@dataclass(frozen=True, eq=False)
class Bars:
    """Reference and current shares per labelled value (a category or a distinct number).

    ``other`` counts the categories folded into a trailing ``"(other)"`` bar (0 when that bar
    only holds values off the reference grid, or when there is no such bar). ``ordered`` is true
    when the labels are numbers in ascending order (keep their order when drawing).
    """

    labels: tuple[str, ...]
    reference: FloatArray
    current: FloatArray
    other: int = 0
    ordered: bool = False

    def totals(self) -> tuple[float, float]:
        return float(self.reference.sum()), float(self.current.sum())


def nice_step(raw: float, *, time: bool = False) -> float:
    """The smallest "nice" bin width at least ``raw``: 1, 2, 2.5 or 5 times a power of ten.

    With ``time=True`` the widths are durations in seconds (minutes, hours, days, weeks...).

    Examples
    --------
    >>> nice_step(0.37), nice_step(3.0), nice_step(1234.0)
    (0.5, 5.0, 2000.0)
    >>> nice_step(5000.0, time=True), nice_step(3 * 86400.0, time=True)
    (7200.0, 604800.0)
    """
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    if time and raw <= _TIME_STEPS[-1]:
        return next(step for step in _TIME_STEPS if step >= raw)
    if time:
        return _TIME_STEPS[-1] * nice_step(raw / _TIME_STEPS[-1])
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = factor * power
        if step >= raw * (1 - 1e-12):
            return step
    return 10.0 * power  # pragma: no cover - the loop always returns


def display_range(reference: NumericProfile, current: NumericProfile) -> tuple[float, float]:
    """Robust value range of a numeric chart.

    The reference's 0.5%-99.5% quantile range, widened to take in the current's 1%-99% range
    but never beyond the reference minimum and maximum: the current is counted on the
    reference grid, so where its values lie outside the reference range is unknown (they show
    as under/over bars). Falls back to the reference minimum and maximum when the quantiles
    coincide.

    Examples
    --------
    >>> from seismo.profile.grid import NumericGrid
    >>> values = np.arange(1000.0)
    >>> grid = NumericGrid.from_sorted(values, bins=100)
    >>> reference = NumericProfile.from_batch(grid, values)
    >>> [round(x, 1) for x in display_range(reference, reference)]
    [4.0, 994.0]
    >>> shifted = NumericProfile.from_batch(grid, values + 300.0)
    >>> [round(x, 1) for x in display_range(reference, shifted)]
    [4.0, 999.0]
    """
    if not reference.finite_count:
        return math.nan, math.nan
    ref_min, ref_max = reference.minimum, reference.maximum
    quantiles = np.array([_LOW_QUANTILE, _HIGH_QUANTILE])
    low, high = (float(x) for x in reference.quantiles(quantiles))
    if current.finite_count:
        quantiles = np.array([_CURRENT_LOW_QUANTILE, _CURRENT_HIGH_QUANTILE])
        cur_low, cur_high = (float(x) for x in current.quantiles(quantiles))
        low = max(min(low, cur_low), ref_min)
        high = min(max(high, cur_high), ref_max)
    if not high > low:
        low, high = ref_min, ref_max
    if not high > low:
        half = max(abs(low) * 0.05, 0.5)
        low, high = low - half, high + half
    return low, high


def numeric_histogram(
    reference: NumericProfile,
    current: NumericProfile,
    *,
    bins: int = DISPLAY_BINS,
    time: bool = False,
) -> Histogram | None:
    """Both profiles as shares on the same ~``bins`` equal-width display bins.

    The bin width is a nice number (see :func:`nice_step`) covering :func:`display_range`.
    Shares come from differences of ``cdf_at`` at the display edges; for integer data the
    differences are taken at whole numbers (where the grid CDF is exact) and each bar covers
    whole numbers. ``None`` when the reference has no finite value (there is no grid).

    Parameters
    ----------
    reference, current : NumericProfile
        Profiles counted on the same grid.
    bins : int
        Number of display bins to aim at.
    time : bool
        Values are seconds since the epoch: bin widths are whole durations.

    Examples
    --------
    >>> from seismo.profile.grid import NumericGrid
    >>> values = np.linspace(0.0, 10.0, 1001)
    >>> grid = NumericGrid.from_sorted(values, bins=100)
    >>> reference = NumericProfile.from_batch(grid, values)
    >>> current = NumericProfile.from_batch(grid, values + 2.0)
    >>> hist = numeric_histogram(reference, current, bins=6)
    >>> hist.edges.tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    >>> np.round(hist.reference, 3).tolist()
    [0.2, 0.2, 0.2, 0.2, 0.2]
    >>> np.round(hist.current, 3).tolist()
    [0.001, 0.2, 0.2, 0.2, 0.2]

    The current's values above the reference maximum (10) are in the over bar:

    >>> round(hist.current_over, 3), [round(total, 6) for total in hist.totals()]
    (0.2, [1.0, 1.0])
    """
    if not reference.finite_count or len(reference.grid.edges) == 0:
        return None
    low, high = display_range(reference, current)
    width = nice_step((high - low) / max(bins, 1), time=time)
    integer = _integer_valued(reference) and not time
    if integer:
        width = max(1.0, math.ceil(width))
        start = math.floor(low / width) * width
        count = max(1, math.ceil((high + 1 - start) / width))
        cuts = start - 1 + width * np.arange(count + 1, dtype=np.float64)
        edges = cuts + 0.5
    else:
        start = math.floor(low / width) * width
        count = max(1, math.ceil((high - start) / width - 1e-9))
        edges = _clean(start + width * np.arange(count + 1, dtype=np.float64))
        cuts = edges
    ref_cdf = _cdf(reference, cuts)
    cur_cdf = _cdf(current, cuts)
    return Histogram(
        edges=edges,
        reference=np.diff(ref_cdf),
        current=np.diff(cur_cdf),
        reference_under=float(ref_cdf[0]),
        reference_over=float(1.0 - ref_cdf[-1]) if reference.finite_count else 0.0,
        current_under=float(cur_cdf[0]),
        current_over=float(1.0 - cur_cdf[-1]) if current.finite_count else 0.0,
        integer=integer,
    )


def discrete_bars(
    reference: NumericProfile,
    current: NumericProfile,
    *,
    max_values: int = MAX_DISCRETE_VALUES,
) -> Bars | None:
    """One bar per distinct reference value, for numeric columns with few of them.

    The grid of such a column has one edge per value, so each fine bin ``(e[i-1], e[i]]`` holds
    one reference value ``e[i]`` (current values between two reference values count with the
    next one). Current values below the reference minimum or above its maximum get bars
    ``"< min"`` and ``"> max"`` when there are any. ``None`` when the reference has more than
    ``max_values`` distinct values or no finite value.

    Examples
    --------
    >>> from seismo.profile.grid import NumericGrid
    >>> grid = NumericGrid.from_sorted(np.array([0.0, 0.0, 1.0, 2.0]), bins=10)
    >>> reference = NumericProfile.from_batch(grid, np.array([0.0, 0.0, 1.0, 2.0]))
    >>> current = NumericProfile.from_batch(grid, np.array([1.0, 2.0, 2.0, 5.0]))
    >>> bars = discrete_bars(reference, current)
    >>> bars.labels
    ('0', '1', '2', '> 2')
    >>> bars.reference.tolist(), bars.current.tolist()
    ([0.5, 0.25, 0.25, 0.0], [0.0, 0.25, 0.5, 0.25])
    """
    edges = reference.grid.edges
    if not reference.finite_count or len(edges) < 2 or len(edges) - 1 > max_values:
        return None
    values = edges[1:]  # edges[0] sits just below the reference minimum
    ref = _shares(reference.bin_counts)
    cur = _shares(current.bin_counts)
    labels = [_value_label(v) for v in values.tolist()]
    ref_parts, cur_parts = [ref[1:-1]], [cur[1:-1]]
    if cur[0] > 0 or ref[0] > 0:
        labels.insert(0, f"< {_value_label(float(values[0]))}")
        ref_parts.insert(0, ref[:1])
        cur_parts.insert(0, cur[:1])
    if cur[-1] > 0 or ref[-1] > 0:
        labels.append(f"> {_value_label(float(values[-1]))}")
        ref_parts.append(ref[-1:])
        cur_parts.append(cur[-1:])
    return Bars(tuple(labels), np.concatenate(ref_parts), np.concatenate(cur_parts), ordered=True)


def category_bars(
    reference: CategoricalProfile,
    current: CategoricalProfile,
    *,
    top: int = MAX_CATEGORIES,
) -> Bars:
    """Shares of the ``top`` categories by combined share, the rest folded into "(other)".

    Shares are of each dataset's non-missing values; the categories are sorted by the sum of
    their reference and current shares, largest first.

    Examples
    --------
    >>> from seismo.profile.batch import CodesBatch
    >>> from seismo.profile.grid import CategoricalGrid
    >>> from seismo.schema.types import Physical
    >>> grid = CategoricalGrid(("a", "b", "c"))
    >>> def counted(codes):
    ...     names = ("a", "b", "c", "new")
    ...     batch = CodesBatch(np.array(codes, dtype=np.int32), names, Physical.STRING)
    ...     return CategoricalProfile.from_batch(grid, batch)
    >>> bars = category_bars(counted([0, 0, 1, 2]), counted([1, 1, 2, 3]), top=2)
    >>> bars.labels, bars.other
    (('b', 'a', '(other)'), 1)
    >>> bars.reference.tolist(), bars.current.tolist()
    ([0.25, 0.5, 0.25], [0.5, 0.0, 0.5])
    """
    ref = _shares(reference.bin_counts)
    cur = _shares(current.bin_counts)
    named = len(reference.grid.categories)
    combined = ref[:named] + cur[:named]
    order = np.argsort(-combined, kind="stable")
    shown = [i for i in order[:top].tolist() if combined[i] > 0]
    taken = set(shown)
    rest = [i for i in order.tolist() if i not in taken]
    labels = [reference.grid.labels[i] for i in shown]
    ref_parts = [float(ref[i]) for i in shown]
    cur_parts = [float(cur[i]) for i in shown]
    other_ref = float(ref[rest].sum() + ref[-1])
    other_cur = float(cur[rest].sum() + cur[-1])
    folded = sum(1 for i in rest if combined[i] > 0)
    if other_ref > 0 or other_cur > 0:
        labels.append(OTHER)
        ref_parts.append(other_ref)
        cur_parts.append(other_cur)
    return Bars(
        tuple(labels),
        np.array(ref_parts, dtype=np.float64),
        np.array(cur_parts, dtype=np.float64),
        other=folded,
    )


def figure_for(
    reference: NumericProfile | CategoricalProfile | None,
    current: NumericProfile | CategoricalProfile | None,
    *,
    time: bool = False,
) -> Histogram | Bars | None:
    """The chart data that suits a column: value bars, a histogram, or ``None`` (no data).

    Examples
    --------
    >>> from seismo.profile.grid import NumericGrid
    >>> values = np.arange(500.0)
    >>> grid = NumericGrid.from_sorted(values, bins=100)
    >>> profile = NumericProfile.from_batch(grid, values)
    >>> type(figure_for(profile, profile)).__name__, figure_for(profile, None)
    ('Histogram', None)
    """
    if isinstance(reference, NumericProfile) and isinstance(current, NumericProfile):
        if not time:
            bars = discrete_bars(reference, current)
            if bars is not None:
                return bars
        return numeric_histogram(reference, current, time=time)
    if isinstance(reference, CategoricalProfile) and isinstance(current, CategoricalProfile):
        if not (reference.valid_count or current.valid_count):
            return None
        return category_bars(reference, current)
    return None


def _cdf(profile: NumericProfile, points: FloatArray) -> FloatArray:
    if not profile.finite_count:
        return np.zeros(len(points))
    return np.maximum.accumulate(np.clip(profile.cdf_at(points), 0.0, 1.0))


def _shares(counts: NDArray[np.int64]) -> FloatArray:
    total = int(counts.sum())
    if total == 0:
        return np.zeros(len(counts))
    return np.asarray(counts / total, dtype=np.float64)


def _integer_valued(profile: NumericProfile) -> bool:
    edges = profile.grid.edges[1:]
    if not profile.finite_count or len(edges) == 0:
        return False
    ends = np.array([profile.minimum, profile.maximum])
    return bool(np.all(edges == np.round(edges)) and np.all(ends == np.round(ends)))


def _clean(edges: FloatArray) -> FloatArray:
    """Round away float noise of ``start + k * width`` (0.30000000000000004 -> 0.3)."""
    scale = float(np.max(np.abs(edges))) or 1.0
    digits = max(0, 12 - math.ceil(math.log10(scale)))
    return np.round(edges, digits)


def _value_label(value: float) -> str:
    return f"{value:.6g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")

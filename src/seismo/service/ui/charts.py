"""Inline SVG charts of the monitoring UI, as pure functions: numbers in, an ``<svg>`` out.

The UI's Content-Security-Policy allows no inline style, so nothing here writes a ``style``
attribute, a ``<style>`` or a ``<script>``: colours come from the classes the UI's stylesheet
defines (``q0``…``q7``, ``na``, ``d``, ``band``, ``line``, ``pt``, ``thr``, ``ev ev-<kind>``,
``bar``, ``usual``, ``grid``, ``axis``), geometry from SVG attributes. Every piece of user text
(feature names, labels) and every link is escaped.

Time charts of one page share one :class:`TimeAxis`, so windows line up vertically from chart
to chart. A window covers its start up to the next window's start, or its usual length (the
axis' ``step``, else the median step between starts) when it is the last one or the next is
missing; a missing window, or a NaN, breaks lines and bands. The data values are carried
exactly (``repr`` of the float) in ``data-*`` attributes, so a test can read them back;
geometry is rounded to two decimals.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Final, NamedTuple
from urllib.parse import urlsplit

import numpy as np
from markupsafe import Markup, escape
from numpy.typing import ArrayLike, NDArray

from seismo.report.figures import nice_step

__all__ = [
    "EVENT_KINDS",
    "RATIO_BINS",
    "Event",
    "Threshold",
    "Tick",
    "TimeAxis",
    "bars",
    "heatmap",
    "ratio_class",
    "sparkline",
    "timeseries",
]

#: Lower edges of the heatmap's colour classes ``q0``…``q7`` (the last class is open above).
#: The ratio is a feature's leading effect over its threshold: 1 or more is large enough to
#: matter.
RATIO_BINS: Final = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)

#: Kinds of :class:`Event`; each is drawn with the classes ``ev ev-<kind>``.
EVENT_KINDS: Final = (
    "alert",
    "alert-resolved",
    "retrain",
    "validation",
    "rollout",
    "promotion",
    "rollback",
)

FloatArray = NDArray[np.float64]

_SVG_NS = "http://www.w3.org/2000/svg"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MINUTE = 60.0
_HOUR = 3600.0
_DAY = 86400.0
_WEEK = 7 * _DAY
_MONDAY = 4 * _DAY  # 1970-01-05, the first Monday after the epoch
#: Horizontal room a time tick needs (its label and a gap), in viewBox units.
_TICK_SPACING = 56.0
#: Estimated width of one character of the 11px chart font, in viewBox units.
_CHAR_WIDTH = 6.2
#: A step more than this many times the usual one means windows are missing in between.
_GAP_FACTOR = 1.5
#: Values beyond this magnitude are drawn at it (their data attributes stay exact).
_HUGE = 1e300

# Tick steps tried in order, smallest first: (unit, count).
_TIME_STEPS: Final = (
    ("minute", 1), ("minute", 5), ("minute", 10), ("minute", 15), ("minute", 30),
    ("hour", 1), ("hour", 2), ("hour", 3), ("hour", 6), ("hour", 12),
    ("day", 1), ("day", 2), ("week", 1), ("week", 2),
    ("month", 1), ("month", 3), ("month", 6),
)  # fmt: skip
_FIXED_SECONDS: Final = {"minute": _MINUTE, "hour": _HOUR, "day": _DAY, "week": _WEEK}

# Event glyphs, drawn above the plot centred on the marker line (shape as well as colour
# tells the kinds apart).
_GLYPHS: Final = {
    "alert": "l-4.5 -7h9z",  # a triangle pointing down at the line
    "alert-resolved": "m-4.5 -7h9l-4.5 7",
    "retrain": "m0 -8a3.5 3.5 0 1 0 0.01 0z",
    "validation": "m-3.5 -7.5h7v7h-7z",
    "rollout": "m0 -9l4 4.5l-4 4.5l-4 -4.5z",
    "promotion": "m0 -9l4.5 8h-9z",
    "rollback": "m-4.5 -9h9l-4.5 8z",
}
_OTHER_GLYPH: Final = "m-3 -3v-6h6v6z"
_KIND: Final = re.compile(r"[a-z0-9][a-z0-9-]*")


# ---------------------------------------------------------------------------------------------
# Time axis
# ---------------------------------------------------------------------------------------------


class Tick(NamedTuple):
    """One labelled position on an axis."""

    x: float
    label: str
    at: datetime


@dataclass(frozen=True)
class TimeAxis:
    """Maps datetimes onto the horizontal extent shared by a page's time charts.

    Parameters
    ----------
    start, end : datetime
        The domain; naive datetimes are taken as UTC. ``end`` must be after ``start``.
    width : float
        Width of every chart's viewBox.
    left, right : float
        Margins: the plot runs from ``left`` to ``width - right`` (labels go in the margins).
    step : timedelta, optional
        The windows' length. Without it a window's length is the median step between the
        starts a chart is given (a single window then reaches the end of the domain).

    Examples
    --------
    >>> axis = TimeAxis(datetime(2013, 1, 1), datetime(2014, 1, 1), 960, 170, 60)
    >>> axis.x(datetime(2013, 1, 1)), axis.x(datetime(2014, 1, 1)), axis.plot_right
    (170.0, 900.0, 900.0)
    >>> [tick.label for tick in axis.ticks][:4], len(axis.ticks)
    (['Jan 2013', 'Feb', 'Mar', 'Apr'], 13)
    >>> short = TimeAxis(datetime(2013, 3, 4, 6), datetime(2013, 3, 5, 6), 960, 170, 60)
    >>> [tick.label for tick in short.ticks]
    ['06:00', '08:00', '10:00', '12:00', '14:00', '16:00', '18:00', '20:00', '22:00', 'Mar 5', ...]
    """

    start: datetime
    end: datetime
    width: float
    left: float
    right: float
    step: timedelta | None = None
    _start_s: float = field(init=False, repr=False, compare=False)
    _end_s: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        start_s, end_s = _seconds(self.start), _seconds(self.end)
        if not end_s > start_s:
            raise ValueError(f"TimeAxis: end ({self.end}) must be after start ({self.start})")
        if not self.plot_right > self.left >= 0:
            raise ValueError(
                f"TimeAxis: margins left={self.left}, right={self.right} leave no room in "
                f"width={self.width}"
            )
        if self.step is not None and not self.step.total_seconds() > 0:
            raise ValueError(f"TimeAxis: step ({self.step}) must be positive")
        object.__setattr__(self, "_start_s", start_s)
        object.__setattr__(self, "_end_s", end_s)

    @property
    def plot_left(self) -> float:
        return float(self.left)

    @property
    def plot_right(self) -> float:
        return float(self.width - self.right)

    def x(self, moment: datetime) -> float:
        """Horizontal position of ``moment`` (outside the plot when outside the domain)."""
        return self.x_of_seconds(_seconds(moment))

    def x_of_seconds(self, seconds: float) -> float:
        """Horizontal position of a POSIX timestamp."""
        share = (seconds - self._start_s) / (self._end_s - self._start_s)
        return self.plot_left + share * (self.plot_right - self.plot_left)

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` lies in the domain, both ends included."""
        return self._start_s <= _seconds(moment) <= self._end_s

    @cached_property
    def ticks(self) -> tuple[Tick, ...]:
        """Nice ticks inside the domain, as many as fit without their labels colliding.

        Steps are minutes, hours, days, weeks (on Mondays), months, quarters, half-years and
        years (all UTC), whichever is the smallest that fits.
        """
        most = int((self.plot_right - self.plot_left) / _TICK_SPACING) + 1
        span = self._end_s - self._start_s
        for unit, count in _TIME_STEPS:
            rough = span / (_FIXED_SECONDS.get(unit, 30.4 * _DAY) * count)
            if rough > most + 1:
                continue
            moments = _tick_moments(self._start_s, self._end_s, unit, count)
            if len(moments) <= most:
                return self._labelled(moments, unit)
        years = 1
        while True:
            for factor in (1, 2, 5):
                step = years * factor
                if span / (365.25 * _DAY * step) <= most - 1:
                    return self._labelled(
                        _tick_moments(self._start_s, self._end_s, "year", step), "year"
                    )
            years *= 10

    def _labelled(self, moments: list[datetime], unit: str) -> tuple[Tick, ...]:
        ticks: list[Tick] = []
        previous: datetime | None = None
        for moment in moments:
            label = _tick_label(moment, unit, previous)
            ticks.append(Tick(self.x_of_seconds(moment.timestamp()), label, moment))
            previous = moment
        return tuple(ticks)


def _seconds(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _tick_moments(start_s: float, end_s: float, unit: str, count: int) -> list[datetime]:
    if unit in _FIXED_SECONDS:
        step = _FIXED_SECONDS[unit] * count
        offset = _MONDAY if unit == "week" else 0.0
        first = math.ceil((start_s - offset) / step) * step + offset
        total = math.floor((end_s - first) / step + 1e-9) + 1
        return [datetime.fromtimestamp(first + k * step, UTC) for k in range(max(total, 0))]
    start = datetime.fromtimestamp(start_s, UTC)
    moments: list[datetime] = []
    if unit == "month":
        year, month = start.year, start.month
        while True:
            moment = datetime(year, month, 1, tzinfo=UTC)
            if moment.timestamp() > end_s:
                return moments
            if (month - 1) % count == 0 and moment.timestamp() >= start_s:
                moments.append(moment)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    year = math.ceil(start.year / count) * count
    while year <= 9999:
        moment = datetime(year, 1, 1, tzinfo=UTC)
        if moment.timestamp() > end_s:
            break
        if moment.timestamp() >= start_s:
            moments.append(moment)
        year += count
    return moments


def _tick_label(moment: datetime, unit: str, previous: datetime | None) -> str:
    day = f"{_MONTHS[moment.month - 1]} {moment.day}"
    if unit in ("minute", "hour"):
        return day if moment.hour == moment.minute == 0 else f"{moment:%H:%M}"
    if unit in ("day", "week"):
        return f"{day} {moment.year}" if previous and previous.year != moment.year else day
    if unit == "month":
        month = _MONTHS[moment.month - 1]
        return f"{month} {moment.year}" if previous is None or moment.month == 1 else month
    return str(moment.year)


# ---------------------------------------------------------------------------------------------
# Windows on the axis
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Windows:
    """The windows' spans on an axis: ``x0[j]`` to ``x1[j]`` (both clipped to the plot), and
    whether each is followed by a missing window (``gap_after``)."""

    seconds: FloatArray
    x0: FloatArray
    x1: FloatArray
    inside: NDArray[np.bool_]
    gap_after: NDArray[np.bool_]

    @property
    def centre(self) -> FloatArray:
        return (self.x0 + self.x1) / 2


def _windows(axis: TimeAxis, starts: Sequence[datetime]) -> _Windows:
    seconds = np.array([_seconds(start) for start in starts], dtype=np.float64)
    n = len(seconds)
    if n and np.any(np.diff(seconds) <= 0):
        raise ValueError("window starts must be strictly increasing")
    steps = np.diff(seconds)
    if axis.step is not None:
        usual = axis.step.total_seconds()
    elif n > 1:
        usual = float(np.median(steps))
    elif n == 1:
        usual = max(axis._end_s - float(seconds[0]), 0.0)
    else:
        usual = 0.0
    following = np.append(seconds[1:], seconds[-1:] + usual) if n else seconds
    gap_after = np.append(steps > _GAP_FACTOR * usual, False) if n else np.zeros(0, dtype=bool)
    ends = np.where(gap_after, seconds + usual, following)
    span = axis._end_s - axis._start_s
    scale = (axis.plot_right - axis.plot_left) / span
    x_start = axis.plot_left + (seconds - axis._start_s) * scale
    x_end = axis.plot_left + (ends - axis._start_s) * scale
    inside = (seconds >= axis._start_s) & (seconds < axis._end_s)
    x0 = np.clip(x_start, axis.plot_left, axis.plot_right)
    x1 = np.clip(x_end, axis.plot_left, axis.plot_right)
    # At least one unit wide, so that every window inside the domain can be seen and hit.
    x1 = np.where(inside, np.maximum(x1, x0 + 1.0), x0)
    return _Windows(seconds, x0, x1, inside, gap_after)


def _runs(valid: NDArray[np.bool_], gap_after: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Maximal ``[first, last]`` index ranges of valid, consecutive windows."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    for j, ok in enumerate(valid.tolist()):
        if ok and first is None:
            first = j
        if first is not None and (not ok or gap_after[j]):
            runs.append((first, j if ok else j - 1))
            first = None
    if first is not None:
        runs.append((first, len(valid) - 1))
    return runs


# ---------------------------------------------------------------------------------------------
# Shared markup
# ---------------------------------------------------------------------------------------------


def _c(value: float) -> str:
    """A compact coordinate: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _v(value: float) -> str:
    """A data value, exactly (``float(_v(x)) == x``)."""
    return repr(float(value))


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat()


def _when(moment: datetime) -> str:
    """A window start for people: ``Mar 4 2013``, with the time when it is not midnight."""
    moment = _utc(moment)
    text = f"{_MONTHS[moment.month - 1]} {moment.day} {moment.year}"
    if moment.hour or moment.minute or moment.second:
        text += f" {moment:%H:%M}"
    return text


def _fmt(value: float) -> str:
    """A value for people: three significant digits, thousands separated for counts."""
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == round(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.3g}"


def _safe_href(href: str | None) -> str | None:
    """``href`` when it is a relative, http or https link; ``None`` otherwise (a
    ``javascript:`` link, or one hiding its scheme behind control characters)."""
    if not href or any(ord(char) < 0x20 or ord(char) == 0x7F for char in href):
        return None
    scheme = urlsplit(href.strip()).scheme.lower()
    return href if scheme in ("", "http", "https") else None


def _open(kind: str, width: float, height: float, title: str, attrs: str = "") -> list[str]:
    """The root element, a ``role="img"`` (a chart holding links is made a ``"figure"``: an
    image's content is presentational, it must not hold interactive elements)."""
    label = escape(title)
    return [
        f'<svg xmlns="{_SVG_NS}" viewBox="0 0 {_c(width)} {_c(height)}" class="chart {kind}" '
        f'role="img" aria-label="{label}"{attrs}><title>{label}</title>'
    ]


def _finite(*arrays: FloatArray | None) -> FloatArray:
    kept = [a[np.isfinite(a)] for a in arrays if a is not None]
    return np.concatenate(kept) if kept else np.zeros(0)


def _array(values: ArrayLike | None, n: int, name: str) -> FloatArray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(array) != n:
        raise ValueError(f"{name}: {len(array)} values for {n} windows")
    return array


def _truncate(text: str, room: float) -> str:
    most = max(int(room / _CHAR_WIDTH), 2)
    return text if len(text) <= most else text[: most - 1] + "…"


class _Scale(NamedTuple):
    """A vertical linear scale from ``low``…``high`` onto ``bottom``…``top``."""

    low: float
    high: float
    top: float
    bottom: float
    step: float

    def y(self, value: float) -> float:
        value = min(max(value, -_HUGE), _HUGE)
        share = (value - self.low) / (self.high - self.low)
        y = self.bottom - share * (self.bottom - self.top)
        return min(max(y, self.top), self.bottom)

    def ticks(self) -> list[float]:
        first = math.ceil(self.low / self.step - 1e-9)
        last = math.floor(self.high / self.step + 1e-9)
        return [k * self.step for k in range(first, last + 1)]


def _scale(
    data: FloatArray,
    top: float,
    bottom: float,
    *,
    given: tuple[float, float] | None = None,
    zero: bool = False,
) -> _Scale:
    """A y scale over ``data`` (padded and widened to nice ticks), or over ``given``."""
    most = max(2, min(6, int((bottom - top) // 28)))
    if given is not None:
        low, high = (float(v) for v in given)
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise ValueError(f"y_domain: {given} is not a finite (low, high) with low < high")
        return _Scale(low, high, top, bottom, nice_step((high - low) / most))
    data = np.clip(data, -_HUGE, _HUGE)
    if zero:
        data = np.append(data, 0.0)
    if not data.size:
        return _Scale(0.0, 1.0, top, bottom, nice_step(1.0 / most))
    low, high = float(data.min()), float(data.max())
    if high == low:
        half = abs(low) * 0.1 or 1.0
        low, high = low - half, high + half
    else:
        pad = (high - low) * 0.05
        low, high = (low if zero and low == 0 else low - pad), high + pad
    if float(data.min()) >= 0 > low:
        low = 0.0
    step = nice_step((high - low) / most)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    return _Scale(low, high, top, bottom, step)


def _number_tick(value: float, step: float) -> str:
    """An axis label: enough decimals for the step, k/M/G for large steps."""
    if value == 0:
        return "0"
    if not 1e-6 <= step < 1e12:
        return f"{value:.3g}".replace("e+", "e")
    divisor, suffix = next(
        ((d, s) for d, s in ((1e9, "G"), (1e6, "M"), (1e3, "k")) if step >= d), (1.0, "")
    )
    scaled = step / divisor
    decimals = max(0, -math.floor(math.log10(scaled) + 1e-9))
    if abs(round(scaled * 10**decimals) - scaled * 10**decimals) > 1e-6:
        decimals += 1
    text = f"{value / divisor:,.{decimals}f}"
    return ("0" if text.strip("-0.,") == "" else text) + suffix


def _y_axis(scale: _Scale, axis: TimeAxis, y_label: str) -> list[str]:
    parts: list[str] = []
    left, right = _c(axis.plot_left), _c(axis.plot_right)
    for value in scale.ticks():
        y = scale.y(value)
        parts.append(f'<path class="grid" d="M{left} {_c(y)}H{right}"/>')
        parts.append(
            f'<text class="yt" x="{_c(axis.plot_left - 6)}" y="{_c(y + 3.5)}" '
            f'text-anchor="end">{escape(_number_tick(value, scale.step))}</text>'
        )
    if y_label:
        middle = (scale.top + scale.bottom) / 2
        x = max(axis.plot_left - 52, 10.0)
        shown = _truncate(y_label, scale.bottom - scale.top)
        parts.append(
            f'<text class="yl" transform="rotate(-90 {_c(x)} {_c(middle)})" x="{_c(x)}" '
            f'y="{_c(middle)}" text-anchor="middle"><title>{escape(y_label)}</title>'
            f"{escape(shown)}</text>"
        )
    return parts


def _x_axis(axis: TimeAxis, y: float) -> list[str]:
    parts = [f'<path class="axis" d="M{_c(axis.plot_left)} {_c(y)}H{_c(axis.plot_right)}"/>']
    for tick in axis.ticks:
        x = _c(tick.x)
        parts.append(f'<path class="axis" d="M{x} {_c(y)}v4"/>')
        parts.append(
            f'<text class="xt" x="{x}" y="{_c(y + 15)}" text-anchor="middle">'
            f"{escape(tick.label)}</text>"
        )
    return parts


def _polyline(xs: Sequence[float], ys: Sequence[float]) -> str:
    return "M" + "L".join(f"{_c(x)} {_c(y)}" for x, y in zip(xs, ys, strict=True))


def _band(
    xs: Sequence[float],
    low: FloatArray,
    high: FloatArray,
    first: int,
    last: int,
    scale: _Scale,
    single: float,
) -> str:
    """The band of windows ``first..last`` as a closed path (``single`` wide for one window)."""
    if first == last:
        run = [xs[first] - single, xs[first] + single]
        ups = [scale.y(float(high[first]))] * 2
        downs = [scale.y(float(low[first]))] * 2
    else:
        run = list(xs[first : last + 1])
        ups = [scale.y(v) for v in high[first : last + 1].tolist()]
        downs = [scale.y(v) for v in low[first : last + 1].tolist()]
    return f'<path class="band" d="{_polyline(run + run[::-1], ups + downs[::-1])}Z"/>'


# ---------------------------------------------------------------------------------------------
# Heatmap
# ---------------------------------------------------------------------------------------------

_CLASSES: Final = (*(f"q{k}" for k in range(len(RATIO_BINS))), "na")
_NA: Final = len(RATIO_BINS)


def ratio_class(ratio: float) -> str:
    """The heatmap's colour class of an effect ratio (``na`` for NaN).

    Bins are closed below: ``RATIO_BINS[k] <= ratio < RATIO_BINS[k + 1]`` is ``q<k>``;
    ratios below 0 count as ``q0``.

    Examples
    --------
    >>> [ratio_class(r) for r in (0.0, 0.2499, 0.25, 0.99, 1.0, 3.9, 4.0, 1e9, float("nan"))]
    ['q0', 'q0', 'q1', 'q3', 'q4', 'q6', 'q7', 'q7', 'na']
    """
    if math.isnan(ratio):
        return "na"
    return _CLASSES[max(bisect.bisect_right(RATIO_BINS, ratio) - 1, 0)]


def heatmap(
    features: Sequence[str],
    starts: Sequence[datetime],
    ratios: ArrayLike,
    drifted: ArrayLike,
    *,
    axis: TimeAxis,
    cell_height: float = 12,
    label_width: float = 160,
    title: str,
) -> Markup:
    """Features (rows) by windows (columns), coloured by effect ratio, drifted cells marked.

    Each row is a ``<g class="hm-row" data-feature data-row data-v data-d>`` moved into place
    by its ``transform``: its label (cut with an ellipsis when long, the full name in its
    ``<title>``), then one ``<path>`` per colour class present in the row (``class`` from
    :func:`ratio_class`) holding a ``M x 0h w v h h-w z`` rectangle per cell of that class, and
    a ``<path class="d">`` outlining the drifted cells. ``data-v`` lists the exact ratios in
    column order (empty for NaN), ``data-d`` the drifted flags (``0``/``1``). The root carries
    ``data-starts`` (ISO 8601 window starts), ``data-x`` and ``data-w`` (each column's left
    edge and width) and ``data-top``/``data-ch`` (the first row's top, the row height), which
    is all the page's script needs to find the cell under the pointer. A few elements per row
    instead of one per cell: a year of a 100-feature model is about a thousand elements, not
    thirty-six thousand, and the browser lays it out in milliseconds.

    Parameters
    ----------
    features : sequence of str
        Row names, in display order.
    starts : sequence of datetime
        Window starts, strictly increasing.
    ratios : array (features x windows)
        Leading effect over its threshold; NaN where not tested.
    drifted : array of bool (features x windows)
        Whether the window's decision for the feature was "drifted".
    axis : TimeAxis
        The page's shared time axis; labels go in its left margin.
    cell_height : float
        Height of a row.
    label_width : float
        Room for a row's label (at most the axis' left margin).
    title : str
        Accessible name of the chart.

    Examples
    --------
    >>> axis = TimeAxis(datetime(2013, 3, 1), datetime(2013, 3, 3), 400, 100, 20)
    >>> starts = [datetime(2013, 3, 1), datetime(2013, 3, 2)]
    >>> svg = heatmap(["dep_delay"], starts, [[0.5, 1.25]], [[False, True]], axis=axis,
    ...               title="Drift")
    >>> import re
    >>> re.findall(r'<g class="hm-row"[^>]*>', svg)  # doctest: +NORMALIZE_WHITESPACE
    ['<g class="hm-row" data-feature="dep_delay" data-row="0" data-v="0.5,1.25" data-d="01"
      transform="translate(0 24)">']
    >>> for path in re.findall(r"<path class=.q[^>]*>|<path class=.d.[^>]*>", svg):
    ...     print(path)
    <path class="q2" d="M100 0h140v11h-140z"/>
    <path class="q4" d="M240 0h140v11h-140z"/>
    <path class="d" d="M240 0h140v11h-140z"/>
    """
    names = [str(name) for name in features]
    shape = (len(names), len(starts))
    ratio = np.asarray(ratios, dtype=np.float64)
    flags = np.asarray(drifted, dtype=bool)
    if ratio.size == 0 and 0 in shape:
        ratio = ratio.reshape(shape)
    if flags.size == 0 and 0 in shape:
        flags = flags.reshape(shape)
    if ratio.shape != shape or flags.shape != shape:
        raise ValueError(
            f"heatmap: ratios {ratio.shape} and drifted {flags.shape} must both be "
            f"(features, windows) = {shape}"
        )
    windows = _windows(axis, starts)
    top = 24.0
    height = top + len(names) * cell_height + 4
    row_height = cell_height - 1 if cell_height >= 6 else cell_height
    x0s, x1s = windows.x0.tolist(), windows.x1.tolist()
    data_starts = ",".join(_iso(start) for start in starts)
    columns = (
        f' data-starts="{data_starts}" data-x="{",".join(_c(x) for x in x0s)}" '
        f'data-w="{",".join(_c(b - a) for a, b in zip(x0s, x1s, strict=True))}" '
        f'data-top="{_c(top)}" data-ch="{_c(cell_height)}"'
    )
    span = f"{_when(starts[0])} to {_when(starts[-1])}" if len(starts) else "no window"
    parts = _open("heatmap", axis.width, height, title, columns)
    parts.append(
        f"<desc>{len(names)} features by {len(starts)} windows ({escape(span)}): colour is "
        "each feature's leading effect over its threshold (1 or more is large enough to "
        "matter); outlined cells drifted.</desc>"
    )
    for tick in axis.ticks:
        x = _c(tick.x)
        parts.append(f'<path class="axis" d="M{x} 16V{_c(top - 1)}"/>')
        parts.append(
            f'<text class="xt" x="{x}" y="12" text-anchor="middle">{escape(tick.label)}</text>'
        )

    # One rectangle per column, shared by every row; a row is a few joins of them.
    tall = _c(row_height)
    cells = [f"M{_c(a)} 0h{_c(b - a)}v{tall}h-{_c(b - a)}z" for a, b in zip(x0s, x1s, strict=True)]
    bins = np.clip(np.searchsorted(RATIO_BINS, ratio, side="right") - 1, 0, _NA - 1)
    codes = np.where(np.isnan(ratio), _NA, bins)
    room = min(label_width, axis.plot_left) - 8
    label_x, label_y = _c(axis.plot_left - 6), _c(cell_height / 2 + 3.5)
    for i, name in enumerate(names):
        full = escape(name)
        values = ",".join("" if v != v else repr(v) for v in ratio[i].tolist())
        marks = "".join("1" if flag else "0" for flag in flags[i].tolist())
        parts.append(
            f'<g class="hm-row" data-feature="{full}" data-row="{i}" data-v="{values}" '
            f'data-d="{marks}" transform="translate(0 {_c(top + i * cell_height)})">'
            f'<text class="hm-label" x="{label_x}" y="{label_y}" text-anchor="end">'
            f"<title>{full}</title>{escape(_truncate(name, room))}</text>"
        )
        row = codes[i]
        for code in np.unique(row).tolist():
            shapes = "".join(cells[j] for j in np.flatnonzero(row == code).tolist())
            parts.append(f'<path class="{_CLASSES[code]}" d="{shapes}"/>')
        if flags[i].any():
            shapes = "".join(cells[j] for j in np.flatnonzero(flags[i]).tolist())
            parts.append(f'<path class="d" d="{shapes}"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------------------------------------
# Time series
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Threshold:
    """A bound drawn over a time series: constant (``value``) or one per window (``values``,
    NaN where there is none), labelled at the right end. ``kind`` says which side it bounds
    ("lower" or "upper")."""

    label: str
    value: float | None = None
    values: ArrayLike | None = None
    kind: str = "lower"

    def __post_init__(self) -> None:
        if (self.value is None) == (self.values is None):
            raise ValueError(f"Threshold {self.label!r}: give exactly one of value and values")
        if self.kind not in ("lower", "upper"):
            raise ValueError(f"Threshold {self.label!r}: kind must be 'lower' or 'upper'")


@dataclass(frozen=True)
class Event:
    """Something that happened at a moment: an alert, a loop decision. ``label`` is its
    title; ``href`` where it links to. ``kind`` is one of :data:`EVENT_KINDS` (each has its
    own glyph); another kind made of lowercase letters, digits and dashes is drawn with a
    plain glyph (so a new kind of decision never breaks a page), anything else is refused."""

    at: datetime
    kind: str
    label: str
    href: str | None = None

    def __post_init__(self) -> None:
        if not _KIND.fullmatch(self.kind):
            raise ValueError(
                f"Event kind {self.kind!r}: use lowercase letters, digits and dashes "
                f"(known kinds: {', '.join(EVENT_KINDS)})"
            )


def timeseries(
    starts: Sequence[datetime],
    values: ArrayLike,
    lower: ArrayLike | None,
    upper: ArrayLike | None,
    *,
    axis: TimeAxis,
    height: float = 180,
    y_label: str,
    title: str,
    thresholds: Sequence[Threshold] = (),
    events: Sequence[Event] = (),
    y_domain: tuple[float, float] | None = None,
    points_href: Sequence[str] | None = None,
) -> Markup:
    """A value per window with its interval band, bounds and events.

    Points sit at the middle of their window. Lines (``path.line``) and bands
    (``path.band``) are drawn per run of consecutive windows with a finite value (a band:
    finite ``lower`` and ``upper``); a NaN or a missing window starts a new run. A run of one
    window has no line (its point shows it) and a band as wide as its point. Each point is a
    ``<circle class="pt">`` with ``data-start``, ``data-v`` and, when finite, ``data-lo`` and
    ``data-hi``; with ``points_href`` it is a link to its window. Events outside the axis'
    domain are left out. Geometry outside ``y_domain`` is drawn at its edge.

    Links (points, events) are for the pointer: they are out of the tab order
    (``tabindex="-1"``; the page lists windows and events as ordinary links), and a chart
    holding links is a ``role="figure"`` (an image must not hold interactive elements).

    Examples
    --------
    >>> axis = TimeAxis(datetime(2013, 3, 1), datetime(2013, 3, 4), 400, 100, 20)
    >>> starts = [datetime(2013, 3, d) for d in (1, 2, 3)]
    >>> svg = timeseries(starts, [0.8, float("nan"), 0.85], None, None, axis=axis,
    ...                  y_label="auc", title="AUC")
    >>> import re
    >>> re.findall(r'data-v="([^"]*)"', svg), svg.count('class="line"')
    (['0.8', '0.85'], 0)
    """
    n = len(starts)
    value = _array(values, n, "values")
    assert value is not None
    low = _array(lower, n, "lower")
    high = _array(upper, n, "upper")
    if points_href is not None and len(points_href) != n:
        raise ValueError(f"points_href: {len(points_href)} links for {n} windows")
    steps = [
        (threshold, _array(threshold.values, n, f"threshold {threshold.label!r}"))
        for threshold in thresholds
    ]
    windows = _windows(axis, starts)
    shown = windows.inside & np.isfinite(value)
    top, bottom = 16.0, height - 22.0
    data = _finite(
        np.where(shown, value, np.nan),
        None if low is None else np.where(windows.inside, low, np.nan),
        None if high is None else np.where(windows.inside, high, np.nan),
        *[np.array([t.value], dtype=np.float64) if per is None else per for t, per in steps],
    )
    scale = _scale(data, top, bottom, given=y_domain)
    span = f"{_when(starts[0])} to {_when(starts[-1])}" if n else "no window"
    parts = _open("timeseries", axis.width, height, title)
    parts.append(
        f"<desc>{escape(y_label)} per window, {int(shown.sum())} of {n} windows with a value "
        f"({escape(span)}).</desc>"
    )
    parts += _y_axis(scale, axis, y_label)
    parts += _x_axis(axis, bottom)
    centre = windows.centre.tolist()

    if low is not None and high is not None:
        banded = windows.inside & np.isfinite(low) & np.isfinite(high)
        single = min(3.0, float(np.median(windows.x1 - windows.x0)) / 2) if n else 0.0
        for first, last in _runs(banded, windows.gap_after):
            parts.append(_band(centre, low, high, first, last, scale, single))

    for threshold, per in steps:
        parts += _threshold(threshold, per, windows, scale, axis)

    for first, last in _runs(shown, windows.gap_after):
        if last > first:
            ys = [scale.y(v) for v in value[first : last + 1].tolist()]
            parts.append(f'<path class="line" d="{_polyline(centre[first : last + 1], ys)}"/>')

    for event in sorted(events, key=lambda e: (_seconds(e.at), e.kind, e.label)):
        if axis.contains(event.at):
            parts.append(_event(event, axis, top, bottom))

    usual = float(np.median(windows.x1 - windows.x0)) if n else 0.0
    radius = _c(min(max(usual / 3, 1.5), 3.0))
    for j in np.flatnonzero(shown).tolist():
        v = float(value[j])
        attrs = f'data-start="{_iso(starts[j])}" data-v="{_v(v)}"'
        tip = f"{_when(starts[j])}: {_fmt(v)}"
        if (
            low is not None
            and high is not None
            and math.isfinite(low[j])
            and math.isfinite(high[j])
        ):
            attrs += f' data-lo="{_v(low[j])}" data-hi="{_v(high[j])}"'
            tip += f" [{_fmt(float(low[j]))}, {_fmt(float(high[j]))}]"
        circle = f'<circle class="pt" cx="{_c(centre[j])}" cy="{_c(scale.y(v))}" r="{radius}" '
        href = _safe_href(points_href[j]) if points_href is not None else None
        if href is None:
            parts.append(f"{circle}{attrs}><title>{escape(tip)}</title></circle>")
        else:
            parts.append(
                f'<a href="{escape(href)}" tabindex="-1"><title>{escape(tip)}</title>'
                f"{circle}{attrs}/></a>"
            )
    parts.append("</svg>")
    if any(part.startswith("<a ") for part in parts):  # a figure may hold links
        parts[0] = parts[0].replace('role="img"', 'role="figure"', 1)
    return Markup("".join(parts))


def _threshold(
    threshold: Threshold,
    per: FloatArray | None,
    windows: _Windows,
    scale: _Scale,
    axis: TimeAxis,
) -> list[str]:
    label = escape(threshold.label)
    if per is None:
        assert threshold.value is not None
        level = float(threshold.value)
        if not math.isfinite(level):
            return []
        y = _c(scale.y(level))
        d = f"M{_c(axis.plot_left)} {y}H{_c(axis.plot_right)}"
        data = f'data-v="{_v(level)}"'
        end_y = scale.y(level)
    else:
        pieces: list[str] = []
        valid = windows.inside & np.isfinite(per)
        for first, last in _runs(valid, windows.gap_after):
            steps = [f"M{_c(windows.x0[first])} {_c(scale.y(per[first]))}"]
            for j in range(first, last + 1):
                if j > first:
                    steps.append(f"V{_c(scale.y(per[j]))}")
                steps.append(f"H{_c(windows.x1[j])}")
            pieces.append("".join(steps))
        if not pieces:
            return []
        d = "".join(pieces)
        data = f'data-values="{",".join("" if math.isnan(v) else _v(v) for v in per.tolist())}"'
        end_y = scale.y(float(per[np.flatnonzero(valid)[-1]]))
    room = max(axis.right - 6, 2 * _CHAR_WIDTH)
    return [
        f'<g class="thr-g" data-kind="{escape(threshold.kind)}" data-label="{label}" {data}>'
        f'<title>{label}</title><path class="thr" d="{d}"/>'
        f'<text class="thr-label" x="{_c(axis.plot_right + 4)}" y="{_c(end_y + 3.5)}">'
        f"{escape(_truncate(threshold.label, room))}</text></g>"
    ]


def _event(event: Event, axis: TimeAxis, top: float, bottom: float) -> str:
    x = _c(axis.x(event.at))
    label = escape(event.label)
    mark = (
        f'<g class="ev ev-{event.kind}" data-kind="{event.kind}" data-at="{_iso(event.at)}">'
        f'<title>{label}</title><path d="M{x} {_c(top - 2)}V{_c(bottom)}"/>'
        f'<path class="glyph" d="M{x} {_c(top - 2)}{_GLYPHS.get(event.kind, _OTHER_GLYPH)}"/></g>'
    )
    href = _safe_href(event.href)
    return mark if href is None else f'<a href="{escape(href)}" tabindex="-1">{mark}</a>'


# ---------------------------------------------------------------------------------------------
# Volume bars
# ---------------------------------------------------------------------------------------------


def bars(
    starts: Sequence[datetime],
    values: ArrayLike,
    *,
    axis: TimeAxis,
    height: float = 90,
    title: str,
    y_label: str,
    usual: float | None = None,
    usual_band: tuple[float, float] | None = None,
) -> Markup:
    """One bar per window with a value (``<rect class="bar" data-start data-v>``), classed
    ``low`` / ``high`` when outside ``usual_band``, and a dashed line at ``usual``.

    Examples
    --------
    >>> axis = TimeAxis(datetime(2013, 3, 1), datetime(2013, 3, 4), 400, 100, 20)
    >>> starts = [datetime(2013, 3, d) for d in (1, 2, 3)]
    >>> svg = bars(starts, [100, 5, float("nan")], axis=axis, title="Rows", y_label="rows",
    ...            usual=90, usual_band=(50, 150))
    >>> import re
    >>> re.findall(r'class="(bar[^"]*)"', svg), svg.count('class="usual"')
    (['bar', 'bar low'], 1)
    """
    n = len(starts)
    value = _array(values, n, "values")
    assert value is not None
    windows = _windows(axis, starts)
    shown = windows.inside & np.isfinite(value)
    top, bottom = 8.0, height - 22.0
    extra = [v for v in (usual, *(usual_band or ())) if v is not None]
    data = _finite(np.where(shown, value, np.nan), np.array(extra, dtype=np.float64))
    scale = _scale(data, top, bottom, zero=True)
    parts = _open("bars", axis.width, height, title)
    parts.append(
        f"<desc>{escape(y_label)} per window, {int(shown.sum())} of {n} windows with a "
        "value.</desc>"
    )
    parts += _y_axis(scale, axis, y_label)
    parts += _x_axis(axis, bottom)
    base = scale.y(0.0)
    for j in np.flatnonzero(shown).tolist():
        v = float(value[j])
        x0, x1 = float(windows.x0[j]), float(windows.x1[j])
        gap = 1.0 if x1 - x0 > 3 else 0.0
        y = scale.y(v)
        css = "bar"
        if usual_band is not None and v < usual_band[0]:
            css = "bar low"
        elif usual_band is not None and v > usual_band[1]:
            css = "bar high"
        tip = f"{_when(starts[j])}: {_fmt(v)} {y_label}".rstrip()
        parts.append(
            f'<rect class="{css}" x="{_c(x0)}" y="{_c(min(y, base))}" '
            f'width="{_c(max(x1 - x0 - gap, 0.5))}" height="{_c(abs(base - y))}" '
            f'data-start="{_iso(starts[j])}" data-v="{_v(v)}"><title>{escape(tip)}</title></rect>'
        )
    if usual is not None and math.isfinite(usual):
        level = _c(scale.y(usual))
        parts.append(
            f'<path class="usual" d="M{_c(axis.plot_left)} {level}H{_c(axis.plot_right)}" '
            f'data-v="{_v(usual)}"><title>usual: {escape(_fmt(usual))}</title></path>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


# ---------------------------------------------------------------------------------------------
# Sparkline
# ---------------------------------------------------------------------------------------------


def sparkline(
    values: ArrayLike,
    *,
    width: float = 120,
    height: float = 28,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    title: str,
) -> Markup:
    """A small trend line over evenly spaced points (NaN breaks it), with its band when given
    and the last value marked (``circle.pt.last`` with ``data-v``).

    Examples
    --------
    >>> svg = sparkline([0.8, 0.82, float("nan"), 0.79], title="AUC")
    >>> import re
    >>> re.findall(r'<circle [^>]*>', svg)
    ['<circle class="pt last" cx="117" cy="25" r="2" data-i="3" data-v="0.79">']
    """
    value = np.asarray(values, dtype=np.float64).reshape(-1)
    n = len(value)
    low = _array(lower, n, "lower")
    high = _array(upper, n, "upper")
    pad = 3.0
    step = (width - 2 * pad) / (n - 1) if n > 1 else 0.0
    xs = [pad + j * step if n > 1 else width / 2 for j in range(n)]
    ys = np.clip(_finite(value, low, high), -_HUGE, _HUGE)
    lo, hi = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1.0), hi + (abs(hi) * 0.1 or 1.0)
    scale = _Scale(lo, hi, pad, height - pad, 1.0)
    no_gaps = np.zeros(n, dtype=bool)
    parts = _open("sparkline", width, height, title, f' width="{_c(width)}" height="{_c(height)}"')
    if low is not None and high is not None:
        for first, last in _runs(np.isfinite(low) & np.isfinite(high), no_gaps):
            parts.append(_band(xs, low, high, first, last, scale, 1.5))
    finite = np.isfinite(value)
    for first, last in _runs(finite, no_gaps):
        if last > first:
            line = [scale.y(v) for v in value[first : last + 1].tolist()]
            parts.append(f'<path class="line" d="{_polyline(xs[first : last + 1], line)}"/>')
    marked = np.flatnonzero(finite)
    if marked.size:
        j = int(marked[-1])
        v = float(value[j])
        parts.append(
            f'<circle class="pt last" cx="{_c(xs[j])}" cy="{_c(scale.y(v))}" r="2" '
            f'data-i="{j}" data-v="{_v(v)}"><title>{escape(_fmt(v))}</title></circle>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))

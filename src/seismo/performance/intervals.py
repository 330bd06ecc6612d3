"""Confidence intervals shared by the performance metrics.

Every metric is reported as an :class:`Estimate`: a point value, an :class:`Interval` (or
``None`` when the data cannot support one) and a ``bound`` on the difference between the value
computed from a summary and the value on the raw rows (``0.0`` when the summary is exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Estimate",
    "Interval",
    "check_confidence",
    "critical_value",
    "normal",
    "percentile",
    "wilson",
]


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided confidence interval ``[low, high]``.

    Attributes
    ----------
    low, high : float
        The end points (``low <= high``).
    method : str
        How it was computed: ``"wilson"``, ``"normal"``, ``"delta"``, ``"hanley-mcneil"`` or
        ``"bootstrap"``.

    Examples
    --------
    >>> interval = Interval(0.2, 0.6, "wilson")
    >>> 0.5 in interval, 0.7 in interval, round(interval.width, 12)
    (True, False, 0.4)
    """

    low: float
    high: float
    method: str

    @property
    def width(self) -> float:
        return self.high - self.low

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.low <= value <= self.high

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "method": self.method}


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    value : float
        The point estimate.
    interval : Interval or None
        The confidence interval; ``None`` when the data cannot support one (e.g. one row).
    bound : float
        The value computed from a summary differs from the value on the raw rows by at most
        ``bound`` (``0.0``: exact up to floating-point rounding). Only ROC AUC, computed from
        score histograms, has a non-zero bound.

    Examples
    --------
    >>> Estimate(0.8, wilson(8, 10)).to_dict()["interval"]["method"]
    'wilson'
    """

    value: float
    interval: Interval | None
    bound: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "interval": None if self.interval is None else self.interval.to_dict(),
            "bound": self.bound,
        }


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float, or raise ``ValueError`` unless ``0 < confidence < 1``."""
    value = float(confidence)
    if not 0.0 < value < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return value


def critical_value(confidence: float) -> float:
    """The two-sided standard normal critical value ``z`` with ``P(|Z| <= z) = confidence``.

    Examples
    --------
    >>> round(critical_value(0.95), 6)
    1.959964
    """
    from scipy.special import ndtri  # here, not at import: scipy.special takes ~0.3 s

    return float(ndtri(0.5 + 0.5 * check_confidence(confidence)))


def wilson(successes: int, trials: int, confidence: float = 0.95) -> Interval | None:
    """Wilson score interval for a binomial proportion (no continuity correction).

    With ``p = successes / trials`` and ``z`` the two-sided critical value::

        center = (p + z²/(2n)) / (1 + z²/n)
        half   = z / (1 + z²/n) * sqrt(p (1 - p) / n + z² / (4 n²))

    The interval always lies in [0, 1]; it is exactly 0 (1) at the low (high) end when there are
    no successes (failures). This is ``scipy.stats.binomtest(successes, trials)
    .proportion_ci(confidence, method="wilson")``. Unlike the normal (Wald) interval it keeps
    close to its nominal coverage for small ``trials`` and proportions near 0 or 1.

    Parameters
    ----------
    successes, trials : int
        ``0 <= successes <= trials``.
    confidence : float
        Two-sided confidence level.

    Returns
    -------
    Interval or None
        ``None`` when ``trials == 0``.

    Examples
    --------
    >>> interval = wilson(8, 10)
    >>> round(interval.low, 4), round(interval.high, 4), interval.method
    (0.4902, 0.9433, 'wilson')
    >>> wilson(0, 20).low, round(wilson(0, 20).high, 4)
    (0.0, 0.1611)
    >>> wilson(0, 0) is None
    True
    """
    if not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} and {trials}")
    if trials == 0:
        return None
    z = critical_value(confidence)
    n = float(trials)
    p = successes / n
    denominator = 2.0 * (n + z * z)
    center = (2.0 * n * p + z * z) / denominator
    half = z / denominator * math.sqrt(4.0 * n * p * (1.0 - p) + z * z)
    low = 0.0 if successes == 0 else max(center - half, 0.0)
    high = 1.0 if successes == trials else min(center + half, 1.0)
    return Interval(low, high, "wilson")


def normal(
    mean: float,
    std_error: float,
    confidence: float = 0.95,
    *,
    lower: float = -math.inf,
    upper: float = math.inf,
    method: str = "normal",
) -> Interval:
    """Normal (Wald) interval ``mean ± z · std_error``, clipped to ``[lower, upper]``.

    Parameters
    ----------
    mean : float
        The point estimate.
    std_error : float
        Its standard error (``>= 0``).
    confidence : float
        Two-sided confidence level.
    lower, upper : float
        The range the estimated quantity can take (e.g. 0 for an error that cannot be negative).
    method : str
        Recorded as :attr:`Interval.method` (e.g. ``"delta"`` when ``std_error`` comes from
        the delta method).

    Examples
    --------
    >>> interval = normal(1.0, 0.1)
    >>> round(interval.low, 4), round(interval.high, 4)
    (0.804, 1.196)
    >>> normal(0.05, 0.1, lower=0.0).low
    0.0
    """
    if not std_error >= 0.0:
        raise ValueError(f"std_error must be >= 0, got {std_error!r}")
    half = critical_value(confidence) * std_error
    return Interval(max(mean - half, lower), min(mean + half, upper), method)


def percentile(
    draws: NDArray[np.float64], confidence: float = 0.95, *, method: str = "bootstrap"
) -> Interval:
    """Equal-tailed percentile interval of simulated values (e.g. bootstrap draws).

    Examples
    --------
    >>> interval = percentile(np.arange(1001.0))
    >>> interval.low, interval.high, interval.method
    (25.0, 975.0, 'bootstrap')
    """
    alpha = 1.0 - check_confidence(confidence)
    low, high = np.quantile(draws, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(float(low), float(high), method)

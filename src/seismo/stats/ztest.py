"""Two-proportion z-test (pooled variance) for boolean features."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from seismo.stats._binning import check_counts, drop_missing

__all__ = ["ZTestResult", "two_proportion_ztest", "ztest", "ztest_counts"]


@dataclass(frozen=True, slots=True)
class ZTestResult:
    """Result of :func:`two_proportion_ztest`, :func:`ztest_counts` and :func:`ztest`.

    Attributes
    ----------
    statistic : float
        ``z``; positive when the current proportion of ``True`` is higher.
    pvalue : float
        Two-sided p-value ``2 * Phi(-|z|)``.
    proportion_reference, proportion_current : float
        Proportions of successes (``True``) in each sample.
    """

    statistic: float
    pvalue: float
    proportion_reference: float
    proportion_current: float


def _check_trials(successes: float, n: float, name: str) -> tuple[float, float]:
    s, total = float(successes), float(n)
    if not (math.isfinite(s) and math.isfinite(total)) or total <= 0 or not 0 <= s <= total:
        raise ValueError(
            f"{name}: need 0 <= successes <= n and n > 0, got successes={successes!r}, n={n!r}."
        )
    return s, total


def two_proportion_ztest(
    successes_reference: float,
    n_reference: float,
    successes_current: float,
    n_current: float,
) -> ZTestResult:
    """Two-sided two-proportion z-test with pooled variance.

    With ``p1 = s1/n1`` (reference), ``p2 = s2/n2`` (current) and the pooled proportion
    ``p = (s1 + s2) / (n1 + n2)``::

        z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)),    pvalue = 2 Phi(-|z|)

    ``z**2`` equals Pearson's chi-squared statistic of the 2 x 2 table, so the p-value equals
    ``scipy.stats.chi2_contingency(table, correction=False)``'s. If ``p`` is 0 or 1 (all
    failures or all successes in both samples) the samples are identical: ``z = 0``,
    ``pvalue = 1``.

    Parameters
    ----------
    successes_reference, n_reference : float
        Successes and trials in the reference (``0 <= successes <= n``, ``n > 0``).
    successes_current, n_current : float
        Successes and trials in the current sample.

    Returns
    -------
    ZTestResult

    Examples
    --------
    >>> r = two_proportion_ztest(45, 100, 60, 100)
    >>> round(r.statistic, 4), round(r.pvalue, 4)
    (2.124, 0.0337)
    >>> two_proportion_ztest(0, 10, 0, 20)
    ZTestResult(statistic=0.0, pvalue=1.0, proportion_reference=0.0, proportion_current=0.0)
    """
    s1, n1 = _check_trials(successes_reference, n_reference, "reference")
    s2, n2 = _check_trials(successes_current, n_current, "current")
    p1, p2 = s1 / n1, s2 / n2
    pooled = (s1 + s2) / (n1 + n2)
    if pooled <= 0.0 or pooled >= 1.0:
        return ZTestResult(0.0, 1.0, p1, p2)
    z = (p2 - p1) / math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    from scipy.special import ndtr  # here, not at import: scipy.special takes ~0.3 s

    pvalue = min(2.0 * float(ndtr(-abs(z))), 1.0)
    return ZTestResult(statistic=z, pvalue=pvalue, proportion_reference=p1, proportion_current=p2)


def ztest_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> ZTestResult:
    """Two-proportion z-test on 2-bin counts ``[n_false, n_true]`` of each sample.

    See :func:`two_proportion_ztest`.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Length-2 counts ``[false, true]``.

    Returns
    -------
    ZTestResult

    Examples
    --------
    >>> r = ztest_counts([55, 45], [40, 60])
    >>> round(r.statistic, 4), round(r.pvalue, 4)
    (2.124, 0.0337)
    """
    ref, cur = check_counts(reference_counts, current_counts)
    if ref.size != 2:
        raise ValueError(
            f"ztest_counts needs exactly 2 bins [false, true] per sample, got {ref.size}; "
            "use chi2_counts for more categories."
        )
    return two_proportion_ztest(ref[1], ref.sum(), cur[1], cur.sum())


def _booleans(values: ArrayLike, name: str) -> NDArray[np.bool_]:
    array = drop_missing(values, name)
    if array.dtype.kind == "b":
        return array.astype(np.bool_)
    if array.dtype.kind in "iufO":
        try:
            numbers = array.astype(np.float64)
        except (TypeError, ValueError):
            numbers = None
        if numbers is not None and bool(np.all((numbers == 0.0) | (numbers == 1.0))):
            return np.asarray(numbers == 1.0, dtype=np.bool_)
    raise ValueError(
        f"{name} must be boolean (True/False or 0/1), got dtype {array.dtype}; "
        "use chi2 for other categorical data."
    )


def ztest(reference: ArrayLike, current: ArrayLike) -> ZTestResult:
    """Two-proportion z-test on raw boolean samples (proportion of ``True``).

    Values must be booleans or 0/1 numbers; NaN / None are dropped. See
    :func:`two_proportion_ztest`.

    Parameters
    ----------
    reference, current : array_like
        1-D boolean samples.

    Returns
    -------
    ZTestResult

    Raises
    ------
    ValueError
        If a sample is empty after dropping missing values, or not boolean.

    Examples
    --------
    >>> r = ztest([True] * 45 + [False] * 55, [True] * 60 + [False] * 40)
    >>> round(r.statistic, 4), round(r.pvalue, 4), r.proportion_current
    (2.124, 0.0337, 0.6)
    """
    ref = _booleans(reference, "reference")
    cur = _booleans(current, "current")
    return two_proportion_ztest(
        int(np.count_nonzero(ref)), ref.size, int(np.count_nonzero(cur)), cur.size
    )

"""Two-sample, two-sided Kolmogorov–Smirnov test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seismo.stats._binning import check_counts, numeric_values

__all__ = ["KSResult", "ks", "ks_counts"]


@dataclass(frozen=True, slots=True)
class KSResult:
    """Result of :func:`ks` / :func:`ks_counts`.

    Attributes
    ----------
    statistic : float
        ``D = sup_x |F_ref(x) - F_cur(x)|`` (exact for :func:`ks`; the grid value
        ``D_grid`` for :func:`ks_counts`).
    pvalue : float
        Two-sided asymptotic p-value (as ``scipy.stats.ks_2samp(..., method="asymp")``).
    n_reference, n_current : int
        Sample sizes used for the p-value.
    bound : float
        The exact statistic lies in ``[statistic, statistic + bound]``; ``0.0`` when the
        statistic is exact.
    """

    statistic: float
    pvalue: float
    n_reference: int
    n_current: int
    bound: float


#: Above this effective size the p-value uses Kolmogorov's limit with Stephens' correction.
LARGE_SAMPLE = 10_000


def _pvalue(d: float, n_reference: int, n_current: int) -> float:
    """Smirnov's asymptotic two-sided p-value.

    Up to an effective size ``en = n m / (n + m)`` of ``LARGE_SAMPLE`` this is exactly scipy's
    ``method="asymp"``: ``kstwo.sf(D, round(en))`` with the larger size first (so the
    floating-point result is identical). scipy returns NaN when ``n = m = 1`` (the effective
    size rounds to 0); here the effective size is at least 1. Beyond it, ``kstwo.sf`` costs
    0.1-0.4 s per call, so the same distribution is taken from its limit with Stephens'
    finite-size correction, ``kstwobign.sf((sqrt(en) + 0.12 + 0.11 / sqrt(en)) D)``, which
    agrees with ``kstwo.sf`` to better than 1e-3 absolute there (tested).
    """
    # scipy is imported here, not with this module: scipy.stats alone takes about a second.
    # ``kstwobign.sf`` is ``scipy.special.kolmogorov`` (the same function, bit for bit), so
    # the large-sample path (most drift reports) does not need scipy.stats at all.
    m, n = sorted([float(n_reference), float(n_current)], reverse=True)
    en = m * n / (m + n)
    if en > LARGE_SAMPLE:
        from scipy.special import kolmogorov

        root = float(np.sqrt(en))
        prob = float(kolmogorov((root + 0.12 + 0.11 / root) * d))
    else:
        from scipy.stats import kstwo

        prob = float(kstwo.sf(d, max(float(np.round(en)), 1.0)))
    return min(max(prob, 0.0), 1.0)


def ks(reference: ArrayLike, current: ArrayLike) -> KSResult:
    """Two-sample, two-sided Kolmogorov–Smirnov test on raw numeric samples.

    The statistic ``D = sup_x |F_ref(x) - F_cur(x)|`` of the two empirical CDFs is computed
    exactly (``bound = 0.0``); ties are handled (the CDFs are evaluated right-continuously
    at every observed value). The p-value is Smirnov's asymptotic distribution, identical to
    ``scipy.stats.ks_2samp(reference, current, method="asymp").pvalue`` (except for
    ``n = m = 1`` where scipy gives NaN, see :func:`ks_counts`). NaN values are dropped;
    ``±inf`` are valid values.

    Parameters
    ----------
    reference, current : array_like
        1-D numeric samples (booleans count as 0/1, datetimes as integers).

    Returns
    -------
    KSResult

    Raises
    ------
    ValueError
        If a sample is empty after dropping NaN, or not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> result = ks(rng.normal(0.0, 1.0, 1000), rng.normal(0.2, 1.0, 800))
    >>> round(result.statistic, 4), f"{result.pvalue:.2e}", result.bound
    (0.1368, '1.05e-07', 0.0)
    >>> ks([1, 2, 3], [1, 2, 3])
    KSResult(statistic=0.0, pvalue=1.0, n_reference=3, n_current=3, bound=0.0)
    """
    ref = np.sort(numeric_values(reference, "reference"))
    cur = np.sort(numeric_values(current, "current"))
    pooled = np.concatenate([ref, cur])
    cdf_ref = np.searchsorted(ref, pooled, side="right") / ref.size
    cdf_cur = np.searchsorted(cur, pooled, side="right") / cur.size
    d = float(np.max(np.abs(cdf_ref - cdf_cur)))
    return KSResult(
        statistic=d,
        pvalue=_pvalue(d, ref.size, cur.size),
        n_reference=int(ref.size),
        n_current=int(cur.size),
        bound=0.0,
    )


def ks_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> KSResult:
    """Kolmogorov–Smirnov statistic with a guaranteed error bound from aligned bin counts.

    The bins must be ordered along the real line (as produced by
    :func:`seismo.stats._binning.bin_counts`). At every bin boundary both empirical CDFs are
    known exactly from the cumulative proportions, giving
    ``D_grid = max_boundaries |F_ref - F_cur|`` (returned as ``statistic``). The exact
    ``D = sup_x |F_ref(x) - F_cur(x)|`` satisfies ``D_grid <= D <= D_grid + bound`` with::

        bound = max_i (p_ref_i + p_cur_i) / 2      (p_*_i: proportion of bin i)

    Proof: inside bin ``i`` each CDF moves by at most its own bin mass, so with
    ``F in [a, a + p_i]``, ``G in [b, b + q_i]`` (``a, b`` the CDFs at the left boundary),
    ``|F - G| <= |(a + p_i/2) - (b + q_i/2)| + (p_i + q_i)/2``, and the first term is the
    mean of the two boundary differences, hence ``<= D_grid``. (This is at most the simpler
    ``max_i max(p_ref_i, p_cur_i)``.)

    The p-value is computed from ``D_grid`` with the same asymptotic formula as :func:`ks`,
    with ``n, m`` the count totals (rounded to integers). It is conservative when the bins
    are coarse, since ``D_grid <= D``.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Non-negative counts of the same ordered bins, same length.

    Returns
    -------
    KSResult

    Examples
    --------
    >>> r = ks_counts([30, 40, 30], [10, 40, 50])
    >>> round(r.statistic, 12), r.bound, r.n_reference, r.n_current
    (0.2, 0.4, 100, 100)
    >>> round(r.pvalue, 4)
    0.0314
    """
    ref, cur = check_counts(reference_counts, current_counts)
    n_ref, n_cur = float(ref.sum()), float(cur.sum())
    p, q = ref / n_ref, cur / n_cur
    d_grid = float(np.max(np.abs(np.cumsum(ref) / n_ref - np.cumsum(cur) / n_cur)))
    bound = float(np.max((p + q) / 2.0))
    n_reference, n_current = max(round(n_ref), 1), max(round(n_cur), 1)
    return KSResult(
        statistic=d_grid,
        pvalue=_pvalue(d_grid, n_reference, n_current),
        n_reference=n_reference,
        n_current=n_current,
        bound=bound,
    )

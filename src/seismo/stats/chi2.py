"""Chi-squared test of homogeneity of two samples of categories (or bins)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seismo.stats._binning import check_counts, raw_counts

__all__ = ["Chi2Result", "chi2", "chi2_counts"]


@dataclass(frozen=True, slots=True)
class Chi2Result:
    """Result of :func:`chi2` / :func:`chi2_counts`.

    Attributes
    ----------
    statistic : float
        Pearson's chi-squared statistic of the 2 x k' contingency table.
    pvalue : float
        Upper-tail probability of the chi-squared distribution with ``dof`` degrees of
        freedom.
    dof : int
        ``k' - 1``, with ``k'`` the number of categories that are non-empty in at least one
        sample.
    """

    statistic: float
    pvalue: float
    dof: int


def chi2_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> Chi2Result:
    """Pearson chi-squared test of homogeneity on aligned counts.

    The two count vectors are the rows of a ``2 x k`` contingency table. Categories empty in
    both rows are dropped (they carry no information and would give 0/0), leaving ``k'``
    columns; with ``E_ij = row_i * col_j / N``::

        statistic = sum_ij (O_ij - E_ij)^2 / E_ij,     dof = k' - 1

    and ``pvalue = P(chi2_dof > statistic)``. No continuity correction is applied (same as
    ``scipy.stats.chi2_contingency(table, correction=False)``). With fewer than two
    non-empty categories there is nothing to compare: the result is ``statistic=0.0``,
    ``pvalue=1.0``, ``dof=0``.

    The chi-squared approximation needs reasonably large expected counts (the usual rule of
    thumb: at least 5 in most cells); with very large samples any tiny difference is
    significant, so read the p-value together with an effect size (PSI, Jensen–Shannon).

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Non-negative counts of the same categories or bins, same length.

    Returns
    -------
    Chi2Result

    Examples
    --------
    >>> r = chi2_counts([50, 30, 20], [30, 30, 40])
    >>> round(r.statistic, 4), round(r.pvalue, 5), r.dof
    (11.6667, 0.00293, 2)
    >>> chi2_counts([4, 0], [9, 0])
    Chi2Result(statistic=0.0, pvalue=1.0, dof=0)
    """
    ref, cur = check_counts(reference_counts, current_counts)
    keep = (ref + cur) > 0
    ref, cur = ref[keep], cur[keep]
    if ref.size < 2:
        return Chi2Result(statistic=0.0, pvalue=1.0, dof=0)
    observed = np.stack([ref, cur])
    columns = observed.sum(axis=0)
    rows = observed.sum(axis=1, keepdims=True)
    expected = rows * columns / observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    dof = int(ref.size - 1)
    from scipy.special import chdtrc  # here, not at import: scipy.special takes ~0.3 s

    pvalue = float(chdtrc(dof, statistic))
    return Chi2Result(statistic=statistic, pvalue=min(max(pvalue, 0.0), 1.0), dof=dof)


def chi2(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int = 10,
    categorical: bool | None = None,
) -> Chi2Result:
    """Chi-squared test of homogeneity between two raw samples.

    Intended for categorical data: strings, booleans, objects (or anything with
    ``categorical=True``) are counted per category over the union of both samples
    (:func:`seismo.stats._binning.category_counts`). Numeric samples are counted on ``bins``
    reference-quantile bins, as for :func:`seismo.stats.psi.psi`; pass
    ``categorical=True`` to treat integer codes as categories instead. The counts then go
    through :func:`chi2_counts`. NaN / None values are dropped.

    Parameters
    ----------
    reference, current : array_like
        1-D raw samples.
    bins : int, default 10
        Number of reference-quantile bins for numeric data.
    categorical : bool or None, default None
        Force categorical (``True``) or quantile-binned (``False``) counting; ``None``
        decides from the dtypes.

    Returns
    -------
    Chi2Result

    Examples
    --------
    >>> reference = ["red"] * 50 + ["green"] * 30 + ["blue"] * 20
    >>> current = ["red"] * 30 + ["green"] * 30 + ["blue"] * 40
    >>> r = chi2(reference, current)
    >>> round(r.statistic, 4), round(r.pvalue, 5), r.dof
    (11.6667, 0.00293, 2)
    """
    ref_counts, cur_counts = raw_counts(reference, current, bins=bins, categorical=categorical)
    return chi2_counts(ref_counts, cur_counts)

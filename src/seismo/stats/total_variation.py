"""Total variation distance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seismo.stats._binning import check_counts, raw_counts

__all__ = ["TotalVariationResult", "total_variation", "total_variation_counts"]


@dataclass(frozen=True, slots=True)
class TotalVariationResult:
    """Result of :func:`total_variation` / :func:`total_variation_counts`.

    Attributes
    ----------
    statistic : float
        The total variation distance, in ``[0, 1]``: the share of the population that would
        have to change bin (or category) to turn one distribution into the other.
    n_bins : int
        Number of bins or categories it was computed on.
    """

    statistic: float
    n_bins: int


def total_variation_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike
) -> TotalVariationResult:
    """Total variation distance of two aligned count vectors.

    With ``p``, ``q`` the (unsmoothed) proportions: ``TV = sum_i |p_i - q_i| / 2``, a
    symmetric metric in ``[0, 1]`` (0 for identical proportions, 1 for disjoint supports).
    Unlike PSI it weighs a move of ten points between two large categories (40% -> 30%,
    20% -> 30%: TV 0.1, PSI 0.07) as much as the same move between small ones.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Non-negative counts of the same bins or categories, same length.

    Returns
    -------
    TotalVariationResult

    Examples
    --------
    >>> total_variation_counts([40, 20, 40], [30, 30, 40])
    TotalVariationResult(statistic=0.1..., n_bins=3)
    >>> total_variation_counts([5, 0], [0, 7]).statistic
    1.0
    """
    ref, cur = check_counts(reference_counts, current_counts)
    p, q = ref / ref.sum(), cur / cur.sum()
    distance = float(np.abs(p - q).sum() / 2.0)
    return TotalVariationResult(statistic=min(max(distance, 0.0), 1.0), n_bins=int(ref.size))


def total_variation(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int = 10,
    categorical: bool | None = None,
) -> TotalVariationResult:
    """Total variation distance between two raw samples.

    Numeric samples are counted on ``bins`` reference-quantile bins, other dtypes (or
    ``categorical=True``) per category, exactly as in :func:`seismo.stats.psi.psi`; the
    counts then go through :func:`total_variation_counts`. NaN / None values are dropped.

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
    TotalVariationResult

    Examples
    --------
    >>> total_variation(["a", "a", "b", "b"], ["a", "b", "b", "b"]).statistic
    0.25
    """
    ref_counts, cur_counts = raw_counts(reference, current, bins=bins, categorical=categorical)
    return total_variation_counts(ref_counts, cur_counts)

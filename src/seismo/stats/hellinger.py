"""Hellinger distance."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seismo.stats._binning import check_counts, raw_counts

__all__ = ["HellingerResult", "hellinger", "hellinger_counts"]


@dataclass(frozen=True, slots=True)
class HellingerResult:
    """Result of :func:`hellinger` / :func:`hellinger_counts`.

    Attributes
    ----------
    statistic : float
        The Hellinger distance, in ``[0, 1]``.
    n_bins : int
        Number of bins or categories it was computed on.
    """

    statistic: float
    n_bins: int


def hellinger_counts(reference_counts: ArrayLike, current_counts: ArrayLike) -> HellingerResult:
    """Hellinger distance of two aligned count vectors.

    With ``p``, ``q`` the (unsmoothed) proportions::

        H = sqrt(1 - sum_i sqrt(p_i q_i)) = ||sqrt(p) - sqrt(q)||_2 / sqrt(2)

    ``H`` is a symmetric metric in ``[0, 1]``: 0 for identical proportions, 1 for disjoint
    supports. Rounding can make ``1 - sum sqrt(p q)`` slightly negative; it is clipped at 0.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Non-negative counts of the same bins or categories, same length.

    Returns
    -------
    HellingerResult

    Examples
    --------
    >>> hellinger_counts([50, 30, 20], [30, 30, 40])
    HellingerResult(statistic=0.1727..., n_bins=3)
    >>> hellinger_counts([5, 0], [0, 7]).statistic
    1.0
    """
    ref, cur = check_counts(reference_counts, current_counts)
    p, q = ref / ref.sum(), cur / cur.sum()
    affinity = float(np.sum(np.sqrt(p * q)))  # Bhattacharyya coefficient
    distance = math.sqrt(min(max(1.0 - affinity, 0.0), 1.0))
    return HellingerResult(statistic=distance, n_bins=int(ref.size))


def hellinger(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int = 10,
    categorical: bool | None = None,
) -> HellingerResult:
    """Hellinger distance between two raw samples.

    Numeric samples are counted on ``bins`` reference-quantile bins, other dtypes (or
    ``categorical=True``) per category, exactly as in :func:`seismo.stats.psi.psi`; the
    counts then go through :func:`hellinger_counts`. NaN / None values are dropped.

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
    HellingerResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(0.0, 1.0, 10_000)
    >>> round(hellinger(reference, rng.normal(0.5, 1.0, 10_000)).statistic, 3)
    0.172
    >>> hellinger(["x", "y", "y"], ["y", "y", "x"]).statistic
    0.0
    """
    ref_counts, cur_counts = raw_counts(reference, current, bins=bins, categorical=categorical)
    return hellinger_counts(ref_counts, cur_counts)

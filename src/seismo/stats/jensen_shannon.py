"""Jensen–Shannon distance."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seismo.stats._binning import FloatArray, check_counts, raw_counts

__all__ = ["JensenShannonResult", "jensen_shannon", "jensen_shannon_counts"]


@dataclass(frozen=True, slots=True)
class JensenShannonResult:
    """Result of :func:`jensen_shannon` / :func:`jensen_shannon_counts`.

    Attributes
    ----------
    statistic : float
        The Jensen–Shannon *distance* (square root of the divergence).
    n_bins : int
        Number of bins or categories it was computed on.
    """

    statistic: float
    n_bins: int


def _rel_entr_sum(x: FloatArray, m: FloatArray) -> float:
    """``sum x log(x / m)`` with ``0 log 0 = 0`` (``m > 0`` wherever ``x > 0``)."""
    mask = x > 0
    return float(np.sum(x[mask] * np.log(x[mask] / m[mask])))


def jensen_shannon_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, base: float = 2.0
) -> JensenShannonResult:
    """Jensen–Shannon distance of two aligned count vectors.

    With ``p``, ``q`` the (unsmoothed) proportions and ``m = (p + q) / 2``::

        JS = sqrt( (KL(p||m) + KL(q||m)) / 2 )     (logarithms in ``base``)

    No smoothing is needed: ``m > 0`` wherever ``p > 0`` or ``q > 0``, and ``0 log 0 = 0``.
    The distance is symmetric, satisfies the triangle inequality and, in base 2, lies in
    ``[0, 1]`` (1 for disjoint supports). It matches
    ``scipy.spatial.distance.jensenshannon(p, q, base=base)``.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Non-negative counts of the same bins or categories, same length.
    base : float, default 2.0
        Logarithm base; must be > 1. In base ``b`` the maximum is ``sqrt(log_b 2)``.

    Returns
    -------
    JensenShannonResult

    Examples
    --------
    >>> jensen_shannon_counts([50, 30, 20], [30, 30, 40])
    JensenShannonResult(statistic=0.2067..., n_bins=3)
    >>> jensen_shannon_counts([1, 0], [0, 1]).statistic
    1.0
    """
    base = float(base)
    if not math.isfinite(base) or base <= 1.0:
        raise ValueError(f"base must be a finite number > 1, got {base!r}.")
    ref, cur = check_counts(reference_counts, current_counts)
    p, q = ref / ref.sum(), cur / cur.sum()
    m = (p + q) / 2.0
    divergence = (_rel_entr_sum(p, m) + _rel_entr_sum(q, m)) / (2.0 * math.log(base))
    upper = math.log(2.0) / math.log(base)  # the divergence never exceeds log_base(2)
    distance = math.sqrt(min(max(divergence, 0.0), upper))
    return JensenShannonResult(statistic=distance, n_bins=int(ref.size))


def jensen_shannon(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int = 10,
    base: float = 2.0,
    categorical: bool | None = None,
) -> JensenShannonResult:
    """Jensen–Shannon distance between two raw samples.

    Numeric samples are counted on ``bins`` reference-quantile bins, other dtypes (or
    ``categorical=True``) per category, exactly as in :func:`seismo.stats.psi.psi`; the
    counts then go through :func:`jensen_shannon_counts`. NaN / None values are dropped.

    Parameters
    ----------
    reference, current : array_like
        1-D raw samples.
    bins : int, default 10
        Number of reference-quantile bins for numeric data.
    base : float, default 2.0
        Logarithm base (base 2 gives a distance in ``[0, 1]``).
    categorical : bool or None, default None
        Force categorical (``True``) or quantile-binned (``False``) counting; ``None``
        decides from the dtypes.

    Returns
    -------
    JensenShannonResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(0.0, 1.0, 10_000)
    >>> round(jensen_shannon(reference, rng.normal(0.5, 1.0, 10_000)).statistic, 3)
    0.205
    >>> jensen_shannon(["a", "b"], ["b", "c"])
    JensenShannonResult(statistic=0.7071..., n_bins=3)
    """
    ref_counts, cur_counts = raw_counts(reference, current, bins=bins, categorical=categorical)
    return jensen_shannon_counts(ref_counts, cur_counts, base=base)

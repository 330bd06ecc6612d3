"""Kullback–Leibler divergence of the current distribution from the reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seismo.stats._binning import check_counts, proportions, raw_counts

__all__ = ["KLResult", "kl", "kl_counts"]


@dataclass(frozen=True, slots=True)
class KLResult:
    """Result of :func:`kl` / :func:`kl_counts`.

    Attributes
    ----------
    statistic : float
        ``KL(current || reference)`` in nats, ``>= 0``.
    n_bins : int
        Number of bins or categories it was computed on.
    """

    statistic: float
    n_bins: int


def kl_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, smoothing: float = 1e-4
) -> KLResult:
    """Kullback–Leibler divergence ``KL(current || reference)`` of two aligned count vectors.

    Direction: the *current* distribution ``q`` is compared against the *reference* ``p``::

        KL(q || p) = sum_i q_i ln(q_i / p_i)      (nats)

    i.e. the expected extra log-loss of coding current data with the reference model
    (``scipy.stats.entropy(q, p)``). It is not symmetric; ``KL(q||p) + KL(p||q)`` is the
    PSI. Both proportions are smoothed as in :func:`seismo.stats.psi.psi_counts`
    (``p_i = (c_i/N + s) / (1 + k s)``) so that a bin empty in the reference does not give
    an infinite divergence. With ``smoothing=0`` the result is ``inf`` when the current
    sample has mass in a bin where the reference has none.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Non-negative counts of the same bins or categories, same length.
    smoothing : float, default 1e-4
        Pseudo-proportion added to every bin before renormalising.

    Returns
    -------
    KLResult

    Examples
    --------
    >>> kl_counts([50, 30, 20], [30, 30, 40])
    KLResult(statistic=0.1239..., n_bins=3)
    >>> kl_counts([30, 30, 40], [50, 30, 20])
    KLResult(statistic=0.1167..., n_bins=3)
    """
    ref, cur = check_counts(reference_counts, current_counts)
    p = proportions(ref, smoothing)
    q = proportions(cur, smoothing)
    mask = q > 0
    with np.errstate(divide="ignore"):
        value = float(np.sum(q[mask] * np.log(q[mask] / p[mask])))
    return KLResult(statistic=max(value, 0.0), n_bins=int(ref.size))


def kl(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int = 10,
    smoothing: float = 1e-4,
    categorical: bool | None = None,
) -> KLResult:
    """Kullback–Leibler divergence ``KL(current || reference)`` between two raw samples.

    Numeric samples are counted on ``bins`` reference-quantile bins, other dtypes (or
    ``categorical=True``) per category, exactly as in :func:`seismo.stats.psi.psi`; the
    counts then go through :func:`kl_counts` (see there for the direction and smoothing).
    NaN / None values are dropped.

    Parameters
    ----------
    reference, current : array_like
        1-D raw samples.
    bins : int, default 10
        Number of reference-quantile bins for numeric data.
    smoothing : float, default 1e-4
        Pseudo-proportion added to every bin before renormalising.
    categorical : bool or None, default None
        Force categorical (``True``) or quantile-binned (``False``) counting; ``None``
        decides from the dtypes.

    Returns
    -------
    KLResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(0.0, 1.0, 10_000)
    >>> round(kl(reference, rng.normal(0.5, 1.0, 10_000)).statistic, 3)
    0.12
    """
    ref_counts, cur_counts = raw_counts(reference, current, bins=bins, categorical=categorical)
    return kl_counts(ref_counts, cur_counts, smoothing=smoothing)

"""Population Stability Index (PSI)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from seismo.stats._binning import check_counts, proportions, raw_counts

__all__ = ["PSIResult", "psi", "psi_counts"]


@dataclass(frozen=True, slots=True)
class PSIResult:
    """Result of :func:`psi` / :func:`psi_counts`.

    Attributes
    ----------
    statistic : float
        The PSI, ``>= 0``.
    n_bins : int
        Number of bins or categories the PSI was computed on.
    """

    statistic: float
    n_bins: int


def psi_counts(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, smoothing: float = 1e-4
) -> PSIResult:
    """Population Stability Index of two aligned count vectors.

    ::

        PSI = sum_i (q_i - p_i) * ln(q_i / p_i)

    where ``p`` are the reference and ``q`` the current proportions, both smoothed with
    :func:`seismo.stats._binning.proportions`: ``p_i = (c_i/N + s) / (1 + k s)``. The
    smoothing ``s`` keeps empty bins finite (without it a bin that is empty in exactly one
    sample gives an infinite PSI). The PSI is symmetric in ``p`` and ``q`` and equals
    ``KL(q||p) + KL(p||q)`` on the smoothed proportions.

    Conventional reading: ``PSI < 0.1`` no significant change, ``0.1 <= PSI < 0.25``
    moderate change, ``PSI >= 0.25`` significant change. These bands are rules of thumb for
    about ten bins; they are not calibrated to a sample size or a false-alarm rate.

    Parameters
    ----------
    reference_counts, current_counts : array_like
        Non-negative counts of the same bins or categories, same length.
    smoothing : float, default 1e-4
        Pseudo-proportion added to every bin before renormalising. ``0`` disables it, in
        which case a bin empty in exactly one sample makes the PSI ``inf``.

    Returns
    -------
    PSIResult

    Raises
    ------
    ValueError
        For mismatched lengths, negative or non-finite counts, or an all-zero count vector.

    Examples
    --------
    >>> psi_counts([50, 30, 20], [30, 30, 40])
    PSIResult(statistic=0.2406..., n_bins=3)
    >>> psi_counts([10, 10], [10, 10]).statistic
    0.0
    """
    ref, cur = check_counts(reference_counts, current_counts)
    p = proportions(ref, smoothing)
    q = proportions(cur, smoothing)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (q - p) * np.log(q / p)
    # 0 * log(0/0): a bin empty in both samples contributes nothing (only when smoothing=0).
    terms = np.where((p == 0) & (q == 0), 0.0, terms)
    return PSIResult(statistic=max(float(terms.sum()), 0.0), n_bins=int(ref.size))


def psi(
    reference: ArrayLike,
    current: ArrayLike,
    *,
    bins: int = 10,
    smoothing: float = 1e-4,
    categorical: bool | None = None,
) -> PSIResult:
    """Population Stability Index between two raw samples.

    Numeric samples (integer, float or datetime dtype, or object arrays of numbers such as
    ``[1.5, None, 2.0]``) are counted on ``bins`` equal-frequency bins of the *reference*
    (:func:`seismo.stats._binning.quantile_edges`; ties can merge bins, so ``n_bins`` may be
    smaller than ``bins``). Other dtypes (strings, booleans, other objects), or
    ``categorical=True``, are counted per category over the union of categories of both
    samples. The counts then go through :func:`psi_counts`; see there for
    the formula, the smoothing and the conventional bands. NaN / None values are dropped.

    Because numeric bins come from the reference, ``psi(a, b)`` and ``psi(b, a)`` can differ
    on raw numeric data; on the same bins (``psi_counts``) or categories the PSI is
    symmetric.

    Parameters
    ----------
    reference, current : array_like
        1-D raw samples.
    bins : int, default 10
        Number of reference-quantile bins for numeric data (ignored for categorical data).
    smoothing : float, default 1e-4
        See :func:`psi_counts`.
    categorical : bool or None, default None
        Force categorical (``True``) or quantile-binned (``False``) counting; ``None``
        decides from the dtypes.

    Returns
    -------
    PSIResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.normal(0.0, 1.0, 10_000)
    >>> round(psi(reference, rng.normal(0.0, 1.0, 10_000)).statistic, 3)
    0.001
    >>> round(psi(reference, rng.normal(0.5, 1.0, 10_000)).statistic, 2)
    0.24
    >>> psi(["a", "a", "b"], ["a", "b", "b"])
    PSIResult(statistic=0.4619..., n_bins=2)
    """
    ref_counts, cur_counts = raw_counts(reference, current, bins=bins, categorical=categorical)
    return psi_counts(ref_counts, cur_counts, smoothing=smoothing)

"""Effect-size thresholds calibrated from the reference itself.

Under "no drift" the current window is another sample from the reference distribution. We
simulate that directly on the bins the effect is measured on: draw a reference of the reference's
size and a window of the current's size, both multinomial from the reference's bin proportions,
and compute the effect between them, ``draws`` times. A high quantile of those effects is the
noise level of the effect at these sample sizes: small windows get a high bar, large ones a low
one. The cost is O(draws x bins), independent of the number of rows; columns with many categories
get fewer draws (at least 200) so one column costs at most about ``CELL_BUDGET`` cells.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

PSI_SMOOTHING = 1e-4
#: Multinomial cells drawn per side and column; columns with many bins get fewer draws (>= 200).
CELL_BUDGET = 200_000
MIN_DRAWS = 200


def psi_rows(reference: NDArray[np.float64], current: NDArray[np.float64]) -> NDArray[np.float64]:
    """PSI of each row pair of two count matrices (as :func:`seismo.stats.psi_counts`)."""
    k = reference.shape[1]
    p = (reference / reference.sum(axis=1, keepdims=True) + PSI_SMOOTHING) / (1 + k * PSI_SMOOTHING)
    q = (current / current.sum(axis=1, keepdims=True) + PSI_SMOOTHING) / (1 + k * PSI_SMOOTHING)
    return np.asarray(((q - p) * np.log(q / p)).sum(axis=1), dtype=np.float64)


def jensen_shannon_rows(
    reference: NDArray[np.float64], current: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Jensen-Shannon distance (base 2) of each row pair (as :func:`jensen_shannon_counts`)."""
    p = reference / reference.sum(axis=1, keepdims=True)
    q = current / current.sum(axis=1, keepdims=True)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=1)
        right = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=1)
    return np.asarray(np.sqrt(np.clip((left + right) / 2, 0.0, 1.0)), dtype=np.float64)


EFFECT_ROWS = {"psi": psi_rows, "jensen_shannon": jensen_shannon_rows}


def column_seed(seed: int, column: str) -> int:
    """A per-column seed, so each column's null distribution is reproducible on its own."""
    return (seed * 1_000_003 + zlib.crc32(column.encode("utf-8"))) % (1 << 32)


def null_effects(
    reference_counts: NDArray[np.int64],
    current_size: int,
    *,
    effect: str,
    draws: int,
    seed: int,
) -> NDArray[np.float64]:
    """Effect sizes between resampled reference/current pairs drawn from the reference bins.

    Examples
    --------
    >>> effects = null_effects(np.array([100] * 10), 1000, effect="psi", draws=200, seed=1)
    >>> effects.shape, bool(np.quantile(effects, 0.99) < 0.1)
    ((200,), True)
    """
    draws = max(MIN_DRAWS, min(draws, CELL_BUDGET // len(reference_counts)))
    n_reference = int(reference_counts.sum())
    probabilities = reference_counts / n_reference
    rng = np.random.default_rng(seed)
    reference = rng.multinomial(n_reference, probabilities, size=draws).astype(np.float64)
    current = rng.multinomial(current_size, probabilities, size=draws).astype(np.float64)
    return EFFECT_ROWS[effect](reference, current)

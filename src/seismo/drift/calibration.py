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

import math
import weakref
import zlib

import numpy as np
from numpy.typing import NDArray

from seismo.profile.numeric import NumericProfile

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


def total_variation_rows(
    reference: NDArray[np.float64], current: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Total variation distance of each row pair (as :func:`total_variation_counts`)."""
    p = reference / reference.sum(axis=1, keepdims=True)
    q = current / current.sum(axis=1, keepdims=True)
    return np.asarray(np.abs(p - q).sum(axis=1) / 2, dtype=np.float64)


EFFECT_ROWS = {
    "psi": psi_rows,
    "jensen_shannon": jensen_shannon_rows,
    "total_variation": total_variation_rows,
}


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
    table = null_effect_table(
        reference_counts, current_size, effects=(effect,), draws=draws, seed=seed
    )
    return table[effect]


def null_effect_table(
    reference_counts: NDArray[np.int64],
    current_size: int,
    *,
    effects: tuple[str, ...],
    draws: int,
    seed: int,
) -> dict[str, NDArray[np.float64]]:
    """Several effects on the same resampled pairs (one set of draws for all of them)."""
    draws = max(MIN_DRAWS, min(draws, CELL_BUDGET // len(reference_counts)))
    n_reference = int(reference_counts.sum())
    probabilities = reference_counts / n_reference
    rng = np.random.default_rng(seed)
    reference = rng.multinomial(n_reference, probabilities, size=draws).astype(np.float64)
    current = rng.multinomial(current_size, probabilities, size=draws).astype(np.float64)
    return {name: EFFECT_ROWS[name](reference, current) for name in effects}


#: Groups of grid intervals over which the Brownian bridge is integrated (see below).
BRIDGE_GROUPS = 64


def wasserstein_null_quantile(
    reference: NumericProfile, reference_size: int, current_size: int, quantile: float
) -> float:
    """``quantile`` of the Wasserstein-1 distance between two samples of the reference
    distribution of these sizes, in the reference's units.

    For large samples ``F_n - G_m`` is ``sqrt(1/n + 1/m)`` times a Brownian bridge ``B(F(x))``,
    so ``W1 = integral |F_n - G_m| dx`` is ``sqrt(1/n + 1/m) * I`` with
    ``I = integral |B(F(x))| dx``, whose law depends on the reference alone. Its mean and
    variance follow in closed form from ``E|X| = sigma sqrt(2/pi)`` and, for jointly normal
    ``X, Y`` with correlation ``rho``, ``E|XY| = (2/pi) sigma_x sigma_y (sqrt(1 - rho^2) +
    rho arcsin rho)``, integrated over the reference grid (intervals merged into
    ``BRIDGE_GROUPS`` groups, inside which the bridge is taken as one value: slightly
    conservative). ``I`` is matched by a gamma distribution with that mean and variance, whose
    quantile is returned. The moments are computed once per reference profile (cost
    O(BRIDGE_GROUPS^2)), so a window costs O(1).

    Examples
    --------
    >>> from seismo.profile import NumericGrid
    >>> rng = np.random.default_rng(0)
    >>> values = rng.normal(0.0, 1.0, 20_000)
    >>> profile = NumericProfile.from_batch(NumericGrid.from_sorted(np.sort(values)), values)
    >>> round(wasserstein_null_quantile(profile, 20_000, 1_000, 0.99), 3)
    0.082
    """
    mean, variance = _bridge_moments(reference)
    if mean <= 0.0:
        return 0.0
    from scipy.special import gammaincinv

    shape, scale = mean * mean / variance, variance / mean
    spread = float(shape and gammaincinv(shape, quantile) * scale)
    return spread * math.sqrt(1.0 / max(reference_size, 1) + 1.0 / max(current_size, 1))


_moments: weakref.WeakKeyDictionary[NumericProfile, tuple[float, float]] = (
    weakref.WeakKeyDictionary()
)


def _bridge_moments(reference: NumericProfile) -> tuple[float, float]:
    """Mean and variance of ``integral |B(F(x))| dx`` over the reference (cached)."""
    cached = _moments.get(reference)
    if cached is not None:
        return cached
    edges = reference.grid.edges
    counts = reference.bin_counts.astype(np.float64)
    total = counts.sum()
    if len(edges) < 2 or total <= 0:
        _moments[reference] = (0.0, 0.0)
        return 0.0, 0.0
    cumulative = np.cumsum(counts)[:-1] / total  # F at each edge
    widths = np.diff(edges)  # interval j is bin j + 1: (edges[j], edges[j + 1]]
    share = counts[1:-1] / total
    level = cumulative[:-1] + share / 2  # F averaged over the interval, values spread evenly
    if reference.has_bin_values:
        # Exactly: the average of F over the interval is F(left) + p (right - mean) / width.
        sums = reference.bin_sums[1:-1]  # type: ignore[index]
        inside = (counts[1:-1] > 0) & (widths > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            bin_mean = np.where(inside, sums / np.maximum(counts[1:-1], 1), edges[1:])
            rise = np.where(inside, share * (edges[1:] - bin_mean) / widths, 0.0)
        level = cumulative[:-1] + np.clip(rise, 0.0, share)
    weight = widths * np.sqrt(np.clip(level * (1 - level), 0.0, None))
    starts = np.linspace(0, len(weight), min(BRIDGE_GROUPS, len(weight)) + 1).astype(np.intp)
    starts = np.unique(starts[:-1])
    mass = np.add.reduceat(weight, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        at = np.add.reduceat(weight * level, starts) / mass
    keep = mass > 0
    mass, at = mass[keep], np.clip(at[keep], 1e-12, 1 - 1e-12)
    sd = np.sqrt(at * (1 - at))
    covariance = np.minimum.outer(at, at) - np.outer(at, at)
    rho = np.clip(covariance / np.outer(sd, sd), -1.0, 1.0)
    pair = (2 / np.pi) * (np.sqrt(1 - rho * rho) + rho * np.arcsin(rho))
    scaled = mass  # a group's weight already carries its bridge's standard deviation
    mean = float(math.sqrt(2 / math.pi) * scaled.sum())
    second = float(scaled @ pair @ scaled)
    result = (mean, max(second - mean * mean, 1e-12 * mean * mean))
    _moments[reference] = result
    return result

"""Every statistic of a column, computed from its reference and current profiles.

This is where the statistics of :mod:`seismo.stats` meet profiles: numeric profiles give PSI, JS,
KL, Hellinger, chi-squared and total variation on the 10 reference-decile bins, KS and Wasserstein
on the full grid (with their guaranteed bounds); categorical profiles give all of them on the
categories (plus the other bin), and the two-proportion z-test when there are exactly two
categories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seismo.profile.categorical import CategoricalProfile
from seismo.profile.dataset import ColumnProfile
from seismo.profile.grid import require_same_grid
from seismo.profile.numeric import NumericProfile
from seismo.stats.chi2 import Chi2Result, chi2_counts
from seismo.stats.hellinger import HellingerResult, hellinger_counts
from seismo.stats.jensen_shannon import JensenShannonResult, jensen_shannon_counts
from seismo.stats.kl import KLResult, kl_counts
from seismo.stats.ks import KSResult, ks_counts
from seismo.stats.psi import PSIResult, psi_counts
from seismo.stats.total_variation import TotalVariationResult, total_variation_counts
from seismo.stats.wasserstein import BinValues, WassersteinResult, wasserstein_grid
from seismo.stats.ztest import ZTestResult, ztest_counts


@dataclass(frozen=True, eq=False)
class ProfileStatistics:
    """The statistics of one column pair; ``None`` where a statistic does not apply."""

    reference_counts: NDArray[np.int64]  # the bins PSI/JS/KL/Hellinger/chi2 were computed on
    current_counts: NDArray[np.int64]
    psi: PSIResult
    jensen_shannon: JensenShannonResult
    kl: KLResult
    hellinger: HellingerResult
    chi2: Chi2Result
    total_variation: TotalVariationResult
    ks: KSResult | None = None
    wasserstein: WassersteinResult | None = None
    ztest: ZTestResult | None = None


def profile_statistics(reference: ColumnProfile, current: ColumnProfile) -> ProfileStatistics:
    """Compute every applicable statistic from two profiles on the same grid.

    Raises ``ValueError`` when either profile has no values to compare.

    Examples
    --------
    >>> import numpy as np
    >>> from seismo.profile import NumericGrid, NumericProfile
    >>> rng = np.random.default_rng(0)
    >>> reference_values, current_values = rng.normal(0, 1, 5000), rng.normal(0.3, 1, 5000)
    >>> grid = NumericGrid.from_sorted(np.sort(reference_values))
    >>> result = profile_statistics(
    ...     NumericProfile.from_batch(grid, reference_values),
    ...     NumericProfile.from_batch(grid, current_values),
    ... )
    >>> round(result.psi.statistic, 3), round(result.ks.statistic, 3), result.ks.bound
    (0.108, 0.145, 0.0027)
    """
    require_same_grid(reference.grid, current.grid, "statistics")
    if isinstance(reference, NumericProfile) and isinstance(current, NumericProfile):
        if not reference.finite_count or not current.finite_count:
            raise ValueError("statistics need finite values in both profiles")
        grid = reference.grid
        ref_deciles = grid.psi_counts(reference.bin_counts)
        cur_deciles = grid.psi_counts(current.bin_counts)
        ref_deciles, cur_deciles = _used(ref_deciles, cur_deciles)
        low = min(reference.minimum, current.minimum)
        high = max(reference.maximum, current.maximum)
        # Values near the float limit overflow a spread or a range (1e308 - -1e308): the
        # Wasserstein distance is then not measurable in floats, and the column is decided by
        # the tests and effects on its counts alone.
        measurable = math.isfinite(reference.std) and math.isfinite(high - low)
        return ProfileStatistics(
            ref_deciles,
            cur_deciles,
            *_binned(ref_deciles, cur_deciles),
            ks=ks_counts(reference.bin_counts, current.bin_counts),
            wasserstein=wasserstein_grid(
                grid.edges,
                reference.bin_counts,
                current.bin_counts,
                low=low,
                high=high,
                reference_std=reference.std,
                reference_bins=_bin_values(reference),
                current_bins=_bin_values(current),
            )
            if measurable
            else None,
        )
    if isinstance(reference, CategoricalProfile) and isinstance(current, CategoricalProfile):
        ref_counts, cur_counts = reference.bin_counts, current.bin_counts
        if not ref_counts.sum() or not cur_counts.sum():
            raise ValueError("statistics need values in both profiles")
        two_values = len(ref_counts) == 3 and ref_counts[-1] == cur_counts[-1] == 0
        ztest = ztest_counts(ref_counts[:2], cur_counts[:2]) if two_values else None
        ref_counts, cur_counts = _used(ref_counts, cur_counts)
        return ProfileStatistics(
            ref_counts,
            cur_counts,
            *_binned(ref_counts, cur_counts),
            ztest=ztest,
        )
    raise ValueError("a numeric profile cannot be compared with a categorical one")


def _bin_values(profile: NumericProfile) -> BinValues | None:
    if not profile.has_bin_values:
        return None
    return profile.bin_sums, profile.bin_minima, profile.bin_maxima  # type: ignore[return-value]


def _used(
    reference: NDArray[np.int64], current: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Drop bins empty on both sides (e.g. the other bin of a complete grid): they carry no
    information, and dropping them gives PSI and KL the smoothing of the raw-array statistics."""
    used = (reference > 0) | (current > 0)
    return reference[used], current[used]


def _binned(
    reference: NDArray[np.int64], current: NDArray[np.int64]
) -> tuple[
    PSIResult, JensenShannonResult, KLResult, HellingerResult, Chi2Result, TotalVariationResult
]:
    return (
        psi_counts(reference, current),
        jensen_shannon_counts(reference, current),
        kl_counts(reference, current),
        hellinger_counts(reference, current),
        chi2_counts(reference, current),
        total_variation_counts(reference, current),
    )

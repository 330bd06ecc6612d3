"""Drift statistics: one statistic per module, each on raw samples and on aligned counts.

Every statistic has two entry points:

* ``name(reference, current, ...)`` on raw 1-D samples (NaN / None dropped), and
* ``name_counts(reference_counts, current_counts, ...)`` on aligned counts of the same bins
  or categories (``wasserstein_grid`` for the Wasserstein distance, which also needs the
  bin edges).

Raw numeric samples are counted on reference-quantile bins (see
:mod:`seismo.stats._binning`) and go through the counts function, so both entry points
share one computation. ``ks`` and ``wasserstein`` are exact on raw samples; on counts they
return the grid value together with a guaranteed error ``bound``.

Every function returns a frozen dataclass with a float ``statistic``; tests also have a
``pvalue``.

Examples
--------
>>> from seismo import stats
>>> sorted(stats.REGISTRY)  # doctest: +NORMALIZE_WHITESPACE
['chi2', 'hellinger', 'jensen_shannon', 'kl', 'ks', 'psi', 'total_variation',
 'wasserstein', 'ztest']
>>> stats.get("psi")([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], bins=2)
PSIResult(statistic=0.0, n_bins=2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from seismo.stats._binning import bin_counts, category_counts, proportions, quantile_edges
from seismo.stats.chi2 import Chi2Result, chi2, chi2_counts
from seismo.stats.hellinger import HellingerResult, hellinger, hellinger_counts
from seismo.stats.jensen_shannon import (
    JensenShannonResult,
    jensen_shannon,
    jensen_shannon_counts,
)
from seismo.stats.kl import KLResult, kl, kl_counts
from seismo.stats.ks import KSResult, ks, ks_counts
from seismo.stats.psi import PSIResult, psi, psi_counts
from seismo.stats.total_variation import (
    TotalVariationResult,
    total_variation,
    total_variation_counts,
)
from seismo.stats.wasserstein import WassersteinResult, wasserstein, wasserstein_grid
from seismo.stats.ztest import ZTestResult, two_proportion_ztest, ztest, ztest_counts

__all__ = [
    "COUNTS_REGISTRY",
    "REGISTRY",
    "Chi2Result",
    "HellingerResult",
    "JensenShannonResult",
    "KLResult",
    "KSResult",
    "PSIResult",
    "StatisticResult",
    "TotalVariationResult",
    "WassersteinResult",
    "ZTestResult",
    "bin_counts",
    "category_counts",
    "chi2",
    "chi2_counts",
    "get",
    "hellinger",
    "hellinger_counts",
    "jensen_shannon",
    "jensen_shannon_counts",
    "kl",
    "kl_counts",
    "ks",
    "ks_counts",
    "proportions",
    "psi",
    "psi_counts",
    "quantile_edges",
    "total_variation",
    "total_variation_counts",
    "two_proportion_ztest",
    "wasserstein",
    "wasserstein_grid",
    "ztest",
    "ztest_counts",
]


class StatisticResult(Protocol):
    """What every result dataclass provides."""

    @property
    def statistic(self) -> float: ...


#: Raw-sample entry points, ``name -> function(reference, current, **options)``.
REGISTRY: dict[str, Callable[..., StatisticResult]] = {
    "psi": psi,
    "ks": ks,
    "jensen_shannon": jensen_shannon,
    "kl": kl,
    "wasserstein": wasserstein,
    "hellinger": hellinger,
    "total_variation": total_variation,
    "chi2": chi2,
    "ztest": ztest,
}

#: Aligned-count entry points, ``name -> function(reference_counts, current_counts, **options)``.
#: ``wasserstein`` is absent: its grid version also needs edges and the data range
#: (:func:`wasserstein_grid`).
COUNTS_REGISTRY: dict[str, Callable[..., StatisticResult]] = {
    "psi": psi_counts,
    "ks": ks_counts,
    "jensen_shannon": jensen_shannon_counts,
    "kl": kl_counts,
    "hellinger": hellinger_counts,
    "total_variation": total_variation_counts,
    "chi2": chi2_counts,
    "ztest": ztest_counts,
}


def get(name: str, *, counts: bool = False) -> Callable[..., Any]:
    """Look up a statistic by name.

    Parameters
    ----------
    name : str
        A key of :data:`REGISTRY` (or of :data:`COUNTS_REGISTRY` with ``counts=True``).
    counts : bool, default False
        Return the aligned-counts entry point instead of the raw-sample one.

    Returns
    -------
    callable
        The statistic function.

    Raises
    ------
    KeyError
        For an unknown name; the message lists the valid names.

    Examples
    --------
    >>> get("ks").__name__, get("ks", counts=True).__name__
    ('ks', 'ks_counts')
    >>> get("nope")
    Traceback (most recent call last):
    ...
    KeyError: "unknown statistic 'nope'; valid names are: chi2, hellinger, ..."
    """
    registry = COUNTS_REGISTRY if counts else REGISTRY
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(sorted(registry))
        raise KeyError(f"unknown statistic {name!r}; valid names are: {valid}") from None

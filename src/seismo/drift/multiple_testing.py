"""Benjamini-Hochberg adjustment of p-values across a report's columns."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def benjamini_hochberg(pvalues: ArrayLike) -> NDArray[np.float64]:
    """BH-adjusted p-values (q-values); reject at level alpha where adjusted <= alpha.

    Controls the false discovery rate at alpha for independent or positively dependent tests;
    when no column drifted it also bounds the chance of any false alarm by alpha.

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.5]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.5]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(adjusted_sorted, 1.0)
    return adjusted

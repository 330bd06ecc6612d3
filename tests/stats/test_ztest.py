"""Tests for the two-proportion z-test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, norm

from seismo.stats import ZTestResult, chi2_counts, two_proportion_ztest, ztest, ztest_counts


@st.composite
def trials(draw: st.DrawFn) -> tuple[int, int, int, int]:
    n1 = draw(st.integers(1, 10_000))
    n2 = draw(st.integers(1, 10_000))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n2)), n2


@settings(deadline=None)
@given(trials())
def test_z_squared_is_chi2_of_the_2x2_table(t: tuple[int, int, int, int]) -> None:
    s1, n1, s2, n2 = t
    assume(0 < s1 + s2 < n1 + n2)
    result = two_proportion_ztest(s1, n1, s2, n2)
    table = np.array([[n1 - s1, s1], [n2 - s2, s2]])
    expected = chi2_contingency(table, correction=False)
    assert result.statistic**2 == pytest.approx(float(expected.statistic), rel=1e-9, abs=1e-12)
    assert result.pvalue == pytest.approx(float(expected.pvalue), rel=1e-8, abs=1e-13)
    assert result.statistic**2 == pytest.approx(
        chi2_counts(table[0], table[1]).statistic, rel=1e-9, abs=1e-12
    )


def test_hand_computation() -> None:
    p1, p2 = 45 / 100, 60 / 100
    pooled = 105 / 200
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    result = two_proportion_ztest(45, 100, 60, 100)
    assert result.statistic == pytest.approx(z, rel=1e-14)
    assert result.pvalue == pytest.approx(2 * float(norm.sf(abs(z))), rel=1e-12)
    assert (result.proportion_reference, result.proportion_current) == (0.45, 0.6)
    # sign: positive when the current proportion is higher
    assert two_proportion_ztest(60, 100, 45, 100).statistic == pytest.approx(-z, rel=1e-14)


def test_degenerate_pooled_proportion() -> None:
    assert two_proportion_ztest(0, 5, 0, 9) == ZTestResult(0.0, 1.0, 0.0, 0.0)
    assert two_proportion_ztest(5, 5, 9, 9) == ZTestResult(0.0, 1.0, 1.0, 1.0)
    assert two_proportion_ztest(3, 3, 0, 4).pvalue < 0.05


def test_counts_and_raw_entry_points_agree() -> None:
    expected = two_proportion_ztest(45, 100, 60, 100)
    assert ztest_counts([55, 45], [40, 60]) == expected
    reference = [True] * 45 + [False] * 55 + [None]
    current = np.array([1] * 60 + [0] * 40 + [np.nan])
    assert ztest(reference, current) == expected
    assert ztest(np.array(reference[:-1]), current[:-1].astype(int)) == expected


def test_errors() -> None:
    with pytest.raises(ValueError, match="successes"):
        two_proportion_ztest(5, 4, 1, 2)
    with pytest.raises(ValueError, match="n > 0"):
        two_proportion_ztest(0, 0, 1, 2)
    with pytest.raises(ValueError, match="exactly 2 bins"):
        ztest_counts([1, 2, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="must be boolean"):
        ztest([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="must be boolean"):
        ztest(["yes", "no"], [True])
    with pytest.raises(ValueError, match="current is empty"):
        ztest([True], [None])

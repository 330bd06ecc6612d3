"""Total variation distance against an independent computation (sum of minima)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seismo.stats import total_variation, total_variation_counts


@given(
    st.lists(st.integers(0, 50), min_size=1, max_size=12).flatmap(
        lambda ref: st.tuples(
            st.just(ref), st.lists(st.integers(0, 50), min_size=len(ref), max_size=len(ref))
        )
    )
)
def test_counts_equal_one_minus_the_overlap(pair: tuple[list[int], list[int]]) -> None:
    reference, current = pair
    if sum(reference) == 0 or sum(current) == 0:
        return
    p = [c / sum(reference) for c in reference]
    q = [c / sum(current) for c in current]
    overlap = sum(min(a, b) for a, b in zip(p, q, strict=True))
    result = total_variation_counts(reference, current)
    assert result.statistic == pytest.approx(1 - overlap, abs=1e-12)
    assert 0.0 <= result.statistic <= 1.0
    assert total_variation_counts(current, reference).statistic == pytest.approx(result.statistic)


def test_raw_categories_and_deciles() -> None:
    reference = ["a"] * 40 + ["b"] * 20 + ["c"] * 40
    current = ["a"] * 30 + ["b"] * 30 + ["c"] * 40
    assert total_variation(reference, current).statistic == pytest.approx(0.1)
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(0, 1, 10_000), rng.normal(0, 1, 10_000) + 10.0
    # Every current value lies above the reference's top decile edge: all the mass outside
    # the reference's top bin moved.
    top_edge = np.quantile(ref, 0.9, method="inverted_cdf")
    assert Counter(cur > top_edge) == {True: 10_000}
    expected = 1.0 - float(np.mean(ref > top_edge))
    assert total_variation(ref, cur).statistic == pytest.approx(expected, abs=1e-12)

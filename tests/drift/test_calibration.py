from __future__ import annotations

import numpy as np
import pytest

from seismo.drift.calibration import jensen_shannon_rows, null_effects, psi_rows
from seismo.drift.multiple_testing import benjamini_hochberg
from seismo.stats import jensen_shannon_counts, psi_counts


def test_vectorised_effects_equal_the_statistics_modules() -> None:
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 50, size=(20, 12)).astype(float)
    current = rng.integers(0, 50, size=(20, 12)).astype(float)
    current[3, :4] = 0  # empty bins must be handled like the module does
    np.testing.assert_allclose(
        psi_rows(reference, current),
        [psi_counts(r, c).statistic for r, c in zip(reference, current, strict=True)],
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        jensen_shannon_rows(reference, current),
        [jensen_shannon_counts(r, c).statistic for r, c in zip(reference, current, strict=True)],
        rtol=1e-12,
        atol=1e-15,
    )


def test_null_effects_shrink_with_window_size_and_match_the_chi_square_scale() -> None:
    counts = np.full(10, 10_000)
    small = np.quantile(null_effects(counts, 100, effect="psi", draws=2000, seed=1), 0.5)
    large = np.quantile(null_effects(counts, 10_000, effect="psi", draws=2000, seed=1), 0.5)
    assert small > 10 * large
    # For small smoothing, PSI ~ (1/n + 1/m) * chi2 with k-1 = 9 degrees of freedom.
    from scipy.stats import chi2

    expected = chi2.median(9) * (1 / 100_000 + 1 / 10_000)
    assert large == pytest.approx(expected, rel=0.1)


def test_benjamini_hochberg_matches_scipy() -> None:
    from scipy.stats import false_discovery_control

    pvalues = np.random.default_rng(3).uniform(size=40) ** 3
    np.testing.assert_allclose(benjamini_hochberg(pvalues), false_discovery_control(pvalues))
    assert benjamini_hochberg([]).size == 0


@pytest.mark.parametrize(
    ("shape", "n", "m"),
    [
        ("normal", 2_000, 2_000),
        ("normal", 5_000, 300),
        ("poisson", 2_000, 500),
        ("rounded", 365, 365),
    ],
)
def test_wasserstein_null_quantile_matches_resampling(shape: str, n: int, m: int) -> None:
    """The closed-form (bridge moments + gamma) quantile of W between two samples of the
    reference distribution agrees with brute-force resampling computed with scipy."""
    from scipy.stats import wasserstein_distance

    from seismo.drift.calibration import wasserstein_null_quantile
    from seismo.profile import NumericGrid, NumericProfile

    rng = np.random.default_rng(len(shape) + n + m)
    population = {
        "normal": lambda k: rng.normal(0.0, 1.0, k),
        "poisson": lambda k: rng.poisson(2.0, k).astype(float),
        "rounded": lambda k: np.round(rng.exponential(20.0, k)),
    }[shape](100_000)
    profile = NumericProfile.from_batch(NumericGrid.from_sorted(np.sort(population)), population)
    draws = [
        wasserstein_distance(rng.choice(population, n), rng.choice(population, m))
        for _ in range(600)
    ]
    for level in (0.9, 0.95):
        simulated = float(np.quantile(draws, level))
        formula = wasserstein_null_quantile(profile, n, m, level)
        assert formula == pytest.approx(simulated, rel=0.12), level

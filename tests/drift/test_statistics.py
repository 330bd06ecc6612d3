"""Statistics from profiles agree with the same statistics on the raw arrays."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

import seismo
from seismo.drift.statistics import profile_statistics
from seismo.profile import CategoricalProfile, NumericProfile
from seismo.stats import chi2, hellinger, jensen_shannon, kl, ks, psi, wasserstein, ztest


@pytest.mark.parametrize(
    "make",
    [
        lambda rng, shift: rng.normal(shift, 1.0, 20_000),
        lambda rng, shift: rng.lognormal(shift, 0.8, 20_000),
        lambda rng, shift: rng.poisson(4 + 3 * shift, 20_000).astype(float),
    ],
    ids=["normal", "lognormal", "poisson"],
)
@pytest.mark.parametrize("shift", [0.0, 0.2])
def test_numeric_profile_statistics_equal_raw_statistics(make, shift: float) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(42)
    reference_values, current_values = make(rng, 0.0), make(rng, shift)
    # The reference is smaller than the grid's sample, so the grid's deciles are exact.
    reference = seismo.fit_reference({"x": reference_values})
    current = seismo.profile(reference, {"x": current_values})
    ref_profile, cur_profile = reference.profile.columns["x"], current.columns["x"]
    assert isinstance(ref_profile, NumericProfile) and isinstance(cur_profile, NumericProfile)
    found = profile_statistics(ref_profile, cur_profile)

    for from_profile, raw in [
        (found.psi, psi(reference_values, current_values)),
        (found.jensen_shannon, jensen_shannon(reference_values, current_values)),
        (found.kl, kl(reference_values, current_values)),
        (found.hellinger, hellinger(reference_values, current_values)),
    ]:
        assert from_profile.statistic == pytest.approx(raw.statistic, rel=1e-9, abs=1e-12)

    exact_ks = scipy_stats.ks_2samp(reference_values, current_values).statistic
    assert found.ks is not None
    assert found.ks.statistic <= exact_ks + 1e-12 <= found.ks.statistic + found.ks.bound + 1e-12
    exact_w = scipy_stats.wasserstein_distance(reference_values, current_values)
    assert found.wasserstein is not None
    assert abs(found.wasserstein.statistic - exact_w) <= found.wasserstein.bound + 1e-12
    assert found.wasserstein.statistic == pytest.approx(
        wasserstein(reference_values, current_values).statistic, rel=0.05, abs=0.01
    )
    assert ks(reference_values, current_values).statistic == pytest.approx(exact_ks)


def test_categorical_profile_statistics_equal_raw_statistics() -> None:
    rng = np.random.default_rng(7)
    labels = np.array(["a", "b", "c", "d"])
    reference_values = rng.choice(labels, 5000, p=[0.4, 0.3, 0.2, 0.1])
    current_values = rng.choice(labels, 4000, p=[0.3, 0.3, 0.25, 0.15])
    reference = seismo.fit_reference({"c": reference_values})
    current = seismo.profile(reference, {"c": current_values})
    ref_profile, cur_profile = reference.profile.columns["c"], current.columns["c"]
    assert isinstance(ref_profile, CategoricalProfile)
    assert isinstance(cur_profile, CategoricalProfile)
    found = profile_statistics(ref_profile, cur_profile)
    assert found.chi2.statistic == pytest.approx(chi2(reference_values, current_values).statistic)
    assert found.chi2.pvalue == pytest.approx(chi2(reference_values, current_values).pvalue)
    assert found.psi.statistic == pytest.approx(psi(reference_values, current_values).statistic)
    assert found.jensen_shannon.statistic == pytest.approx(
        jensen_shannon(reference_values, current_values).statistic
    )
    assert found.ks is None and found.wasserstein is None and found.ztest is None


def test_boolean_profiles_give_the_z_test() -> None:
    rng = np.random.default_rng(8)
    reference_values, current_values = rng.random(3000) < 0.3, rng.random(2000) < 0.36
    reference = seismo.fit_reference({"b": reference_values})
    current = seismo.profile(reference, {"b": current_values})
    found = profile_statistics(reference.profile.columns["b"], current.columns["b"])
    expected = ztest(reference_values, current_values)
    assert found.ztest is not None
    assert found.ztest.statistic == pytest.approx(expected.statistic)
    assert found.ztest.pvalue == pytest.approx(expected.pvalue)


def test_values_near_the_float_limit_are_compared_without_the_wasserstein_effect() -> None:
    """A spread of 1e308-sized values overflows to inf: the engine raised ValueError from the
    Wasserstein distance. Now the column is decided on its counts alone."""
    import seismo

    rng = np.random.default_rng(5)
    huge = rng.choice([-1.7e308, 1.7e308, 0.0], 2000)
    reference = {"x": huge, "y": rng.normal(0, 1, 2000)}
    current = {"x": np.full(2000, 1.7e308), "y": rng.normal(0, 1, 2000)}
    report = seismo.compare(reference, current)
    column = report["x"]
    assert column.drifted  # every value moved to one end
    assert column.effect_of("wasserstein_normalized") is None
    assert not report["y"].drifted

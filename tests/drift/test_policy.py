"""The statistical policy: few false alarms on same-distribution data, injected shifts caught."""

from __future__ import annotations

import numpy as np
import pytest

import seismo
from seismo.drift.config import DriftConfig
from tests.drift._data import NUMERIC, SHIFTED, dataset

ALPHA = 0.05


def _false_alarm_run(rows: int, repeats: int, seed: int) -> tuple[float, float, float, int]:
    """(raw per-column rejection rate, drifted-column rate, dataset false-alarm rate, tests)."""
    rng = np.random.default_rng(seed)
    raw = drifted = datasets = tests = 0
    for _ in range(repeats):
        report = seismo.compare(dataset(rows, rng), dataset(rows, rng))
        for column in report.columns:
            assert column.tested, column
            tests += 1
            raw += column.p_value is not None and column.p_value < ALPHA
            drifted += column.drifted
        datasets += report.dataset.drifted
    return raw / tests, drifted / tests, datasets / repeats, tests


@pytest.mark.parametrize(
    ("rows", "repeats"),
    [(1_000, 150), (100_000, 15), pytest.param(1_000_000, 4, marks=pytest.mark.slow)],
)
def test_false_alarms_stay_at_or_below_the_configured_level(rows: int, repeats: int) -> None:
    raw_rate, column_rate, dataset_rate, tests = _false_alarm_run(rows, repeats, seed=rows)
    standard_error = np.sqrt(ALPHA * (1 - ALPHA) / tests)
    # The tests themselves are calibrated (p-values about uniform; KS on discrete data and on
    # the grid is slightly conservative) ...
    assert raw_rate <= ALPHA + 3 * standard_error
    # ... and the decision (BH-significant AND effect over the threshold) alarms no more often.
    assert column_rate <= ALPHA
    assert dataset_rate <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / repeats)


def test_p_values_of_continuous_columns_are_uniform_under_no_drift() -> None:
    rng = np.random.default_rng(11)
    pvalues = []
    for _ in range(120):
        report = seismo.compare(dataset(2_000, rng), dataset(2_000, rng))
        pvalues += [report[name].p_value for name in ("normal", "uniform", "student_t")]
    rate = np.mean(np.array(pvalues) < ALPHA)
    standard_error = np.sqrt(ALPHA * (1 - ALPHA) / len(pvalues))
    assert abs(rate - ALPHA) <= 3.5 * standard_error, rate


@pytest.mark.parametrize("rows", [1_000, 100_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_injected_shifts_are_caught_and_nothing_else_is(rows: int) -> None:
    rng = np.random.default_rng(rows + 1)
    report = seismo.compare(dataset(rows, rng), dataset(rows, rng, shift=True))
    drifted = {column.column for column in report.columns if column.drifted}
    assert drifted == set(SHIFTED)
    assert report.dataset.drifted
    assert report.dataset.features_drifted == len(SHIFTED)
    assert report["normal"].severity in (seismo.Severity.MODERATE, seismo.Severity.HIGH)


def test_a_trivial_shift_on_a_million_rows_is_significant_but_not_drift() -> None:
    rng = np.random.default_rng(3)
    reference = {"x": rng.normal(0, 1, 1_000_000)}
    current = {"x": rng.normal(0.03, 1, 1_000_000)}
    column = seismo.compare(reference, current)["x"]
    assert column.p_value_adjusted is not None and column.p_value_adjusted < 1e-10
    assert column.effect is not None and column.effect < 0.1
    assert not column.drifted


def test_small_windows_get_a_calibrated_threshold_above_the_floor() -> None:
    rng = np.random.default_rng(5)
    report = seismo.compare(dataset(5_000, rng), dataset(40, rng))
    for name in NUMERIC:
        column = report[name]
        assert column.threshold_source == "calibrated"
        assert column.threshold is not None and column.threshold > 0.1
    assert not report.dataset.drifted


def test_static_thresholds_use_the_psi_floor() -> None:
    rng = np.random.default_rng(6)
    report = seismo.compare(
        dataset(40, rng), dataset(40, rng), config=DriftConfig(thresholds="static")
    )
    assert {c.threshold_source for c in report.columns} == {"static"}
    assert {c.threshold for c in report.columns} == {0.1}


def test_benjamini_hochberg_is_applied_across_columns() -> None:
    rng = np.random.default_rng(8)
    report = seismo.compare(dataset(3_000, rng), dataset(3_000, rng, shift=True))
    from scipy.stats import false_discovery_control

    raw = [c.p_value for c in report.columns]
    adjusted = [c.p_value_adjusted for c in report.columns]
    np.testing.assert_allclose(adjusted, false_discovery_control(raw, method="bh"), rtol=1e-12)


def _tail_shift(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Heavy right tail (hourly counts, delays): only the top decile grows, by 3x. Every value
    stays in its reference decile, so decile PSI sees nothing; W/σ sees the tail."""
    reference = np.round(rng.lognormal(2.0, 1.0, rows))
    current = np.round(rng.lognormal(2.0, 1.0, rows))
    top = current > np.quantile(reference, 0.9)
    current[top] *= 3.0
    return reference, current


def _tied_location_shift(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Tie-heavy counts (many zeros, few distinct values): the non-zero part moves up."""
    reference = np.where(rng.random(rows) < 0.5, 0.0, rng.poisson(2.0, rows))
    current = np.where(rng.random(rows) < 0.5, 0.0, rng.poisson(2.6, rows))
    return reference.astype(float), current.astype(float)


def _small_location_shift(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A year of daily readings: a quarter-sigma location shift on 365 rows."""
    return rng.normal(60.0, 15.0, 365), rng.normal(60.0 - 0.3 * 15.0, 15.0, 365)


@pytest.mark.parametrize("case", [_tail_shift, _tied_location_shift, _small_location_shift])
def test_material_shifts_that_decile_psi_misses_are_caught_by_w_over_sigma(case) -> None:  # type: ignore[no-untyped-def]
    missed_by_psi_alone = 0
    for seed in range(5):
        reference, current = case(np.random.default_rng(seed), 20_000)
        column = seismo.compare({"x": reference}, {"x": current})["x"]
        assert column.drifted, (seed, column)
        assert "wasserstein_normalized" in column.large_by
        shape = column.effect_of("wasserstein_normalized")
        assert shape is not None and shape.value == column.wasserstein_normalized
        assert shape.value >= shape.threshold >= 0.1
        effects = {e["name"]: e for e in column.to_dict()["effects"]}
        assert effects["wasserstein_normalized"]["reached"] is True
        assert effects["psi"]["reached"] is (column.psi >= column.threshold)  # type: ignore[operator]
        # PSI alone (the earlier rule) misses these shifts.
        psi_only = DriftConfig(wasserstein_floor=None, total_variation_floor=None)
        alone = seismo.compare({"x": reference}, {"x": current}, config=psi_only)["x"]
        missed_by_psi_alone += not alone.drifted
    assert missed_by_psi_alone >= 3


def test_each_effect_is_calibrated_at_the_split_level() -> None:
    """Three effects decide a numeric column (PSI, TV, W/σ), two a categorical one, so each
    bar is its null 99.67th (99.5th) percentile: under no drift the chance that any clears
    its bar stays at 1%."""
    config = DriftConfig()
    assert config.effects_for(numeric=True) == ("psi", "total_variation", "wasserstein_normalized")
    assert config.effects_for(numeric=False) == ("psi", "total_variation")
    assert config.calibration_level(3) == pytest.approx(1 - 0.01 / 3)
    rng = np.random.default_rng(12)
    reference, current = rng.normal(0, 1, 5_000), rng.normal(0, 1, 60)
    column = seismo.compare({"x": reference}, {"x": current})["x"]
    assert [e.name for e in column.effects] == list(config.effects_for(numeric=True))
    for effect in column.effects:
        assert effect.threshold_source == "calibrated"
        assert effect.threshold > config.floor_of(effect.name)
    # The binned effects' bars come from one set of resampled draws, at the split level.
    from seismo.drift.calibration import column_seed, null_effect_table

    reference_deciles = np.full(10, 500)
    table = null_effect_table(
        reference_deciles,
        60,
        effects=("psi", "total_variation"),
        draws=1000,
        seed=column_seed(0, "x"),
    )
    assert {name: len(draws) for name, draws in table.items()} == {
        "psi": 1000,
        "total_variation": 1000,
    }


def test_a_ten_point_move_between_large_categories_is_material() -> None:
    """40% -> 30% and 20% -> 30%: PSI 0.07 stays under its floor, TV 0.1 reaches it."""
    rng = np.random.default_rng(2)
    reference = rng.choice(["a", "b", "c"], 20_000, p=[0.4, 0.2, 0.4])
    current = rng.choice(["a", "b", "c"], 20_000, p=[0.3, 0.3, 0.4])
    column = seismo.compare({"x": reference}, {"x": current})["x"]
    assert column.psi is not None and column.psi < 0.1
    assert column.drifted and column.large_by == ("total_variation",)
    assert column.total_variation == pytest.approx(0.1, abs=0.01)


def test_a_numeric_column_without_a_grid_is_reported_not_passed_as_no_drift() -> None:
    """Finite values too rare to reach the reference sample leave a numeric column without
    bins: it is an error anomaly and untested, never 'no drift' with p = 1."""
    from seismo.profile import ProfileOptions

    values = np.full(50_000, np.nan)
    values[-3:] = [1.0, 2.0, 3.0]  # past the sample of the first rows' keys, almost surely
    reference = seismo.fit_reference(
        {"x": values, "y": np.arange(50_000.0)}, options=ProfileOptions(sample_rows=20, seed=3)
    )
    assert reference.schema["x"].kind is seismo.Kind.NUMERIC
    assert len(reference.profile.columns["x"].grid.edges) == 0  # type: ignore[union-attr]
    report = seismo.compare(reference, {"x": np.arange(100.0), "y": np.arange(100.0)})
    assert not report["x"].tested and not report["x"].drifted
    assert report["x"].reason is not None and "no grid" in report["x"].reason
    anomaly = next(a for a in report.anomalies if a.column == "x")
    assert anomaly.check == "no_grid" and anomaly.level.value == "error"

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

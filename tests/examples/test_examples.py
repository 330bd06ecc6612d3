from __future__ import annotations

import seismo
from seismo.examples import breast_cancer_scenario, flights, flights_schema
from seismo.schema.types import Role


def test_flights_january_vs_july_finds_the_seasonal_shift() -> None:
    report = seismo.compare(flights(1), flights(7), flights_schema())
    assert report.dataset.reference_rows == 27_004 and report.dataset.current_rows == 29_425
    drifted = {c.column for c in report.columns if c.drifted}
    # July flies other routes and planes than January; the airports and carriers stay the same.
    assert {"dest", "tailnum", "air_time"} <= drifted
    assert not {"origin", "carrier", "distance"} & drifted
    assert [c.column for c in report.target_drift] == ["arr_delay"]
    assert report["time_hour"].role is Role.TIMESTAMP and not report["time_hour"].tested
    assert "month" not in {c.column for c in report.columns}


def test_two_months_of_the_same_season_barely_drift() -> None:
    report = seismo.compare(flights(6), flights(7), flights_schema())
    assert report.dataset.drifted_share < 0.25


def test_breast_cancer_scenario_catches_the_injected_shift_and_prediction_drift() -> None:
    scenario = breast_cancer_scenario()
    report = seismo.compare(scenario.training, scenario.production, scenario.schema)
    drifted = {c.column for c in report.features if c.drifted}
    assert set(scenario.shifted) <= drifted
    untouched = {c.column for c in report.features} - set(scenario.shifted) - set(scenario.noisy)
    assert len(drifted & untouched) <= 1  # 284 rows: correlated features may follow the shift
    assert [c.column for c in report.prediction_drift] == ["score", "prediction"]
    assert all(c.tested for c in report.prediction_drift)

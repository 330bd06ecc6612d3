"""End to end: log predictions over several days, add late labels, run the monitor, read series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import accuracy_score, f1_score

import seismo
from seismo.loop.models import register_model
from seismo.monitor import Monitor, MonitorSettings, WindowState, window_start
from seismo.schema.types import Kind
from seismo.service.app import create_app
from seismo.service.config import ServiceSettings
from seismo.store import open_store
from tests.service.conftest import FEATURES, training_frame

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    reference = seismo.fit_reference(
        training_frame(2000), {"columns": {"malignant": {"role": "target"}}}
    )
    register_model(store, "m", reference=reference, task="classification", classes=["no", "yes"])
    settings = ServiceSettings(store=url, monitor={"window": "1d", "segments": ["tumor site"]})
    with TestClient(create_app(settings, store=store)) as http:
        yield http, store
    store.close()


def _log_day(
    http: TestClient, day: int, rows: int, shift: float, seed: int, base: datetime = DAY0
) -> list[dict]:
    frame = training_frame(rows, seed=seed)
    frame["mean radius"] += shift * 3.0
    rng = np.random.default_rng(seed)
    records = []
    for i, row in enumerate(frame.to_dict(orient="records")):
        truth = row.pop("malignant")
        output = truth if rng.random() < 0.8 else ("no" if truth == "yes" else "yes")
        records.append(
            {
                "id": f"d{day}-{i}",
                "features": {k: row[k] for k in FEATURES},
                "output": output,
                "score": 0.8 if output == "yes" else 0.2,
                "timestamp": (base + timedelta(days=day, seconds=30 * i)).isoformat(),
                "truth": truth,
            }
        )
    body = [{k: v for k, v in r.items() if k != "truth"} for r in records]
    response = http.post("/v1/models/m/predictions", json={"predictions": body})
    assert response.status_code == 200, response.text
    return records


def test_windows_drift_performance_late_labels_and_no_double_counting(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    days = [_log_day(http, d, 600, shift=1.0 if d == 2 else 0.0, seed=10 + d) for d in range(3)]
    labelled = days[0][:300]
    http.post(
        "/v1/models/m/labels",
        json=[{"prediction_id": r["id"], "label": r["truth"]} for r in labelled],
    )
    run = http.post("/v1/monitor/run").json()
    assert run["predictions_read"] == 1800 and run["windows"] == 3

    drift = http.get("/v1/models/m/drift").json()["windows"]
    assert [w["start"][:10] for w in drift] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert [w["features"]["mean radius"]["drifted"] for w in drift] == [False, False, True]
    assert [w["rows"] for w in drift] == [600, 600, 600]

    performance = http.get("/v1/models/m/performance").json()["windows"]
    first = performance[0]
    assert first["labelled"] == 300 and first["label_coverage"] == pytest.approx(0.5)
    truth = [r["truth"] for r in labelled]
    outputs = [r["output"] for r in labelled]
    accuracy = first["metrics"]["accuracy"]
    assert accuracy["value"] == pytest.approx(accuracy_score(truth, outputs))
    assert accuracy["interval"]["low"] < accuracy["value"] < accuracy["interval"]["high"]
    assert first["metrics"]["f1"]["value"] == pytest.approx(
        f1_score(truth, outputs, pos_label="yes")
    )
    assert performance[1]["metrics"] is None

    # Nothing new: a second run reads nothing and changes nothing.
    assert http.post("/v1/monitor/run").json() == {
        "windows": 0,
        "predictions_read": 0,
        "label_changes_read": 0,
        "window_errors": 0,
        "alerts_opened": 0,
        "alerts_resolved": 0,
        "notifications": 0,
        "failed_deliveries": 0,
        "errors": [],
    }
    # A late label (and a corrected one) updates only the window its prediction belongs to.
    late = days[1][0]
    http.post(
        "/v1/models/m/labels",
        json=[
            {"prediction_id": late["id"], "label": late["truth"]},
            {"prediction_id": labelled[0]["id"], "label": "no" if truth[0] == "yes" else "yes"},
        ],
    )
    run = http.post("/v1/monitor/run").json()
    assert (run["windows"], run["predictions_read"], run["label_changes_read"]) == (2, 0, 2)
    performance = http.get("/v1/models/m/performance").json()["windows"]
    assert [w["labelled"] for w in performance] == [300, 1, 0]
    corrected = [("no" if truth[0] == "yes" else "yes"), *truth[1:]]
    assert performance[0]["metrics"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(corrected, outputs)
    )

    rolling = http.get("/v1/models/m/performance", params={"rolling": 3}).json()["windows"]
    assert rolling[-1]["labelled"] == 301 and rolling[-1]["rows"] == 1800

    segments = http.get("/v1/models/m/drift", params={"segment": "tumor site=left"}).json()
    assert sum(w["rows"] for w in segments["windows"]) == sum(
        1 for day in days for r in day if r["features"]["tumor site"] == "left"
    )
    page = http.get("/v1/models/m/report", params={"start": drift[2]["start"]})
    assert page.status_code == 200 and "mean radius" in page.text
    missing = http.get("/v1/models/m/report", params={"start": "2020-01-01T00:00:00Z"})
    assert missing.status_code == 404
    no_start = http.get("/v1/models/m/report")
    assert no_start.status_code == 422
    assert no_start.json()["error"]["problems"][0]["field"] == "query.start"
    bad_rolling = http.get("/v1/models/m/drift", params={"rolling": "many"})
    assert bad_rolling.status_code == 422 and bad_rolling.json()["error"]["code"] == "invalid_query"
    bad_time = http.get("/v1/models/m/drift", params={"start": "yesterday"})
    assert bad_time.status_code == 422 and "ISO 8601" in bad_time.json()["error"]["message"]
    quality = http.get("/v1/models/m/quality").json()["windows"]
    assert len(quality) == 3


def test_window_summaries_merge_into_the_summary_of_the_union(client) -> None:  # type: ignore[no-untyped-def]
    http, store = client
    base = window_start(DAY0, timedelta(days=2))
    for day in range(2):
        _log_day(http, day, 200, 0.0, seed=day, base=base)
    monitor = Monitor(store, MonitorSettings(window=timedelta(days=2)))
    monitor.run()
    two_days = store.get_windows("m", segment="")
    assert len(two_days) == 1
    whole = WindowState.from_bytes(two_days[0].payload)
    daily = Monitor(store, MonitorSettings(window=timedelta(days=1)))
    states = []
    for day in range(2):
        start = base + timedelta(days=day)
        daily.rebuild("m", 1, start)
        found = [
            w
            for w in store.get_windows("m", segment="")
            if w.start == start and w.end == start + timedelta(days=1)
        ]
        states.append(WindowState.from_bytes(found[0].payload))
    merged = states[0].merge(states[1])
    assert merged.rows == whole.rows == 400
    for name in FEATURES:
        np.testing.assert_array_equal(
            merged.profile.columns[name].bin_counts, whole.profile.columns[name].bin_counts
        )


def test_prediction_drift_compares_logged_outputs_with_the_reference_predictions(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    training = training_frame(2000)
    rng = np.random.default_rng(1)
    training["prediction"] = np.where(rng.random(len(training)) < 0.3, "yes", "no")
    training["score"] = rng.uniform(0, 1, len(training))
    schema = {
        "columns": {
            "malignant": {"role": "target"},
            "prediction": {"kind": "categorical", "role": "prediction"},
            "score": {"role": "score"},
        }
    }
    register_model(
        store,
        "m",
        reference=seismo.fit_reference(training, schema),
        task="classification",
        classes=["no", "yes"],
    )
    with TestClient(create_app(ServiceSettings(store=url), store=store)) as http:
        frame = training_frame(500, seed=3)
        body = [
            {
                "features": {k: row[k] for k in FEATURES},
                "output": "yes",
                "score": 0.95,
                "timestamp": DAY0.isoformat(),
            }
            for row in frame.to_dict(orient="records")
        ]
        assert http.post("/v1/models/m/predictions", json=body).status_code == 200
        http.post("/v1/monitor/run")
        window = http.get("/v1/models/m/drift").json()["windows"][0]
    store.close()
    assert window["features"]["prediction"]["drifted"]
    assert window["features"]["score"]["drifted"]
    assert not window["features"]["mean radius"]["drifted"]


def _coded_frame(rows: int, seed: int, codes: list[str]) -> pd.DataFrame:
    """A census-like table: a numeric code stored as text ("16"), with some "unknown"."""
    rng = np.random.default_rng(seed)
    values = rng.choice([*codes, "unknown"], rows, p=[0.96 / len(codes)] * len(codes) + [0.04])
    return pd.DataFrame({"SCHL": values, "AGEP": rng.normal(40, 10, rows)})


def test_numbers_stored_as_text_are_accepted_at_ingest_and_monitored_as_numbers(
    tmp_path: Path,
) -> None:
    """A model registered without a schema takes every value its reference had ("16",
    "unknown") and the monitor reads them as the reference was read: numbers, the rest
    invalid, so a shift of the codes is caught."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    reference = seismo.fit_reference(_coded_frame(4000, 0, [str(i) for i in range(1, 25)]))
    assert reference.schema["SCHL"].kind is Kind.NUMERIC
    register_model(store, "census", reference=reference, task="regression")
    settings = ServiceSettings(store=url, monitor={"window": "1d"})
    with TestClient(create_app(settings, store=store)) as http:
        for day, codes in enumerate([[str(i) for i in range(1, 25)], ["20", "21", "22"]]):
            frame = _coded_frame(800, 10 + day, codes)
            rows = [
                {
                    "features": features,
                    "output": 1.0,
                    "timestamp": (DAY0 + timedelta(days=day, seconds=60 * i)).isoformat(),
                }
                for i, features in enumerate(frame.to_dict(orient="records"))
            ]
            rows[0]["features"]["SCHL"] = 16  # a number where the reference had text: fine too
            response = http.post("/v1/models/census/predictions", json={"predictions": rows})
            assert response.status_code == 200, response.text
        predict = http.post(
            "/v1/models/census/predictions",
            json={"predictions": [{"features": {"SCHL": "16", "AGEP": "old"}, "output": 1.0}]},
        )
        assert predict.status_code == 422  # AGEP was numbers in the reference: text is refused
        assert "AGEP" in predict.text
        assert http.post("/v1/monitor/run").status_code == 200
        windows = http.get("/v1/models/census/drift").json()["windows"]
    store.close()
    assert [w["features"]["SCHL"]["drifted"] for w in windows] == [False, True]
    assert [w["features"]["AGEP"]["drifted"] for w in windows] == [False, False]
    reached = {e["name"] for e in windows[1]["features"]["SCHL"]["effects"] if e["reached"]}
    assert reached and reached <= {"psi", "total_variation", "wasserstein_normalized"}


@pytest.mark.parametrize("seed", range(5))
def test_segment_values_kept_depend_on_the_rows_not_their_order(seed: int) -> None:
    """Beyond monitor.max_segment_values, the most frequent values get their own summaries and
    ties go by the value's text: the same rows in any order (a store's order, a Spark
    partition's) keep the same values. Ties went by first seen before (order-dependent)."""
    from seismo.monitor.job import OTHER, _segments

    values = ["b"] * 3 + ["a"] * 3 + ["c"] * 3 + ["d"] * 5 + ["e"]
    order = np.random.default_rng(seed).permutation(len(values))
    shuffled = [values[i] for i in order]
    groups = _segments("plan", shuffled, limit=2)
    assert set(groups) == {"plan=d", "plan=a", f"plan={OTHER}"}
    assert sorted(shuffled[i] for i in groups[f"plan={OTHER}"]) == ["b"] * 3 + ["c"] * 3 + ["e"]

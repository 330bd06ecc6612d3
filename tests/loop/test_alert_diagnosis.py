"""An alert carries the diagnosis of its window: in GET /v1/alerts/{id} and in the text every
sink sends, and the window's HTML report shows it. A unit change upstream is a pipeline error
there; genuine seasonal drift is not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import seismo
from seismo.examples.flights import flights
from seismo.loop.models import register_model
from seismo.service.app import create_app
from seismo.service.config import ServiceSettings
from seismo.store import open_store

FEATURES = ["dep_delay", "air_time", "distance", "hour", "carrier", "origin"]
RULE = {
    "name": "any-drift",
    "series": "drift.share",
    "kind": "static",
    "threshold": 0.1,
    "direction": "above",
}


def _rows(frame: pd.DataFrame, day: str) -> list[dict[str, object]]:
    rows = []
    for i, record in enumerate(frame[FEATURES].to_dict(orient="records")):
        features = {k: (None if pd.isna(v) else v) for k, v in record.items()}
        rows.append(
            {
                "features": features,
                "output": "late" if i % 3 else "on time",
                "timestamp": f"{day}T{10 + i % 10:02d}:00:00Z",
            }
        )
    return rows


@pytest.mark.parametrize(
    ("month", "change", "cause"),
    [
        (3, lambda f: f.assign(distance=f["distance"] * 1.609344), "pipeline_error"),
        (7, lambda f: f, "covariate_drift"),
    ],
    ids=["miles-to-km", "july"],
)
def test_an_alert_carries_the_diagnosis_of_its_window(
    tmp_path: Path, month: int, change: Callable[[pd.DataFrame], pd.DataFrame], cause: str
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    march = flights(3).to_pandas()[FEATURES]
    reference = seismo.fit_reference(march.sample(n=8000, random_state=1))
    register_model(
        store, "late", reference=reference, task="classification", classes=["on time", "late"]
    )
    settings = ServiceSettings(
        store=url, monitor={"window": "1d"}, alerts={"rules": [RULE], "default_rules": False}
    )
    current = change(flights(month).to_pandas()[FEATURES].sample(n=3000, random_state=2))
    try:
        with TestClient(create_app(settings, store=store)) as http:
            sent = http.post(
                "/v1/models/late/predictions", json={"predictions": _rows(current, "2026-05-04")}
            )
            assert sent.status_code == 200, sent.text
            assert http.post("/v1/monitor/run").json()["alerts_opened"] == 1
            [listed] = http.get("/v1/alerts").json()["alerts"]
            alert = http.get(f"/v1/alerts/{listed['id']}").json()
            [window] = http.get("/v1/models/late/drift").json()["windows"]
            page = http.get("/v1/models/late/report", params={"start": window["start"]})
    finally:
        store.close()
    diagnosis = alert["alert"]["values"]["diagnosis"]
    assert diagnosis["cause"] == cause
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="diagnosis"' in page.text and "Diagnosis: why the data changed" in page.text
    assert f'<div class="big">{cause}</div>' in page.text
    assert diagnosis["findings"][0]["summary"].split(":")[0] in page.text
    assert f"Diagnosis: {cause}" in alert["alert"]["description"]
    if cause == "pipeline_error":
        assert diagnosis["action"] == "fix_pipeline"
        first = diagnosis["findings"][0]
        assert (first["kind"], first["columns"]) == ("unit_change", ["distance"])
    else:
        assert diagnosis["action"] == "retrain"

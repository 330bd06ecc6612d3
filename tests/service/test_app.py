from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.service.conftest import FEATURES, Service, training_frame


def _instances(rows: int = 3) -> list[dict[str, object]]:
    frame = training_frame(rows, seed=5)[FEATURES]
    return frame.to_dict(orient="records")


def test_predict_answers_kserve_v1_and_logs_every_prediction(service: Service) -> None:
    response = service.client.post("/v1/models/cancer:predict", json={"instances": _instances(4)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["predictions"]) == 4 and set(body["predictions"]) <= {"yes", "no"}
    assert body["model_version"] == 1 and len(body["ids"]) == len(set(body["ids"])) == 4
    assert all(0.0 <= s <= 1.0 for s in body["scores"])
    stored = service.store.get_prediction(body["ids"][0])
    assert stored is not None
    assert stored.prediction.output == body["predictions"][0]
    assert stored.prediction.score == pytest.approx(body["scores"][0])
    assert stored.prediction.features == _instances(4)[0]
    assert service.store.count_predictions("cancer") == 4


def test_instances_may_be_lists_in_feature_order(service: Service) -> None:
    rows = [[r[name] for name in FEATURES] for r in _instances(2)]
    response = service.client.post("/v1/models/cancer:predict", json={"instances": rows})
    assert response.status_code == 200, response.text


def test_predictions_made_elsewhere_are_ingested(service: Service) -> None:
    rows = [
        {
            "id": f"ext-{i}",
            "features": r,
            "output": "yes",
            "score": 0.7,
            "timestamp": "2026-01-02T03:04:05Z",
        }
        for i, r in enumerate(_instances(5))
    ]
    response = service.client.post("/v1/models/elsewhere/predictions", json={"predictions": rows})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 5
    stored = service.store.get_prediction("ext-3")
    assert stored is not None and stored.prediction.timestamp.isoformat().startswith("2026-01-02")
    again = service.client.post("/v1/models/elsewhere/predictions", json={"predictions": rows[:1]})
    assert again.status_code == 409 and "ext-0" in again.json()["error"]["message"]


def test_labels_are_idempotent_correctable_and_report_unknown_ids(service: Service) -> None:
    ids = service.client.post(
        "/v1/models/cancer:predict", json={"instances": _instances(3)}
    ).json()["ids"]
    labels = [{"prediction_id": i, "label": "yes"} for i in ids] + [
        {"prediction_id": "nope", "label": "no"}
    ]
    first = service.client.post("/v1/models/cancer/labels", json={"labels": labels}).json()
    assert first == {"inserted": 3, "updated": 0, "unchanged": 0, "unknown_ids": ["nope"]}
    again = service.client.post("/v1/models/cancer/labels", json={"labels": labels}).json()
    assert again["unchanged"] == 3 and again["inserted"] == 0
    fixed = service.client.post(
        "/v1/models/cancer/labels", json=[{"prediction_id": ids[0], "label": "no"}]
    ).json()
    assert fixed["updated"] == 1
    stored = service.store.get_prediction(ids[0])
    assert stored is not None and stored.label == "no"


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "field"),
    [
        ("/v1/models/ghost:predict", {"instances": [{}]}, 404, "unknown_model", None),
        (
            "/v1/models/cancer:predict",
            {"instances": [{"mean radius": 1}]},
            422,
            "invalid_instances",
            "instances[0]",
        ),
        ("/v1/models/cancer:predict", {"rows": []}, 422, "missing_field", "instances"),
        ("/v1/models/elsewhere:predict", {"instances": [{}]}, 409, "not_hosted", None),
        ("/v1/models/cancer/labels", {"labels": [{"id": "x"}]}, 422, "invalid_labels", "labels[0]"),
    ],
)
def test_client_mistakes_get_a_4xx_json_naming_the_field(
    service: Service, path: str, body: object, status: int, code: str, field: str | None
) -> None:
    response = service.client.post(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["problems"][0]["field"] == field


def test_wrong_types_nan_malformed_and_oversized_bodies(service: Service) -> None:
    bad = _instances(2)
    bad[1]["mean radius"] = "big"
    response = service.client.post("/v1/models/cancer:predict", json={"instances": bad})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "instances[1].mean radius"
    nan_body = json.dumps({"instances": _instances(1)}).replace("}]", ', "x": NaN}]')
    response = service.client.post(
        "/v1/models/cancer:predict",
        content=nan_body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and "NaN" in response.json()["error"]["message"]
    response = service.client.post(
        "/v1/models/cancer:predict",
        content=b'{"instances": [',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    huge = {"instances": _instances(1) * 2000}
    response = service.client.post("/v1/models/cancer:predict", json=huge)
    assert response.status_code == 413
    many = {"instances": _instances(1) * 501}
    response = service.client.post("/v1/models/cancer:predict", json=many)
    assert response.status_code == 413 and "at most 500" in response.json()["error"]["message"]
    assert service.store.count_predictions("cancer") == 0


def test_a_batch_with_a_bad_row_stores_nothing(service: Service) -> None:
    rows = [{"features": r, "output": "no"} for r in _instances(4)]
    rows[2]["features"] = {**rows[2]["features"], "extra": 1}
    response = service.client.post("/v1/models/elsewhere/predictions", json=rows)
    assert response.status_code == 422
    assert "predictions[2].features" in response.json()["error"]["message"]
    assert service.store.count_predictions("elsewhere") == 0


def test_model_listing_and_metrics(service: Service) -> None:
    listing = service.client.get("/v1/models").json()["models"]
    assert {m["name"] for m in listing} == {"cancer", "elsewhere"}
    info = service.client.get("/v1/models/cancer").json()
    assert info["features"] == FEATURES and info["classes"] == ["no", "yes"] and info["hosted"]
    service.client.post("/v1/models/cancer:predict", json={"instances": _instances(2)})
    text = service.client.get("/metrics").text
    assert 'seismo_ingested_rows_total{endpoint="predict",model="cancer"} 2.0' in text
    assert service.client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_json_endpoints_refuse_other_content_types(
    service: Service, content_type: str | None
) -> None:
    """A web page can send form and text/plain bodies cross-site without a preflight: every JSON
    endpoint answers 415 to them, with the JSON error shape, and stores nothing."""
    body = json.dumps({"instances": _instances(1)}).encode()
    headers = {"content-type": content_type} if content_type else {}
    silence = json.dumps({"matchers": {"model": "cancer"}, "duration": "100y", "by": "x"})
    for url, content in [
        ("/v1/models/cancer:predict", body),
        ("/v1/models/elsewhere/predictions", b'{"predictions": []}'),
        ("/v1/models/cancer/labels", b"[]"),
        ("/v1/silences", silence.encode()),
    ]:
        response = service.client.post(url, content=content, headers=headers)
        assert response.status_code == 415, (url, response.text)
        assert response.json()["error"]["code"] == "unsupported_media_type"
    assert service.store.count_predictions("cancer") == 0
    assert service.client.get("/v1/silences").json() == {"silences": []}
    ok = service.client.post(
        "/v1/models/cancer:predict",
        content=body,
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 200, ok.text


def test_labels_are_scoped_to_the_model_in_the_url(service: Service) -> None:
    """POST /v1/models/elsewhere/labels with an id of a cancer prediction labels nothing."""
    ids = service.client.post(
        "/v1/models/cancer:predict", json={"instances": _instances(1)}
    ).json()["ids"]
    answer = service.client.post(
        "/v1/models/elsewhere/labels", json=[{"prediction_id": ids[0], "label": "yes"}]
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["unknown_ids"] == ids and answer.json()["inserted"] == 0
    stored = service.store.get_prediction(ids[0])
    assert stored is not None and stored.label is None


def test_readyz_says_not_ready_when_the_store_disk_is_nearly_full(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = service.client
    assert http.get("/readyz").json() == {"status": "ready"}
    free = 10 << 20

    class Usage:
        total, used = 1 << 40, (1 << 40) - free

    monkeypatch.setattr("seismo.service.routes.health.shutil.disk_usage", lambda _: Usage())
    Usage.free = free  # type: ignore[attr-defined]
    answer = http.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "disk_full"
    assert "10 MiB free" in answer.json()["error"]["message"]
    assert http.get("/healthz").status_code == 200  # alive, only not ready


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/models", {"GET"}),
        ("/v1/models/cancer/labels", {"POST"}),
        ("/v1/silences", {"GET", "POST"}),
        ("/v1/silences/x", {"DELETE"}),
    ],
)
def test_options_answers_the_allowed_methods_and_errors_are_json(
    service: Service, path: str, allowed: set[str]
) -> None:
    http = service.client
    answer = http.options(path)
    assert answer.status_code == 204
    assert {m.strip() for m in answer.headers["allow"].split(",")} == allowed | {"OPTIONS"}
    wrong = http.put(path, json={})
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert {m.strip() for m in wrong.headers["allow"].split(",")} == allowed
    missing = http.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_max_future_skew_from_the_config_reaches_the_ingest_route(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from fastapi.testclient import TestClient

    from seismo.service.app import create_app
    from seismo.service.config import ServiceSettings
    from seismo.store import open_store
    from tests.service.conftest import create_store_with_model

    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_store_with_model(url)
    store = open_store(url)
    row = {k: v for k, v in training_frame(1).to_dict(orient="records")[0].items()}
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    body = [{"features": {k: row[k] for k in FEATURES}, "output": "yes", "timestamp": ahead}]
    try:
        for skew, status in (("1h", 422), ("1d", 200)):
            settings = ServiceSettings(store=url, max_future_skew=skew)
            with TestClient(create_app(settings, store=store)) as http:
                answer = http.post("/v1/models/m/predictions", json=body)
                assert answer.status_code == status, answer.text
    finally:
        store.close()


def test_a_label_may_say_when_it_became_known(service: Service) -> None:
    """received_at (backfills, replays) is kept as the label's time: the monitor's label
    delay is measured from it; a time ahead of the server's clock or not a time is refused,
    naming the row and the field, and nothing of the batch is stored."""
    made = "2026-01-01T10:00:00Z"
    ids = service.client.post(
        "/v1/models/cancer:predict", json={"instances": _instances(2), "timestamps": [made] * 2}
    ).json()["ids"]
    answer = service.client.post(
        "/v1/models/cancer/labels",
        json=[{"prediction_id": ids[0], "label": "yes", "received_at": "2026-01-05T10:00:00Z"}],
    )
    assert answer.status_code == 200 and answer.json()["inserted"] == 1
    stored = service.store.get_prediction(ids[0])
    assert stored is not None and stored.labelled_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    for when, says in (("2999-01-01T00:00:00Z", "ahead of the server's clock"), ("soon", "ISO")):
        refused = service.client.post(
            "/v1/models/cancer/labels",
            json=[
                {"prediction_id": ids[1], "label": "no"},
                {"prediction_id": ids[1], "label": "no", "received_at": when},
            ],
        )
        assert refused.status_code == 422
        problem = refused.json()["error"]["problems"][0]
        assert problem["field"] == "labels[1].received_at" and says in problem["message"]
        again = service.store.get_prediction(ids[1])
        assert again is not None and again.label is None

"""The service's door: no request a client can send breaks the service or the monitor.

Every refusal is a 4xx with the service's JSON error shape naming the field; everything
accepted is stored and then summarised by a monitor run that succeeds. The stores run on SQLite
and, when ``SEISMO_TEST_POSTGRES_URL`` is set, on PostgreSQL (NUL and lone surrogates behave
differently in their text columns).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

import seismo
from seismo.loop.models import register_model
from seismo.monitor import Monitor, MonitorSettings
from seismo.service.app import create_app
from seismo.service.config import ServiceSettings
from seismo.store import Store, open_store
from tests.external import free_port, wait_ready
from tests.service.conftest import (
    FEATURES,
    cancer_reference,
    create_store_with_model,
    fitted_pipeline,
    training_frame,
)
from tests.store.conftest import (  # noqa: F401 (fixtures)
    backend,
    module_backend,
    module_store_url,
    postgres_admin,
    store_url,
)

JSON_HEADERS = {"content-type": "application/json"}
MAX_BODY = 12 << 20  # room for a 10 MB label, which must be refused for what it is
SEGMENT = "tumor site"


@dataclass
class Door:
    client: TestClient
    store: Store

    def post(self, path: str, body: Any) -> httpx.Response:
        """POST ``body`` as JSON text; lone surrogates are sent escaped, ``inf`` as 1e999."""
        text = json.dumps(body).replace("Infinity", "1e999")
        return self.client.post(path, content=text, headers=JSON_HEADERS)

    def monitor(self) -> None:
        """A monitor run (with a segment per tumor site) that must succeed; then every series
        of every model answers 200."""
        Monitor(self.store, MonitorSettings(segments=(SEGMENT,))).run()
        for model in ("yn", "three", "price"):
            for kind in ("drift", "performance", "quality"):
                answer = self.client.get(f"/v1/models/{model}/{kind}")
                assert answer.status_code == 200, answer.text


def _reference(prediction: Any, score: Any = None) -> seismo.Reference:
    """Training data with the model's outputs on it (roles prediction and score), as a hosted
    model's reference has them: the monitor then profiles every logged output."""
    frame = training_frame()
    frame["prediction"] = prediction(frame)
    columns: dict[str, Any] = {
        "malignant": {"role": "target"},
        "prediction": {"role": "prediction"},
    }
    if score is not None:
        frame["score"] = score(frame)
        columns["score"] = {"role": "score"}
    return seismo.fit_reference(frame, {"columns": columns})


@cache
def _references() -> dict[str, seismo.Reference]:
    """The references of yn, three and price, fitted once (frozen values; each door stores
    them in its own store)."""
    rng = np.random.default_rng(0)
    return {
        "yn": _reference(lambda f: f["malignant"], lambda f: rng.random(len(f))),
        "three": _reference(lambda f: rng.choice(["a", "b", "c"], len(f))),
        "price": _reference(lambda f: f["mean radius"] * 2.0),
    }


@contextmanager
def _opened_door(url: str, model_file: Path, models_dir: Path) -> Iterator[Door]:
    store = open_store(url, upgrade=True)
    references = _references()
    register_model(
        store,
        "cancer",
        reference=cancer_reference(),
        model_file=model_file,
        models_dir=models_dir,
    )
    register_model(
        store, "yn", reference=references["yn"], task="classification", classes=["no", "yes"]
    )
    register_model(
        store,
        "three",
        reference=references["three"],
        task="classification",
        classes=["a", "b", "c"],
    )
    register_model(store, "price", reference=references["price"], task="regression")
    settings = ServiceSettings(store=url, max_body_bytes=MAX_BODY, max_batch_rows=500)
    try:
        with TestClient(create_app(settings, store=store)) as client:
            yield Door(client, store)
    finally:
        store.close()


@pytest.fixture
def door(store_url: str, model_file: Path, tmp_path: Path) -> Iterator[Door]:  # noqa: F811
    """A fresh service and store, for the tests that look at what was (not) stored."""
    with _opened_door(store_url, model_file, tmp_path / "models") as opened:
        yield opened


@pytest.fixture(scope="module")
def refusing_door(
    module_store_url: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Door]:
    """One service per backend for the tests that only read the answer to a request the door
    must refuse (their requests store nothing, and none looks at the store)."""
    directory = tmp_path_factory.mktemp("door")
    model_file = directory / "model.joblib"
    joblib.dump(fitted_pipeline(), model_file)
    with _opened_door(module_store_url, model_file, directory / "models") as opened:
        yield opened


def features(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = training_frame(1, seed=7)[FEATURES].to_dict(orient="records")[0]
    return {**row, **changes}


def prediction(output: Any = "yes", **fields: Any) -> dict[str, Any]:
    return {"features": features(), "output": output, **fields}


def refused(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """The error of a refusal with ``status``, naming ``field`` first when given."""
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) <= {"code", "message", "problems", "more_problems"}
    assert error["code"] and error["message"]
    if field is not None:
        assert error["problems"][0]["field"] == field, error
    return error


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


# -- outputs and scores, per task -------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "output"),
    [
        ("yn", [1, 2]),
        ("yn", {"label": "yes"}),
        ("yn", "maybe"),
        ("yn", True),  # the monitor matches by text: true is not class "yes"
        ("yn", None),
        ("three", "d"),
        ("price", "12.5"),
        ("price", [1.0]),
        ("price", True),
        ("price", float("inf")),  # sent as 1e999
        ("price", 10**400),
        ("price", 1e300),  # window sums of such values overflow
    ],
)
def test_an_output_the_task_cannot_have_is_422(door: Door, model: str, output: Any) -> None:
    rows = [prediction("no"), prediction(output)]
    if model == "price":
        rows[0]["output"] = 3.5
    elif model == "three":
        rows[0]["output"] = "a"
    refused(door.post(f"/v1/models/{model}/predictions", rows), 422, "predictions[1].output")
    assert door.store.count_predictions(model) == 0
    door.monitor()


def test_an_output_nested_900_levels_is_422(refusing_door: Door) -> None:
    body = f'[{{"features": {json.dumps(features())}, "output": {nested(900)}}}]'
    answer = refusing_door.client.post(
        "/v1/models/yn/predictions", content=body, headers=JSON_HEADERS
    )
    refused(answer, 422, "predictions[0].output")


@pytest.mark.parametrize(
    ("model", "output", "score"),
    [
        ("yn", "yes", 0.8),
        ("yn", "no", [0.7, 0.3]),
        ("yn", "yes", 1),
        ("three", "b", [0.2, 0.5, 0.3]),
        ("price", 12.5, None),
        ("price", -3, None),
        ("price", 10**30, None),  # beyond 64 bits: stored exactly, profiled as a float
    ],
)
def test_outputs_and_scores_the_task_allows_are_stored_and_monitored(
    door: Door, model: str, output: Any, score: Any
) -> None:
    row = prediction(output) if score is None else prediction(output, score=score)
    for rows in ([row], [{**row} for _ in range(70)]):  # JSON rows, then one columnar batch
        answer = door.post(f"/v1/models/{model}/predictions", rows)
        assert answer.status_code == 200, answer.text
        stored = door.store.get_prediction(answer.json()["ids"][0])
        assert stored is not None and stored.prediction.output == output
    door.monitor()


@pytest.mark.parametrize(
    ("model", "score"),
    [
        ("yn", [0.1, 0.2, 0.7]),  # three scores for two classes
        ("yn", 1.5),
        ("yn", True),
        ("yn", [0.5, "0.5"]),
        ("three", 0.5),  # one number says nothing about three classes
        ("three", [0.5, 0.5]),
        ("price", [0.5]),
    ],
)
def test_a_score_that_does_not_fit_the_classes_is_422(
    refusing_door: Door, model: str, score: Any
) -> None:
    output = {"yn": "yes", "three": "a", "price": 1.0}[model]
    answer = refusing_door.post(
        f"/v1/models/{model}/predictions", [prediction(output, score=score)]
    )
    error = refused(answer, 422, "predictions[0].score")
    assert "[0, 1]" in error["message"]


# -- feature text: stored exactly, monitored -----------------------------------------------------


@pytest.mark.parametrize("text", ["\ud800", "left\udfff", "a\x00b", "\x01\x7f\u2028"])
@pytest.mark.parametrize("rows", [1, 70])
def test_feature_text_round_trips_and_the_monitor_reads_it(
    door: Door, text: str, rows: int
) -> None:
    """Lone surrogates and NUL in a categorical feature are data: stored exactly on both
    databases (one JSON row, or a columnar batch of 70), and the monitor, which reads them as
    U+FFFD, succeeds, with a segment for the value."""
    batch = [{"features": features(**{SEGMENT: text}), "output": "yes"} for _ in range(rows)]
    answer = door.post("/v1/models/yn/predictions", batch)
    assert answer.status_code == 200, answer.text
    # A row of a closed window too: the monitor moves it into a columnar batch first.
    days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    old = door.post("/v1/models/yn/predictions", [{**batch[0], "timestamp": days_ago}])
    assert old.status_code == 200, old.text
    door.monitor()
    for prediction_id in (answer.json()["ids"][-1], old.json()["ids"][0]):
        stored = door.store.get_prediction(prediction_id)
        assert stored is not None and stored.prediction.features[SEGMENT] == text
    shown = text.replace("\x00", "\ufffd")
    shown = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in shown)
    series = door.client.get("/v1/models/yn/drift", params={"segment": f"{SEGMENT}={shown}"})
    assert series.status_code == 200
    assert [window["rows"] for window in series.json()["windows"]] == [1, rows]


def test_numbers_beyond_the_documented_magnitude_are_422_naming_the_feature(
    refusing_door: Door,
) -> None:
    rows = [
        {"features": features(**{"mean radius": 1e201}), "output": "no"},
        {"features": features(**{"mean radius": -(10**400)}), "output": "no"},
        {"features": features(**{"mean radius": float("inf")}), "output": "no"},
        {"features": features(**{"mean radius": 1e200}), "output": "no"},
    ]
    error = refused(refusing_door.post("/v1/models/yn/predictions", rows), 422)
    assert [p["field"] for p in error["problems"]] == [
        f"predictions[{i}].features.mean radius" for i in range(3)
    ]
    assert "1e+200" in error["message"]


# -- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "says"),
    [
        ("9999-12-31T23:30:00Z", "outside"),
        ("2100-01-01T00:00:00Z", "ahead of the server's clock"),
        (timedelta(days=2), "ahead of the server's clock"),
        ("0001-01-01T00:00:00Z", "outside"),
        ("0001-01-01T00:00:00+01:00", "outside"),
        ("1969-12-31T23:00:00Z", "outside"),
    ],
)
def test_timestamps_far_ahead_or_outside_the_window_range_are_422(
    door: Door, timestamp: str | timedelta, says: str
) -> None:
    if isinstance(timestamp, timedelta):
        timestamp = (datetime.now(UTC) + timestamp).isoformat()
    rows = [prediction(), prediction(timestamp=timestamp)]
    error = refused(door.post("/v1/models/yn/predictions", rows), 422, "predictions[1].timestamp")
    assert says in error["problems"][0]["message"]
    assert door.store.count_predictions("yn") == 0
    door.monitor()


def test_a_timestamp_within_the_skew_is_accepted(door: Door) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=12)).isoformat()
    answer = door.post("/v1/models/yn/predictions", [prediction(timestamp=soon)])
    assert answer.status_code == 200, answer.text
    door.monitor()


def test_max_future_skew_is_a_parameter() -> None:
    from seismo.schema.types import Kind
    from seismo.service.errors import RequestError
    from seismo.service.payloads import logged_predictions

    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{"features": {"x": 1.0}, "output": 1.0, "timestamp": "2026-01-05T00:00:00Z"}]
    model: dict[str, Any] = {
        "model": "m",
        "version": 1,
        "features": ("x",),
        "kinds": {"x": Kind.NUMERIC},
        "task": "regression",
        "classes": (),
        "now": now,
    }
    with pytest.raises(RequestError) as caught:
        logged_predictions(rows, **model)
    assert "more than 1 day ahead" in caught.value.problems[0].message
    accepted = logged_predictions(rows, **model, max_future_skew=timedelta(days=7))
    assert accepted[0].timestamp == datetime(2026, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01T00:00:00Z&rolling=7",
        "end=9999-12-31T23:59:59Z",
        "start=0001-01-01T00:00:00Z&end=9999-12-31T23:59:59Z&rolling=1000",
    ],
)
def test_series_queries_outside_the_window_range_are_422(refusing_door: Door, query: str) -> None:
    for kind in ("drift", "performance", "quality"):
        error = refused(refusing_door.client.get(f"/v1/models/yn/{kind}?{query}"), 422)
        assert error["code"] == "invalid_query" and "outside" in error["message"]


# -- JSON nesting, encoding ---------------------------------------------------------------------

POST_ROUTES = [
    "/v1/models/yn/predictions",
    "/v1/models/yn/labels",
    "/v1/silences",
    "/v1/alerts/some-alert/ack",
]


@pytest.mark.parametrize("path", POST_ROUTES)
@pytest.mark.parametrize("depth", [1000, 5000, 100_000])
def test_a_body_nested_1000_levels_or_more_is_400_invalid_json(
    refusing_door: Door, path: str, depth: int
) -> None:
    for body in (nested(depth), f'{{"predictions": {nested(depth)}}}'):
        answer = refusing_door.client.post(path, content=body, headers=JSON_HEADERS)
        error = refused(answer, 400)
        assert error["code"] == "invalid_json" and "nests too deeply" in error["message"]


def test_nested_values_are_422_naming_the_field(refusing_door: Door) -> None:
    deep = json.loads(nested(40))
    rows = [
        {"features": features(**{SEGMENT: deep}), "output": "no"},
        {"features": features(), "output": "no", "id": deep},
        {"features": features(), "output": "no", "score": deep},
    ]
    error = refused(refusing_door.post("/v1/models/yn/predictions", rows), 422)
    assert [p["field"] for p in error["problems"]] == [
        f"predictions[0].features.{SEGMENT}",
        "predictions[1].id",
        "predictions[2].score",
    ]
    labels = [{"prediction_id": "p", "label": deep}]
    refused(refusing_door.post("/v1/models/yn/labels", labels), 422, "labels[0].label")
    silence = {"matchers": {"model": "yn"}, "duration": "1h", "by": "ops", "comment": deep}
    error = refused(refusing_door.post("/v1/silences", silence), 422, "comment" + "[0]" * 31)
    assert "deeper than 32 levels" in error["message"]


@pytest.mark.parametrize("path", [*POST_ROUTES, "/v1/models/cancer:predict"])
@pytest.mark.parametrize(
    "body",
    [b'[{"features": "\xff"}]', b"\xed\xa0\x80", b'{"by": "\xc0\x80"}', b"\xff\xfe[\x00]\x00"],
)
def test_a_body_that_is_not_utf8_is_400_invalid_json(
    refusing_door: Door, path: str, body: bytes
) -> None:
    error = refused(refusing_door.client.post(path, content=body, headers=JSON_HEADERS), 400)
    assert error["code"] == "invalid_json"


# -- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id", ["", "x" * 201, "a\x00b", "tab\there", "\x85", "\ud800", 10**300]
)
def test_ids_are_1_to_200_characters_without_control_characters(door: Door, bad_id: Any) -> None:
    refused(
        door.post("/v1/models/yn/predictions", [prediction(id=bad_id)]), 422, "predictions[0].id"
    )
    labels = [{"prediction_id": bad_id, "label": "yes"}]
    refused(door.post("/v1/models/yn/labels", labels), 422, "labels[0].prediction_id")
    assert door.store.count_predictions("yn") == 0


def test_ids_of_200_characters_and_numbers_are_accepted(door: Door) -> None:
    rows = [prediction(id="é" * 200), prediction(id=12345)]
    answer = door.post("/v1/models/yn/predictions", rows)
    assert answer.status_code == 200, answer.text
    assert answer.json()["ids"] == ["é" * 200, "12345"]
    labels = [
        {"prediction_id": "é" * 200, "label": "no"},
        {"prediction_id": "12345", "label": "yes"},
    ]
    assert door.post("/v1/models/yn/labels", labels).json()["inserted"] == 2
    door.monitor()


# -- NUL: refused where it cannot be stored, on both databases ----------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/models/a%00b",
        "/v1/models/a%00b/drift",
        "/v1/models/yn%00/performance",
        "/v1/alerts/a%00",
        "/v1/models/line%0Abreak",
    ],
)
def test_a_url_path_with_a_control_character_is_404(refusing_door: Door, path: str) -> None:
    error = refused(refusing_door.client.get(path), 404)
    assert error["code"] == "not_found"
    refused(
        refusing_door.client.post(path + "/predictions", content=b"[]", headers=JSON_HEADERS), 404
    )
    refused(refusing_door.client.delete("/v1/silences/a%00b"), 404)


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/models/yn/drift?segment=a%00b", "segment"),
        ("/v1/models/yn/performance?start=2026-01-01%00", "start"),
        ("/v1/models/yn/quality?rolling=1&end=%00", "end"),
        ("/v1/models/yn/report?start=2026-01-01T00:00:00Z&segment=%00", "segment"),
        ("/v1/alerts?model=a%00", "model"),
    ],
)
def test_a_query_parameter_with_nul_is_422_naming_it(
    refusing_door: Door, path: str, parameter: str
) -> None:
    error = refused(refusing_door.client.get(path), 422, parameter)
    assert error["code"] == "invalid_query"


def test_nul_in_labels_and_silences_is_422_naming_the_field(door: Door) -> None:
    door.post("/v1/models/yn/predictions", [prediction(id="p1")])
    labels = [{"prediction_id": "p1", "label": "yes\x00"}]
    refused(door.post("/v1/models/yn/labels", labels), 422, "labels[0].label")
    for body, field in [
        ({"matchers": {"model": "a\x00"}, "duration": "1h", "by": "ops"}, "matchers.model"),
        ({"matchers": {"model": "yn"}, "duration": "1h", "by": "ops\x00"}, "by"),
        (
            {"matchers": {"model": "yn"}, "duration": "1h", "by": "o", "comment": "\ud800"},
            "comment",
        ),
    ]:
        refused(door.post("/v1/silences", body), 422, field)
    refused(door.post("/v1/alerts/x/ack", {"by": "\x00"}), 422, "by")
    assert door.client.get("/v1/silences").json() == {"silences": []}
    door.monitor()


# -- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "label"),
    [
        ("yn", "banana"),
        ("yn", "YES"),
        ("yn", 1),
        ("yn", [1]),
        ("yn", "x" * (10 << 20)),
        ("three", "no"),
        ("price", float("inf")),  # sent as 1e999
        ("price", "3.5"),
        ("price", True),
        ("price", 10**400),
    ],
)
def test_a_label_the_model_cannot_have_is_422(door: Door, model: str, label: Any) -> None:
    output = {"yn": "yes", "three": "a", "price": 1.0}[model]
    door.post(f"/v1/models/{model}/predictions", [prediction(output, id="p1")])
    answer = door.post(f"/v1/models/{model}/labels", [{"prediction_id": "p1", "label": label}])
    error = refused(answer, 422, "labels[0].label")
    assert len(answer.content) < 2000  # a huge value is not echoed back
    assert error["code"] == "invalid_labels"
    stored = door.store.get_prediction("p1")
    assert stored is not None and stored.label is None
    door.monitor()


def test_labels_the_model_can_have_are_stored(door: Door) -> None:
    door.post("/v1/models/yn/predictions", [prediction("yes", id="y1")])
    door.post("/v1/models/price/predictions", [prediction(2.0, id="r1"), prediction(2, id="r2")])
    assert (
        door.post("/v1/models/yn/labels", [{"prediction_id": "y1", "label": "no"}]).json()[
            "inserted"
        ]
        == 1
    )
    labels = [{"prediction_id": "r1", "label": 2.5}, {"prediction_id": "r2", "label": -(10**20)}]
    assert door.post("/v1/models/price/labels", labels).json()["inserted"] == 2
    door.monitor()
    metrics = door.client.get("/v1/models/price/performance").json()["windows"][0]["metrics"]
    assert metrics["n"] == 2


# -- body limits --------------------------------------------------------------------------------


def chunks(total: int, size: int = 1 << 16) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size


ALL_ROUTES = [
    ("POST", "/v1/models/yn/predictions"),
    ("POST", "/v1/models/yn/labels"),
    ("POST", "/v1/models/cancer:predict"),
    ("POST", "/v1/silences"),
    ("POST", "/v1/alerts/a/ack"),
]


def _too_large_so_far(door: Door) -> float:
    """The service's count of requests refused as too large, from /metrics."""
    series = 'seismo_rejected_requests_total{code="body_too_large"} '
    for line in door.client.get("/metrics").text.splitlines():
        if line.startswith(series):
            return float(line.removeprefix(series))
    return 0.0


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_a_chunked_body_over_the_limit_is_413(refusing_door: Door, method: str, path: str) -> None:
    """No Content-Length: the bytes are counted as they are read. Both refusals are counted
    (the service is shared by the module's refusal tests: the count is read before)."""
    before = _too_large_so_far(refusing_door)
    answer = refusing_door.client.request(
        method, path, content=chunks(MAX_BODY + 1), headers=JSON_HEADERS
    )
    assert "content-length" not in answer.request.headers
    error = refused(answer, 413)
    assert error["code"] == "body_too_large" and str(MAX_BODY) in error["message"]
    declared = refusing_door.client.request(
        method, path, content=b"x" * (MAX_BODY + 1), headers=JSON_HEADERS
    )
    assert refused(declared, 413)["code"] == "body_too_large"
    assert _too_large_so_far(refusing_door) == before + 2


def test_the_middleware_stops_reading_at_the_limit_and_buffers_nothing() -> None:
    """Pure ASGI: an app that reads every chunk it is given sees at most the limit (plus one
    chunk) before the read that crosses it fails, and the client gets a 413 JSON answer."""
    import asyncio

    from seismo.service.limits import RequestLimits

    chunk = b"x" * 1000
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}  # never ends

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def greedy_app(scope: Any, receive: Any, send: Any) -> None:
        while True:  # reads until its reads fail
            await receive()

    middleware = RequestLimits(greedy_app, max_body_bytes=10_000)
    scope = {"type": "http", "path": "/x", "query_string": b"", "headers": []}
    asyncio.run(middleware(scope, receive, send))  # type: ignore[arg-type]
    assert pulled == 11
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "body_too_large"


def test_a_client_that_leaves_mid_body_is_not_an_error_of_the_service() -> None:
    """Starlette raises ClientDisconnect in the route when the client goes away (or uvicorn
    refuses a malformed chunk): nobody is left to answer, and nothing is logged as a crash."""
    import asyncio

    from starlette.requests import ClientDisconnect

    from seismo.service.limits import RequestLimits

    sent: list[Any] = []

    async def leaving_app(scope: Any, receive: Any, send: Any) -> None:
        raise ClientDisconnect()

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    middleware = RequestLimits(leaving_app, max_body_bytes=10)
    scope = {"type": "http", "path": "/x", "query_string": b"", "headers": []}
    asyncio.run(middleware(scope, receive, send))  # type: ignore[arg-type]
    assert sent == []


def test_404_and_405_have_the_json_error_shape(refusing_door: Door) -> None:
    assert refused(refusing_door.client.get("/v1/nothing"), 404)["code"] == "not_found"
    assert refused(refusing_door.client.put("/healthz"), 405)["code"] == "method_not_allowed"


def _peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/{pid}/status")


def test_a_real_server_refuses_a_1_gib_chunked_body_in_little_memory(tmp_path: Path) -> None:
    """``seismo serve`` on loopback, ``max_body_bytes`` 1 MiB: a 1 GiB chunked POST to the
    silences route (whose handler reads its whole body) is 413, and the server's peak resident
    memory grows by far less than the body."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_store_with_model(url, "m")
    config = tmp_path / "seismo.yaml"
    config.write_text(f"store: {url}\nmax_body_bytes: 1048576\n")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "seismo.cli", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_ready(f"{base}/healthz", server, name="seismo serve")
        before = _peak_rss_kib(server.pid)
        for path in ("/v1/silences", "/v1/models/m/predictions"):
            answer = httpx.post(
                base + path, content=chunks(1 << 30), headers=JSON_HEADERS, timeout=60
            )
            assert answer.status_code == 413, answer.text
            assert answer.json()["error"]["code"] == "body_too_large"
        grown = _peak_rss_kib(server.pid) - before
        assert grown < 64 * 1024, f"peak RSS grew by {grown} KiB"
        assert httpx.get(f"{base}/healthz").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)


# -- property: random JSON is never a 5xx, and whatever is accepted is monitored ----------------

_AWKWARD_TEXT = st.sampled_from(
    ["", "\x00", "a\x00b", "\ud800", "\udfff\ud800", "\x7f\x85", "\u2028", "yes", "no", "é" * 300]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=False)  # inf is sent as 1e999
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
    | _AWKWARD_TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_AWKWARD_TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _bodies(draw: st.DrawFn) -> tuple[str, str]:
    """(path, JSON text) of a request to one of the batch routes or the silences route."""
    model = draw(st.sampled_from(["yn", "three", "price"]))
    route = draw(st.sampled_from(["predictions", "labels", "silences"]))
    valid = {"yn": "yes", "three": "a", "price": 1.5}[model]
    rows: list[Any] = []
    for _ in range(draw(st.integers(1, 2))):
        # A valid row with one field drawn at random: accepted or refused for that field alone.
        if route == "predictions":
            row: dict[str, Any] = {"features": features(), "output": valid}
            field = draw(st.sampled_from([SEGMENT, "mean radius", "output", "id", "score", "time"]))
            value = draw(_VALUES)
            if field in FEATURES:
                row["features"][field] = value
            else:
                row["timestamp" if field == "time" else field] = value
        else:
            row = {"prediction_id": draw(st.sampled_from(["p0", "p1"]) | _VALUES)}
            row["label"] = draw(st.just(valid) | _VALUES)
        rows.append(row)
    if route == "silences":
        body: Any = {
            "matchers": {"model": draw(_VALUES)},
            "duration": "1h",
            "by": draw(_VALUES),
            "comment": draw(_VALUES),
        }
        path = "/v1/silences"
    else:
        body, path = rows, f"/v1/models/{model}/{route}"
    text = json.dumps(body).replace("Infinity", "1e999")
    depth = draw(st.sampled_from([0, 0, 0, 40, 999, 1500]))
    if depth:
        text = f'{{"{route}": {nested(depth, text)}}}'
    return path, text


def test_random_json_is_never_a_5xx_and_what_is_accepted_is_monitored(door: Door) -> None:
    for i in range(2):  # ids the labels can find
        door.post("/v1/models/yn/predictions", [prediction("yes", id=f"p{i}")])
    accepted = 0

    @settings(max_examples=150, deadline=None, derandomize=True, database=None)
    @given(_bodies())
    def post(request: tuple[str, str]) -> None:
        nonlocal accepted
        path, text = request
        answer = door.client.post(path, content=text, headers=JSON_HEADERS)
        assert answer.status_code < 500, answer.text
        if answer.status_code >= 400:
            refused(answer, answer.status_code)
            return
        accepted += 1
        door.monitor()

    post()
    door.monitor()
    assert accepted > 0

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

import seismo
from seismo.monitor import Monitor, MonitorSettings
from seismo.service.app import create_app
from seismo.service.config import ServiceSettings
from seismo.service.models import register_model
from seismo.store import Store, open_store
from tests.external import free_port, wait_ready
from tests.service.conftest import FEATURES, create_store_with_model, training_frame
from tests.store.conftest import backend, postgres_admin, store_url  # noqa: F401 (fixtures)

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


@pytest.fixture
def door(store_url: str, model_file: Path, tmp_path: Path) -> Iterator[Door]:  # noqa: F811
    store = open_store(store_url, upgrade=True)
    rng = np.random.default_rng(0)
    register_model(
        store,
        "cancer",
        reference=seismo.fit_reference(
            training_frame(), {"columns": {"malignant": {"role": "target"}}}
        ),
        model_file=model_file,
        models_dir=tmp_path / "models",
    )
    register_model(
        store,
        "yn",
        reference=_reference(lambda f: f["malignant"], lambda f: rng.random(len(f))),
        task="classification",
        classes=["no", "yes"],
    )
    register_model(
        store,
        "three",
        reference=_reference(lambda f: rng.choice(["a", "b", "c"], len(f))),
        task="classification",
        classes=["a", "b", "c"],
    )
    register_model(
        store,
        "price",
        reference=_reference(lambda f: f["mean radius"] * 2.0),
        task="regression",
    )
    settings = ServiceSettings(store=store_url, max_body_bytes=MAX_BODY, max_batch_rows=500)
    with TestClient(create_app(settings, store=store)) as client:
        yield Door(client, store)
    store.close()


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
def test_a_url_path_with_a_control_character_is_404(door: Door, path: str) -> None:
    error = refused(door.client.get(path), 404)
    assert error["code"] == "not_found"
    refused(door.client.post(path + "/predictions", content=b"[]", headers=JSON_HEADERS), 404)
    refused(door.client.delete("/v1/silences/a%00b"), 404)


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
def test_a_query_parameter_with_nul_is_422_naming_it(door: Door, path: str, parameter: str) -> None:
    error = refused(door.client.get(path), 422, parameter)
    assert error["code"] == "invalid_query"


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


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_a_chunked_body_over_the_limit_is_413(door: Door, method: str, path: str) -> None:
    """No Content-Length: the bytes are counted as they are read."""
    answer = door.client.request(method, path, content=chunks(MAX_BODY + 1), headers=JSON_HEADERS)
    assert "content-length" not in answer.request.headers
    error = refused(answer, 413)
    assert error["code"] == "body_too_large" and str(MAX_BODY) in error["message"]
    declared = door.client.request(
        method, path, content=b"x" * (MAX_BODY + 1), headers=JSON_HEADERS
    )
    assert refused(declared, 413)["code"] == "body_too_large"
    assert (
        'seismo_rejected_requests_total{code="body_too_large"}' in door.client.get("/metrics").text
    )


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


def test_404_and_405_have_the_json_error_shape(door: Door) -> None:
    assert refused(door.client.get("/v1/nothing"), 404)["code"] == "not_found"
    assert refused(door.client.put("/healthz"), 405)["code"] == "method_not_allowed"


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

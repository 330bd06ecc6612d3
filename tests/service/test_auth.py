"""API tokens and scopes: every route through a real ``seismo serve``, every scope."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from seismo.cli import EXIT_INPUT, app
from seismo.client import Client
from seismo.service.app import ROUTERS, create_app
from seismo.service.auth import SCOPES, Authenticator, create_token
from seismo.service.config import ServiceSettings
from seismo.store import open_store
from tests.external import free_port, running_prometheus, seismo_serve, wait_ready
from tests.service.conftest import FEATURES, training_frame

WINDOW = "2026-05-04T00:00:00Z"
ROW = {k: v for k, v in training_frame(1, seed=3).to_dict(orient="records")[0].items()}
FEATURES_ROW = {k: ROW[k] for k in FEATURES}

#: (method, path, JSON body, scope it needs); every route of the service but the probes.
ROUTES = [
    ("GET", "/v1/models", None, "read"),
    ("GET", "/v1/models/m", None, "read"),
    ("POST", "/v1/models/m:predict", {"instances": [FEATURES_ROW]}, "predict"),
    (
        "POST",
        "/v1/models/m/predictions",
        [{"features": FEATURES_ROW, "output": "yes", "timestamp": "2026-05-04T10:00:00Z"}],
        "ingest",
    ),
    ("POST", "/v1/models/m/labels", [{"prediction_id": "nope", "label": "yes"}], "ingest"),
    ("GET", "/v1/models/m/drift", None, "read"),
    ("GET", "/v1/models/m/performance", None, "read"),
    ("GET", "/v1/models/m/quality", None, "read"),
    ("GET", f"/v1/models/m/report?start={WINDOW}", None, "read"),
    ("GET", "/v1/models/m/versions", None, "read"),
    ("GET", "/v1/models/m/decisions", None, "read"),
    ("POST", "/v1/models/m/versions/1:promote", {"by": "me"}, "admin"),
    ("POST", "/v1/models/m/versions/2:rollout", {"by": "me", "mode": "shadow"}, "admin"),
    ("POST", "/v1/models/m:rollback", {"by": "me"}, "admin"),
    ("POST", "/v1/monitor/run", None, "admin"),
    ("POST", "/v1/loop/run", None, "admin"),
    ("GET", "/v1/alerts", None, "read"),
    ("GET", "/v1/alerts/nope", None, "read"),
    ("POST", "/v1/alerts/nope/ack", {"by": "me"}, "admin"),
    ("GET", "/v1/silences", None, "read"),
    ("POST", "/v1/silences", {"matchers": {"model": "m"}, "duration": "1h", "by": "me"}, "admin"),
    ("DELETE", "/v1/silences/nope", None, "admin"),
    ("GET", "/metrics", None, "read"),
]
PUBLIC = ["/healthz", "/readyz"]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A real server whose store holds one token per scope, and one revoked token."""
    tokens: dict[str, str] = {}

    def make_tokens(url: str) -> None:
        store = open_store(url)
        try:
            for scope in SCOPES:
                tokens[scope] = create_token(store, f"t-{scope}", scope)
            tokens["revoked"] = create_token(store, "gone", "admin")
            assert store.revoke_token("gone", at=__import__("datetime").datetime.now().astimezone())
        finally:
            store.close()

    with seismo_serve(tmp_path_factory.mktemp("auth"), before=make_tokens) as base:
        yield base, tokens


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module: a fresh ``httpx.request`` builds a TLS context each call
    (~50 ms of CPU), which is most of a check's cost. Every request still carries its own
    Authorization header (or none), so each is authenticated on its own."""
    with httpx.Client(timeout=60) as client:
        yield client


def _call(
    http: httpx.Client, base: str, method: str, path: str, body: object, token: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http.cookies.clear()  # nothing but the header may authenticate a request
    return http.request(method, base + path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "needs"), ROUTES)
def test_every_route_needs_its_scope(
    secured: tuple[str, dict[str, str]],
    http: httpx.Client,
    method: str,
    path: str,
    body: object,
    needs: str,
) -> None:
    base, tokens = secured
    for presented in (None, "seismo_not-a-token", tokens["revoked"]):
        answer = _call(http, base, method, path, body, presented)
        assert answer.status_code == 401, (presented, answer.text)
        assert answer.json()["error"]["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    for scope in SCOPES:
        answer = _call(http, base, method, path, body, tokens[scope])
        if scope == needs or scope == "admin":
            assert answer.status_code not in (401, 403), (scope, answer.text)
        else:
            assert answer.status_code == 403, (scope, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "forbidden" and repr(needs) in error["message"]


def test_probes_need_no_token(secured: tuple[str, dict[str, str]], http: httpx.Client) -> None:
    base, _ = secured
    for path in PUBLIC:
        assert http.get(base + path).status_code == 200


def test_the_client_carries_its_token(secured: tuple[str, dict[str, str]]) -> None:
    base, tokens = secured
    with Client(base, "m", token=tokens["ingest"]) as client:
        client.log(FEATURES_ROW, output="yes")
    assert client.delivered == 1 and not client.failed
    with Client(base, "m", token=tokens["read"], max_retries=0) as refused:
        refused.log(FEATURES_ROW, output="yes")
    assert refused.delivered == 0 and "403" in str(refused.failed[0])


def test_prometheus_scrapes_with_a_read_token(
    secured: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, tokens = secured
    secret = tmp_path / "token"
    secret.write_text(tokens["read"])
    target = base.removeprefix("http://")
    config = (
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: seismo\n"
        f"    authorization: {{type: Bearer, credentials_file: {secret}}}\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
        "  - job_name: seismo-anonymous\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    with running_prometheus(tmp_path, config) as prometheus:
        deadline = time.monotonic() + 60
        up: dict[str, float] = {}
        while time.monotonic() < deadline and len(up) < 2:
            answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": "up"}).json()
            up = {r["metric"]["job"]: float(r["value"][1]) for r in answer["data"]["result"]}
            time.sleep(0.5)
    assert up == {"seismo": 1.0, "seismo-anonymous": 0.0}


def test_metrics_public_opens_only_metrics(tmp_path: Path) -> None:
    def make_token(url: str) -> None:
        store = open_store(url)
        try:
            create_token(store, "ops", "admin")
        finally:
            store.close()

    with seismo_serve(
        tmp_path, before=make_token, extra_config="auth:\n  metrics_public: true\n"
    ) as base:
        assert httpx.get(f"{base}/metrics").status_code == 200
        assert httpx.get(f"{base}/v1/models").status_code == 401


def test_without_tokens_the_service_is_open_and_a_new_token_closes_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    try:
        with TestClient(create_app(ServiceSettings(store=url), store=store)) as http:
            state = http.app.state.seismo  # type: ignore[attr-defined]
            state.auth = Authenticator(store, cache_seconds=0)
            assert http.get("/v1/models").status_code == 200
            token = create_token(store, "first", "read")
            assert http.get("/v1/models").status_code == 401
            bearer = {"Authorization": f"Bearer {token}"}
            assert http.get("/v1/models", headers=bearer).status_code == 200
            store.revoke_token("first", at=__import__("datetime").datetime.now().astimezone())
            assert http.get("/v1/models", headers=bearer).status_code == 200  # no token left
            create_token(store, "second", "admin")
            assert http.get("/v1/models", headers=bearer).status_code == 401  # revoked
    finally:
        store.close()


def test_every_route_declares_a_scope_or_is_a_probe() -> None:
    """A route added without a scope would be open to anyone once tokens exist; and this
    test's list of routes is the service's."""
    # The UI's pages check their session themselves: tests/service/ui/test_http.py drives
    # every one of them without one.
    routes = [
        route
        for router in ROUTERS
        for route in router.routes
        if not getattr(route, "path", "").startswith("/ui")
    ]
    assert all(isinstance(route, APIRoute) for route in routes)
    unguarded = []
    found = set()
    for route in routes:
        assert isinstance(route, APIRoute)
        found |= {(method, route.path) for method in route.methods}
        names = {getattr(d.call, "__name__", "") for d in route.dependant.dependencies}
        if route.path not in [*PUBLIC, "/metrics"] and not any(
            name.startswith("require_") for name in names
        ):
            unguarded.append(route.path)
    assert unguarded == []
    listed = set()
    for method, path, _, _ in ROUTES:
        path = path.split("?")[0].replace("/v1/models/m", "/v1/models/{name}")
        path = path.replace("/alerts/nope", "/alerts/{alert_id}")
        path = re.sub(r"/versions/[0-9]+:", "/versions/{version}:", path)
        listed.add((method, path.replace("/silences/nope", "/silences/{silence_id}")))
    assert found == listed | {("GET", path) for path in PUBLIC}


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.com"])
def test_serve_refuses_to_listen_beyond_loopback_without_a_token(
    tmp_path: Path, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The serve command itself, in process, for each kind of address (the real command line
    is the next test's)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url, upgrade=True).close()

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"seismo serve started on {host} with no API token")

    monkeypatch.setattr("uvicorn.run", started)
    result = CliRunner().invoke(app, ["serve", "--store", url, "--host", host])
    assert result.exit_code == EXIT_INPUT, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = result.stderr.strip().splitlines()
    assert f"refusing to listen on {host}" in line and "seismo tokens create" in line


def test_serve_refuses_to_listen_beyond_loopback_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url, upgrade=True).close()
    result = subprocess.run(
        [sys.executable, "-m", "seismo.cli", "serve", "--store", url, "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "refusing to listen on 0.0.0.0" in line and "seismo tokens create" in line


def test_serve_listens_beyond_loopback_with_insecure_or_a_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url, upgrade=True).close()
    for extra in (["--insecure"], []):
        if not extra:
            store = open_store(url)
            create_token(store, "ops", "admin")
            store.close()
        port = free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seismo.cli",
                "serve",
                "--store",
                url,
                "--host",
                "0.0.0.0",
                "--port",
                str(port),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", process, name="seismo serve", timeout=60)
        finally:
            process.terminate()
            process.wait(timeout=10)

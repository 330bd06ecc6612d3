"""The published OpenAPI document against a real ``seismo serve`` with tokens: schemathesis
generates requests from it (examples, coverage, fuzzing and the stateful phase) and every
answer must be a documented status with a documented body — no 5xx, no schema violation.

``SEISMO_SCHEMATHESIS_EXAMPLES`` sets the number of examples per operation (default 50);
``SEISMO_SCHEMATHESIS_SEED`` replays a run (no example database is kept between runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seismo.service.auth import create_token
from seismo.store import open_store
from tests.external import seismo_serve

CHECKS = (
    "not_a_server_error,response_schema_conformance,status_code_conformance,"
    "content_type_conformance"
)
EXAMPLES = os.environ.get("SEISMO_SCHEMATHESIS_EXAMPLES", "50")
SEED = os.environ.get("SEISMO_SCHEMATHESIS_SEED", "20261204")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tokens: list[str] = []

    def admin_token(url: str) -> None:
        store = open_store(url)
        try:
            tokens.append(create_token(store, "fuzz", "admin"))
        finally:
            store.close()

    with seismo_serve(tmp_path_factory.mktemp("openapi"), before=admin_token) as base:
        yield base, tokens[0]


def _schemathesis(base: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert command is not None, "schemathesis is a test dependency: pip install -e .[test]"
    return subprocess.run(
        [
            command,
            "run",
            f"{base}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
            "--workers",
            "1",
            "--request-timeout",
            "60",
            # No example database: the run is the seed's alone (not also what earlier runs left
            # in .hypothesis/, which a fresh clone does not have), and Hypothesis skips keeping
            # a Pareto front of the examples for it, which took half of the run's time.
            "--generation-database",
            "none",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )


def test_every_operation_answers_as_documented_with_a_token(server: tuple[str, str]) -> None:
    base, token = server
    result = _schemathesis(
        base,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--header",
        f"Authorization: Bearer {token}",
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Stateful" in result.stdout and "passed" in result.stdout


def test_every_operation_answers_as_documented_without_a_token(server: tuple[str, str]) -> None:
    base, _ = server
    result = _schemathesis(base, "--phases", "coverage")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_document_declares_bodies_errors_and_the_bearer_scheme(
    server: tuple[str, str],
) -> None:
    base, _ = server
    document = httpx.get(f"{base}/openapi.json").json()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if path in ("/healthz", "/readyz"):
                continue
            assert {"401", "403", "503"} <= codes, (method, path)
            if method == "post" and path not in ("/v1/monitor/run", "/v1/loop/run"):
                assert {"400", "413", "415", "422"} <= codes, (method, path)
                assert "application/json" in operation["requestBody"]["content"], path
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]

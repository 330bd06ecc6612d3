"""A real Prometheus server scrapes the service's /metrics and a series is queried back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.external import running_prometheus, seismo_serve
from tests.service.conftest import training_frame


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with seismo_serve(tmp_path) as base:
        yield base


def test_prometheus_scrapes_drift_and_performance(server: str, tmp_path: Path) -> None:
    frame = training_frame(400, seed=9)
    frame["mean radius"] += 3.0  # a clear shift
    rows = [
        {
            "id": f"p{i}",
            "features": {k: v for k, v in row.items() if k != "malignant"},
            "output": row["malignant"],
            "score": 0.7,
            "timestamp": "2026-05-04T10:00:00Z",
        }
        for i, row in enumerate(frame.to_dict(orient="records"))
    ]
    assert httpx.post(f"{server}/v1/models/m/predictions", json=rows).status_code == 200
    labels = [{"prediction_id": f"p{i}", "label": "yes"} for i in range(100)]
    assert httpx.post(f"{server}/v1/models/m/labels", json=labels).status_code == 200
    assert httpx.post(f"{server}/v1/monitor/run", timeout=30).json()["windows"] == 1
    exposition = httpx.get(f"{server}/metrics").text
    expected_line = next(
        line
        for line in exposition.splitlines()
        if line.startswith("seismo_feature_drift_psi{") and 'feature="mean radius"' in line
    )
    expected = float(expected_line.rsplit(" ", 1)[1])
    assert expected > 0.25

    target = server.removeprefix("http://")
    config = (
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: seismo\n    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    with running_prometheus(tmp_path, config) as prometheus:
        query = 'seismo_feature_drift_psi{feature="mean radius",model="m",segment="all"}'
        deadline = time.monotonic() + 60
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline and not result:
            try:
                answer = httpx.get(
                    f"{prometheus}/api/v1/query", params={"query": query}, timeout=2
                ).json()
                result = answer.get("data", {}).get("result", [])
            except (httpx.HTTPError, ValueError):
                pass
            if not result:
                time.sleep(0.5)
        assert result, "Prometheus never returned the series"
        value = float(result[0]["value"][1])  # type: ignore[index]
        assert value == pytest.approx(expected)
        coverage = httpx.get(
            f"{prometheus}/api/v1/query",
            params={"query": 'seismo_label_coverage{model="m",segment="all"}'},
        ).json()["data"]["result"]
        assert float(coverage[0]["value"][1]) == pytest.approx(0.25)

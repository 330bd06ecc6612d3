"""seismo.Client against a real server that goes down and comes back."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from seismo.client import Client
from seismo.store import open_store
from tests.external import free_port, wait_ready
from tests.service.conftest import FEATURES, create_store_with_model, training_frame


def _serve(url: str, port: int, cwd: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "seismo.cli", "serve", "--store", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    wait_ready(f"http://127.0.0.1:{port}/healthz", process, name="seismo serve")
    return process


def test_client_batches_retries_through_an_outage_and_sends_labels(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_store_with_model(url)
    port = free_port()
    rows = training_frame(300, seed=4)[FEATURES].to_dict(orient="records")

    server = _serve(url, port, tmp_path)
    client = Client(
        f"http://127.0.0.1:{port}",
        "m",
        batch_size=100,
        flush_interval=0.05,
        backoff=0.1,
        max_retries=20,
    )
    try:
        ids = [client.log(row, output="no", score=0.3) for row in rows[:100]]
        client.flush(timeout=30)
        assert client.delivered == 100
        server.terminate()
        server.wait(timeout=10)
        ids += [client.log(row, output="yes", score=0.9) for row in rows[100:]]
        time.sleep(0.5)  # the client is now retrying against a closed port
        assert client.pending > 0
        server = _serve(url, port, tmp_path)
        client.flush(timeout=60)
        assert client.delivered == 300 and not client.failed
        outcome = client.log_labels({ids[0]: "yes", ids[1]: "no", "missing": "no"})
        assert outcome["inserted"] == 2 and outcome["unknown_ids"] == ["missing"]
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)
    store = open_store(url)
    try:
        assert store.count_predictions("m") == 300
        assert all(store.get_prediction(i) is not None for i in ids)
    finally:
        store.close()


def test_a_refused_batch_is_reported_not_retried(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_store_with_model(url)
    port = free_port()
    server = _serve(url, port, tmp_path)
    errors: list[Exception] = []
    try:
        with Client(f"http://127.0.0.1:{port}", "m", on_error=errors.append) as client:
            client.log({"unknown": 1}, output="no")
        assert client.delivered == 0 and len(client.failed) == 1
        assert "422" in str(errors[0]) and "unknown feature" in str(errors[0])
    finally:
        server.terminate()
        server.wait(timeout=10)

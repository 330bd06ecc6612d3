"""Every acknowledged prediction survives a SIGKILL of the server under concurrent load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import joblib

import seismo
from seismo.loop.models import register_model
from seismo.store import open_store
from tests.external import free_port, wait_ready
from tests.service.conftest import FEATURES, fitted_pipeline, training_frame


def test_acknowledged_predictions_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    model_file = tmp_path / "model.joblib"
    frame = training_frame()
    joblib.dump(fitted_pipeline(), model_file)
    store = open_store(url, upgrade=True)
    reference = seismo.fit_reference(frame, {"columns": {"malignant": {"role": "target"}}})
    register_model(
        store, "cancer", reference=reference, model_file=model_file, models_dir=tmp_path / "models"
    )
    store.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "seismo.cli", "serve", "--store", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    instances = training_frame(8, seed=3)[FEATURES].to_dict(orient="records")

    def client(worker: int) -> None:
        with httpx.Client(base_url=base, timeout=5.0) as http:
            sequence = 0
            while not stop.is_set():
                sequence += 1
                try:
                    if sequence % 2:
                        response = http.post(
                            "/v1/models/cancer:predict", json={"instances": instances[:2]}
                        )
                        ids = response.json()["ids"] if response.status_code == 200 else []
                    else:
                        rows = [
                            {"id": f"w{worker}-{sequence}-{i}", "features": row, "output": "no"}
                            for i, row in enumerate(instances[:3])
                        ]
                        response = http.post("/v1/models/cancer/predictions", json=rows)
                        ids = response.json()["ids"] if response.status_code == 200 else []
                except (httpx.HTTPError, ValueError):
                    continue  # no acknowledgement: the row may or may not be stored
                with lock:
                    acknowledged.extend(ids)

    try:
        wait_ready(f"{base}/healthz", server, name="seismo serve")
        threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with lock:
                if len(acknowledged) >= 2000:
                    break
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()
    assert server.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 500, "the load did not get going"

    store = open_store(url)
    try:
        missing = [i for i in acknowledged if store.get_prediction(i) is None]
        assert not missing, f"{len(missing)} acknowledged predictions lost, e.g. {missing[:3]}"
        assert store.count_predictions("cancer") >= len(acknowledged)
    finally:
        store.close()

"""Fixtures of the alerting tests: a real Alertmanager (Debian's prometheus-alertmanager)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.alerts.receivers import free_port

CONFIG = """\
route:
  receiver: "null"
receivers:
  - name: "null"
"""


def _alertmanager() -> str:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(
                "prometheus-alertmanager is not installed; .ci/run must install Debian's "
                "prometheus-alertmanager"
            )
        pytest.skip("prometheus-alertmanager is not installed: Alertmanager sink test not run")
    return binary


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = _alertmanager()
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                stderr = process.stderr.read() if process.stderr else b""
                raise AssertionError(f"Alertmanager exited early: {stderr.decode()[-2000:]}")
            try:
                if httpx.get(f"{base}/-/ready", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("Alertmanager did not become ready in 30 s")
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)

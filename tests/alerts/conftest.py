"""Fixtures of the alerting tests: a real Alertmanager (Debian's prometheus-alertmanager)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.external import free_port, require_binary, running

CONFIG = """\
route:
  receiver: "null"
receivers:
  - name: "null"
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = require_binary(
        "prometheus-alertmanager",
        "alertmanager",
        package="prometheus-alertmanager",
        what="Alertmanager sink test",
    )
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
    ]
    with running(command, f"{base}/-/ready", name="Alertmanager"):
        yield base

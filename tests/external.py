"""Real components the tests start on loopback: binaries from Debian's packages, a real
``seismo serve``, a real Prometheus. A missing binary skips its test with the reason, and
fails it when ``CI`` is set (``.ci/run`` installs them)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import create_store_with_model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_binary(*names: str, package: str, what: str) -> str:
    """The first of ``names`` on PATH; skip ``what`` without it (fail under CI)."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    if os.environ.get("CI"):
        pytest.fail(f"{names[0]} is not installed; .ci/run must install Debian's {package}")
    pytest.skip(f"{names[0]} is not installed (Debian's {package}): {what} not run")


def wait_ready(
    url: str, process: subprocess.Popen[bytes], *, name: str = "server", timeout: float = 30.0
) -> None:
    """Poll ``url`` until it answers 200; fail with the process's stderr if it exits first."""
    deadline = time.monotonic() + timeout
    # One client for every poll: a bare httpx.get builds a TLS context each time (~50 ms of
    # CPU), which would compete with the server's own start-up for the same cores.
    with httpx.Client(timeout=0.5) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                stderr = process.stderr.read() if process.stderr else b""
                raise AssertionError(f"{name} exited early: {stderr.decode()[-2000:]}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise AssertionError(f"{name} did not become ready in {timeout:g} s")


@contextmanager
def running(
    command: list[str], ready_url: str, *, name: str, cwd: Path | None = None
) -> Iterator[None]:
    """Run ``command`` until the block ends, once ``ready_url`` answers 200."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
    try:
        wait_ready(ready_url, process, name=name)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def running_prometheus(tmp_path: Path, config: str) -> Iterator[str]:
    """A real Prometheus with ``config`` as prometheus.yml; yields its URL."""
    binary = require_binary("prometheus", package="prometheus", what="Prometheus test")
    (tmp_path / "prometheus.yml").write_text(config)
    port = free_port()
    command = [
        binary,
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(command, f"{url}/-/ready", name="prometheus"):
        yield url


@contextmanager
def seismo_serve(
    tmp_path: Path, *, before: Callable[[str], None] | None = None, extra_config: str = ""
) -> Iterator[str]:
    """A real ``seismo serve`` (a subprocess) on a SQLite store with model ``m`` registered and
    daily windows; yields its base URL. ``before`` gets the store URL before the server starts
    (e.g. to create API tokens); ``extra_config`` is appended to its seismo.yaml."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_store_with_model(url, training_rows=1000)
    if before is not None:
        before(url)
    config = tmp_path / "seismo.yaml"
    config.write_text(f"store: {url}\nmonitor:\n  window: 1d\n{extra_config}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "seismo.cli",
        "serve",
        "--config",
        str(config),
        "--port",
        str(port),
    ]
    with running(command, f"{base}/healthz", name="seismo serve", cwd=tmp_path):
        yield base

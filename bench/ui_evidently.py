"""Evidently's UI on the year bench/ui_speed.py shows in seismo's: the peer's side of that bench.

``bench/ui_speed.py`` imports this module and calls :func:`run`, which

1. builds (once; kept in ``bench/.cache/``) an Evidently 0.7 workspace of the same rows
   (bench/ui_data.py): one project, one snapshot per day made by ``Report([RowCount(),
   DataDriftPreset(), ClassificationPreset()])`` against the same training data, and a
   dashboard of the series seismo's model page shows — drifted-column share, every feature's
   drift score (the heatmap's counterpart: one line per feature), accuracy / F1 / ROC AUC, and
   rows per day. The build runs in ``bench/.venv-evidently`` (Evidently's own virtualenv, created
   by drift_vs_evidently.py's rule) as ``python bench/ui_evidently.py create|snapshots ...``
   in two processes, and is timed (the sum of their report time is Evidently's cost of
   monitoring the year, beside seismo's single-process monitor run);
2. serves it with ``evidently ui`` on loopback (telemetry off) and measures, like seismo's side:
   - server: each API request the dashboard page makes (recorded from the browser) replayed
     over HTTP, first and median of ``runs`` more, with the bytes answered;
   - browser: Debian's Chromium through Playwright, a fresh context per run, from navigation
     until every panel of the dashboard has drawn its chart (and the network is quiet), with
     bytes, requests, SVG elements and any request that leaves the server.

This file imports only the standard library at the top: its build half runs in Evidently's
virtualenv, its measuring half in the project's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
CACHE = BENCH_DIR / ".cache"
PROJECT = "wide"
BUILD_VERSION = 1
#: Processes building the snapshots (each day's report is independent): the machine's cores.
PARTS = 2

#: The dashboard: (title, [(legend, metric type, labels)]) — the series seismo's model page draws.
PANELS: list[tuple[str, list[tuple[str, str, dict[str, str]]]]] = [
    (
        "Share of drifted features",
        [("share", "evidently:metric_v2:DriftedColumnsCount", {"value_type": "share"})],
    ),
    ("Drift score per feature", [("{{column}}", "evidently:metric_v2:ValueDrift", {})]),
    (
        "Performance",
        [
            ("accuracy", "evidently:metric_v2:Accuracy", {}),
            ("F1", "evidently:metric_v2:F1Score", {}),
            ("ROC AUC", "evidently:metric_v2:RocAuc", {}),
        ],
    ),
    ("Rows per day", [("rows", "evidently:metric_v2:RowCount", {})]),
]


# --------------------------------------------------------------------------- build (Evidently venv)


def _definition(features: int) -> tuple[Any, list[str]]:
    from evidently import BinaryClassification, DataDefinition

    import ui_data

    names = ui_data.feature_names(features)
    numeric = min(ui_data.NUMERIC, int(features * 0.7))
    definition = DataDefinition(
        numerical_columns=names[:numeric],
        categorical_columns=names[numeric:],
        classification=[
            BinaryClassification(
                target="label",
                prediction_labels="prediction",
                prediction_probas="score",
                pos_label="yes",
            )
        ],
    )
    return definition, [*names, "label", "prediction", "score"]


def create(directory: Path) -> str:
    """A workspace in ``directory`` with the project and its dashboard; returns the project id."""
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import line_plot_panel
    from evidently.ui.workspace import Workspace

    workspace = Workspace.create(str(directory))
    project = workspace.create_project(PROJECT)
    for title, values in PANELS:
        project.dashboard.add_panel(
            line_plot_panel(
                title=title,
                values=[
                    PanelMetric(legend=legend, metric=metric, metric_labels=labels)
                    for legend, metric, labels in values
                ],
                size="full",
            )
        )
    return str(project.id)


def snapshots(
    directory: Path, project: str, days: int, features: int, part: int, parts: int
) -> float:
    """Day ``d``'s snapshot for every ``d % parts == part``; returns the seconds spent."""
    from evidently import Dataset, Report
    from evidently.metrics import RowCount
    from evidently.presets import ClassificationPreset, DataDriftPreset
    from evidently.ui.workspace import Workspace

    import ui_data

    definition, columns = _definition(features)
    reference = Dataset.from_pandas(ui_data.reference(features=features)[columns], definition)
    workspace = Workspace(str(directory))
    seconds = 0.0
    for day, (start, frame) in enumerate(ui_data.days(days, features=features)):
        if day % parts != part:
            continue
        clock = time.perf_counter()
        report = Report([RowCount(), DataDriftPreset(), ClassificationPreset()])
        current = Dataset.from_pandas(frame[columns], definition)
        snapshot = report.run(current, reference, timestamp=start.replace(tzinfo=None))
        workspace.add_run(project, snapshot, include_data=False)
        seconds += time.perf_counter() - clock
    return seconds


# --------------------------------------------------------------------------- measure (project venv)


def run(days: int, features: int, runs: int) -> dict[str, Any]:
    """Build (or reuse) the workspace, serve it with ``evidently ui`` and time its dashboard."""
    from drift_vs_evidently import ensure_evidently_venv

    python = ensure_evidently_venv()
    directory = CACHE / f"ui-evidently-{days}x{features}"
    built = _built(python, directory, days, features)
    print("evidently workspace:", json.dumps(built), flush=True)
    with _serving(python, directory / "workspace") as address:
        path = f"/projects/{built['project']}"
        browser, calls = _browser_times(address, path, runs)
        server = _server_times(address, calls, runs)
    version = subprocess.run(
        [str(python), "-c", "import evidently; print(evidently.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "evidently": version,
        "workspace": built,
        "dashboard": {"path": path, "panels": len(PANELS)},
        "server": server,
        "browser": browser,
    }


def _built(python: Path, directory: Path, days: int, features: int) -> dict[str, Any]:
    """The workspace, built by ``PARTS`` processes of Evidently's Python (reused when present)."""
    done = directory / "built.json"
    if done.exists():
        built: dict[str, Any] = json.loads(done.read_text())
        if built.get("version") == BUILD_VERSION:
            return dict(built, reused=True)
    if directory.exists():
        import shutil

        shutil.rmtree(directory)
    workspace = directory / "workspace"
    directory.mkdir(parents=True)
    this = [str(python), str(Path(__file__))]
    project = subprocess.run(
        [*this, "create", str(workspace)],
        check=True,
        env=_quiet_env(),
        cwd=BENCH_DIR,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    print(f"building Evidently's workspace: {days} snapshots x {features} columns", flush=True)
    clock = time.perf_counter()
    sizes = ["--days", str(days), "--features", str(features), "--parts", str(PARTS)]
    workers = [
        subprocess.Popen(
            [*this, "snapshots", str(workspace), "--project", project, *sizes, "--part", str(part)],
            env=_quiet_env(),
            cwd=BENCH_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        for part in range(PARTS)
    ]
    spent = []
    for worker in workers:
        out, _ = worker.communicate()
        if worker.returncode:
            raise RuntimeError(f"an Evidently build worker failed ({worker.returncode})")
        spent.append(float(out.split()[-1]))
    wall = time.perf_counter() - clock
    built = {
        "version": BUILD_VERSION,
        "project": project,
        "snapshots": days,
        "processes": PARTS,
        "wall_seconds": round(wall, 1),
        "monitor_seconds": round(sum(spent), 1),
        "monitor_ms_per_window": round(1000 * sum(spent) / max(days, 1)),
        "workspace_bytes": sum(p.stat().st_size for p in workspace.rglob("*") if p.is_file()),
    }
    done.write_text(json.dumps(built))
    return dict(built, reused=False)


def _quiet_env() -> dict[str, str]:
    """No telemetry, no outside request from the peer's process."""
    return dict(os.environ, DO_NOT_TRACK="1", EVIDENTLY_DISABLE_TELEMETRY="1")


class _serving:
    def __init__(self, python: Path, workspace: Path) -> None:
        from seismo.examples.story import _free_port

        self.port = _free_port()
        self.command = [str(python), "-m", "evidently.cli", "ui", "--workspace", str(workspace)]
        self.command += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.log = (workspace.parent / "server.log").open("w")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        import httpx

        self.process = subprocess.Popen(
            self.command, stdout=self.log, stderr=subprocess.STDOUT, env=_quiet_env()
        )
        address = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"evidently ui exited; see {self.log.name}")
            try:
                if httpx.get(address + "/api/version", timeout=2).status_code == 200:
                    return address
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"evidently ui did not answer in 120 s; see {self.log.name}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


#: True once every panel's title is on the page and each panel holds a drawn chart.
_PANELS_DRAWN = """(titles) => titles.every((title) => {
  const heading = [...document.querySelectorAll('h1,h2,h3,h4,h5,h6,p,span,div')]
    .find((e) => e.childElementCount === 0 && e.textContent.trim() === title);
  if (!heading) return false;
  let box = heading;
  for (let i = 0; i < 8 && box; i++, box = box.parentElement) {
    if (box.querySelector('svg path, canvas')) return true;
  }
  return false;
})"""


def _browser_times(
    address: str, path: str, runs: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from playwright.sync_api import sync_playwright

    titles = [title for title, _ in PANELS]
    measured = []
    calls: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        for k in range(runs + 1):  # the first run warms the server, as seismo's first request
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            outside: list[str] = []
            api: list[dict[str, Any]] = []
            page.on("request", lambda r, seen=outside: _outside(r.url, address, seen))
            page.on("request", lambda r, seen=api: _api_call(r, address, seen))
            errors: list[str] = []
            page.on("console", lambda m, seen=errors: _console_error(m, seen))
            clock = time.perf_counter()
            page.goto(address + path, wait_until="load")
            page.wait_for_function(_PANELS_DRAWN, arg=titles, timeout=600_000, polling=50)
            drawn_ms = 1000 * (time.perf_counter() - clock)
            page.wait_for_load_state("networkidle")
            timing = page.evaluate(
                """() => {
                  const n = performance.getEntriesByType('navigation')[0];
                  const resources = performance.getEntriesByType('resource');
                  return {response_end_ms: n.responseEnd, dom_content_loaded_ms:
                    n.domContentLoadedEventEnd, load_ms: n.loadEventEnd,
                    transferred_bytes: n.transferSize + resources.reduce((a, r) =>
                      a + r.transferSize, 0), requests: 1 + resources.length,
                    svg_elements: document.querySelectorAll('svg *').length};
                }"""
            )
            timing["usable_ms"] = round(drawn_ms, 1)
            timing["outside_requests"] = [
                url for url in outside if not url.startswith(("data:", "about:", "blob:"))
            ]
            timing["console_errors"] = errors
            if k == 0:
                calls = api
                first = timing
            else:
                measured.append(timing)
            context.close()
        browser.close()
    keys = ("response_end_ms", "dom_content_loaded_ms", "usable_ms", "load_ms")
    return (
        {
            "path": path,
            "first_usable_ms": round(first["usable_ms"], 1),
            **{f"median_{k}": round(statistics.median(m[k] for m in measured), 1) for k in keys},
            "transferred_bytes": measured[-1]["transferred_bytes"],
            "requests": measured[-1]["requests"],
            "svg_elements": measured[-1]["svg_elements"],
            "outside_requests": sorted({u for m in measured for u in m["outside_requests"]}),
            "console_errors": sorted({e for m in measured for e in m["console_errors"]}),
            "runs": measured,
        },
        calls,
    )


def _outside(url: str, address: str, seen: list[str]) -> None:
    if not url.startswith(address):
        seen.append(url)


def _console_error(message: Any, seen: list[str]) -> None:
    if message.type == "error":
        seen.append(message.text)


def _api_call(request: Any, address: str, seen: list[dict[str, Any]]) -> None:
    if request.url.startswith(address + "/api/"):
        seen.append(
            {"method": request.method, "url": request.url, "body": request.post_data_buffer}
        )


def _server_times(address: str, calls: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    """The dashboard's API requests replayed: what its server spends to answer the page."""
    import httpx

    per_call = []
    with httpx.Client(timeout=600) as http:
        for call in calls:
            seconds = []
            for _ in range(runs + 1):
                clock = time.perf_counter()
                response = http.request(
                    call["method"],
                    call["url"],
                    content=call["body"],
                    headers={"Content-Type": "application/json"} if call["body"] else None,
                )
                seconds.append(time.perf_counter() - clock)
            per_call.append(
                {
                    "request": f"{call['method']} {call['url'][len(address) :]}",
                    "status": response.status_code,
                    "first_s": round(seconds[0], 4),
                    "median_s": round(statistics.median(seconds[1:]), 4),
                    "bytes": len(response.content),
                }
            )
    return {
        "api_requests": len(per_call),
        "sum_first_s": round(sum(c["first_s"] for c in per_call), 4),
        "sum_median_s": round(sum(c["median_s"] for c in per_call), 4),
        "slowest_median_s": max((c["median_s"] for c in per_call), default=0.0),
        "bytes": sum(c["bytes"] for c in per_call),
        "requests": per_call,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Build Evidently's workspace (in its venv).")
    parser.add_argument("command", choices=["create", "snapshots"])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--project")
    parser.add_argument("--days", type=int)
    parser.add_argument("--features", type=int)
    parser.add_argument("--part", type=int, default=0)
    parser.add_argument("--parts", type=int, default=1)
    args = parser.parse_args()
    if args.command == "create":
        print(create(args.directory))
    else:
        seconds = snapshots(
            args.directory, args.project, args.days, args.features, args.part, args.parts
        )
        print(f"{seconds:.3f}")


if __name__ == "__main__":
    main()

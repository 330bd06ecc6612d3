"""How fast the UI shows a wide model's year: seismo's model page against Evidently's UI.

Run by hand from the repository root with the project's virtualenv::

    .venv/bin/python bench/ui_speed.py                     # 100 features x 365 daily windows
    .venv/bin/python bench/ui_speed.py --skip-evidently    # seismo only
    .venv/bin/python bench/ui_speed.py --days 90 --runs 5

The history is bench/ui_data.py's seeded year (200 predictions a day, labels two days
late). seismo's side logs it into a SQLite store, runs the monitor once (every window's
summary and digest: timed, it is the monitor's cost of a year) and serves it with a real
``seismo serve``; the store is kept in ``bench/.cache/`` for the next run. Measured:

- server: the time to answer ``GET /ui/models/wide?last=365`` (and ``last=90``, the overview
  and one window's page) over loopback, first request after start and the median of
  ``--runs`` more, with the bytes sent (gzip) — the page reads each shown window's digest;
- browser: Debian's Chromium through Playwright, a fresh context per run (nothing cached):
  time to DOMContentLoaded and until the page is usable (its script ran: the heatmap answers
  the pointer and the keyboard, the ``seismo-ready`` mark), bytes and requests.

Evidently's side (bench/ui_evidently.py, in bench/.venv-evidently) builds a workspace with a
snapshot per day of the same rows and a dashboard of the same series, serves ``evidently ui``
and measures its dashboard the same way, in the same run. Results: stdout and
``bench/results/ui_speed.{md,json}``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import ui_data  # noqa: E402
from seismo.examples.story import _free_port, running_server  # noqa: E402

CACHE = BENCH_DIR / ".cache"
RESULTS = BENCH_DIR / "results"
MODEL = "wide"
LABEL_DELAY = dt.timedelta(days=2)


def build_store(directory: Path, days: int, features: int) -> dict[str, Any]:
    """The year logged and monitored into ``directory/seismo.db`` (reused when present)."""
    import seismo
    from seismo.loop.models import register_model
    from seismo.monitor import Monitor, MonitorSettings
    from seismo.store import Label, Prediction, open_store

    done = directory / "built.json"
    if done.exists():
        return dict(json.loads(done.read_text()), reused=True)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "seismo.db").unlink(missing_ok=True)
    store = open_store(f"sqlite:///{directory / 'seismo.db'}", upgrade=True)
    started = time.perf_counter()
    reference = seismo.fit_reference(
        ui_data.reference(features=features),
        {
            "columns": {
                "label": {"role": "target"},
                "prediction": {"role": "prediction"},
                "score": {"role": "score"},
            }
        },
    )
    register_model(store, MODEL, reference=reference, task="classification", classes=["no", "yes"])
    names = ui_data.feature_names(features)
    logged = 0
    for start, frame in ui_data.days(days, features=features):
        records = frame[names].to_dict(orient="records")
        predictions = [
            Prediction(
                f"{start:%Y%m%d}-{i}",
                MODEL,
                1,
                frame["timestamp"].iloc[i],
                {k: (v.item() if hasattr(v, "item") else v) for k, v in records[i].items()},
                frame["prediction"].iloc[i],
                float(frame["score"].iloc[i]),
            )
            for i in range(len(frame))
        ]
        store.add_predictions(predictions)
        store.add_labels(
            [
                Label(p.id, frame["label"].iloc[i], p.timestamp + LABEL_DELAY)
                for i, p in enumerate(predictions)
            ]
        )
        logged += len(predictions)
    logging_seconds = time.perf_counter() - started
    clock = time.perf_counter()
    report = Monitor(store, MonitorSettings(window=dt.timedelta(days=1), compact=False)).run()
    monitor_seconds = time.perf_counter() - clock
    store.close()
    built = {
        "predictions": logged,
        "windows": len(report.windows),
        "logging_seconds": round(logging_seconds, 1),
        "monitor_seconds": round(monitor_seconds, 1),
        "monitor_ms_per_window": round(1000 * monitor_seconds / max(len(report.windows), 1)),
        "store_bytes": (directory / "seismo.db").stat().st_size,
    }
    done.write_text(json.dumps(built))
    return dict(built, reused=False)


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    port = _free_port()
    config = directory / "seismo.yaml"
    config.write_text(
        f"store: sqlite:///{directory / 'seismo.db'}\nport: {port}\nmonitor:\n  window: 1d\n",
        encoding="utf-8",
    )
    with running_server(config, port, directory / "server.log") as address:
        yield address


def server_times(address: str, paths: dict[str, str], runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with httpx.Client(base_url=address, timeout=120) as http:
        for name, path in paths.items():
            seconds = []
            for _ in range(runs + 1):
                clock = time.perf_counter()
                response = http.get(path)
                seconds.append(time.perf_counter() - clock)
                response.raise_for_status()
            out[name] = {
                "path": path,
                "first_s": round(seconds[0], 4),
                "median_s": round(statistics.median(seconds[1:]), 4),
                "min_s": round(min(seconds[1:]), 4),
                "html_bytes": len(response.content),
                "gzip_bytes": len(_gzipped(http, path)),
            }
    return out


def _gzipped(http: httpx.Client, path: str) -> bytes:
    with http.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
        return b"".join(response.iter_raw())


def browser_times(address: str, path: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    measured = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            outside: list[str] = []
            page.on("request", lambda r, seen=outside: _outside(r.url, address, seen))
            page.goto(address + path, wait_until="load")
            page.wait_for_function("performance.getEntriesByName('seismo-ready').length > 0")
            timing = page.evaluate(
                """() => {
                  const n = performance.getEntriesByType('navigation')[0];
                  const ready = performance.getEntriesByName('seismo-ready')[0].startTime;
                  const resources = performance.getEntriesByType('resource');
                  return {response_end_ms: n.responseEnd, dom_content_loaded_ms:
                    n.domContentLoadedEventEnd, usable_ms: ready, load_ms: n.loadEventEnd,
                    transferred_bytes: n.transferSize + resources.reduce((a, r) =>
                      a + r.transferSize, 0), requests: 1 + resources.length,
                    svg_elements: document.querySelectorAll('svg *').length};
                }"""
            )
            timing["outside_requests"] = [
                url for url in outside if not url.startswith(("data:", "about:"))
            ]
            measured.append(timing)
            context.close()
        browser.close()
    keys = ("response_end_ms", "dom_content_loaded_ms", "usable_ms", "load_ms")
    return {
        "path": path,
        **{f"median_{k}": round(statistics.median(m[k] for m in measured), 1) for k in keys},
        "transferred_bytes": measured[-1]["transferred_bytes"],
        "requests": measured[-1]["requests"],
        "svg_elements": measured[-1]["svg_elements"],
        "outside_requests": sorted({u for m in measured for u in m["outside_requests"]}),
        "runs": measured,
    }


def _outside(url: str, address: str, seen: list[str]) -> None:
    if not url.startswith(address):
        seen.append(url)


def evidently(days: int, features: int, runs: int) -> dict[str, Any] | None:
    try:
        import ui_evidently  # type: ignore[import-not-found]
    except ImportError:
        return None
    result: dict[str, Any] = ui_evidently.run(days=days, features=features, runs=runs)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=ui_data.DAYS)
    parser.add_argument("--features", type=int, default=ui_data.FEATURES)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--skip-evidently", action="store_true")
    args = parser.parse_args()
    directory = CACHE / f"ui-seismo-{args.days}x{args.features}"
    built = build_store(directory, args.days, args.features)
    print("store:", json.dumps(built))
    with serve(directory) as address:
        window = f"{ui_data.START + dt.timedelta(days=args.days // 2):%Y-%m-%d}T00:00:00Z"
        paths = {
            "model_all": f"/ui/models/{MODEL}?last={args.days}",
            "model_90": f"/ui/models/{MODEL}?last=90",
            "overview": "/ui",
            "window": f"/ui/models/{MODEL}/windows/{window}",
        }
        server = server_times(address, paths, args.runs)
        print("server:", json.dumps(server, indent=1))
        browser = browser_times(address, paths["model_all"], args.runs)
        print("browser:", json.dumps({k: v for k, v in browser.items() if k != "runs"}, indent=1))
    peer = None if args.skip_evidently else evidently(args.days, args.features, args.runs)
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "days": args.days,
        "features": args.features,
        "seismo": {"store": built, "server": server, "browser": browser},
        "evidently": peer,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ui_speed.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / "ui_speed.md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict[str, Any]) -> str:
    seismo = result["seismo"]
    server, browser = seismo["server"], seismo["browser"]
    lines = [
        f"# UI speed: {result['features']} features x {result['days']} daily windows",
        "",
        f"{result['when']}, {result['machine']}. Medians of repeated runs.",
        "",
        "| seismo | first request | median | HTML | gzip |",
        "|---|---|---|---|---|",
    ]
    for name, row in server.items():
        lines.append(
            f"| {name} `{row['path']}` | {row['first_s'] * 1000:.0f} ms | "
            f"{row['median_s'] * 1000:.0f} ms | {row['html_bytes'] / 1e6:.2f} MB | "
            f"{row['gzip_bytes'] / 1e6:.2f} MB |"
        )
    lines += [
        "",
        f"Browser (Chromium, fresh context): DOMContentLoaded "
        f"{browser['median_dom_content_loaded_ms']:.0f} ms, usable "
        f"{browser['median_usable_ms']:.0f} ms, load {browser['median_load_ms']:.0f} ms; "
        f"{browser['requests']} requests, {browser['transferred_bytes'] / 1e6:.2f} MB, "
        f"{browser['svg_elements']} SVG elements; outside requests: "
        f"{browser['outside_requests'] or 'none'}.",
        "",
        f"Store: {seismo['store']}",
    ]
    peer = result.get("evidently")
    if peer:
        lines += ["", "Evidently UI (same rows, same run):", "", "```", json.dumps(peer, indent=1)]
        lines += ["```"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

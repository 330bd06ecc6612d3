"""Prediction service throughput and latency, with durable logging and without, in one run.

    .venv/bin/python bench/service_throughput.py [--duration 10] [--connections 16]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]  (a scratch database is
                                                                      created beside it)

Starts `seismo serve` (uvicorn, one process) on loopback with a hosted scikit-learn model and
drives it with wrk (Debian package `wrk`): single-row and 100-row `:predict` requests with
logging on and off, then batch ingest of 1,000-row batches (ids made by the server), then both
again with API tokens in the store (every request carries one); then times
the monitor: a window of 1M logged rows, and a new window on top of 1M and of 10M processed
rows. Results go to bench/results/service_throughput.json (README quotes them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import seismo  # noqa: E402
from seismo.loop.models import register_model  # noqa: E402
from seismo.monitor import Monitor  # noqa: E402
from seismo.store import open_store  # noqa: E402
from seismo.store.base import Label, Prediction  # noqa: E402

FEATURES = [f"x{i}" for i in range(8)] + ["region"]


def frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"x{i}": rng.normal(i, 1 + i / 4, rows) for i in range(8)}
    data["region"] = rng.choice(["north", "south", "east", "west"], rows)
    out = pd.DataFrame(data)
    out["y"] = np.where(out["x0"] + out["x1"] / 2 + rng.normal(0, 1, rows) > 0.5, "yes", "no")
    return out


def model_file(directory: Path) -> Path:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train = frame(5000, 0)
    model = make_pipeline(
        ColumnTransformer(
            [("n", StandardScaler(), FEATURES[:-1]), ("c", OneHotEncoder(), ["region"])]
        ),
        LogisticRegression(max_iter=500),
    )
    model.fit(train[FEATURES], train["y"])
    path = directory / "model.joblib"
    joblib.dump(model, path)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(url: str, log_predictions: bool, directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = directory / f"seismo-{log_predictions}.yaml"
    config.write_text(
        f"store: {url}\nlog_predictions: {str(log_predictions).lower()}\n"
        f"models_dir: {directory / 'models'}\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "seismo.cli", "serve", "--config", str(config), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/healthz", timeout=0.5).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def wrk(
    url: str,
    body: dict[str, object],
    duration: int,
    connections: int,
    token: str | None = None,
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            + (f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else "")
            + f"wrk.body = [[{json.dumps(body)}]]\n"
            "done = function(summary, latency, requests)\n"
            '  io.write(string.format("RESULT %d %d %f %f\\n", summary.requests,'
            " summary.errors.status + summary.errors.connect + summary.errors.timeout,"
            " latency:percentile(50), latency:percentile(99)))\nend\n"
        )
    output = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{duration}s",
            "-s",
            script.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    requests, errors, p50, p99 = re.search(r"RESULT (\d+) (\d+) ([\d.]+) ([\d.]+)", output).groups()  # type: ignore[union-attr]
    return {
        "requests_per_s": int(requests) / duration,
        "errors": int(errors),
        "p50_ms": float(p50) / 1000,
        "p99_ms": float(p99) / 1000,
    }


def scratch_database(url: str) -> str:
    """A new database next to ``url``'s, dropped when the benchmark exits."""
    import atexit

    import psycopg

    admin = url.replace("postgresql+psycopg://", "postgresql://")
    name = f"seismo_bench_{int(time.time())}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    atexit.register(drop)
    return f"{url.rsplit('/', 1)[0]}/{name}"


def log_day(store: Any, day: int, rows: int, features: list[dict[str, Any]], write: int) -> None:
    """``rows`` predictions spread over day ``day`` of 2026, written ``write`` at a time."""
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=day)
    step = 86_400 / rows
    for first in range(0, rows, write):
        store.add_predictions(
            [
                Prediction(
                    f"d{day}-{i}",
                    "m",
                    1,
                    start + timedelta(seconds=i * step),
                    features[i % len(features)],
                    "no",
                    0.2,
                )
                for i in range(first, min(first + write, rows))
            ]
        )


def timed_run(monitor: Monitor) -> float:
    started = time.perf_counter()
    monitor.run()
    return time.perf_counter() - started


def monitor_timings(work: Path, rows: int, days: int) -> dict[str, object]:
    """Monitor run times: a window of ``rows`` logged rows; one new small window on top of one
    day and on top of ``days`` days of processed history; a window of rows written a few at a
    time (kept as JSON text rather than in columnar batches)."""
    out: dict[str, object] = {}
    store = open_store(f"sqlite:///{work / 'monitor.db'}", upgrade=True)
    reference = seismo.fit_reference(frame(5000, 0), {"columns": {"y": {"role": "target"}}})
    register_model(store, "m", reference=reference, task="classification", classes=["no", "yes"])
    features = frame(min(rows, 1_000_000), 3)[FEATURES].to_dict(orient="records")
    monitor = Monitor(store)
    log_day(store, 0, rows, features, 5000)
    out[f"monitor/window of {rows:,} rows"] = {"seconds": timed_run(monitor)}
    log_day(store, 100, 10_000, features, 5000)
    out[f"monitor/new 10,000-row window on top of {rows:,} rows"] = {"seconds": timed_run(monitor)}
    for day in range(1, days):
        log_day(store, day, rows, features, 5000)
    seconds = timed_run(monitor)
    out[f"monitor/{days - 1} more windows of {rows:,} rows, per window"] = {
        "seconds": seconds / (days - 1)
    }
    log_day(store, 101, 10_000, features, 5000)
    out[f"monitor/new 10,000-row window on top of {days * rows:,} rows"] = {
        "seconds": timed_run(monitor)
    }
    small = min(rows, 200_000)
    log_day(store, 102, small, features, 20)
    out[
        f"monitor/window of {small:,} rows written 20 at a time "
        "(moved into columnar batches, then read)"
    ] = {"seconds": timed_run(monitor)}
    store.add_labels(
        [Label(f"d102-{i}", "no", datetime(2026, 5, 1, tzinfo=UTC)) for i in range(100)]
    )
    out["monitor/the same window rebuilt for 100 late labels"] = {"seconds": timed_run(monitor)}
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--monitor-rows", type=int, default=1_000_000, help="rows per day")
    parser.add_argument("--history-days", type=int, default=10)
    parser.add_argument(
        "--monitor-only", action="store_true", help="skip the HTTP cases (results merged)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    results: dict[str, object] = {"started": datetime.now(UTC).isoformat()}
    work = Path(tempfile.mkdtemp(prefix="seismo-bench-"))
    stores = {"sqlite": f"sqlite:///{work / 'store.db'}"}
    if args.postgres:
        stores["postgresql"] = scratch_database(args.postgres)
    path = model_file(work)
    instances = frame(100, 7)[FEATURES].to_dict(orient="records")
    rows = [
        {"features": r, "output": "yes", "score": 0.7}
        for r in frame(1000, 8)[FEATURES].to_dict(orient="records")
    ]
    if args.monitor_only:
        out = ROOT / "bench/results/service_throughput.json"
        results = json.loads(out.read_text())
        results = {k: v for k, v in results.items() if not k.startswith("monitor/")}
        results["monitor_started"] = datetime.now(UTC).isoformat()
        results.update(monitor_timings(work, args.monitor_rows, args.history_days))
        out.write_text(json.dumps(results, indent=1))
        print(json.dumps(results, indent=1))
        return
    for backend, url in stores.items():
        store = open_store(url, upgrade=True)
        reference = seismo.fit_reference(frame(5000, 0), {"columns": {"y": {"role": "target"}}})
        name = f"bench{int(time.time())}"
        register_model(
            store, name, reference=reference, model_file=path, models_dir=work / "models"
        )
        store.close()
        for logging_on in (False, True):
            process, base = serve(url, logging_on, work)
            try:
                key = f"{backend}/{'logged' if logging_on else 'not logged'}"
                predict = f"{base}/v1/models/{name}:predict"
                results[f"{key}/predict 1 row"] = wrk(
                    predict, {"instances": instances[:1]}, args.duration, args.connections
                )
                results[f"{key}/predict 100 rows"] = wrk(
                    predict, {"instances": instances}, args.duration, args.connections
                )
                if logging_on:
                    for connections in (1, 4):
                        measured = wrk(
                            f"{base}/v1/models/{name}/predictions",
                            {"predictions": rows},
                            args.duration,
                            connections,
                        )
                        measured["rows_per_s"] = measured["requests_per_s"] * len(rows)
                        results[f"{key}/ingest 1000-row batches, {connections} connections"] = (
                            measured
                        )
            finally:
                process.terminate()
                process.wait(timeout=10)
        # Last, with API tokens in the store (from then on every request must carry one): what
        # checking a token costs on the hot paths.
        from seismo.service.auth import create_token

        store = open_store(url)
        token = create_token(store, f"bench{int(time.time())}", "predict,ingest")
        store.close()
        process, base = serve(url, True, work)
        try:
            key = f"{backend}/logged, with a token"
            results[f"{key}/predict 1 row"] = wrk(
                f"{base}/v1/models/{name}:predict",
                {"instances": instances[:1]},
                args.duration,
                args.connections,
                token,
            )
            measured = wrk(
                f"{base}/v1/models/{name}/predictions",
                {"predictions": rows},
                args.duration,
                4,
                token,
            )
            measured["rows_per_s"] = measured["requests_per_s"] * len(rows)
            results[f"{key}/ingest 1000-row batches, 4 connections"] = measured
        finally:
            process.terminate()
            process.wait(timeout=10)
        print(json.dumps({k: v for k, v in results.items() if k.startswith(backend)}, indent=1))

    results.update(monitor_timings(work, args.monitor_rows, args.history_days))
    results["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    out = ROOT / "bench/results/service_throughput.json"
    out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

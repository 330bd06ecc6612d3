"""The Alertmanager sink against a real Alertmanager (Debian's prometheus-alertmanager)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from seismo.alerts.delivery import deliver
from seismo.alerts.sinks import AlertmanagerSink
from tests.alerts.receivers import make_alert, resolve, trigger


def active_alerts(base: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{base}/api/v2/alerts", params={"active": "true"}, timeout=5)
    answer.raise_for_status()
    alerts: list[dict[str, Any]] = answer.json()
    return alerts


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def test_firing_then_resolved_in_a_real_alertmanager(alertmanager: str) -> None:
    # a recent start: Alertmanager drops alerts whose endsAt is long past
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    sink = AlertmanagerSink("am", alertmanager, firing_ttl=timedelta(days=7))
    other = trigger(id="churn.psi_drift.all", segment="", started_at=started)

    fired = deliver(sink, trigger(started_at=started), attempts=1)
    assert fired.ok, fired.error
    assert deliver(sink, other, attempts=1).ok

    alerts = {alert["labels"]["alert_id"]: alert for alert in active_alerts(alertmanager)}
    assert set(alerts) == {make_alert().id, "churn.psi_drift.all"}
    alert = alerts[make_alert().id]
    assert alert["labels"] == {
        "alertname": "psi_drift",
        "model": "churn",
        "version": "3",
        "segment": "country=FR",
        "severity": "critical",
        "alert_id": make_alert().id,
        "series": "psi",
        "feature_group": "demographics",
    }
    assert alert["annotations"] == {
        "summary": make_alert().summary,
        "description": make_alert().description,
        "url": make_alert().url,
    }
    assert alert["generatorURL"] == make_alert().url
    assert alert["status"]["state"] == "active"
    assert parse(alert["startsAt"]) == started
    # firing_ttl ahead, not Alertmanager's resolve_timeout (5 min by default)
    assert parse(alert["endsAt"]) > datetime.now(UTC) + timedelta(days=6)
    assert "segment" not in alerts["churn.psi_drift.all"]["labels"]

    resolved_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    ended = deliver(sink, resolve(started_at=started, resolved_at=resolved_at), attempts=1)
    assert ended.ok, ended.error
    remaining = [alert["labels"]["alert_id"] for alert in active_alerts(alertmanager)]
    assert remaining == ["churn.psi_drift.all"]  # the resolve matched the firing alert only


def test_a_wrong_address_is_not_retried(alertmanager: str) -> None:
    sink = AlertmanagerSink("am", alertmanager + "/alertmanager")  # no such route prefix
    result = deliver(sink, trigger(), attempts=3, sleep=lambda _: None)
    assert not result.ok and result.attempts == 1
    assert "HTTP 404" in (result.error or "")

"""Done when: a rule crossing delivers exactly one alert to each configured sink (verified at
real local receivers, Alertmanager included), and resolves when the series recovers.

The service runs with all five sinks configured as in a YAML file (secrets as ``${ENV}``):
Slack, PagerDuty and the webhook at local HTTP receivers, email at a local SMTP server, and the
real Alertmanager. Days of traffic go in over HTTP; ``POST /v1/monitor/run`` decides.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import seismo.alerts
from seismo.alerts import alert_id
from seismo.alerts.delivery import deliver
from seismo.alerts.sinks import verify_signature
from tests.alerts.receivers import HttpReceiver, Reply, SmtpReceiver
from tests.alerts.test_api import LiveService, start_service

SLACK_PATH = "/services/T0SEISMO/B0SEISMO/e2e-slack-token"
PAGERDUTY_KEY = "e2e-routing-key-0123456789abcdef"
WEBHOOK_SECRET = "e2e-webhook-shared-secret-0123456789"
SMTP_PASSWORD = "e2e-smtp-pa55word"
BASE_URL = "http://seismo.test"
ALERT_ID = alert_id("feature-drift", "m", "")
SHIFT = {"mean radius": 6.0}
SINKS = ("team-channel", "oncall", "hook", "am", "mail")


@dataclass
class Receivers:
    slack: HttpReceiver
    pagerduty: HttpReceiver
    webhook: HttpReceiver
    smtp: SmtpReceiver
    alertmanager: str

    def counts(self) -> dict[str, int]:
        return {
            "slack": len(self.slack.requests),
            "pagerduty": len(self.pagerduty.requests),
            "webhook": len(self.webhook.requests),
            "email": len(self.smtp.mails),
            "alertmanager": len(self.active()),
        }

    def active(self) -> list[dict[str, Any]]:
        """Our alert as Alertmanager has it active (an empty list when it is not)."""
        answer = httpx.get(
            f"{self.alertmanager}/api/v2/alerts", params={"active": "true"}, timeout=5
        )
        answer.raise_for_status()
        return [a for a in answer.json() if a["labels"].get("alert_id") == ALERT_ID]


def alerts_section(receivers: Receivers, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The ``alerts:`` section as YAML would give it; secrets only in the environment."""
    monkeypatch.setenv("SEISMO_E2E_SLACK_URL", receivers.slack.url + SLACK_PATH)
    monkeypatch.setenv("SEISMO_E2E_PAGERDUTY_KEY", PAGERDUTY_KEY)
    monkeypatch.setenv("SEISMO_E2E_WEBHOOK_URL", receivers.webhook.url + "/seismo/hook")
    monkeypatch.setenv("SEISMO_E2E_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("SEISMO_E2E_SMTP_PORT", str(receivers.smtp.port))
    monkeypatch.setenv("SEISMO_E2E_SMTP_PASSWORD", SMTP_PASSWORD)
    return {
        "rules": [
            {
                "name": "feature-drift",
                "series": "drift.psi",
                "kind": "sigma",
                "threshold": 0.1,
                "min_rows": 100,
            }
        ],
        "cooldown": "1h",
        "base_url": BASE_URL,
        "sinks": [
            {"type": "slack", "name": "team-channel", "url": "${SEISMO_E2E_SLACK_URL}"},
            {
                "type": "pagerduty",
                "name": "oncall",
                "routing_key": "${SEISMO_E2E_PAGERDUTY_KEY}",
                "url": receivers.pagerduty.url + "/v2/enqueue",
                "source": "seismo-e2e",
            },
            {
                "type": "webhook",
                "name": "hook",
                "url": "${SEISMO_E2E_WEBHOOK_URL}",
                "secret": "${SEISMO_E2E_WEBHOOK_SECRET}",
            },
            {"type": "alertmanager", "name": "am", "url": receivers.alertmanager, "timeout": 5},
            {
                "type": "email",
                "name": "mail",
                "host": "127.0.0.1",
                "port": "${SEISMO_E2E_SMTP_PORT}",
                "from": "seismo@example.com",
                "to": ["ml-team@example.com", "oncall@example.com"],
                "username": "seismo",
                "password": "${SEISMO_E2E_SMTP_PASSWORD}",
                "starttls": False,
            },
        ],
    }


@pytest.fixture
def receivers(alertmanager: str) -> Iterator[Receivers]:
    with ExitStack() as stack:
        yield Receivers(
            slack=stack.enter_context(HttpReceiver()),
            pagerduty=stack.enter_context(HttpReceiver(Reply(202, b'{"status":"success"}'))),
            webhook=stack.enter_context(HttpReceiver()),
            smtp=stack.enter_context(SmtpReceiver(username="seismo", password=SMTP_PASSWORD)),
            alertmanager=alertmanager,
        )


@pytest.fixture
def service(
    tmp_path: Path, receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveService]:
    yield from start_service(tmp_path, alerts_section(receivers, monkeypatch))


def history(service: LiveService) -> list[dict[str, Any]]:
    answer = service.client.get(f"/v1/alerts/{ALERT_ID}")
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["history"]
    return events[::-1]  # oldest first


def stable_days(service: LiveService, days: int) -> None:
    for _ in range(days):
        run = service.live()
        assert (run["alerts_opened"], run["notifications"]) == (0, 0), run


def test_one_alert_per_sink_no_repeat_and_one_resolve_each(
    service: LiveService, receivers: Receivers
) -> None:
    stable_days(service, 6)
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 0)

    # Day 6: "mean radius" shifts by two standard deviations.
    fired = service.live(shift=SHIFT)
    assert (fired["alerts_opened"], fired["notifications"], fired["failed_deliveries"]) == (1, 1, 0)
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 1)

    [slack] = receivers.slack.requests
    assert slack.path == SLACK_PATH
    message = slack.json()
    assert message["text"].startswith("[seismo] FIRING warning feature-drift m v1")
    assert "mean radius" in message["text"] and ALERT_ID in str(message["blocks"])

    [page] = receivers.pagerduty.requests
    event = page.json()
    assert page.path == "/v2/enqueue"
    assert (event["event_action"], event["dedup_key"]) == ("trigger", ALERT_ID)
    assert event["routing_key"] == PAGERDUTY_KEY
    assert event["payload"]["source"] == "seismo-e2e"
    assert event["payload"]["severity"] == "warning"
    assert event["payload"]["custom_details"]["features"] == ["mean radius"]
    assert event["client_url"].startswith(f"{BASE_URL}/v1/models/m/report?start=")

    [hook] = receivers.webhook.requests
    assert hook.path == "/seismo/hook" and hook.headers["x-seismo-event"] == "trigger"
    assert verify_signature(
        WEBHOOK_SECRET,
        hook.headers["x-seismo-timestamp"],
        hook.body,
        hook.headers["x-seismo-signature"],
    )
    assert not verify_signature(
        "another-secret-entirely",
        hook.headers["x-seismo-timestamp"],
        hook.body,
        hook.headers["x-seismo-signature"],
    )
    body = hook.json()
    assert (body["event"], body["alert"]["id"], body["alert"]["state"]) == (
        "trigger",
        ALERT_ID,
        "firing",
    )

    [mail] = receivers.smtp.mails
    assert mail.message["Subject"].startswith("[seismo] FIRING warning feature-drift m v1")
    assert mail.recipients == ["ml-team@example.com", "oncall@example.com"]
    assert mail.login == "seismo"

    [active] = receivers.active()
    assert active["labels"]["alertname"] == "feature-drift"
    assert active["labels"]["model"] == "m" and active["status"]["state"] == "active"
    assert active["generatorURL"].startswith(BASE_URL)

    # The same windows again: the alert is already firing, nobody is told twice.
    again = service.run()
    assert again == {
        "windows": 0,
        "predictions_read": 0,
        "label_changes_read": 0,
        "window_errors": 0,
        "alerts_opened": 0,
        "alerts_resolved": 0,
        "notifications": 0,
        "failed_deliveries": 0,
        "errors": [],
    }
    assert receivers.counts() == dict.fromkeys(receivers.counts(), 1)

    # Day 7: back to normal; one resolve everywhere.
    resolved = service.live()
    assert (resolved["alerts_resolved"], resolved["notifications"]) == (1, 1)
    assert resolved["failed_deliveries"] == 0
    counts = receivers.counts()
    assert counts == {"slack": 2, "pagerduty": 2, "webhook": 2, "email": 2, "alertmanager": 0}

    assert receivers.slack.requests[1].json()["text"].startswith("[seismo] RESOLVED")
    assert receivers.pagerduty.requests[1].json() == {
        "routing_key": PAGERDUTY_KEY,
        "event_action": "resolve",
        "dedup_key": ALERT_ID,
    }
    hook = receivers.webhook.requests[1]
    assert hook.headers["x-seismo-event"] == "resolve"
    assert verify_signature(
        WEBHOOK_SECRET,
        hook.headers["x-seismo-timestamp"],
        hook.body,
        hook.headers["x-seismo-signature"],
    )
    assert hook.json()["alert"]["state"] == "resolved"
    assert receivers.smtp.mails[1].message["Subject"].startswith("[seismo] RESOLVED")
    assert receivers.smtp.mails[1].message["In-Reply-To"] == mail.message["Message-ID"]

    kinds = [(e["kind"], e.get("sink"), e.get("event")) for e in history(service)]
    assert kinds == [
        ("fired", None, None),
        *(("delivered", sink, "trigger") for sink in SINKS),
        ("resolved", None, None),
        *(("delivered", sink, "resolve") for sink in SINKS),
    ]
    assert service.client.get(f"/v1/alerts/{ALERT_ID}").json()["state"] == "resolved"
    assert "seismo_alerts_firing" not in service.metrics()


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Delivery as configured by default (5 attempts, backoff 0.5 s), with the waits recorded
    instead of slept: (0.5 + 1 + 2 + 4 s) x a jitter factor would cost seconds per failing
    notification (``alerts.delivery`` can shorten it; here the schedule itself is checked)."""
    waits: list[float] = []
    send = functools.partial(deliver, sleep=waits.append, jitter=lambda: 1.0)
    monkeypatch.setattr(seismo.alerts, "deliver", send)
    return waits


def test_a_failing_sink_is_recorded_and_counted_and_the_others_still_deliver(
    retry_waits: list[float],  # first: patched before the service is built
    service: LiveService,
    receivers: Receivers,
) -> None:
    receivers.webhook.default = Reply(500, b"upstream exploded")
    stable_days(service, 6)

    fired = service.live(shift=SHIFT)
    assert (fired["alerts_opened"], fired["notifications"], fired["failed_deliveries"]) == (1, 1, 1)
    assert len(receivers.webhook.requests) == 5  # every attempt reached the receiver
    assert retry_waits == [0.5, 1.0, 2.0, 4.0]  # backoff 0.5 s doubling, jitter factor 1
    counts = receivers.counts()
    assert counts == {"slack": 1, "pagerduty": 1, "webhook": 5, "email": 1, "alertmanager": 1}

    answer = service.client.get(f"/v1/alerts/{ALERT_ID}")
    [failed] = [e for e in answer.json()["history"] if e["kind"] == "delivery_failed"]
    assert (failed["sink"], failed["event"], failed["attempts"]) == ("hook", "trigger", 5)
    assert "HTTP 500" in failed["error"] and "gave up after 5 attempts" in failed["error"]
    assert "/seismo/hook" not in answer.text and WEBHOOK_SECRET not in answer.text
    delivered = [e["sink"] for e in answer.json()["history"] if e["kind"] == "delivered"]
    assert sorted(delivered) == sorted(set(SINKS) - {"hook"})

    resolved = service.live()
    assert (resolved["alerts_resolved"], resolved["failed_deliveries"]) == (1, 1)
    deliveries = service.metrics()["seismo_alert_deliveries_total"]
    expected = {}
    for sink in SINKS:
        for event in ("trigger", "resolve"):
            outcome = "failed" if sink == "hook" else "ok"
            expected[(("event", event), ("outcome", outcome), ("sink", sink))] = 1.0
    assert deliveries == expected
    assert receivers.active() == []

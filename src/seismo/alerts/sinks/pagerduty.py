"""PagerDuty Events API v2: a ``trigger`` event when an alert fires, ``resolve`` when it ends.

``dedup_key`` is the alert's id, which is stable for a rule, model and segment: the resolve
closes the PagerDuty alert the trigger opened, and a trigger sent twice (a retried delivery)
updates the open alert instead of opening another. A trigger carries the full payload
(summary, source, severity, timestamp, component = model, group = segment, class = rule,
custom_details = the alert's values) and a link to the drift report; a resolve carries only
the routing key, the action and the dedup key, as PagerDuty documents.

PagerDuty answers 202 when it accepted the event, 400 for an invalid event (not retried), 429
when rate limited and 5xx on its own errors (both retried). The routing key is a secret.
"""

from __future__ import annotations

from typing import Any

from seismo.alerts.model import Notification, Severity
from seismo.alerts.sinks import _text
from seismo.alerts.sinks.base import HttpSink, json_bytes, jsonable, rfc3339

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255

PAGERDUTY_SEVERITY = {
    Severity.CRITICAL: "critical",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
}


def pagerduty_event(
    notification: Notification, routing_key: str, *, source: str = "seismo"
) -> dict[str, Any]:
    """The Events API v2 body for one notification."""
    alert = notification.alert
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": notification.event,
        "dedup_key": alert.id[:DEDUP_KEY_LIMIT],
    }
    if notification.event == "resolve":
        return event
    payload: dict[str, Any] = {
        "summary": _text.truncate(_text.one_line(alert.summary), SUMMARY_LIMIT),
        "source": source,
        "severity": PAGERDUTY_SEVERITY.get(alert.severity, "error"),
        "timestamp": rfc3339(alert.started_at),
        "component": alert.model,
        "class": alert.rule,
        "custom_details": jsonable(alert.values),
    }
    if alert.segment:
        payload["group"] = alert.segment
    event["payload"] = payload
    event["client"] = "seismo"
    if alert.url:
        event["client_url"] = alert.url
        event["links"] = [{"href": alert.url, "text": "Drift report"}]
    return event


class PagerDutySink(HttpSink):
    """Sends Events API v2 events with an integration's routing key."""

    kind = "pagerduty"

    def __init__(
        self,
        name: str,
        routing_key: str,
        *,
        url: str = EVENTS_URL,
        source: str = "seismo",
        timeout: float = 10.0,
    ) -> None:
        super().__init__(name, url, timeout=timeout, secrets=(routing_key,))
        self.routing_key = routing_key
        self.source = source

    def send(self, notification: Notification) -> None:
        event = pagerduty_event(notification, self.routing_key, source=self.source)
        self.post(self.url, json_bytes(event))

"""Prometheus Alertmanager: POST ``/api/v2/alerts`` with one alert per notification.

Labels identify the alert in Alertmanager (``alertname`` = the rule, ``model``, ``version``,
``segment`` when not empty, ``severity``, ``alert_id``, then the alert's own labels with names
made valid); annotations carry ``summary``, ``description`` and ``url`` (the drift report,
also sent as ``generatorURL``). The trigger and the resolve of one alert carry the same labels,
so Alertmanager sees them as one alert.

``endsAt``: Alertmanager resolves an alert by itself once ``endsAt`` has passed. A client that
leaves it out gets ``endsAt`` = receipt time + ``resolve_timeout`` (5 minutes by default), and
is expected to re-send firing alerts every 30 s to 3 min as Prometheus does. seismo sends one
trigger when an alert starts firing and one resolve when it ends, so a firing alert is sent with
``endsAt`` = now + ``firing_ttl`` (7 days by default): it stays active until seismo's resolve
arrives, which sets ``endsAt`` to the resolution time. If the resolve never comes (the rule was
deleted, the service was retired), Alertmanager resolves the alert itself when the TTL ends.
Choose a ``firing_ttl`` longer than your monitor's window; it has nothing to do with
Alertmanager's own ``resolve_timeout``, which applies only to alerts without ``endsAt``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from seismo.alerts.model import Notification
from seismo.alerts.sinks.base import HttpSink, json_bytes, rfc3339, utc

DEFAULT_FIRING_TTL = timedelta(days=7)
API_PATH = "/api/v2/alerts"
_INVALID_LABEL_CHARACTERS = re.compile(r"[^a-zA-Z0-9_]")


def label_name(name: str) -> str:
    """A valid Prometheus label name for ``name`` (``[a-zA-Z_][a-zA-Z0-9_]*``).

    >>> label_name("feature-group"), label_name("7d")
    ('feature_group', '_7d')
    """
    name = _INVALID_LABEL_CHARACTERS.sub("_", name) or "_"
    return f"_{name}" if name[0].isdigit() else name


def alertmanager_alert(
    notification: Notification, *, now: datetime, firing_ttl: timedelta
) -> dict[str, Any]:
    """The postable alert (one element of the ``/api/v2/alerts`` list) for a notification."""
    alert = notification.alert
    labels = {
        label_name(key): value
        for key, value in alert.labels.items()
        if not key.startswith("__") and value != ""
    }
    labels.update(
        {
            "alertname": alert.rule,
            "model": alert.model,
            "version": str(alert.version),
            "severity": alert.severity.value,
            "alert_id": alert.id,
        }
    )
    if alert.segment:
        labels["segment"] = alert.segment
    else:
        labels.pop("segment", None)
    annotations = {"summary": alert.summary, "description": alert.description}
    if alert.url:
        annotations["url"] = alert.url
    started_at = utc(alert.started_at)
    if notification.event == "resolve":
        ends_at = utc(alert.resolved_at) if alert.resolved_at is not None else utc(now)
        ends_at = max(ends_at, started_at)  # Alertmanager refuses an end before the start
    else:
        ends_at = max(utc(now), started_at) + firing_ttl
    posted: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(started_at),
        "endsAt": rfc3339(ends_at),
    }
    if alert.url:
        posted["generatorURL"] = alert.url
    return posted


class AlertmanagerSink(HttpSink):
    """Posts to an Alertmanager at ``url`` (its base address, e.g. ``http://alertmanager:9093``);
    ``headers`` (an ``Authorization`` for a proxy in front of it, say) are treated as secrets."""

    kind = "alertmanager"

    def __init__(
        self,
        name: str,
        url: str,
        *,
        firing_ttl: timedelta = DEFAULT_FIRING_TTL,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        password = httpx.URL(url).password or ""  # in case the URL holds user:password@
        super().__init__(
            name, url.rstrip("/"), timeout=timeout, headers=headers, secrets=(password,)
        )
        self.firing_ttl = firing_ttl
        self.clock = clock

    def send(self, notification: Notification) -> None:
        now = datetime.fromtimestamp(self.clock(), UTC)
        posted = alertmanager_alert(notification, now=now, firing_ttl=self.firing_ttl)
        self.post(self.url + API_PATH, json_bytes([posted]))

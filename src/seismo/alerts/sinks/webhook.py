"""Generic webhook: a signed JSON description of the notification, POSTed to your URL.

The body is UTF-8 JSON::

    {"version": 1, "event": "trigger" | "resolve", "sent_at": "<RFC 3339>",
     "alert": {"id", "rule", "model", "version", "segment", "severity", "state", "summary",
               "description", "window_start", "window_end", "started_at", "resolved_at",
               "labels", "values", "url"}}

with timestamps in RFC 3339 (UTC, ``Z``). The request carries:

``X-Seismo-Timestamp``
    Unix seconds when the request was signed (each retry is signed anew).
``X-Seismo-Signature``
    ``sha256=<hex>``: HMAC-SHA256, keyed with the shared secret (UTF-8), of the message
    ``<timestamp>.<body>``: the timestamp header's value, a dot, then the exact body bytes.
``X-Seismo-Event``
    ``trigger`` or ``resolve``.

How a receiver verifies a request (Python standard library only): compute the HMAC over the
raw body bytes as received (before any JSON parsing), compare in constant time, and refuse
timestamps too far from now so that a captured request cannot be replayed later::

    import hashlib, hmac, time

    def verify(secret: bytes, headers, body: bytes, tolerance: float = 300) -> bool:
        timestamp = headers["X-Seismo-Timestamp"]
        if abs(time.time() - int(timestamp)) > tolerance:
            return False  # stale: a replay, or a clock far off
        message = timestamp.encode() + b"." + body
        expected = "sha256=" + hmac.new(secret, message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers["X-Seismo-Signature"])

:func:`sign` and :func:`verify_signature` do the same, for receivers written in Python:

>>> body = b'{"event":"trigger"}'
>>> sign("a-long-shared-secret", 1777888999, body)
'sha256=9a6afc1ff2be1881fb62842122fc703b4faea0fbd1941d1d546c2109a99f2383'
>>> signature = sign("a-long-shared-secret", 1777888999, body)
>>> verify_signature("a-long-shared-secret", "1777888999", body, signature, now=1777889000)
True
>>> verify_signature("a-long-shared-secret", "1777888999", body + b" ", signature,
...                  now=1777889000)
False
>>> verify_signature("a-long-shared-secret", "1777888999", body, signature, now=1777899000)
False
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from seismo.alerts.model import Notification
from seismo.alerts.sinks.base import HttpSink, json_bytes, url_secrets

BODY_VERSION = 1
SIGNATURE_HEADER = "X-Seismo-Signature"
TIMESTAMP_HEADER = "X-Seismo-Timestamp"
EVENT_HEADER = "X-Seismo-Event"
RESERVED_HEADERS = frozenset(
    h.lower() for h in ("Content-Type", SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_HEADER)
)
MIN_SECRET_LENGTH = 16


def webhook_body(notification: Notification, *, sent_at: datetime) -> dict[str, Any]:
    """The JSON document sent for one notification (see the module docstring)."""
    alert = {
        field.name: getattr(notification.alert, field.name)
        for field in dataclasses.fields(notification.alert)
    }
    return {
        "version": BODY_VERSION,
        "event": notification.event,
        "sent_at": sent_at,
        "alert": alert,
    }


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(key, message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` (the header's value) signs ``body`` at ``timestamp``, and the
    timestamp is within ``tolerance`` seconds of ``now`` (default: the current time)."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - signed_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookSink(HttpSink):
    """POSTs the signed JSON body to ``url``; ``headers`` are added to each request (their
    values are treated as secrets: they often carry a token)."""

    kind = "webhook"

    def __init__(
        self,
        name: str,
        url: str,
        secret: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        reserved = sorted(h for h in headers or {} if h.lower() in RESERVED_HEADERS)
        if reserved:
            raise ValueError(f"headers {reserved} are set by seismo and cannot be configured")
        super().__init__(
            name, url, timeout=timeout, headers=headers, secrets=(*url_secrets(url), secret)
        )
        self.secret = secret
        self.clock = clock

    def send(self, notification: Notification) -> None:
        now = self.clock()
        timestamp = str(int(now))
        body = json_bytes(webhook_body(notification, sent_at=datetime.fromtimestamp(now, UTC)))
        headers = {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            EVENT_HEADER: notification.event,
        }
        self.post(self.url, body, headers)

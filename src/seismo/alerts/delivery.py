"""Deliver a notification to a sink, retrying what can be retried; failures are returned.

Attempt ``n`` that fails with a retryable error waits ``backoff * 2**(n-1)`` seconds (at most
``max_backoff``), scaled by a random factor in [0.5, 1) so that many alerts failing together do
not retry in step, and at least the receiver's ``Retry-After``. A receiver that asks for a
longer wait than ``max_backoff`` is not retried now: the failure is returned and the caller
may try again later. A non-retryable error (a 400, a refused login) stops at once.

``deliver`` never raises for a failed delivery, not even for a bug in a sink: it returns a
:class:`DeliveryResult` with ``ok=False`` and the reason, secrets scrubbed.

>>> from seismo.alerts.model import Alert, AlertState, Notification, Severity
>>> from seismo.alerts.sinks import DeliveryError, Sink
>>> start = datetime(2026, 5, 4, tzinfo=UTC)
>>> alert = Alert("a1", "psi_drift", "churn", 3, "", Severity.WARNING, AlertState.FIRING,
...               "PSI 0.31 on age", "", start, start, start)
>>> class Flaky(Sink):
...     kind = "webhook"
...     target = "https://receiver.example"
...     failures = 2
...     def send(self, notification):
...         if self.failures:
...             self.failures -= 1
...             raise DeliveryError("HTTP 503", retryable=True)
>>> waits = []
>>> result = deliver(Flaky("hook"), Notification(alert, "trigger"), sleep=waits.append,
...                  jitter=lambda: 0.0)
>>> result.ok, result.attempts, result.error, waits
(True, 3, None, [0.25, 0.5])
"""

from __future__ import annotations

import logging
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from seismo.alerts.model import Notification
from seismo.alerts.sinks.base import DeliveryError, Sink
from seismo.retry import backoff_delay

log = logging.getLogger("seismo.alerts")


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How delivering one notification to one sink ended. ``error`` (None when ``ok``) says
    why the last attempt failed; it names the sink and holds no secret. ``at``: when the
    last attempt ended (UTC)."""

    sink: str
    kind: str
    event: Literal["trigger", "resolve"]
    ok: bool
    attempts: int
    error: str | None
    at: datetime


def deliver(
    sink: Sink,
    notification: Notification,
    *,
    attempts: int = 5,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> DeliveryResult:
    """Send ``notification`` through ``sink``, making up to ``attempts`` attempts."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    alert_id = notification.alert.id
    what = f"alert {alert_id} ({notification.event}) to {sink.kind} sink {sink.name!r}"

    def result(ok: bool, attempt: int, error: str | None) -> DeliveryResult:
        return DeliveryResult(
            sink=sink.name,
            kind=sink.kind,
            event=notification.event,
            ok=ok,
            attempts=attempt,
            error=error,
            at=datetime.now(UTC),
        )

    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        try:
            sink.send(notification)
        except DeliveryError as error:
            reason = sink.redact(error.message)
            retryable = error.retryable
            retry_after = error.retry_after
        except Exception as error:  # a bug in a sink must not stop the other deliveries
            reason = sink.redact(f"unexpected {type(error).__name__}: {error}")
            retryable = False
            details = sink.redact("".join(traceback.format_exception(error)))
            log.error("%s: unexpected error\n%s", what, details)
        else:
            if attempt > 1:
                log.info("%s: delivered at attempt %d", what, attempt)
            else:
                log.debug("%s: delivered", what)
            return result(True, attempt, None)

        if not retryable:
            log.error("%s failed (not retryable): %s", what, reason)
            return result(False, attempt, reason)
        if attempt == attempts:
            log.error("%s failed after %d attempts: %s", what, attempt, reason)
            return result(False, attempt, f"{reason} (gave up after {attempt} attempts)")
        delay = backoff_delay(attempt, base=backoff, cap=max_backoff, jitter=jitter)
        if retry_after is not None:
            if retry_after > max_backoff:
                reason = (
                    f"{reason} (the receiver asked to retry after {retry_after:.0f} s, "
                    f"longer than max_backoff={max_backoff:g} s: not retried now)"
                )
                log.error("%s failed: %s", what, reason)
                return result(False, attempt, reason)
            delay = max(delay, retry_after)
        log.warning(
            "%s: attempt %d of %d failed: %s; retrying in %.2f s",
            what,
            attempt,
            attempts,
            reason,
            delay,
        )
        sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover

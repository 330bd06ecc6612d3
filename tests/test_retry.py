"""One retry policy: the client and every HTTP alert sink retry exactly the same answers."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from seismo.alerts.model import Alert, AlertState, Notification, Severity
from seismo.alerts.sinks.base import DeliveryError, HttpSink
from seismo.client import Client
from seismo.client import DeliveryError as ClientError
from seismo.retry import RETRYABLE_STATUS, backoff_delay, retryable_status

STATUSES = range(400, 600)


def _client_retries(status: int) -> bool:
    """Whether seismo.Client tries a batch again after this answer."""
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status if len(calls) == 1 else 200, json={})

    client = Client("http://seismo.test", "m", start=False, max_retries=2, backoff=0.0)
    client._http = httpx.Client(
        base_url="http://seismo.test", transport=httpx.MockTransport(answer)
    )
    try:
        client.log({"x": 1}, output=1)
        client.flush()
    except ClientError:  # pragma: no cover - flush never raises; failures are kept
        pass
    client._http.close()
    return len(calls) == 2


class _Probe(HttpSink):
    kind = "probe"

    def send(self, notification: Notification) -> None:
        self.post(self.url, b"{}")


def _sink_retries(status: int, monkeypatch: pytest.MonkeyPatch) -> bool:
    monkeypatch.setattr(
        "seismo.alerts.sinks.base.httpx.post",
        lambda *args, **kwargs: httpx.Response(
            status, request=httpx.Request("POST", "http://sink.test")
        ),
    )
    sink = _Probe("probe", "http://sink.test/hook")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    alert = Alert(
        "a1", "rule", "m", 1, "", Severity.WARNING, AlertState.FIRING, "s", "d", now, now, now
    )
    try:
        sink.send(Notification(alert, "trigger"))
    except DeliveryError as error:
        return error.retryable
    raise AssertionError(f"HTTP {status} was not a failure")


def test_the_client_and_the_sinks_retry_the_same_statuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = {status for status in STATUSES if _client_retries(status)}
    sinks = {status for status in STATUSES if _sink_retries(status, monkeypatch)}
    assert client == sinks == set(RETRYABLE_STATUS)
    assert {status for status in STATUSES if retryable_status(status)} == set(RETRYABLE_STATUS)


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    delays = [backoff_delay(n, base=0.5, cap=3.0, jitter=lambda: 1.0) for n in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(2, base=0.5, cap=3.0, jitter=lambda: 0.0) == 0.5

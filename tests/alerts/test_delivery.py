"""deliver(): retries with backoff against real receivers; failures are returned, never raised,
and no secret reaches a log line, an error or a repr."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from seismo.alerts.delivery import DeliveryResult, deliver
from seismo.alerts.model import Notification
from seismo.alerts.sinks import (
    AlertmanagerSink,
    DeliveryError,
    EmailSink,
    PagerDutySink,
    Sink,
    SlackSink,
    WebhookSink,
)
from tests.alerts.receivers import HttpReceiver, Reply, SmtpReceiver, Waits, trigger
from tests.external import free_port


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


def no_jitter() -> float:
    return 0.0


def test_two_failures_then_success(receiver: HttpReceiver) -> None:
    receiver.fail(2, 500)
    waits = Waits()
    before = datetime.now(UTC)
    result = deliver(
        SlackSink("team", receiver.url), trigger(), backoff=0.5, sleep=waits, jitter=no_jitter
    )
    assert result.ok and result.attempts == 3 and result.error is None
    assert (result.sink, result.kind, result.event) == ("team", "slack", "trigger")
    assert before <= result.at <= datetime.now(UTC)
    assert len(receiver.requests) == 3
    assert waits == [0.25, 0.5]  # backoff * 2**(n-1), times 0.5 with no jitter


def test_backoff_is_jittered_and_capped(receiver: HttpReceiver) -> None:
    receiver.default = Reply(503)
    waits = Waits()
    result = deliver(
        SlackSink("team", receiver.url),
        trigger(),
        attempts=6,
        backoff=1.0,
        max_backoff=4.0,
        sleep=waits,
    )
    assert not result.ok and result.attempts == 6
    assert "HTTP 503" in (result.error or "") and "gave up after 6 attempts" in (result.error or "")
    bounds = [1.0, 2.0, 4.0, 4.0, 4.0]
    assert len(waits) == len(bounds)
    for wait, bound in zip(waits, bounds, strict=True):
        assert bound / 2 <= wait < bound


def test_not_retryable_stops_at_once(receiver: HttpReceiver) -> None:
    receiver.default = Reply(400, b'{"status":"invalid event","message":"Event object is invalid"}')
    waits = Waits()
    result = deliver(PagerDutySink("oncall", "k" * 32, url=receiver.url), trigger(), sleep=waits)
    assert not result.ok and result.attempts == 1 and waits == []
    assert "HTTP 400" in (result.error or "") and "Event object is invalid" in (result.error or "")
    assert len(receiver.requests) == 1


def test_retry_after_is_honoured(receiver: HttpReceiver) -> None:
    receiver.fail(1, 429, headers={"Retry-After": "3"})
    receiver.fail(1, 503, headers={"Retry-After": "0"})
    waits = Waits()
    result = deliver(SlackSink("team", receiver.url), trigger(), sleep=waits, jitter=no_jitter)
    assert result.ok and result.attempts == 3
    assert waits == [3.0, 0.5]  # the receiver's 3 s; then the backoff, more than its 0 s


def test_retry_after_longer_than_max_backoff_is_not_waited_for(receiver: HttpReceiver) -> None:
    receiver.default = Reply(429, headers={"Retry-After": "600"})
    waits = Waits()
    result = deliver(SlackSink("team", receiver.url), trigger(), max_backoff=30.0, sleep=waits)
    assert not result.ok and result.attempts == 1 and waits == []
    assert "retry after 600 s" in (result.error or "")


def test_unreachable_receiver_is_retried_then_reported() -> None:
    waits = Waits()
    sink = WebhookSink("hook", f"http://127.0.0.1:{free_port()}/hook", "s" * 32)
    result = deliver(sink, trigger(), attempts=3, sleep=waits)
    assert not result.ok and result.attempts == 3 and len(waits) == 2
    assert "ConnectError" in (result.error or "")


def test_email_is_retried_after_a_temporary_smtp_refusal() -> None:
    with SmtpReceiver() as smtp:
        smtp.replies.append("451 4.3.0 Try again later")
        sink = EmailSink(
            "mail",
            host="127.0.0.1",
            port=smtp.port,
            sender="seismo@example.com",
            recipients=["ml@example.com"],
            starttls=False,
        )
        result = deliver(sink, trigger(), sleep=Waits())
    assert result.ok and result.attempts == 2 and len(smtp.mails) == 1


class Broken(Sink):
    kind = "webhook"
    target = "https://receiver.test"

    def send(self, notification: Notification) -> None:
        raise KeyError("a bug")


def test_a_bug_in_a_sink_is_a_failed_result(caplog: pytest.LogCaptureFixture) -> None:
    result = deliver(Broken("buggy"), trigger(), sleep=Waits())
    assert not result.ok and result.attempts == 1
    assert "unexpected KeyError" in (result.error or "")
    assert "Traceback" in caplog.text  # logged with its traceback, for whoever fixes it


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="attempts"):
        deliver(Broken("buggy"), trigger(), attempts=0)


# -- secrets ---------------------------------------------------------------------------------------
SLACK_TOKEN_PATH = "/services/T0SECRET/B0SECRET/xoxb5l4ckW3bh00kT0k3n"
ROUTING_KEY = "PDr0ut1ngK3y0123456789abcdefABCD"
HMAC_SECRET = "hmac-5ecret-never-to-be-shown"
BEARER = "Bearer am-t0ken-not-for-logs"
SMTP_PASSWORD = "smtp-pa55-not-for-logs"
SECRETS = (
    SLACK_TOKEN_PATH,
    "xoxb5l4ckW3bh00kT0k3n",
    ROUTING_KEY,
    HMAC_SECRET,
    BEARER,
    "am-t0ken-not-for-logs",
    SMTP_PASSWORD,
)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked in {text!r}"


def test_no_secret_in_logs_errors_or_reprs(
    receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's and httpcore's included
    # error pages that echo the request (path, headers, body) back
    receiver.fail(1, 400, body=b"invalid request", echo=True)
    receiver.default = Reply(500, b"oops", echo=True)
    unreachable = f"http://127.0.0.1:{free_port()}"
    with SmtpReceiver(username="seismo", password="the-right-one") as smtp:
        sinks: list[Sink] = [
            SlackSink("team", receiver.url + SLACK_TOKEN_PATH),
            PagerDutySink("oncall", ROUTING_KEY, url=receiver.url + "/v2/enqueue"),
            SlackSink("team-down", unreachable + SLACK_TOKEN_PATH),
            WebhookSink("hook", unreachable + "/hook", HMAC_SECRET),
            AlertmanagerSink("am", receiver.url, headers={"Authorization": BEARER}),
            EmailSink(
                "mail",
                host="127.0.0.1",
                port=smtp.port,
                sender="seismo@example.com",
                recipients=["ml@example.com"],
                username="seismo",
                password=SMTP_PASSWORD,
                starttls=False,
            ),
        ]
        results: list[DeliveryResult] = [
            deliver(sink, trigger(), attempts=2, sleep=Waits()) for sink in sinks
        ]
    assert not any(result.ok for result in results)
    # the secrets did reach the receiver, which echoed them back...
    assert len(receiver.requests) == 1 + 2 + 2
    assert receiver.requests[0].path == SLACK_TOKEN_PATH
    assert receiver.requests[1].json()["routing_key"] == ROUTING_KEY
    assert receiver.requests[3].headers["authorization"] == BEARER
    # ...and nothing else
    errors = [result.error or "" for result in results]
    assert all(errors)
    assert "HTTP 400" in errors[0] and "HTTP 500" in errors[1] and "HTTP 500" in errors[4]
    assert all("[redacted]" in errors[i] for i in (0, 1, 4))  # ...and they were scrubbed
    assert "SMTPAuthenticationError" in errors[5]
    assert_no_secret(caplog.text, *errors, *map(repr, results), *map(repr, sinks))
    for record in caplog.records:
        assert_no_secret(record.getMessage())
    assert any(record.name == "httpx" for record in caplog.records)  # its URL lines, scrubbed
    assert any(record.name == "seismo.alerts" for record in caplog.records)
    for sink in sinks:
        try:
            sink.send(trigger())
        except DeliveryError as error:
            assert_no_secret(str(error), repr(error))

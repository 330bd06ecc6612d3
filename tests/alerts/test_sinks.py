"""Each sink against a real local receiver: what is sent, and how answers are classified."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from seismo.alerts.model import Severity
from seismo.alerts.sinks import (
    AlertmanagerSink,
    DeliveryError,
    EmailSink,
    PagerDutySink,
    SlackSink,
    WebhookSink,
)
from seismo.alerts.sinks.alertmanager import alertmanager_alert
from seismo.alerts.sinks.base import parse_retry_after
from seismo.alerts.sinks.slack import slack_message
from tests.alerts.receivers import (
    HttpReceiver,
    Reply,
    SmtpReceiver,
    free_port,
    make_alert,
    resolve,
    trigger,
)

SLACK_URL_PATH = "/services/T0SEISMO/B0SEISMO/s3cr3tS1ackT0ken"
ROUTING_KEY = "R0UTINGKEY0123456789abcdefABCDEF"
WEBHOOK_SECRET = "whsec-7f3a9c1e5b2d4f6a8c0e"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


def raised(sink: Any, notification: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        sink.send(notification)
    return caught.value


# -- Slack ---------------------------------------------------------------------------------------
def all_texts(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in blocks:
        if "text" in block:
            yield block["type"], block["text"]
        for item in block.get("fields", []):
            yield "field", item
        for item in block.get("elements", []):
            yield "context", item


def assert_within_slack_limits(message: Mapping[str, Any]) -> None:
    blocks = message["blocks"]
    assert isinstance(message["text"], str) and message["text"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            assert block["text"]["type"] == "mrkdwn"
            assert 0 < len(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            for item in block.get("fields", []):
                assert item["type"] == "mrkdwn" and 0 < len(item["text"]) <= 2000
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            for item in block["elements"]:
                assert item["type"] in ("mrkdwn", "plain_text")
                assert 0 < len(item["text"]) <= 3000
        else:
            raise AssertionError(f"unexpected block type {block['type']}")


def test_slack_trigger_is_a_block_kit_message(receiver: HttpReceiver) -> None:
    sink = SlackSink("team", receiver.url + SLACK_URL_PATH)
    sink.send(trigger())

    [request] = receiver.requests
    assert request.path == SLACK_URL_PATH
    assert request.headers["content-type"] == "application/json"
    message = request.json()
    assert_within_slack_limits(message)
    assert [block["type"] for block in message["blocks"]] == [
        "header",
        "section",
        "section",
        "context",
    ]
    header, summary, features, context = message["blocks"]
    assert "FIRING" in header["text"]["text"] and "psi_drift" in header["text"]["text"]
    assert "PSI 0.31 on 2 features" in summary["text"]["text"]
    fields = {
        item["text"].split("\n")[0]: item["text"].split("\n")[1] for item in summary["fields"]
    }
    assert fields["*Model*"] == "churn v3"
    assert fields["*Segment*"] == "country=FR"
    assert fields["*Severity*"] == "critical"
    assert fields["*Window*"] == "2026-05-04 00:00 → 2026-05-05 00:00 UTC"
    assert fields["*Value*"] == "0.3141 (threshold 0.2)"
    assert features["text"]["text"] == "*Drifted features (2):* `age`, `plan`"
    links = [item["text"] for item in context["elements"]]
    assert any(make_alert().url in link and "|Open the drift report>" in link for link in links)
    assert message["text"].startswith("[seismo] FIRING critical psi_drift churn v3")


def test_slack_resolve_is_posted_and_marked_resolved(receiver: HttpReceiver) -> None:
    SlackSink("team", receiver.url + SLACK_URL_PATH).send(resolve())
    message = receiver.requests[0].json()
    assert_within_slack_limits(message)
    assert "RESOLVED" in message["blocks"][0]["text"]["text"]
    assert ":white_check_mark:" in message["blocks"][0]["text"]["text"]
    assert "FIRING" not in json.dumps(message)
    assert message["text"].startswith("[seismo] RESOLVED")
    fields = [item["text"] for item in message["blocks"][1]["fields"]]
    assert "*Resolved*\n2026-05-06 00:05 UTC" in fields


def test_slack_message_without_features_or_url() -> None:
    message = slack_message(trigger(values={"value": 0.5}, url=None, segment=""))
    assert_within_slack_limits(message)
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "context"]
    assert "Open the drift report" not in json.dumps(message)
    fields = [item["text"] for item in message["blocks"][1]["fields"]]
    assert "*Segment*\nall" in fields and "*Value*\n0.5" in fields


def test_slack_texts_are_cut_to_block_kit_limits_and_escaped() -> None:
    features = {f"feature_{i:04d}_" + "x" * 30: 0.5 for i in range(500)}
    notification = trigger(
        rule="r" * 400,
        model="<model & co>",
        summary="s" * 5000,
        description="d" * 5000,
        segment="country=" + "F" * 3000,
        values={"value": 1.0, "threshold": 0.5, "features": features},
    )
    message = slack_message(notification)
    assert_within_slack_limits(message)
    features_text = message["blocks"][2]["text"]["text"]
    assert features_text.startswith("*Drifted features (500):* `feature_0000_")
    assert features_text.endswith(" more")
    assert "&lt;model &amp; co&gt;" in json.dumps(message)  # mrkdwn control characters escaped


# -- PagerDuty -----------------------------------------------------------------------------------
def test_pagerduty_trigger_and_resolve_share_the_dedup_key(receiver: HttpReceiver) -> None:
    receiver.default = Reply(202, b'{"status":"success","message":"Event processed"}')
    sink = PagerDutySink("oncall", ROUTING_KEY, url=receiver.url + "/v2/enqueue")
    sink.send(trigger())
    sink.send(resolve())

    first, second = (request.json() for request in receiver.requests)
    assert receiver.requests[0].path == "/v2/enqueue"
    assert first["routing_key"] == second["routing_key"] == ROUTING_KEY
    assert first["event_action"] == "trigger" and second["event_action"] == "resolve"
    assert first["dedup_key"] == second["dedup_key"] == make_alert().id
    payload = first["payload"]
    assert payload["summary"] == make_alert().summary
    assert payload["source"] == "seismo"
    assert payload["severity"] == "critical"
    assert payload["timestamp"] == "2026-05-05T00:05:00Z"
    assert payload["component"] == "churn"
    assert payload["group"] == "country=FR"
    assert payload["class"] == "psi_drift"
    assert payload["custom_details"] == make_alert().values
    assert first["links"] == [{"href": make_alert().url, "text": "Drift report"}]
    assert set(second) == {"routing_key", "event_action", "dedup_key"}


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(Severity.CRITICAL, "critical"), (Severity.WARNING, "warning"), (Severity.INFO, "info")],
)
def test_pagerduty_severity_and_summary_limit(
    receiver: HttpReceiver, severity: Severity, expected: str
) -> None:
    receiver.default = Reply(202, b"{}")
    sink = PagerDutySink("oncall", ROUTING_KEY, url=receiver.url, source="seismo-prod")
    sink.send(trigger(severity=severity, summary="x" * 3000, url=None, segment=""))
    body = receiver.requests[0].json()
    assert body["payload"]["severity"] == expected
    assert body["payload"]["source"] == "seismo-prod"
    assert len(body["payload"]["summary"]) == 1024
    assert "group" not in body["payload"] and "links" not in body


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (403, False), (429, True), (500, True), (503, True)]
)
def test_pagerduty_answers_are_classified(
    receiver: HttpReceiver, status: int, retryable: bool
) -> None:
    receiver.default = Reply(status, b'{"status":"invalid event"}')
    error = raised(PagerDutySink("oncall", ROUTING_KEY, url=receiver.url), trigger())
    assert error.retryable is retryable
    assert f"HTTP {status}" in str(error) and "pagerduty sink 'oncall'" in str(error)


# -- generic webhook -----------------------------------------------------------------------------
def verify(secret: bytes, headers: Mapping[str, str], body: bytes, tolerance: float = 300) -> bool:
    """The recipe of seismo.alerts.sinks.webhook's docstring, as a receiver would write it."""
    timestamp = headers["X-Seismo-Timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    message = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Seismo-Signature"])


def webhook_headers(received: Mapping[str, str]) -> dict[str, str]:
    return {
        "X-Seismo-Timestamp": received["x-seismo-timestamp"],
        "X-Seismo-Signature": received["x-seismo-signature"],
    }


def test_webhook_body_is_signed_and_the_recipe_verifies_it(receiver: HttpReceiver) -> None:
    sink = WebhookSink("hook", receiver.url + "/seismo", WEBHOOK_SECRET, headers={"X-Team": "ml"})
    sink.send(trigger())
    sink.send(resolve())

    first, second = receiver.requests
    for request, event in ((first, "trigger"), (second, "resolve")):
        headers = webhook_headers(request.headers)
        assert verify(WEBHOOK_SECRET.encode(), headers, request.body)
        assert abs(int(headers["X-Seismo-Timestamp"]) - time.time()) < 60
        assert request.headers["x-seismo-event"] == event
        assert request.headers["x-team"] == "ml"
    body = first.json()
    assert body["version"] == 1 and body["event"] == "trigger"
    alert = body["alert"]
    assert alert["id"] == make_alert().id
    assert alert["severity"] == "critical" and alert["state"] == "firing"
    assert alert["window_start"] == "2026-05-04T00:00:00Z"
    assert alert["started_at"] == "2026-05-05T00:05:00Z"
    assert alert["resolved_at"] is None
    assert alert["values"] == make_alert().values
    assert datetime.fromisoformat(body["sent_at"]).tzinfo is not None
    resolved = second.json()
    assert resolved["event"] == "resolve"
    assert resolved["alert"]["resolved_at"] == "2026-05-06T00:05:00Z"


def test_webhook_signature_fails_on_tampering_wrong_secret_and_replay(
    receiver: HttpReceiver,
) -> None:
    WebhookSink("hook", receiver.url, WEBHOOK_SECRET).send(trigger())
    request = receiver.requests[0]
    headers = webhook_headers(request.headers)
    assert verify(WEBHOOK_SECRET.encode(), headers, request.body)
    tampered = request.body.replace(b'"critical"', b'"info"')
    assert tampered != request.body
    assert not verify(WEBHOOK_SECRET.encode(), headers, tampered)
    assert not verify(b"another-secret-of-some-length", headers, request.body)
    old = int(headers["X-Seismo-Timestamp"]) - 3600
    replayed = {**headers, "X-Seismo-Timestamp": str(old)}
    assert not verify(WEBHOOK_SECRET.encode(), replayed, request.body)  # stale
    # re-signing the old timestamp is what an attacker cannot do without the secret
    assert not verify(
        WEBHOOK_SECRET.encode(),
        {**headers, "X-Seismo-Timestamp": str(int(headers["X-Seismo-Timestamp"]) + 1)},
        request.body,
    )


def test_webhook_refuses_to_let_headers_override_the_signature() -> None:
    with pytest.raises(ValueError, match="X-Seismo-Signature"):
        WebhookSink(
            "hook", "http://127.0.0.1:9", WEBHOOK_SECRET, headers={"X-Seismo-Signature": "sha256=0"}
        )


# -- Alertmanager (payload; the real server is in test_alertmanager.py) --------------------------
def test_alertmanager_payload_labels_annotations_and_ends_at() -> None:
    now = datetime(2026, 5, 5, 1, 0, tzinfo=UTC)
    firing = alertmanager_alert(trigger(), now=now, firing_ttl=timedelta(days=7))
    assert firing["labels"] == {
        "alertname": "psi_drift",
        "model": "churn",
        "version": "3",
        "segment": "country=FR",
        "severity": "critical",
        "alert_id": make_alert().id,
        "series": "psi",
        "feature_group": "demographics",
    }
    assert firing["annotations"] == {
        "summary": make_alert().summary,
        "description": make_alert().description,
        "url": make_alert().url,
    }
    assert firing["generatorURL"] == make_alert().url
    assert firing["startsAt"] == "2026-05-05T00:05:00Z"
    assert firing["endsAt"] == "2026-05-12T01:00:00Z"  # now + firing_ttl
    resolved = alertmanager_alert(resolve(), now=now, firing_ttl=timedelta(days=7))
    assert resolved["labels"] == firing["labels"]
    assert resolved["endsAt"] == "2026-05-06T00:05:00Z"  # resolved_at
    whole_model = alertmanager_alert(
        trigger(segment="", url=None), now=now, firing_ttl=timedelta(hours=1)
    )
    assert "segment" not in whole_model["labels"] and "generatorURL" not in whole_model
    assert "url" not in whole_model["annotations"]


def test_alertmanager_sink_posts_a_list_of_one_alert(receiver: HttpReceiver) -> None:
    AlertmanagerSink("am", receiver.url + "/").send(trigger())
    [request] = receiver.requests
    assert request.path == "/api/v2/alerts"
    [posted] = request.json()
    assert posted["labels"]["alertname"] == "psi_drift"


# -- HTTP answers and transport errors, shared by every HTTP sink ---------------------------------
def test_connection_refused_and_timeouts_are_retryable(receiver: HttpReceiver) -> None:
    refused = raised(SlackSink("team", f"http://127.0.0.1:{free_port()}/x"), trigger())
    assert refused.retryable and "ConnectError" in str(refused)
    receiver.default = Reply(200, delay=1.0)
    timed_out = raised(SlackSink("team", receiver.url, timeout=0.2), trigger())
    assert timed_out.retryable and "timed out" in str(timed_out)


def test_retry_after_is_read_from_429_and_503(receiver: HttpReceiver) -> None:
    receiver.fail(1, 429, headers={"Retry-After": "7"})
    receiver.fail(1, 503, headers={"Retry-After": "2"})
    receiver.fail(1, 502)
    sink = SlackSink("team", receiver.url)
    assert raised(sink, trigger()).retry_after == 7.0
    assert raised(sink, trigger()).retry_after == 2.0
    assert raised(sink, trigger()).retry_after is None


@pytest.mark.parametrize("status", [301, 400, 404, 410])
def test_other_answers_are_not_retryable(receiver: HttpReceiver, status: int) -> None:
    receiver.default = Reply(status, b"invalid_payload")
    error = raised(SlackSink("team", receiver.url), trigger())
    assert not error.retryable and f"HTTP {status}" in str(error)


def test_parse_retry_after_http_date_and_garbage() -> None:
    now = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 04 May 2026 10:00:45 GMT", now=now) == 45.0
    assert parse_retry_after("Mon, 04 May 2026 09:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after("nan") is None
    assert parse_retry_after("") is None


# -- email ---------------------------------------------------------------------------------------
def email_sink(smtp: SmtpReceiver, **options: Any) -> EmailSink:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "sender": "seismo@example.com",
        "recipients": ["ml@example.com", "oncall@example.com"],
        "starttls": False,
        "timeout": 5.0,
    }
    return EmailSink("mail", **{**settings, **options})


def test_email_subject_recipients_and_body() -> None:
    with SmtpReceiver() as smtp:
        sink = email_sink(smtp)
        sink.send(trigger())
        sink.send(resolve())
    first, second = smtp.mails
    assert first.sender == "seismo@example.com"
    assert first.recipients == ["ml@example.com", "oncall@example.com"]
    message = first.message
    assert message["Subject"] == (
        "[seismo] FIRING critical psi_drift churn v3 [country=FR]: "
        "PSI 0.31 on 2 features of churn v3 (country=FR)"
    )
    assert message["From"] == "seismo@example.com"
    assert message["To"] == "ml@example.com, oncall@example.com"
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    for expected in (
        "FIRING: PSI 0.31",
        "Rule:",
        "psi_drift",
        "churn v3",
        "country=FR",
        "critical",
        "0.3141 (threshold 0.2)",
        "Drifted features:",
        "age, plan",
        make_alert().url,
        "Population stability index above 0.2",
    ):
        assert expected in text, expected
    assert "<table" in html.get_content() and "psi_drift" in html.get_content()

    resolved = second.message
    assert resolved["Subject"].startswith("[seismo] RESOLVED critical psi_drift churn v3")
    assert resolved["In-Reply-To"] == message["Message-ID"]
    body = resolved.get_body(preferencelist=("plain",))
    assert body is not None and "Resolved:" in body.get_content()


def test_email_plain_only_and_login() -> None:
    with SmtpReceiver(username="seismo", password="smtp-pa55word") as smtp:
        email_sink(smtp, username="seismo", password="smtp-pa55word", html=False).send(trigger())
    [mail] = smtp.mails
    assert mail.login == "seismo"
    assert not mail.message.is_multipart()
    assert mail.message.get_content_type() == "text/plain"


def test_email_failures_are_classified() -> None:
    with SmtpReceiver(username="seismo", password="right-password") as smtp:
        wrong = raised(email_sink(smtp, username="seismo", password="wrong-pa55word"), trigger())
        assert not wrong.retryable and "535" in str(wrong)
        assert "wrong-pa55word" not in str(wrong)
        smtp.replies.append("451 4.3.0 Try again later")
        later = raised(email_sink(smtp, username="seismo", password="right-password"), trigger())
        assert later.retryable and "451" in str(later)
        smtp.replies.append("554 5.7.1 Rejected")
        rejected = raised(email_sink(smtp, username="seismo", password="right-password"), trigger())
        assert not rejected.retryable and "554" in str(rejected)
    with SmtpReceiver() as smtp:
        no_tls = raised(email_sink(smtp, starttls=True), trigger())
        assert not no_tls.retryable and "starttls: false" in str(no_tls)
    refused = raised(
        EmailSink(
            "mail",
            host="127.0.0.1",
            port=free_port(),
            sender="a@b.c",
            recipients=["d@e.f"],
            starttls=False,
        ),
        trigger(),
    )
    assert refused.retryable and "smtp://127.0.0.1" in str(refused)

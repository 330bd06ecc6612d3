"""sinks_from_config: YAML entries to sinks, ${NAME} from the environment, errors that say what
to fix and show no secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from seismo.alerts.sinks import (
    AlertmanagerSink,
    EmailSink,
    PagerDutySink,
    SlackSink,
    WebhookSink,
    sinks_from_config,
)
from seismo.alerts.sinks.pagerduty import EVENTS_URL
from seismo.errors import InputError

SOURCE = "conf/seismo.yaml"
ENVIRON = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/sl4ckS3cretToken",
    "PAGERDUTY_ROUTING_KEY": "pdR0utingKey0123456789abcdefABCD",
    "WEBHOOK_SECRET": "whsec-0123456789abcdef",
    "SMTP_PASSWORD": "smtp-pa55word-secret",
    "AM_AUTH": "Bearer am-token-secret",
    "SMTP_PORT": "2525",
}

FULL_CONFIG = """
sinks:
  - type: slack
    name: team
    url: ${SLACK_WEBHOOK_URL}
  - type: pagerduty
    routing_key: ${PAGERDUTY_ROUTING_KEY}
    source: seismo-prod
    timeout: 5
  - type: webhook
    url: https://hooks.example.com/seismo
    secret: ${WEBHOOK_SECRET}
    headers: {X-Team: ml}
  - type: alertmanager
    url: http://alertmanager:9093
    firing_ttl: 12h
    headers: {Authorization: "${AM_AUTH}"}
  - type: email
    name: ml-mail
    host: smtp.example.com
    port: ${SMTP_PORT}
    from: seismo@example.com
    to: [ml@example.com, oncall@example.com]
    username: seismo
    password: ${SMTP_PASSWORD}
"""


def build(entries: Any, environ: dict[str, str] | None = None) -> list[Any]:
    return sinks_from_config(entries, SOURCE, environ=ENVIRON if environ is None else environ)


def error_for(entry: dict[str, Any], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(InputError) as caught:
        build([entry], environ)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: sinks[0]")
    for secret in ENVIRON.values():
        if len(secret) > 6:
            assert secret not in message
    return message


def test_every_type_from_yaml_with_secrets_from_the_environment() -> None:
    slack, pagerduty, webhook, alertmanager, email = build(yaml.safe_load(FULL_CONFIG)["sinks"])
    assert isinstance(slack, SlackSink) and slack.name == "team"
    assert slack.url == ENVIRON["SLACK_WEBHOOK_URL"] and slack.timeout == 10.0
    assert isinstance(pagerduty, PagerDutySink) and pagerduty.name == "pagerduty"
    assert pagerduty.routing_key == ENVIRON["PAGERDUTY_ROUTING_KEY"]
    assert pagerduty.url == EVENTS_URL and pagerduty.source == "seismo-prod"
    assert pagerduty.timeout == 5.0
    assert isinstance(webhook, WebhookSink) and webhook.secret == ENVIRON["WEBHOOK_SECRET"]
    assert webhook.headers == {"X-Team": "ml"}
    assert isinstance(alertmanager, AlertmanagerSink)
    assert alertmanager.firing_ttl == timedelta(hours=12)
    assert alertmanager.headers == {"Authorization": ENVIRON["AM_AUTH"]}
    assert isinstance(email, EmailSink) and email.name == "ml-mail"
    assert (email.host, email.port, email.sender) == (
        "smtp.example.com",
        2525,
        "seismo@example.com",
    )
    assert email.recipients == ("ml@example.com", "oncall@example.com")
    assert (email.username, email.password) == ("seismo", ENVIRON["SMTP_PASSWORD"])
    assert email.starttls and not email.use_ssl and email.html

    shown = " ".join(repr(sink) for sink in (slack, pagerduty, webhook, alertmanager, email))
    for secret in ENVIRON.values():
        if len(secret) > 6:
            assert secret not in shown
    assert repr(slack) == "SlackSink(name='team', target='https://hooks.slack.com')"


def test_email_port_follows_the_security_setting() -> None:
    base = {"type": "email", "host": "mx", "from": "a@b.c", "to": ["d@e.f"]}
    assert build([base])[0].port == 587
    ssl_sink = build([{**base, "ssl": True}])[0]
    assert ssl_sink.port == 465 and ssl_sink.use_ssl and not ssl_sink.starttls
    assert build([{**base, "starttls": False}])[0].port == 25


def test_missing_environment_variable_names_entry_and_variable() -> None:
    message = error_for({"type": "slack", "name": "team", "url": "${SLACK_HOOK}"}, environ={})
    assert "('team', type slack)" in message
    assert "url refers to the environment variable SLACK_HOOK" in message
    assert "set SLACK_HOOK" in message
    message = error_for(
        {"type": "email", "host": "mx", "from": "a@b.c", "to": ["${ONCALL}"]}, environ={}
    )
    assert "to refers to the environment variable ONCALL" in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"type": "teams"}, "unknown type 'teams'; set type to one of ['slack', 'pagerduty'"),
        ({"name": "x"}, "has no type"),
        ({"type": "slack"}, "url is missing; set it to the channel's incoming webhook URL"),
        ({"type": "pagerduty"}, "routing_key is missing; set it to the integration key"),
        ({"type": "webhook", "url": "https://h.example"}, "secret is missing"),
        ({"type": "webhook", "secret": "s" * 20}, "url is missing"),
        ({"type": "webhook", "url": "https://h.example", "secret": "short"}, "shorter than 16"),
        ({"type": "alertmanager"}, "url is missing"),
        ({"type": "email", "from": "a@b.c", "to": ["d@e.f"]}, "host is missing"),
        ({"type": "email", "host": "mx", "to": ["d@e.f"]}, "from is missing"),
        ({"type": "email", "host": "mx", "from": "a@b.c"}, "to is missing; list the recipients"),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": "d@e.f"},
            "to must be a list of strings, got 'd@e.f'",
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": ["d@e.f"], "port": 0},
            "port must be a port number",
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": ["d@e.f"], "ssl": "yes"},
            "ssl must be true or false, got 'yes'",
        ),
        (
            {
                "type": "email",
                "host": "mx",
                "from": "a@b.c",
                "to": ["d@e.f"],
                "ssl": True,
                "starttls": True,
            },
            "ssl and starttls are both true",
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": ["d@e.f"], "password": "p"},
            "password is set but username is not",
        ),
        (
            {"type": "email", "host": "mx", "from": "seismo", "to": ["d@e.f"]},
            "from holds 'seismo', which is not an email address",
        ),
        ({"type": "slack", "url": "hooks.slack.com/x"}, "url must be an http(s):// URL"),
        ({"type": "slack", "url": "https://h", "timeout": "fast"}, "timeout must be a positive"),
        ({"type": "slack", "url": "https://h", "timeout": -1}, "timeout must be a positive"),
        ({"type": "slack", "url": "https://h", "channel": "#ml"}, "unknown field(s) ['channel']"),
        (
            {"type": "alertmanager", "url": "http://am:9093", "firing_ttl": "soon"},
            "firing_ttl must be a duration such as '12h'",
        ),
        (
            {"type": "webhook", "url": "https://h", "secret": "s" * 20, "headers": ["X-A"]},
            "headers must be a mapping",
        ),
        (
            {
                "type": "webhook",
                "url": "https://h",
                "secret": "s" * 20,
                "headers": {"x-seismo-signature": "sha256=0"},
            },
            "headers cannot set ['x-seismo-signature']",
        ),
    ],
)
def test_bad_entries_name_the_field_and_what_to_do(entry: dict[str, Any], expected: str) -> None:
    assert expected in error_for(entry)


def test_unknown_field_lists_the_valid_ones() -> None:
    message = error_for({"type": "pagerduty", "routing_key": "k", "service": "x"})
    assert "the fields of a pagerduty sink are" in message
    for field in ("type", "name", "timeout", "routing_key", "url", "source"):
        assert repr(field) in message


def test_wrong_type_of_a_secret_is_not_echoed() -> None:
    message = error_for({"type": "pagerduty", "routing_key": 1234567890123})
    assert "routing_key must be a non-empty string, got int" in message
    assert "1234567890123" not in message
    message = error_for({"type": "slack", "url": "not a url but secret-ish token"})
    assert "secret-ish" not in message


def test_names_must_be_unique_and_entries_a_list() -> None:
    with pytest.raises(InputError, match=r"sinks\[1\] \('slack'.*also used by sinks\[0\]"):
        build([{"type": "slack", "url": "https://a"}, {"type": "slack", "url": "https://b"}])
    with pytest.raises(InputError, match="sinks must be a list"):
        build({"type": "slack"})
    with pytest.raises(InputError, match=r"sinks\[0\]: expected a mapping"):
        build(["slack"])


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEISMO_TEST_HOOK", "https://hooks.example/abc")
    [sink] = sinks_from_config([{"type": "slack", "url": "${SEISMO_TEST_HOOK}"}], SOURCE)
    assert isinstance(sink, SlackSink) and sink.url == "https://hooks.example/abc"

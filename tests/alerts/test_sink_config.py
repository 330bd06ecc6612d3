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
)
from seismo.alerts.sinks.pagerduty import EVENTS_URL
from seismo.config import sinks_from_config
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
    assert message == (
        f"{SOURCE}: sinks[0].url: refers to the environment variable SLACK_HOOK, which is not "
        "set or is empty; set SLACK_HOOK in the environment seismo runs in"
    )
    message = error_for(
        {"type": "email", "host": "mx", "from": "a@b.c", "to": ["a@b.c", "${ONCALL}"]},
        environ={"ONCALL": ""},
    )
    assert "sinks[0].to[1]: refers to the environment variable ONCALL" in message
    message = error_for(
        {"type": "alertmanager", "url": "http://am", "headers": {"Authorization": "${AM}"}},
        environ={},
    )
    assert "sinks[0].headers.Authorization: refers to the environment variable AM" in message


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            {"type": "teams"},
            "sinks[0]: unknown type 'teams'; set type to one of slack, pagerduty, webhook, "
            "alertmanager, email",
        ),
        ({"name": "x"}, "sinks[0]: has no type; set type to one of slack, pagerduty"),
        ({"type": "slack"}, "url: missing; set it to the channel's incoming webhook URL"),
        ({"type": "pagerduty"}, "routing_key: missing; set it to the integration key"),
        ({"type": "webhook", "url": "https://h.example"}, "secret: missing; set it to a shared"),
        ({"type": "webhook", "secret": "s" * 20}, "url: missing"),
        ({"type": "webhook", "url": "https://h.example", "secret": "short"}, "shorter than 16"),
        ({"type": "alertmanager"}, "url: missing; set it to Alertmanager's address"),
        ({"type": "email", "from": "a@b.c", "to": ["d@e.f"]}, "host: missing"),
        ({"type": "email", "host": "mx", "to": ["d@e.f"]}, "from: missing; set it to the sender"),
        ({"type": "email", "host": "mx", "from": "a@b.c"}, "to: missing; set it to the recipients"),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": []},
            "to: must not be empty; set it",
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": "d@e.f"},
            "to: expected a list, got 'd@e.f'",
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": ["d@e.f"], "port": 0},
            "port: must be at least 1, got 0",
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": ["d@e.f"], "port": "smtp"},
            "port: expected a whole number, got 'smtp'",
        ),
        (
            {"type": "email", "host": "mx", "from": "a@b.c", "to": ["d@e.f"], "ssl": "yes"},
            "ssl: expected true or false, got 'yes'",
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
            "password: is set but username is not; set both or neither",
        ),
        (
            {"type": "email", "host": "mx", "from": "seismo", "to": ["d@e.f"]},
            "from: 'seismo' is not an email address",
        ),
        (
            {"type": "slack", "url": "hooks.slack.com/x"},
            "url: must be an http(s):// URL; the value is not",
        ),
        (
            {"type": "slack", "url": "https://h", "timeout": "fast"},
            "timeout: expected a finite number, got 'fast'",
        ),
        ({"type": "slack", "url": "https://h", "timeout": -1}, "timeout: must be more than 0"),
        (
            {"type": "slack", "url": "https://h", "channel": "#ml"},
            "channel: unknown key; valid keys here: type, name, timeout, url",
        ),
        (
            {"type": "alertmanager", "url": "http://am:9093", "firing_ttl": "soon"},
            "firing_ttl: expected a duration such as '12h' or '7d', or seconds, got 'soon'",
        ),
        (
            {"type": "webhook", "url": "https://h", "secret": "s" * 20, "headers": ["X-A"]},
            "headers: expected a mapping, got a list",
        ),
        (
            {
                "type": "webhook",
                "url": "https://h",
                "secret": "s" * 20,
                "headers": {"x-seismo-signature": "sha256=0"},
            },
            "headers: cannot set ['x-seismo-signature']: seismo sets them",
        ),
    ],
)
def test_bad_entries_name_the_field_and_what_to_do(entry: dict[str, Any], expected: str) -> None:
    assert expected in error_for(entry)


def test_unknown_field_lists_the_valid_ones() -> None:
    message = error_for({"type": "pagerduty", "routing_key": "k", "service": "x"})
    assert message.endswith(
        "sinks[0].service: unknown key (did you mean source?); "
        "valid keys here: type, name, timeout, routing_key, url, source"
    )


def test_wrong_type_of_a_secret_is_not_echoed() -> None:
    message = error_for({"type": "pagerduty", "routing_key": 1234567890123})
    assert message == f"{SOURCE}: sinks[0].routing_key: expected text, got int"
    assert "1234567890123" not in message
    message = error_for({"type": "slack", "url": "not a url but secret-ish token"})
    assert "secret-ish" not in message


def test_names_must_be_unique_and_entries_a_list() -> None:
    with pytest.raises(InputError, match=r"sinks\[1\]\.name: 'slack' is already the name of an"):
        build([{"type": "slack", "url": "https://a"}, {"type": "slack", "url": "https://b"}])
    with pytest.raises(InputError, match="sinks: expected a list, got a mapping"):
        build({"type": "slack"})
    with pytest.raises(InputError, match=r"sinks\[0\]: expected a mapping"):
        build(["slack"])


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEISMO_TEST_HOOK", "https://hooks.example/abc")
    [sink] = sinks_from_config([{"type": "slack", "url": "${SEISMO_TEST_HOOK}"}], SOURCE)
    assert isinstance(sink, SlackSink) and sink.url == "https://hooks.example/abc"

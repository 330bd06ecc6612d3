"""Sinks from configuration: the ``sinks:`` list of a YAML file, one mapping per sink.

Every entry has a ``type`` (slack, pagerduty, webhook, alertmanager, email), an optional
``name`` (default: the type; names must be unique) and an optional ``timeout`` in seconds
(default 10), plus the fields of its type::

    sinks:
      - type: slack
        name: team-channel
        url: ${SLACK_WEBHOOK_URL}
      - type: pagerduty
        name: oncall
        routing_key: ${PAGERDUTY_ROUTING_KEY}
        source: seismo-prod              # optional (default seismo)
        url: https://events.pagerduty.com/v2/enqueue   # optional
      - type: webhook
        url: https://hooks.example.com/seismo
        secret: ${SEISMO_WEBHOOK_SECRET}  # at least 16 characters
        headers: {X-Team: ml}            # optional; values are kept secret
      - type: alertmanager
        url: http://alertmanager:9093
        firing_ttl: 7d                   # optional: endsAt of a firing alert, from now
        headers: {Authorization: ${ALERTMANAGER_AUTH}}   # optional
      - type: email
        host: smtp.example.com
        port: 587                        # optional: 465 with ssl, 587 with starttls, else 25
        from: seismo@example.com
        to: [ml-team@example.com]
        username: seismo                 # optional
        password: ${SMTP_PASSWORD}       # optional, needs username
        starttls: true                   # optional (default true)
        ssl: false                       # optional (default false)
        html: true                       # optional: add an HTML alternative (default true)

A string value that is exactly ``${NAME}`` is read from the environment variable ``NAME``
(anywhere in the entry, including list items and header values); keep secrets out of the file
this way. Secrets (webhook URLs, routing keys, HMAC secrets, passwords, header values) are never
shown in error messages.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx

from seismo.alerts.sinks.alertmanager import DEFAULT_FIRING_TTL, AlertmanagerSink
from seismo.alerts.sinks.base import Sink
from seismo.alerts.sinks.email import EmailSink
from seismo.alerts.sinks.pagerduty import EVENTS_URL, PagerDutySink
from seismo.alerts.sinks.slack import SlackSink
from seismo.alerts.sinks.webhook import MIN_SECRET_LENGTH, RESERVED_HEADERS, WebhookSink
from seismo.errors import InputError

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MISSING = object()
COMMON_FIELDS = ("type", "name", "timeout")


def _numeric(value: Any, kind: Callable[[str], Any]) -> Any:
    """A number written as a string (as ``${SMTP_PORT}`` gives) as a number; else as is."""
    if isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            return value
    return value


class _Entry:
    """One ``sinks:`` entry, read field by field; every error names the file, entry and field."""

    def __init__(
        self,
        raw: Any,
        source: str,
        index: int,
        environ: Mapping[str, str],
        kinds: list[str],
        path: str = "sinks",
    ) -> None:
        self.source = source
        self.index = index
        self.environ = environ
        self.where = f"{source}: {path}[{index}]"
        if not isinstance(raw, Mapping):
            raise InputError(
                f"{self.where}: expected a mapping with a type (one of {kinds}), "
                f"got {type(raw).__name__}"
            )
        self.raw = raw
        self.read: list[str] = []
        kind = raw.get("type")
        if kind not in kinds:
            problem = "has no type" if kind is None else f"has an unknown type {kind!r}"
            raise InputError(f"{self.where} {problem}; set type to one of {kinds}")
        self.kind: str = kind
        name = self.text("name", default=kind)
        assert name is not None
        self.name = name
        self.where = f"{source}: {path}[{index}] ({name!r}, type {kind})"

    def fail(self, field: str, problem: str) -> InputError:
        return InputError(f"{self.where}: {field} {problem}")

    def value(self, field: str) -> Any:
        if field not in self.read:
            self.read.append(field)
        return self._resolve(field, self.raw.get(field, _MISSING))

    def _resolve(self, field: str, value: Any) -> Any:
        if isinstance(value, str):
            match = _REFERENCE.fullmatch(value.strip())
            if match is None:
                return value
            variable = match.group(1)
            resolved = self.environ.get(variable)
            if not resolved:
                raise self.fail(
                    field,
                    f"refers to the environment variable {variable}, which is not set or is "
                    f"empty; set {variable} in the environment seismo runs in",
                )
            return resolved
        if isinstance(value, list):
            return [self._resolve(field, item) for item in value]
        if isinstance(value, Mapping):
            return {key: self._resolve(field, item) for key, item in value.items()}
        return value

    def _shown(self, value: Any, secret: bool) -> str:
        return type(value).__name__ if secret else repr(value)

    def text(
        self,
        field: str,
        *,
        default: str | None = None,
        required: str | None = None,
        secret: bool = False,
    ) -> str | None:
        """A string field. ``required`` is the advice given when it is missing."""
        value = self.value(field)
        if value is _MISSING or value is None:
            if required is not None:
                raise self.fail(field, f"is missing; {required}")
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, f"must be a non-empty string, got {self._shown(value, secret)}")
        return value if secret else value.strip()  # a password may end with a space

    def url(
        self,
        field: str,
        *,
        required: str | None = None,
        default: str | None = None,
        secret: bool = False,
    ) -> str:
        value = self.text(field, required=required, default=default, secret=secret)
        assert value is not None, "give required or default"
        value = value.strip()
        try:
            scheme = httpx.URL(value).scheme
        except httpx.InvalidURL:
            scheme = ""
        if scheme not in ("http", "https"):
            shown = "the value" if secret else repr(value)
            raise self.fail(field, f"must be an http(s):// URL; {shown} is not")
        return value

    def number(self, field: str, default: float) -> float:
        value = _numeric(self.value(field), float)
        if value is _MISSING or value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise self.fail(field, f"must be a positive number of seconds, got {value!r}")
        return float(value)

    def integer(self, field: str, default: int) -> int:
        value = _numeric(self.value(field), int)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise self.fail(field, f"must be a port number (1 to 65535), got {value!r}")
        return value

    def boolean(self, field: str, default: bool) -> bool:
        value = self.value(field)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(field, f"must be true or false, got {value!r}")
        return value

    def texts(self, field: str, *, required: str) -> list[str]:
        value = self.value(field)
        if value is _MISSING or value is None or value == []:
            raise self.fail(field, f"is missing; {required}")
        if not isinstance(value, list) or not all(
            isinstance(item, str) and item.strip() for item in value
        ):
            raise self.fail(field, f"must be a list of strings, got {value!r}; {required}")
        return [item.strip() for item in value]

    def headers(self, field: str) -> dict[str, str]:
        value = self.value(field)
        if value is _MISSING or value is None:
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(key, str) and isinstance(item, str) for key, item in value.items()
        ):
            raise self.fail(field, "must be a mapping of header names to string values")
        return dict(value)

    def duration(self, field: str, default: timedelta) -> timedelta:
        value = self.value(field)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return timedelta(seconds=value)
        if isinstance(value, str):
            from seismo.monitor.windows import parse_duration

            try:
                return parse_duration(value)
            except InputError:
                pass
        raise self.fail(
            field, f"must be a duration such as '12h' or '7d' (or seconds), got {value!r}"
        )

    def check_unknown_fields(self) -> None:
        known = [*COMMON_FIELDS, *(f for f in self.read if f not in COMMON_FIELDS)]
        unknown = sorted(str(key) for key in self.raw if key not in known)
        if unknown:
            raise InputError(
                f"{self.where}: unknown field(s) {unknown}; "
                f"the fields of a {self.kind} sink are {known}"
            )


def _slack(entry: _Entry) -> Sink:
    url = entry.url(
        "url",
        secret=True,
        required="set it to the channel's incoming webhook URL, e.g. url: ${SLACK_WEBHOOK_URL}",
    )
    return SlackSink(entry.name, url, timeout=entry.number("timeout", 10.0))


def _pagerduty(entry: _Entry) -> Sink:
    routing_key = entry.text(
        "routing_key",
        secret=True,
        required="set it to the integration key of an Events API v2 integration, "
        "e.g. routing_key: ${PAGERDUTY_ROUTING_KEY}",
    )
    assert routing_key is not None
    url = entry.url("url", default=EVENTS_URL)
    source = entry.text("source", default="seismo")
    assert source is not None
    return PagerDutySink(
        entry.name, routing_key, url=url, source=source, timeout=entry.number("timeout", 10.0)
    )


def _webhook(entry: _Entry) -> Sink:
    url = entry.url(
        "url", secret=True, required="set it to the address that receives the POST requests"
    )
    secret = entry.text(
        "secret",
        secret=True,
        required="set a shared secret for the HMAC signature, e.g. secret: ${SEISMO_WEBHOOK_SECRET}"
        " (make one with: python -c 'import secrets; print(secrets.token_hex(32))')",
    )
    assert secret is not None
    if len(secret) < MIN_SECRET_LENGTH:
        raise entry.fail(
            "secret",
            f"is shorter than {MIN_SECRET_LENGTH} characters; use a long random value "
            "(python -c 'import secrets; print(secrets.token_hex(32))')",
        )
    headers = entry.headers("headers")
    reserved = sorted(name for name in headers if name.lower() in RESERVED_HEADERS)
    if reserved:
        raise entry.fail("headers", f"cannot set {reserved}: seismo sets them; remove them")
    return WebhookSink(
        entry.name, url, secret, headers=headers, timeout=entry.number("timeout", 10.0)
    )


def _alertmanager(entry: _Entry) -> Sink:
    url = entry.url(
        "url", required="set it to Alertmanager's address, e.g. url: http://alertmanager:9093"
    )
    return AlertmanagerSink(
        entry.name,
        url,
        firing_ttl=entry.duration("firing_ttl", DEFAULT_FIRING_TTL),
        headers=entry.headers("headers"),
        timeout=entry.number("timeout", 10.0),
    )


def _email(entry: _Entry) -> Sink:
    host = entry.text("host", required="set it to the SMTP server's host name")
    sender = entry.text("from", required="set it to the sender address, e.g. seismo@example.com")
    recipients = entry.texts("to", required="list the recipients, e.g. to: [ml@example.com]")
    assert host is not None and sender is not None
    for field, address in [("from", sender), *(("to", item) for item in recipients)]:
        if "@" not in address:
            raise entry.fail(field, f"holds {address!r}, which is not an email address")
    username = entry.text("username")
    password = entry.text("password", secret=True)
    if password is not None and username is None:
        raise entry.fail("password", "is set but username is not; set both or neither")
    use_ssl = entry.boolean("ssl", False)
    starttls = entry.boolean("starttls", not use_ssl)
    if use_ssl and starttls:
        raise entry.fail("ssl", "and starttls are both true; use one (ssl for port 465)")
    default_port = 465 if use_ssl else 587 if starttls else 25
    return EmailSink(
        entry.name,
        host=host,
        port=entry.integer("port", default_port),
        sender=sender,
        recipients=recipients,
        username=username,
        password=password,
        starttls=starttls,
        use_ssl=use_ssl,
        html=entry.boolean("html", True),
        timeout=entry.number("timeout", 10.0),
    )


SINK_BUILDERS: dict[str, Callable[[_Entry], Sink]] = {
    "slack": _slack,
    "pagerduty": _pagerduty,
    "webhook": _webhook,
    "alertmanager": _alertmanager,
    "email": _email,
}


def sinks_from_config(
    entries: list[Mapping[str, Any]],
    source: str,
    *,
    environ: Mapping[str, str] | None = None,
    path: str = "sinks",
) -> list[Sink]:
    """Build the sinks of a ``sinks:`` list (see the module docstring for the fields).

    ``source`` names where the entries come from (the YAML file) and ``path`` the list's
    place in it (``alerts.sinks`` in the service config) in error messages;
    ``environ`` (default ``os.environ``) resolves ``${NAME}`` references. Raises
    :class:`~seismo.errors.InputError` for an entry that cannot be used.
    """
    kinds = list(SINK_BUILDERS)
    if not isinstance(entries, list):
        raise InputError(
            f"{source}: {path} must be a list with one mapping per sink (each with a type: "
            f"one of {kinds}), got {type(entries).__name__}"
        )
    environ = os.environ if environ is None else environ
    sinks: list[Sink] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries):
        entry = _Entry(raw, source, index, environ, kinds, path)
        sink = SINK_BUILDERS[entry.kind](entry)
        entry.check_unknown_fields()
        if sink.name in seen:
            raise InputError(
                f"{entry.where}: the name {sink.name!r} is also used by {path}[{seen[sink.name]}]; "
                "give each sink its own name"
            )
        seen[sink.name] = index
        sinks.append(sink)
    return sinks

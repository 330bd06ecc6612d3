"""The ``alerts.sinks`` entries of seismo.yaml: one model per sink type, told apart by ``type``.

Every entry has a ``type``, an optional ``name`` (default: the type; names must be unique) and
an optional ``timeout`` in seconds, plus the fields of its type. A string that is exactly
``${NAME}`` anywhere in an entry (list items and header values too) is replaced by the
environment variable ``NAME`` before the entry is validated, so secrets stay out of the file;
a number may be given that way too (``port: ${SMTP_PORT}``). Secrets (Slack and webhook URLs,
routing keys, HMAC secrets, passwords, header values) are :class:`~pydantic.SecretStr`: never
shown in errors or ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import httpx
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from seismo.alerts.sinks.alertmanager import DEFAULT_FIRING_TTL, AlertmanagerSink
from seismo.alerts.sinks.base import Sink
from seismo.alerts.sinks.email import EmailSink
from seismo.alerts.sinks.pagerduty import EVENTS_URL, PagerDutySink
from seismo.alerts.sinks.slack import SlackSink
from seismo.alerts.sinks.webhook import MIN_SECRET_LENGTH, RESERVED_HEADERS, WebhookSink
from seismo.config.errors import input_error
from seismo.config.types import (
    ConfigModel,
    Secret,
    SinkDuration,
    SinkPort,
    SinkSeconds,
    Text,
    problem,
    resolve_references,
)

_MAKE_SECRET = "python -c 'import secrets; print(secrets.token_hex(32))'"


def _http_url(text: str, secret: bool) -> str:
    text = text.strip()
    try:
        scheme = httpx.URL(text).scheme
    except httpx.InvalidURL:
        scheme = ""
    if scheme not in ("http", "https"):
        shown = "the value" if secret else repr(text)
        raise problem(f"must be an http(s):// URL; {shown} is not")
    return text


#: An http(s) URL.
Url = Annotated[str, AfterValidator(lambda text: _http_url(text, secret=False))]
#: An http(s) URL that holds a token (Slack's, a webhook's): a secret.
SecretUrl = Annotated[
    SecretStr, AfterValidator(lambda url: SecretStr(_http_url(url.get_secret_value(), True)))
]


def _address(text: str) -> str:
    text = text.strip()
    if "@" not in text:
        raise problem(f"{text!r} is not an email address")
    return text


Address = Annotated[str, AfterValidator(_address)]
#: HTTP headers sent with each request; their values are secrets (tokens, credentials).
Headers = dict[str, SecretStr]


class SinkEntry(ConfigModel):
    """Fields every sink has."""

    type: str
    name: Text | None = Field(
        default=None,
        description="the sink's name in the alert history and metrics (default: the type)",
    )
    timeout: SinkSeconds = Field(default=10.0, description="seconds per delivery attempt")

    @property
    def sink_name(self) -> str:
        return self.name or self.type

    def build(self) -> Sink:
        raise NotImplementedError


class SlackEntry(SinkEntry):
    """A Block Kit message to a Slack channel's incoming webhook."""

    type: Literal["slack"]
    url: SecretUrl = Field(
        description="the channel's incoming webhook URL, e.g. url: ${SLACK_WEBHOOK_URL}"
    )

    def build(self) -> Sink:
        return SlackSink(self.sink_name, self.url.get_secret_value(), timeout=self.timeout)


class PagerDutyEntry(SinkEntry):
    """An event to PagerDuty's Events API v2 (dedup_key = the alert's id)."""

    type: Literal["pagerduty"]
    routing_key: Secret = Field(
        description="the integration key of an Events API v2 integration, "
        "e.g. routing_key: ${PAGERDUTY_ROUTING_KEY}"
    )
    url: Url = Field(default=EVENTS_URL, description="the Events API address")
    source: Text = Field(default="seismo", description="the event's source")

    def build(self) -> Sink:
        return PagerDutySink(
            self.sink_name,
            self.routing_key.get_secret_value(),
            url=self.url,
            source=self.source,
            timeout=self.timeout,
        )


def _no_reserved_headers(headers: Headers) -> Headers:
    reserved = sorted(name for name in headers if name.lower() in RESERVED_HEADERS)
    if reserved:
        raise problem(f"cannot set {reserved}: seismo sets them; remove them")
    return headers


class WebhookEntry(SinkEntry):
    """A JSON POST signed with HMAC-SHA256 (see :mod:`seismo.alerts.sinks.webhook`)."""

    type: Literal["webhook"]
    url: SecretUrl = Field(description="the address that receives the POST requests")
    secret: Secret = Field(
        description=f"a shared secret of at least {MIN_SECRET_LENGTH} characters for the HMAC "
        f"signature, e.g. secret: ${{SEISMO_WEBHOOK_SECRET}} (make one with: {_MAKE_SECRET})"
    )
    headers: Annotated[Headers, AfterValidator(_no_reserved_headers)] = Field(
        default_factory=dict, description="extra HTTP headers (their values are kept secret)"
    )

    @model_validator(mode="after")
    def _long_secret(self) -> WebhookEntry:
        if len(self.secret.get_secret_value()) < MIN_SECRET_LENGTH:
            raise problem(
                f"is shorter than {MIN_SECRET_LENGTH} characters; use a long random value "
                f"({_MAKE_SECRET})",
                "secret",
            )
        return self

    def build(self) -> Sink:
        return WebhookSink(
            self.sink_name,
            self.url.get_secret_value(),
            self.secret.get_secret_value(),
            headers={name: value.get_secret_value() for name, value in self.headers.items()},
            timeout=self.timeout,
        )


class AlertmanagerEntry(SinkEntry):
    """Alerts posted to Alertmanager's API (POST /api/v2/alerts)."""

    type: Literal["alertmanager"]
    url: Url = Field(description="Alertmanager's address, e.g. url: http://alertmanager:9093")
    firing_ttl: SinkDuration = Field(
        default=DEFAULT_FIRING_TTL,
        description="endsAt of a firing alert, from now: a duration ('12h', '7d') or seconds",
    )
    headers: Headers = Field(
        default_factory=dict, description="extra HTTP headers (their values are kept secret)"
    )

    def build(self) -> Sink:
        return AlertmanagerSink(
            self.sink_name,
            self.url,
            firing_ttl=self.firing_ttl,
            headers={name: value.get_secret_value() for name, value in self.headers.items()},
            timeout=self.timeout,
        )


class EmailEntry(SinkEntry):
    """A plain-text (and HTML) email over SMTP."""

    type: Literal["email"]
    host: Text = Field(description="the SMTP server's host name")
    port: SinkPort | None = Field(
        default=None,
        description="the SMTP port (default: 465 with ssl, 587 with starttls, else 25)",
    )
    sender: Address = Field(
        alias="from", description="the sender address, e.g. from: seismo@example.com"
    )
    to: list[Address] = Field(min_length=1, description="the recipients, e.g. to: [ml@example.com]")
    username: Text | None = Field(default=None, description="the SMTP user name")
    password: Secret | None = Field(default=None, description="the SMTP password (needs username)")
    starttls: bool | None = Field(
        default=None, description="upgrade with STARTTLS (default: unless ssl)"
    )
    ssl: bool = Field(default=False, description="connect with TLS (SMTPS, port 465)")
    html: bool = Field(default=True, description="add an HTML alternative to the text")

    @model_validator(mode="after")
    def _consistent(self) -> EmailEntry:
        if self.password is not None and self.username is None:
            raise problem("is set but username is not; set both or neither", "password")
        if self.ssl and self.starttls:
            raise problem("ssl and starttls are both true; use one (ssl for port 465)")
        return self

    def build(self) -> Sink:
        starttls = not self.ssl if self.starttls is None else self.starttls
        default_port = 465 if self.ssl else 587 if starttls else 25
        return EmailSink(
            self.sink_name,
            host=self.host,
            port=self.port or default_port,
            sender=self.sender,
            recipients=self.to,
            username=self.username,
            password=None if self.password is None else self.password.get_secret_value(),
            starttls=starttls,
            use_ssl=self.ssl,
            html=self.html,
            timeout=self.timeout,
        )


#: One ``sinks:`` entry: ``${NAME}`` references resolved, then validated by its ``type``.
AnySink = Annotated[
    Annotated[
        SlackEntry | PagerDutyEntry | WebhookEntry | AlertmanagerEntry | EmailEntry,
        Field(discriminator="type"),
    ],
    BeforeValidator(resolve_references),
]


def _unique_names(entries: list[AnySink]) -> list[AnySink]:
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        name = entry.sink_name
        if name in seen:
            raise problem(
                f"{name!r} is already the name of an earlier sink (index {seen[name]}); "
                "give each sink its own name",
                index,
                "name",
            )
        seen[name] = index
    return entries


#: The ``sinks:`` list; names are unique.
Sinks = Annotated[list[AnySink], AfterValidator(_unique_names)]


def sinks_from_config(
    entries: Any,
    source: str,
    *,
    environ: Mapping[str, str] | None = None,
    path: str = "sinks",
) -> list[Sink]:
    """Build the sinks of a ``sinks:`` list (the fields of each type are the models above).

    ``source`` names where the entries come from (the YAML file) and ``path`` the list's
    place in it (``alerts.sinks`` in seismo.yaml) in error messages; ``environ`` (default
    ``os.environ``) resolves ``${NAME}`` references. Raises
    :class:`~seismo.errors.InputError` for an entry that cannot be used.
    """
    try:
        checked = TypeAdapter(Sinks).validate_python(entries, context={"environ": environ})
    except ValidationError as error:
        raise input_error(error, source, Sinks, prefix=path) from None
    return [entry.build() for entry in checked]

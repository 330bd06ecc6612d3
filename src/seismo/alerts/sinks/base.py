"""What every sink is: a name, a kind, ``send``, and a description that never shows a secret.

A sink delivers one notification in one attempt; retrying is the job of
:func:`seismo.alerts.delivery.deliver`. A failed attempt raises :class:`DeliveryError`, which
says whether trying again can help.

Secrets (webhook URLs, routing keys, HMAC secrets, passwords) are handed to the base class, which
scrubs them from every message it builds. httpx logs each request's full URL at INFO level, and a
Slack webhook URL is a secret, so the first HTTP sink also puts a filter on the ``httpx`` logger
that scrubs the secrets of every HTTP sink built so far.
"""

from __future__ import annotations

import abc
import json
import logging
import math
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from seismo.alerts.model import Notification
from seismo.errors import SeismoError
from seismo.retry import retryable_status

REDACTED = "[redacted]"
USER_AGENT = "seismo-alerts"


class DeliveryError(SeismoError):
    """One delivery attempt failed. ``retryable``: trying again later may succeed (network
    errors, timeouts, 429, 5xx); ``retry_after``: seconds the receiver asked us to wait."""

    def __init__(self, message: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced, longest first (a key may contain a shorter one).

    >>> redact("POST https://hooks.example/T1/B2/xyz failed", ["/T1/B2/xyz"])
    'POST https://hooks.example[redacted] failed'
    """
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a URL that must not be shown: all of it, its path and query, its password."""
    parsed = httpx.URL(url)
    parts = [url, str(parsed)]
    path = parsed.raw_path.decode("ascii", "replace")
    if path not in ("", "/"):
        parts.append(path)
        parts.append(parsed.path)
    if parsed.query:
        parts.append(parsed.query.decode("ascii", "replace"))
    if parsed.password:
        parts.append(parsed.password)
    return tuple(parts)


def url_origin(url: str) -> str:
    """What of a URL may be shown: scheme, host and port (``https://hooks.slack.com``)."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


class Sink(abc.ABC):
    """Where alert notifications go. ``name`` is the configured name (unique in a config);
    ``kind`` is the config's ``type`` (``slack``, ``pagerduty``, ...).

    ``send`` makes one attempt and returns when the receiver accepted the notification; it
    raises :class:`DeliveryError` otherwise. ``repr``, ``target`` and every error message
    show no secret.
    """

    kind: ClassVar[str]

    def __init__(self, name: str, *, secrets: Iterable[str] = ()) -> None:
        self.name = name
        self._secrets = tuple(s for s in secrets if s)

    @property
    @abc.abstractmethod
    def target(self) -> str:
        """Where this sink delivers, with every secret left out (for logs and messages)."""

    @abc.abstractmethod
    def send(self, notification: Notification) -> None:
        """Deliver one notification in one attempt, or raise :class:`DeliveryError`."""

    def redact(self, text: str) -> str:
        """``text`` with this sink's secrets scrubbed out."""
        return redact(text, self._secrets)

    def error(
        self, reason: str, *, retryable: bool, retry_after: float | None = None
    ) -> DeliveryError:
        """A :class:`DeliveryError` whose message names the sink and holds no secret."""
        message = self.redact(f"{self.kind} sink {self.name!r} ({self.target}): {reason}")
        return DeliveryError(message, retryable, retry_after)

    def __repr__(self) -> str:
        return self.redact(f"{type(self).__name__}(name={self.name!r}, target={self.target!r})")


class _ScrubSecrets(logging.Filter):
    """Scrubs registered secrets from records of the logger it is attached to."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()  # replaced, never changed in place: no lock to read
        self.lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        with self.lock:
            self.secrets = tuple({*self.secrets, *(s for s in secrets if s)})

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self.secrets
        if secrets:
            message = record.getMessage()
            scrubbed = redact(message, secrets)
            if scrubbed != message:
                record.msg, record.args = scrubbed, None
        return True


_httpx_filter = _ScrubSecrets()
_httpx_filter_lock = threading.Lock()


def _scrub_httpx_logs(secrets: Iterable[str]) -> None:
    with _httpx_filter_lock:
        logger = logging.getLogger("httpx")
        if _httpx_filter not in logger.filters:
            logger.addFilter(_httpx_filter)
    _httpx_filter.add(secrets)


class HttpSink(Sink):
    """A sink that POSTs JSON. Connection errors, timeouts and the answers of
    :data:`seismo.retry.RETRYABLE_STATUS` are retryable (with their ``Retry-After``); any other
    status outside 2xx is not."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        headers = dict(headers or {})
        super().__init__(name, secrets=(*secrets, *headers.values()))
        self.url = url
        self.timeout = timeout
        self.headers = headers
        _scrub_httpx_logs(self._secrets)

    @property
    def target(self) -> str:
        return url_origin(self.url)

    def post(
        self, url: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """POST ``body`` (JSON bytes); returns the 2xx response or raises DeliveryError."""
        all_headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **self.headers,
            **(headers or {}),
        }
        try:
            response = httpx.post(url, content=body, headers=all_headers, timeout=self.timeout)
        except httpx.TimeoutException as error:
            raise self.error(f"timed out ({type(error).__name__})", retryable=True) from None
        except httpx.TransportError as error:
            raise self.error(f"{type(error).__name__}: {error}", retryable=True) from None
        if 200 <= response.status_code < 300:
            return response
        status = response.status_code
        reason = f"HTTP {status} {response.reason_phrase}"
        text = " ".join(response.text.split())[:300]
        if text:
            reason += f": {text}"
        if retryable_status(status):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise self.error(reason, retryable=True, retry_after=retry_after)
        if 300 <= status < 400:
            reason += " (redirects are not followed: configure the final URL)"
        raise self.error(reason, retryable=False)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: a number of seconds or an HTTP date.

    >>> parse_retry_after("7")
    7.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT",
    ...                   now=datetime(2015, 10, 21, 7, 28, tzinfo=UTC))
    30.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """``2026-05-04T10:00:00Z``: the form every receiver here accepts.

    >>> rfc3339(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))
    '2026-05-04T10:00:00Z'
    """
    return utc(moment).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """``value`` made of JSON types: datetimes as RFC 3339, numpy scalars as numbers,
    tuples and sets as lists, non-finite floats as strings, anything else as ``str``."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [jsonable(item) for item in items]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        try:
            return jsonable(tolist())
        except (TypeError, ValueError):
            pass
    return str(value)


def json_bytes(value: Any) -> bytes:
    """Compact JSON of ``value`` (made :func:`jsonable` first), non-ASCII escaped: valid
    even for strings holding lone surrogates."""
    return json.dumps(jsonable(value), separators=(",", ":")).encode("ascii")

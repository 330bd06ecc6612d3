"""API tokens: made once, stored as digests, checked on every request but the health probes.

A token is ``seismo_`` and 43 random URL-safe characters (256 bits): random enough that a
plain SHA-256 digest is the right way to keep it (a slow password hash protects guessable
secrets; this one cannot be guessed). Scopes:

========  ==================================================================================
predict   ``POST /v1/models/{name}:predict``
ingest    log predictions and labels
read      series, reports, alerts, silences, models, ``/metrics``
admin     everything above, plus monitor runs, silences, acknowledgements, registration
========  ==================================================================================

While the store holds no active token the service is open (as on a developer's machine);
once one exists, every route but ``/healthz`` and ``/readyz`` needs ``Authorization: Bearer``
with its scope: 401 without a valid token, 403 with one lacking the scope. What the service
knows of the tokens is at most :data:`CACHE_SECONDS` old: a revocation takes effect within
that time.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final

from seismo.errors import InputError
from seismo.store.base import ApiToken, Store

SCOPES: Final = ("predict", "ingest", "read", "admin")
PREFIX: Final = "seismo_"
CACHE_SECONDS: Final = 5.0
TOKEN_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def new_token() -> str:
    """A fresh random token (shown once; only its digest is stored)."""
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(text: str | Iterable[str]) -> tuple[str, ...]:
    """``"ingest,read"`` as scopes, in the canonical order; unknown names are an error."""
    names = text.split(",") if isinstance(text, str) else list(text)
    wanted = {name.strip() for name in names if name.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown or not wanted:
        raise InputError(
            f"--scope: unknown scope(s) {unknown}; give one or more of {', '.join(SCOPES)}, "
            "comma-separated"
            if unknown
            else f"--scope: give one or more of {', '.join(SCOPES)}, comma-separated"
        )
    return tuple(scope for scope in SCOPES if scope in wanted)


def allows(token: ApiToken, scope: str) -> bool:
    return token.active and (scope in token.scopes or "admin" in token.scopes)


def create_token(store: Store, name: str, scopes: str | Iterable[str]) -> str:
    """Make a token, store its digest under ``name`` and return the token itself."""
    if not TOKEN_NAME.fullmatch(name):
        raise InputError(
            f"token name {name!r}: use 1 to 64 letters, digits, '-', '_' or '.', starting "
            "with a letter or digit"
        )
    chosen = parse_scopes(scopes)
    token = new_token()
    try:
        store.add_token(name, digest(token), chosen, at=datetime.now(UTC))
    except ValueError as error:
        raise InputError(f"{error} (seismo tokens revoke {name})") from None
    return token


class Authenticator:
    """What the service knows of the tokens, refreshed every :data:`CACHE_SECONDS`."""

    def __init__(self, store: Store, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self._store = store
        self._ttl = cache_seconds
        self._lock = threading.Lock()
        self._enabled: tuple[float, bool] | None = None
        self._tokens: dict[str, tuple[float, ApiToken | None]] = {}

    def fresh(self, header: str | None) -> bool:
        """Whether :func:`check` can answer for this header from memory (without the store):
        then it runs on the event loop, else in a thread."""
        now = time.monotonic()
        with self._lock:
            if self._enabled is None or now - self._enabled[0] >= self._ttl:
                return False
            if not self._enabled[1]:
                return True
            presented = bearer(header)
            if presented is None:
                return True
            cached = self._tokens.get(digest(presented))
            return cached is not None and now - cached[0] < self._ttl

    def enabled(self) -> bool:
        """Whether any active token exists (then every protected route needs one)."""
        now = time.monotonic()
        with self._lock:
            if self._enabled is not None and now - self._enabled[0] < self._ttl:
                return self._enabled[1]
        active = any(token.active for token in self._store.list_tokens())
        with self._lock:
            self._enabled = (now, active)
        return active

    def token(self, presented: str) -> ApiToken | None:
        """The active token presented, or None (unknown or revoked)."""
        return self.token_by_digest(digest(presented))

    def token_by_digest(self, key: str) -> ApiToken | None:
        """The active token whose digest is ``key``, or None (unknown or revoked)."""
        now = time.monotonic()
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        found = self._store.find_token(key)
        if found is not None and not found.active:
            found = None
        with self._lock:
            if len(self._tokens) > 10_000:  # presented garbage must not grow it forever
                self._tokens.clear()
            self._tokens[key] = (now, found)
        return found


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None when absent)."""
    if header is None:
        return None
    kind, _, value = header.partition(" ")
    value = value.strip()
    if kind.lower() != "bearer" or not value:
        return None
    return value


def check(authenticator: Authenticator, header: str | None, scope: str) -> ApiToken | None:
    """The token allowed to act with ``scope`` (None while no token exists), or an HTTP error:
    401 without a valid token, 403 with a token lacking the scope."""
    from seismo.service.errors import RequestError

    if not authenticator.enabled():
        return None
    presented = bearer(header)
    if presented is None:
        raise RequestError(
            401,
            "unauthorized",
            "this service requires a token: send 'Authorization: Bearer <token>' "
            "(seismo tokens create NAME --scope ...)",
        )
    token = authenticator.token(presented)
    if token is None:
        raise RequestError(401, "unauthorized", "the token is unknown or revoked")
    if not allows(token, scope):
        raise RequestError(
            403,
            "forbidden",
            f"token {token.name!r} has scope(s) {', '.join(token.scopes)}; this needs {scope!r}",
        )
    return token

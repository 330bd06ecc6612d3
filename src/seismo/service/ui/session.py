"""Who is looking at the UI: sessions, sign-in with a token, and CSRF protection.

With tokens configured, a browser signs in once with a token (``read`` to look, ``admin`` to
act): the service keeps a session under the SHA-256 digest of a random cookie value
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS, path ``/ui``) tied to the digest
of that token, so revoking the token ends its sessions within the token cache's few seconds.
While the service has no token (a developer's machine) everyone may look and act, and no
session is kept: the browser gets a random CSRF cookie (``SameSite=Strict``) that every form
must repeat (another site can neither read nor set it). Signed in, every form carries its
session's CSRF token. Both are compared in constant time, so another site cannot make a
visitor's browser act. A request may also carry
``Authorization: Bearer`` (scripts, benchmarks): then no cookie or CSRF token is involved.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import quote

from fastapi import Request, Response

from seismo.service.auth import allows, bearer, digest
from seismo.service.state import ServiceState
from seismo.store.base import ApiToken, UiSession

COOKIE: Final = "seismo_session"
CSRF_COOKIE: Final = "seismo_csrf"
LIFETIME: Final = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a request: their name (the token's; "local" on an open service),
    whether they may act (admin), and the CSRF token their forms must carry ("" for a
    bearer-authenticated request, which needs none)."""

    name: str
    can_act: bool
    csrf: str
    session: UiSession | None = None
    signed_in: bool = False
    bearer: bool = False


class SignIn(Exception):
    """The request needs a signed-in session: the page answers with the sign-in form."""


class Forbidden(Exception):
    """The viewer's token lacks the scope the page needs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def session_of(state: ServiceState, request: Request) -> UiSession | None:
    """The unexpired session named by the request's cookie, or None."""
    value = request.cookies.get(COOKIE)
    if not value or len(value) > 128:
        return None
    found = state.store.get_ui_session(_hash(value))
    if found is None or found.expires_at <= datetime.now(UTC):
        return None
    return found


def new_session(state: ServiceState, token_hash: str | None) -> tuple[str, UiSession]:
    """A fresh signed-in session (a new cookie value: never one the browser had before)."""
    value = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session = UiSession(_hash(value), token_hash, secrets.token_urlsafe(32), now, now + LIFETIME)
    state.store.add_ui_session(session, purge_before=now)
    return value, session


def set_cookie(response: Response, request: Request, value: str, name: str = COOKIE) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path="/ui",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def viewer(
    state: ServiceState, request: Request, *, scope: str = "read"
) -> tuple[Viewer, tuple[str, str] | None]:
    """Who is asking, and a cookie (name, value) to set when one had to be made.

    Raises :class:`SignIn` when tokens exist and the request has no valid session or bearer
    token, :class:`Forbidden` when its token lacks ``scope``."""
    auth = state.auth
    presented = bearer(request.headers.get("authorization"))
    if not auth.enabled():
        value = request.cookies.get(CSRF_COOKIE, "")
        if len(value) == 43 and value.isascii():
            return Viewer("local", True, value), None
        value = secrets.token_urlsafe(32)
        return Viewer("local", True, value), (CSRF_COOKIE, value)
    if presented is not None:
        token = auth.token(presented)
        if token is None:
            raise SignIn
        _require(token, scope)
        return Viewer(token.name, allows(token, "admin"), "", bearer=True), None
    session = session_of(state, request)
    if session is None or session.token_hash is None:
        raise SignIn
    token = auth.token_by_digest(session.token_hash)
    if token is None:  # revoked since
        raise SignIn
    _require(token, scope)
    return Viewer(token.name, allows(token, "admin"), session.csrf, session, True), None


def _require(token: ApiToken, scope: str) -> None:
    if not allows(token, scope):
        raise Forbidden(
            f"token {token.name!r} has scope(s) {', '.join(token.scopes)}; this needs {scope!r}"
        )


def sign_in(state: ServiceState, presented: str) -> tuple[str, UiSession] | str:
    """A session for a valid token with the read (or admin) scope, or why not."""
    token = state.auth.token(presented.strip()) if state.auth.enabled() else None
    if token is None:
        return "that token is unknown or revoked"
    if not allows(token, "read"):
        return f"token {token.name!r} has scope(s) {', '.join(token.scopes)}; the UI needs 'read'"
    return new_session(state, digest(presented.strip()))


def checked_csrf(viewer: Viewer, sent: str | None) -> bool:
    """Whether a form's CSRF token is its session's (bearer requests need none)."""
    if viewer.bearer:
        return True
    if sent is None or not viewer.csrf:
        return False
    return secrets.compare_digest(sent.encode(), viewer.csrf.encode())


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path inside the UI, never another site."""
    if not target or not target.startswith("/ui") or target.startswith("//") or "\\" in target:
        return "/ui"
    return target


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/ui/login?next=" + quote(target, safe="")

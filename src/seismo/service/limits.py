"""The service's outer door: an ASGI middleware that every HTTP request passes first.

It bounds what a request may cost and refuses URLs no route can serve, before any route runs:

- **Body size**, chunked bodies included: the bytes are counted as the application reads them,
  nothing is buffered here, and the read that crosses ``max_body_bytes`` raises
  :class:`BodyTooLarge` (a 413 :class:`~seismo.service.errors.RequestError`), which the app's
  error handler answers like any other client mistake (or this middleware, when it escapes the
  handler). A ``Content-Length`` over the limit is answered at once, without reading. So a
  1 GiB upload to any route costs at most ``max_body_bytes`` of memory, whatever the route
  does with its body (a route that never reads its body never counts it, nor keeps it).
- **A client that leaves mid-body** (Starlette's ``ClientDisconnect``, also what a malformed
  chunk that uvicorn refuses looks like to the app) is logged at INFO, not as a crash.
- **NUL in the URL**: a path with a control character (``%00``, ``%0A``, ...) names nothing
  (model names, alert and silence ids never hold one): 404. A query value with NUL is 422
  naming the parameter: PostgreSQL text cannot hold NUL, so the store could only fail on it,
  and a 503 would tell the client to retry a request that can never succeed.

Errors have the service's JSON shape (``{"error": {"code", "message", "problems"?}}``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect

from seismo.service.errors import Problem, RequestError, invalid

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("seismo.service")
_E = TypeVar("_E", bound=Exception)
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class BodyTooLarge(RequestError):
    """The request body grew past ``max_body_bytes`` while it was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "body_too_large",
            f"request body exceeds {limit} bytes (max_body_bytes); split it into smaller requests",
        )


class RequestLimits:
    """Pure ASGI middleware: body size limit and URL checks for every HTTP request.

    ``rejected`` is called with the error code of every request refused here (the service's
    rejected-requests counter).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        rejected: Callable[[str], object] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.rejected = rejected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = url_problem(scope) or self._declared_too_large(scope)
        if refused is not None:
            await self._answer(send, refused)
            return
        limit = self.max_body_bytes
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except Exception as error:
            # The app's error handler answers a BodyTooLarge raised in a route; this is for one
            # that escaped it (raised in a task group of a middleware, for one).
            escaped = _only(error, BodyTooLarge)
            if escaped is not None:
                if not started:
                    await self._answer(send, escaped)
            elif _only(error, ClientDisconnect) is not None:
                # The client left (or sent a malformed chunk) before its body arrived: nobody
                # to answer, nothing stored; not an error of the service.
                log.info("client left before sending the whole body of %s", scope.get("path"))
            else:
                raise

    def _declared_too_large(self, scope: Scope) -> RequestError | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                return RequestError(
                    413,
                    "body_too_large",
                    f"request body of {int(value)} bytes exceeds {self.max_body_bytes} "
                    "(max_body_bytes); split it into smaller requests",
                )
        return None

    async def _answer(self, send: Send, error: RequestError) -> None:
        if self.rejected is not None:
            self.rejected(error.code)
        await send_error(send, error)


def _only(error: Exception, kind: type[_E]) -> _E | None:
    """``error`` if it is a ``kind``, or the first of an exception group of nothing else."""
    if isinstance(error, kind):
        return error
    if isinstance(error, ExceptionGroup):
        matched, rest = error.split(kind)
        if matched is not None and rest is None:
            first: BaseException = matched
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            return first if isinstance(first, kind) else None
    return None


def url_problem(scope: Scope) -> RequestError | None:
    """Why the request's URL can never be served, or None."""
    path = scope.get("path", "")
    if _CONTROL.search(path):
        return RequestError(
            404,
            "not_found",
            "the URL path holds a control character (such as %00); no model, alert or "
            "silence has one in its name",
        )
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        problems = [
            Problem(name.replace("\x00", "\\u0000"), "must not contain NUL (%00)")
            for name, value in pairs
            if "\x00" in name or "\x00" in value
        ]
        return invalid(problems or [Problem("query", "must not contain NUL (%00)")], "query")
    return None


async def send_error(send: Send, error: RequestError) -> None:
    """Answer with ``error``'s status and JSON body."""
    body = json.dumps(error.body(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

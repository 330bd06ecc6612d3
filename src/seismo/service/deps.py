"""What routes depend on: the typed state, the caller's scope, the JSON body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from seismo.service.auth import check
from seismo.service.errors import RequestError
from seismo.service.payloads import parse_json, require_json
from seismo.service.state import ServiceState

BEARER = HTTPBearer(auto_error=False, description="an API token: seismo tokens create")


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.seismo
    return state


State = Annotated[ServiceState, Depends(get_state)]


def scope(name: str) -> Any:
    """A dependency refusing callers without a token of scope ``name`` (once tokens exist):
    401 without a valid token, 403 with one lacking the scope."""

    async def require(
        request: Request,
        _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
    ) -> None:
        state = get_state(request)
        header = request.headers.get("authorization")
        if state.auth.fresh(header):
            check(state.auth, header, name)
        else:  # the store is asked: never on the event loop
            await run_in_threadpool(check, state.auth, header, name)

    require.__name__ = f"require_{name}"
    return Depends(require)


async def json_body(request: Request, max_bytes: int) -> Any:
    """The request's JSON document (415 for another Content-Type, 413 beyond ``max_bytes``)."""
    require_json(request.headers.get("content-type"))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(
                413, "body_too_large", f"request body exceeds {max_bytes} bytes; split it"
            )
        chunks.append(chunk)
    return parse_json(b"".join(chunks))

"""What routes depend on: the typed state, the caller's scope, the JSON body."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from seismo.service.auth import check
from seismo.service.payloads import parse_batch_json, parse_json, require_json
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


async def json_body(request: Request, *, batch: bool = False) -> Any:
    """The request's JSON document: 415 for another Content-Type (the size is bounded for
    every route by :class:`~seismo.service.limits.RequestLimits`). ``batch``: the rows are
    checked field by field next (:func:`~seismo.service.payloads.parse_batch_json`); other
    bodies are stored as sent (:func:`~seismo.service.payloads.parse_json`)."""
    require_json(request.headers.get("content-type"))
    body = await request.body()
    return parse_batch_json(body) if batch else parse_json(body)

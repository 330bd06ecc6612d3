"""``/metrics`` for Prometheus: a read token, unless ``auth.metrics_public``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from seismo.service.auth import check
from seismo.service.deps import BEARER, State
from seismo.service.openapi import errors

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text exposition format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **errors(401, 403, 413, 503),
    },
)
async def prometheus_metrics(
    request: Request,
    state: State,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Response:
    if not state.settings.auth.metrics_public:
        await run_in_threadpool(check, state.auth, request.headers.get("authorization"), "read")
    # Collectors read the store and compute reports: never on the event loop.
    body = await run_in_threadpool(generate_latest, state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

"""Liveness and readiness probes: the only routes that never need a token."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import make_url

from seismo.service.deps import State
from seismo.service.errors import RequestError
from seismo.service.openapi import errors

router = APIRouter(tags=["health"])

# Below this much free space next to a SQLite store the service says it is not ready: a
# write that cannot be made durable is answered 503 anyway, and an orchestrator should move
# traffic before it comes to that.
MIN_FREE_BYTES = 64 << 20


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=errors(503))
async def readyz(state: State) -> dict[str, str]:
    await run_in_threadpool(state.store.check)
    free = await run_in_threadpool(_free_bytes, state.settings.store)
    if free is not None and free < MIN_FREE_BYTES:
        raise RequestError(
            503,
            "disk_full",
            f"only {free >> 20} MiB free next to the store (needs {MIN_FREE_BYTES >> 20} MiB); "
            "free space or move the store",
        )
    return {"status": "ready"}


def _free_bytes(url: str) -> int | None:
    """Free bytes on the SQLite store's file system (None for a server database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return shutil.disk_usage(Path(parsed.database).expanduser().resolve().parent).free

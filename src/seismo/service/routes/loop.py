"""The closed loop on demand (admin): judge rollouts, retrain where the diagnoses call for
it. The service also runs it after each scheduled monitor run when ``loop.enabled``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from seismo.service.deps import State, scope
from seismo.service.errors import RequestError
from seismo.service.jobs import loop_counts, run_loop_with
from seismo.service.openapi import READ_ERRORS, errors

router = APIRouter(
    tags=["loop"], dependencies=[scope("admin")], responses=READ_ERRORS | errors(409)
)


@router.post("/v1/loop/run")
async def run_loop(state: State) -> dict[str, Any]:
    result = await run_in_threadpool(run_loop_with, state.store, state.settings, state.alerting)
    if result.skipped:
        raise RequestError(409, "loop_busy", "the loop is running elsewhere; retry later")
    for decision in result.decisions:
        if decision.kind in ("promotion", "rollback", "rollout"):
            state.models.forget(decision.model)
    return loop_counts(result)

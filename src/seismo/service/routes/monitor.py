"""Monitor runs: on demand (admin) and on the service's schedule."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from seismo.monitor.job import RunReport
from seismo.service.deps import State, scope
from seismo.service.errors import RequestError
from seismo.service.jobs import run_counts, run_loop_with
from seismo.service.openapi import READ_ERRORS, errors
from seismo.service.state import ServiceState

log = logging.getLogger("seismo.service")
router = APIRouter(
    tags=["monitor"], dependencies=[scope("admin")], responses=READ_ERRORS | errors(409)
)


def _monitor(state: ServiceState) -> RunReport:
    report = state.monitor.run()
    for error in report.errors:
        state.metrics.monitor_errors.labels(error.model).inc()
    return report


@router.post("/v1/monitor/run")
async def run_monitor(state: State) -> dict[str, Any]:
    report = await run_in_threadpool(_monitor, state)
    if report.busy:
        raise RequestError(
            409, "monitor_busy", f"{report.busy} is in progress; nothing was done, retry later"
        )
    outcome = await run_in_threadpool(state.alerting.run)
    return run_counts(report, outcome)


async def schedule(state: ServiceState, every: float) -> None:
    """Run the monitor, then the alert rules, every ``every`` seconds inside the service;
    errors are logged, never fatal."""
    while True:
        await asyncio.sleep(every)
        try:
            report = await run_in_threadpool(_monitor, state)
            if not report.busy:
                await run_in_threadpool(state.alerting.run)
                if state.settings.loop.enabled:
                    result = await run_in_threadpool(
                        run_loop_with, state.store, state.settings, state.alerting
                    )
                    for decision in result.decisions:
                        state.models.forget(decision.model)
        except Exception:  # keep serving predictions whatever the monitor hits
            log.exception("monitor run failed")

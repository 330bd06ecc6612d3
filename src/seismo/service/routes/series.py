"""Series over windows (drift, performance, quality) and one window's HTML report."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from seismo.monitor.history import Window
from seismo.monitor.results import drift_series, performance_series, quality_series
from seismo.report.html import render_html
from seismo.service.deps import State, scope
from seismo.service.errors import RequestError
from seismo.service.openapi import READ_ERRORS
from seismo.service.payloads import parse_timestamp
from seismo.service.state import ServiceState, explain

log = logging.getLogger("seismo.service")
router = APIRouter(tags=["series"], dependencies=[scope("read")], responses=READ_ERRORS)


def _time_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    parsed = []
    for name, value in (("start", start), ("end", end)):
        moment, problem = parse_timestamp(value, name)
        if problem is not None:
            raise RequestError(422, "invalid_query", f"{name}: {problem.message}", [problem])
        parsed.append(moment)
    return parsed[0], parsed[1]


def _query(
    state: ServiceState, name: str, start: str | None, end: str | None, rolling: int
) -> tuple[datetime | None, datetime | None]:
    state.models.get(name)
    if not 1 <= rolling <= 1000:
        raise RequestError(422, "invalid_query", "rolling: a number of windows, 1 to 1000")
    return _time_range(start, end)


def _series_route(compute: Callable[..., list[dict[str, Any]]]) -> Callable[..., Any]:
    async def route(
        name: str,
        state: State,
        start: str | None = None,
        end: str | None = None,
        segment: str = "",
        rolling: int = 1,
    ) -> dict[str, Any]:
        def run() -> list[dict[str, Any]]:
            since, until = _query(state, name, start, end, rolling)
            return compute(
                state.history, name, start=since, end=until, segment=segment, rolling=rolling
            )

        windows = await run_in_threadpool(run)
        return {"model": name, "segment": segment, "rolling": rolling, "windows": windows}

    return route


for _kind, _compute in (
    ("drift", drift_series),
    ("performance", performance_series),
    ("quality", quality_series),
):
    router.add_api_route(
        f"/v1/models/{{name}}/{_kind}", _series_route(_compute), methods=["GET"], name=_kind
    )


@router.get(
    "/v1/models/{name}/report",
    responses={
        200: {
            "description": "The window's HTML drift report",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
async def window_html(name: str, start: str, state: State, segment: str = "") -> Response:
    since, _ = await run_in_threadpool(_query, state, name, start, None, 1)
    assert since is not None

    def render() -> str:
        found = state.history.window(name, since, segment=segment)
        if found is None:
            raise RequestError(
                404,
                "unknown_window",
                f"no {segment or 'overall'} window of {name!r} starts at {start}; "
                f"see GET /v1/models/{name}/drift for the windows",
            )
        return render_html(found.report, diagnosis=_diagnosis(found))

    return Response(await run_in_threadpool(render), media_type="text/html")


def _diagnosis(window: Window) -> dict[str, Any] | None:
    """The window's diagnosis, as alerts carry it; a failure leaves the report without it."""
    try:
        return explain(window)
    except Exception:  # the drift report must not fail with the diagnosis
        log.exception("diagnosis of a window failed; the report is served without it")
        return None

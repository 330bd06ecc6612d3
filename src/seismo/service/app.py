"""The FastAPI application: routers per resource (:mod:`seismo.service.routes`) over one typed
:class:`~seismo.service.state.ServiceState`, built when the application starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import Match

from seismo._version import __version__
from seismo.alerts.prometheus import AlertCollector
from seismo.config import SeismoConfig
from seismo.monitor.prometheus import MonitorCollector
from seismo.service.auth import Authenticator
from seismo.service.config import monitor_config
from seismo.service.errors import Problem, RequestError, invalid
from seismo.service.limits import RequestLimits
from seismo.service.routes import alerts, health, models, predictions, series
from seismo.service.routes import loop as loop_routes
from seismo.service.routes import metrics as metrics_routes
from seismo.service.routes import monitor as monitor_routes
from seismo.service.state import Models, ServiceMetrics, ServiceState, monitoring
from seismo.service.ui import Compressed
from seismo.service.ui import router as ui_router
from seismo.store import GroupCommitWriter, Store, open_store
from seismo.store.base import DuplicatePrediction, StoreError, StoreUnavailable

log = logging.getLogger("seismo.service")

__all__ = ["ServiceMetrics", "create_app"]

ROUTERS = (
    health.router,
    models.router,
    predictions.router,
    series.router,
    monitor_routes.router,
    loop_routes.router,
    alerts.router,
    metrics_routes.router,
    ui_router,
)


def create_app(
    settings: SeismoConfig | None = None,
    *,
    store: Store | None = None,
    metrics: ServiceMetrics | None = None,
    source: str = "config",
) -> FastAPI:
    """Build the service. Pass ``store`` to share one (tests); otherwise it is opened from
    ``settings.store`` (the embedded SQLite default is migrated on open). ``source`` names the
    settings' file in configuration errors."""
    settings = settings or SeismoConfig()
    metrics = metrics or ServiceMetrics()
    _, every = monitor_config(settings.monitor)
    owned_store = store is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = store or open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
        wired = monitoring(opened, settings, source)
        state = ServiceState(
            settings=settings,
            source=source,
            store=opened,
            models=Models(opened),
            writer=GroupCommitWriter(opened, max_delay=settings.group_commit_delay),
            monitor=wired.monitor,
            history=wired.history,
            alerting=wired.alerting,
            auth=Authenticator(opened),
            metrics=metrics,
        )
        app.state.seismo = state
        collectors = [
            MonitorCollector(wired.history, wired.monitor.settings.rolling),
            AlertCollector(opened),
        ]
        for collector in collectors:
            metrics.registry.register(collector)
        scheduler = asyncio.create_task(monitor_routes.schedule(state, every)) if every else None
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.cancel()
            for collector in collectors:
                metrics.registry.unregister(collector)
            state.writer.close()
            if owned_store:
                opened.close()

    app = FastAPI(title="seismo", version=__version__, lifespan=lifespan)
    app.state.metrics = metrics
    for router in ROUTERS:
        app.include_router(router)
    _handle_errors(app, metrics)
    app.add_middleware(Compressed)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        rejected=lambda code: metrics.rejected.labels(code).inc(),
    )
    return app


def _handle_errors(app: FastAPI, metrics: ServiceMetrics) -> None:
    """Every error is a JSON body ``{"error": {"code", "message", ...}}``; none is a 500."""

    @app.exception_handler(RequestError)
    async def request_error(_: Request, error: RequestError) -> JSONResponse:
        return _error(error, metrics)

    @app.exception_handler(RequestValidationError)
    async def query_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            Problem(".".join(str(part) for part in item.get("loc", ())), str(item.get("msg")))
            for item in error.errors()
        ]
        return _error(invalid(problems, "query"), metrics)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code < 400:  # not an error: nothing to wrap
            return Response(status_code=error.status_code, headers=error.headers)
        allowed = _allowed(request) if error.status_code == 405 else None
        if error.status_code == 405 and request.method == "OPTIONS" and allowed:
            return Response(status_code=204, headers={"Allow": f"{allowed}, OPTIONS"})
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(error.status_code, "http_error")
        message = str(error.detail) if error.detail else code.replace("_", " ")
        if error.status_code == 404:
            message = f"no route {request.url.path}; see /docs for the API"
        response = _error(RequestError(error.status_code, code, message), metrics)
        if allowed:
            response.headers["Allow"] = allowed
        return response

    @app.exception_handler(StoreUnavailable)
    async def unavailable(_: Request, error: StoreUnavailable) -> JSONResponse:
        log.error("store unavailable: %s", error)
        return JSONResponse(
            {
                "error": {
                    "code": "store_unavailable",
                    "message": "the database cannot be reached; nothing was stored, retry",
                }
            },
            status_code=503,
        )

    @app.exception_handler(DuplicatePrediction)
    async def duplicate(_: Request, error: DuplicatePrediction) -> JSONResponse:
        return _error(RequestError(409, "duplicate_prediction", str(error)), metrics)

    @app.exception_handler(StoreError)
    async def store_error(_: Request, error: StoreError) -> JSONResponse:
        log.exception("store error")
        return JSONResponse(
            {"error": {"code": "store_error", "message": "the store failed; nothing was stored"}},
            status_code=503,
        )


def _allowed(request: Request) -> str | None:
    """The methods of every route matching the request's path (Starlette names only the
    first route's)."""
    methods: set[str] = set()
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.matches(request.scope)[0] != Match.NONE:
                methods |= route.methods or set()
    return ", ".join(sorted(methods)) if methods else None


def _error(error: RequestError, metrics: ServiceMetrics) -> JSONResponse:
    metrics.rejected.labels(error.code).inc()
    response = JSONResponse(error.body(), status_code=error.status)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response

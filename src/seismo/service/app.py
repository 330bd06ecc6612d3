"""The FastAPI application: thin routes over the store, the models and the payload checks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import msgspec
from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.exceptions import HTTPException

from seismo._version import __version__
from seismo.alerts import Alerting, alerts_config
from seismo.alerts.prometheus import AlertCollector
from seismo.ids import new_ids
from seismo.monitor import Monitor, WindowState
from seismo.monitor.prometheus import MonitorCollector
from seismo.monitor.results import (
    drift_series,
    performance_series,
    quality_series,
    window_report,
)
from seismo.service.alert_routes import alert_router
from seismo.service.config import ServiceSettings, monitor_config
from seismo.service.errors import Problem, RequestError, http_error_handler, invalid
from seismo.service.jobs import run_counts
from seismo.service.limits import RequestLimits
from seismo.service.models import HostedModel
from seismo.service.payloads import (
    feature_rows,
    logged_predictions,
    parse_batch_json,
    parse_labels,
    parse_timestamp,
    require_json,
    rows_of,
)
from seismo.store import GroupCommitWriter, Store, open_store
from seismo.store.base import (
    DuplicatePrediction,
    Prediction,
    StoreError,
    StoreUnavailable,
)

log = logging.getLogger("seismo.service")
MODEL_REFRESH_SECONDS = 5.0


@dataclass
class ServiceMetrics:
    """Operational metrics of the service, on an injectable registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.rows = Counter(
            "seismo_ingested_rows",
            "Prediction rows logged durably",
            ["model", "endpoint"],
            registry=self.registry,
        )
        self.labels = Counter(
            "seismo_labels",
            "Labels received, by outcome",
            ["model", "outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "seismo_rejected_requests",
            "Requests answered with a 4xx error",
            ["code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "seismo_request_seconds",
            "Request latency",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )


class Models:
    """Latest version of each model, loaded once and refreshed when a new version appears."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, HostedModel]] = {}

    def get(self, name: str) -> HostedModel:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None and now - cached[0] < MODEL_REFRESH_SECONDS:
            return cached[1]
        version = self._store.get_model_version(name)
        if version is None:
            known = sorted({v.model for v in self._store.list_model_versions()})
            raise RequestError(
                404, "unknown_model", f"no model named {name!r}; registered models: {known}"
            )
        if cached is not None and cached[1].version.version == version.version:
            hosted = cached[1]
        else:
            hosted = HostedModel.load(version)
        self._cache[name] = (now, hosted)
        return hosted


def create_app(
    settings: ServiceSettings | None = None,
    *,
    store: Store | None = None,
    metrics: ServiceMetrics | None = None,
    source: str = "config",
) -> FastAPI:
    """Build the service. Pass ``store`` to share one (tests); otherwise it is opened from
    ``settings.store`` (the embedded SQLite default is migrated on open). ``source`` names the
    settings' file in configuration errors."""
    settings = settings or ServiceSettings()
    metrics = metrics or ServiceMetrics()
    monitor_settings, monitor_every = monitor_config(settings.monitor)
    alert_settings = alerts_config(settings.alerts, source)
    owned_store = store is None
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        opened = store or open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
        state["store"] = opened
        state["models"] = Models(opened)
        state["writer"] = GroupCommitWriter(opened, max_delay=settings.group_commit_delay)
        state["monitor"] = Monitor(opened, monitor_settings)
        state["alerting"] = Alerting(state["monitor"], alert_settings)
        collectors = [MonitorCollector(state["monitor"]), AlertCollector(opened)]
        for collector in collectors:
            metrics.registry.register(collector)
        scheduler = (
            asyncio.create_task(_schedule(state["monitor"], state["alerting"], monitor_every))
            if monitor_every
            else None
        )
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.cancel()
            for collector in collectors:
                metrics.registry.unregister(collector)
            state["writer"].close()
            if owned_store:
                opened.close()

    app = FastAPI(title="seismo", version=__version__, lifespan=lifespan)
    app.state.metrics = metrics
    app.add_exception_handler(
        HTTPException, http_error_handler(lambda code: metrics.rejected.labels(code).inc())
    )

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.max_body_bytes:
            return _error(
                RequestError(
                    413,
                    "body_too_large",
                    f"request body of {length} bytes exceeds {settings.max_body_bytes}; split it",
                ),
                metrics,
            )
        return await call_next(request)

    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_body_bytes,
        rejected=lambda code: metrics.rejected.labels(code).inc(),
    )

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

    async def body_of(request: Request) -> Any:
        require_json(request.headers.get("content-type"))
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_body_bytes:
                raise RequestError(
                    413,
                    "body_too_large",
                    f"request body exceeds {settings.max_body_bytes} bytes; split it",
                )
            chunks.append(chunk)
        return parse_batch_json(b"".join(chunks))

    async def log_rows(rows: list[Prediction], model: str, endpoint: str) -> None:
        if settings.log_predictions:
            await state["writer"].submit_async(rows)
        metrics.rows.labels(model, endpoint).inc(len(rows))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        await run_in_threadpool(state["store"].check)
        return {"status": "ready"}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        versions = await run_in_threadpool(state["store"].list_model_versions)
        return {"models": [_version_info(v) for v in versions]}

    @app.get("/v1/models/{name}")
    async def model_info(name: str) -> dict[str, Any]:
        hosted = await run_in_threadpool(state["models"].get, name)
        return _version_info(hosted.version)

    @app.post("/v1/models/{name}:predict")
    async def predict(name: str, request: Request) -> Response:
        started = time.perf_counter()
        hosted: HostedModel = await run_in_threadpool(state["models"].get, name)
        if hosted.estimator is None:
            raise RequestError(
                409,
                "not_hosted",
                f"model {name!r} is served elsewhere; log its predictions with "
                f"POST /v1/models/{name}/predictions",
            )
        instances = rows_of(await body_of(request), "instances", settings.max_batch_rows)
        rows = feature_rows(instances, "instances", hosted.features, hosted.kinds)
        try:
            outputs, scores = await run_in_threadpool(hosted.predict, rows)
        except (ValueError, TypeError) as error:
            raise RequestError(
                422, "model_error", f"the model could not predict: {error}"
            ) from None
        now = datetime.now(UTC)
        version = hosted.version.version
        ids = new_ids(len(rows))
        records = [
            Prediction(
                ids[i], name, version, now, row, output, None if scores is None else scores[i]
            )
            for i, (row, output) in enumerate(zip(rows, outputs, strict=True))
        ]
        await log_rows(records, name, "predict")
        metrics.latency.labels("predict").observe(time.perf_counter() - started)
        response: dict[str, Any] = {
            "predictions": outputs,
            "ids": [r.id for r in records],
            "model_name": name,
            "model_version": version,
        }
        if scores is not None:
            response["scores"] = scores
        return _json_response(response)

    @app.post("/v1/models/{name}/predictions")
    async def ingest(name: str, request: Request) -> Response:
        started = time.perf_counter()
        hosted: HostedModel = await run_in_threadpool(state["models"].get, name)
        rows = rows_of(await body_of(request), "predictions", settings.max_batch_rows)
        records = logged_predictions(
            rows,
            model=name,
            version=hosted.version.version,
            features=hosted.features,
            kinds=hosted.kinds,
            task=hosted.version.task,
            classes=hosted.version.classes,
            now=datetime.now(UTC),
        )
        await log_rows(records, name, "ingest")
        metrics.latency.labels("ingest").observe(time.perf_counter() - started)
        return _json_response(
            {
                "accepted": len(records),
                "ids": [r.id for r in records],
                "model_version": hosted.version.version,
            }
        )

    @app.post("/v1/models/{name}/labels")
    async def labels(name: str, request: Request) -> dict[str, Any]:
        hosted: HostedModel = await run_in_threadpool(state["models"].get, name)
        rows = rows_of(await body_of(request), "labels", settings.max_batch_rows)
        task, classes = hosted.version.task, hosted.version.classes
        parsed = parse_labels(rows, datetime.now(UTC), task=task, classes=classes)
        outcome = await run_in_threadpool(partial(state["store"].add_labels, parsed, model=name))
        for kind in ("inserted", "updated", "unchanged"):
            metrics.labels.labels(name, kind).inc(getattr(outcome, kind))
        metrics.labels.labels(name, "unknown").inc(len(outcome.unknown_ids))
        return {
            "inserted": outcome.inserted,
            "updated": outcome.updated,
            "unchanged": outcome.unchanged,
            "unknown_ids": list(outcome.unknown_ids),
        }

    def monitor() -> Monitor:
        return state["monitor"]  # type: ignore[no-any-return]

    def time_range(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
        parsed = []
        for name, value in (("start", start), ("end", end)):
            moment, problem = parse_timestamp(value, name)
            if problem is not None:
                raise RequestError(422, "invalid_query", f"{name}: {problem.message}", [problem])
            parsed.append(moment)
        return parsed[0], parsed[1]

    def series_query(
        name: str, start: str | None, end: str | None, rolling: int
    ) -> tuple[datetime | None, datetime | None]:
        state["models"].get(name)
        if not 1 <= rolling <= 1000:
            raise RequestError(422, "invalid_query", "rolling: a number of windows, 1 to 1000")
        return time_range(start, end)

    def series_route(
        compute: Callable[..., list[dict[str, Any]]],
    ) -> Callable[..., Awaitable[dict[str, Any]]]:
        """A GET route serving one series (drift, performance or quality) over windows."""

        async def route(
            name: str,
            start: str | None = None,
            end: str | None = None,
            segment: str = "",
            rolling: int = 1,
        ) -> dict[str, Any]:
            def run() -> list[dict[str, Any]]:
                since, until = series_query(name, start, end, rolling)
                return compute(
                    monitor(), name, start=since, end=until, segment=segment, rolling=rolling
                )

            windows = await run_in_threadpool(run)
            return {"model": name, "segment": segment, "rolling": rolling, "windows": windows}

        return route

    for kind, compute in (
        ("drift", drift_series),
        ("performance", performance_series),
        ("quality", quality_series),
    ):
        app.add_api_route(
            f"/v1/models/{{name}}/{kind}", series_route(compute), methods=["GET"], name=kind
        )

    @app.get("/v1/models/{name}/report")
    async def window_html(name: str, start: str, segment: str = "") -> Response:
        since, _ = await run_in_threadpool(series_query, name, start, None, 1)
        assert since is not None

        def render() -> str:
            found = [
                s
                for s in state["store"].get_windows(name, start=since, segment=segment)
                if s.start == since
            ]
            if not found:
                raise RequestError(
                    404,
                    "unknown_window",
                    f"no {segment or 'overall'} window of {name!r} starts at {start}; "
                    f"see GET /v1/models/{name}/drift for the windows",
                )
            state_ = WindowState.from_bytes(found[-1].payload)
            return window_report(monitor(), found[-1], state_).to_html()

        return Response(await run_in_threadpool(render), media_type="text/html")

    @app.post("/v1/monitor/run")
    async def run_monitor() -> dict[str, Any]:
        report = await run_in_threadpool(monitor().run)
        outcome = await run_in_threadpool(state["alerting"].run)
        return run_counts(report, outcome)

    app.include_router(alert_router(lambda: state["alerting"]))

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _schedule(monitor: Monitor, alerting: Alerting, every: float) -> None:
    """Run the monitor, then the alert rules, every ``every`` seconds inside the service;
    errors are logged, not fatal."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(monitor.run)
            await run_in_threadpool(alerting.run)
        except Exception:  # keep serving predictions whatever the monitor hits
            log.exception("monitor run failed")


def _version_info(version: Any) -> dict[str, Any]:
    return {
        "name": version.model,
        "version": version.version,
        "task": version.task,
        "classes": list(version.classes),
        "features": list(version.features),
        "hosted": version.artifact is not None,
        "created_at": version.created_at.isoformat(),
        "description": version.description,
    }


_ENCODER = msgspec.json.Encoder()


def _json_response(body: dict[str, Any]) -> Response:
    """JSON written by msgspec (the request paths answer with thousands of ids); values it
    cannot encode (numpy types from a model) take FastAPI's encoder."""
    try:
        content = _ENCODER.encode(body)
    except (TypeError, msgspec.EncodeError):
        return JSONResponse(jsonable_encoder(body))
    return Response(content, media_type="application/json")


def _error(error: RequestError, metrics: ServiceMetrics) -> JSONResponse:
    metrics.rejected.labels(error.code).inc()
    return JSONResponse(error.body(), status_code=error.status)

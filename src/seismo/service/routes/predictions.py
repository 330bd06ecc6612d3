"""Predictions and labels: the hot path (``:predict``, logging, late labels)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

import msgspec
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from seismo.ids import new_ids
from seismo.service.deps import State, json_body, scope
from seismo.service.errors import RequestError
from seismo.service.models import HostedModel
from seismo.service.openapi import LABELS_BODY, PREDICT_BODY, PREDICTIONS_BODY, WRITE_ERRORS
from seismo.service.payloads import feature_rows, logged_predictions, parse_labels, rows_of
from seismo.service.state import ServiceState
from seismo.store.base import Prediction

router = APIRouter(tags=["predictions"], responses=WRITE_ERRORS)


async def _log(state: ServiceState, rows: list[Prediction], model: str, endpoint: str) -> None:
    if state.settings.log_predictions:
        await state.writer.submit_async(rows)
    state.metrics.rows.labels(model, endpoint).inc(len(rows))


@router.post(
    "/v1/models/{name}:predict", dependencies=[scope("predict")], openapi_extra=PREDICT_BODY
)
async def predict(name: str, request: Request, state: State) -> Response:
    started = time.perf_counter()
    hosted: HostedModel = await run_in_threadpool(state.models.get, name)
    if hosted.estimator is None:
        raise RequestError(
            409,
            "not_hosted",
            f"model {name!r} is served elsewhere; log its predictions with "
            f"POST /v1/models/{name}/predictions",
        )
    settings = state.settings
    document = await json_body(request, batch=True)
    instances = rows_of(document, "instances", settings.max_batch_rows)
    rows = feature_rows(instances, "instances", hosted.features, hosted.kinds)
    try:
        outputs, scores = await run_in_threadpool(hosted.predict, rows)
    except (ValueError, TypeError) as error:
        raise RequestError(422, "model_error", f"the model could not predict: {error}") from None
    now = datetime.now(UTC)
    version = hosted.version.version
    ids = new_ids(len(rows))
    records = [
        Prediction(ids[i], name, version, now, row, output, None if scores is None else scores[i])
        for i, (row, output) in enumerate(zip(rows, outputs, strict=True))
    ]
    await _log(state, records, name, "predict")
    state.metrics.latency.labels("predict").observe(time.perf_counter() - started)
    response: dict[str, Any] = {
        "predictions": outputs,
        "ids": [r.id for r in records],
        "model_name": name,
        "model_version": version,
    }
    if scores is not None:
        response["scores"] = scores
    return json_response(response)


@router.post(
    "/v1/models/{name}/predictions",
    dependencies=[scope("ingest")],
    openapi_extra=PREDICTIONS_BODY,
)
async def ingest(name: str, request: Request, state: State) -> Response:
    started = time.perf_counter()
    hosted: HostedModel = await run_in_threadpool(state.models.get, name)
    settings = state.settings
    document = await json_body(request, batch=True)
    rows = rows_of(document, "predictions", settings.max_batch_rows)
    records = logged_predictions(
        rows,
        model=name,
        version=hosted.version.version,
        features=hosted.features,
        kinds=hosted.kinds,
        task=hosted.version.task,
        classes=hosted.version.classes,
        now=datetime.now(UTC),
        max_future_skew=settings.max_future_skew,
    )
    await _log(state, records, name, "ingest")
    state.metrics.latency.labels("ingest").observe(time.perf_counter() - started)
    return json_response(
        {
            "accepted": len(records),
            "ids": [r.id for r in records],
            "model_version": hosted.version.version,
        }
    )


@router.post("/v1/models/{name}/labels", dependencies=[scope("ingest")], openapi_extra=LABELS_BODY)
async def labels(name: str, request: Request, state: State) -> dict[str, Any]:
    hosted: HostedModel = await run_in_threadpool(state.models.get, name)
    document = await json_body(request, batch=True)
    rows = rows_of(document, "labels", state.settings.max_batch_rows)
    task, classes = hosted.version.task, hosted.version.classes
    parsed = parse_labels(rows, datetime.now(UTC), task=task, classes=classes)
    outcome = await run_in_threadpool(partial(state.store.add_labels, parsed, model=name))
    for kind in ("inserted", "updated", "unchanged"):
        state.metrics.labels.labels(name, kind).inc(getattr(outcome, kind))
    state.metrics.labels.labels(name, "unknown").inc(len(outcome.unknown_ids))
    return {
        "inserted": outcome.inserted,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
        "unknown_ids": list(outcome.unknown_ids),
    }


_ENCODER = msgspec.json.Encoder()


def json_response(body: dict[str, Any]) -> Response:
    """JSON written by msgspec (the request paths answer with thousands of ids); values it
    cannot encode (numpy types from a model) take FastAPI's encoder."""
    try:
        content = _ENCODER.encode(body)
    except (TypeError, msgspec.EncodeError):
        return JSONResponse(jsonable_encoder(body))
    return Response(content, media_type="application/json")

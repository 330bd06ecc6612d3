"""Predictions and labels: the hot path (``:predict``, logging, late labels)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

import msgspec
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from seismo.loop.models import HostedModel
from seismo.loop.registry import routes_to_challenger
from seismo.service.deps import State, json_body, scope
from seismo.service.errors import RequestError
from seismo.service.openapi import LABELS_BODY, PREDICT_BODY, PREDICTIONS_BODY, WRITE_ERRORS
from seismo.service.payloads import (
    feature_rows,
    logged_predictions,
    parse_labels,
    predict_options,
    rows_of,
)
from seismo.service.state import ServiceState, Serving
from seismo.store.base import Prediction

router = APIRouter(tags=["predictions"], responses=WRITE_ERRORS)
log = logging.getLogger(__name__)


async def _log(state: ServiceState, rows: list[Prediction], model: str, endpoint: str) -> None:
    if state.settings.log_predictions:
        await state.writer.submit_async(rows)
    state.metrics.rows.labels(model, endpoint).inc(len(rows))


@router.post(
    "/v1/models/{name}:predict", dependencies=[scope("predict")], openapi_extra=PREDICT_BODY
)
async def predict(name: str, request: Request, state: State) -> Response:
    """Answer with the champion (or, for a canary's share of keys, the challenger); a shadow
    scores every instance too, is logged under its own version, and is not returned."""
    started = time.perf_counter()
    current: Serving = await run_in_threadpool(state.models.serving, name)
    champion = current.champion
    if champion.estimator is None:
        raise RequestError(
            409,
            "not_hosted",
            f"model {name!r} is served elsewhere; log its predictions with "
            f"POST /v1/models/{name}/predictions",
        )
    settings = state.settings
    document = await json_body(request, batch=True)
    instances = rows_of(document, "instances", settings.max_batch_rows)
    rows = feature_rows(instances, "instances", champion.features, champion.kinds)
    ids, keys, timestamps = predict_options(
        document, len(rows), now=datetime.now(UTC), max_future_skew=settings.max_future_skew
    )
    rollout, challenger = current.rollout, current.challenger
    canary = [challenger is not None and routes_to_challenger(rollout, key) for key in keys]
    answering = [challenger if to_challenger else champion for to_challenger in canary]
    outputs: list[Any] = [None] * len(rows)
    scores: list[Any] | None = None
    for hosted in {id(h): h for h in answering if h is not None}.values():
        chosen = [i for i, h in enumerate(answering) if h is hosted]
        part_outputs, part_scores = await _predict(hosted, [rows[i] for i in chosen])
        for position, i in enumerate(chosen):
            outputs[i] = part_outputs[position]
        if part_scores is not None:
            scores = scores or [None] * len(rows)
            for position, i in enumerate(chosen):
                scores[i] = part_scores[position]
    versions = [h.version.version for h in answering if h is not None]
    records = [
        Prediction(
            ids[i],
            name,
            versions[i],
            timestamps[i],
            row,
            outputs[i],
            None if scores is None else scores[i],
        )
        for i, row in enumerate(rows)
    ]
    if rollout.mode == "shadow" and challenger is not None:
        records.extend(await _shadow(state, name, challenger, rows, ids, timestamps))
    await _log(state, records, name, "predict")
    state.metrics.latency.labels("predict").observe(time.perf_counter() - started)
    response: dict[str, Any] = {
        "predictions": outputs,
        "ids": ids,
        "model_name": name,
        "model_version": champion.version.version,
    }
    if any(canary):
        response["model_versions"] = versions
    if scores is not None:
        response["scores"] = scores
    return json_response(response)


async def _predict(hosted: HostedModel, rows: list[dict[str, Any]]) -> tuple[list[Any], Any]:
    try:
        return await run_in_threadpool(hosted.predict, rows)
    except (ValueError, TypeError, KeyError) as error:
        raise RequestError(
            422,
            "model_error",
            f"model version {hosted.version.version} could not predict: {error}",
        ) from None


async def _shadow(
    state: ServiceState,
    name: str,
    shadow: HostedModel,
    rows: list[dict[str, Any]],
    ids: list[str],
    timestamps: list[datetime],
) -> list[Prediction]:
    """The shadow's predictions of the same requests, logged under its version; a shadow
    that fails is counted and logged, and never fails the request."""
    try:
        outputs, scores = await run_in_threadpool(shadow.predict, rows)
    except Exception:
        log.exception("shadow version %d of %s failed", shadow.version.version, name)
        state.metrics.shadow_errors.labels(name).inc()
        return []
    version = shadow.version.version
    return [
        Prediction(
            ids[i],
            name,
            version,
            timestamps[i],
            row,
            outputs[i],
            None if scores is None else scores[i],
        )
        for i, row in enumerate(rows)
    ]


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
    parsed = parse_labels(
        rows,
        datetime.now(UTC),
        task=task,
        classes=classes,
        max_future_skew=state.settings.max_future_skew,
    )
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

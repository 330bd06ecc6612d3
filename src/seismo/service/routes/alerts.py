"""Alerts and silences: read with the read scope, acknowledge and silence with admin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from seismo.alerts.lifecycle import SILENCE_MATCHERS
from seismo.errors import InputError
from seismo.monitor.windows import parse_duration
from seismo.service.deps import State, json_body, scope
from seismo.service.errors import Problem, RequestError, invalid
from seismo.service.openapi import ACK_BODY, READ_ERRORS, SILENCE_BODY, WRITE_ERRORS
from seismo.service.payloads import parse_timestamp
from seismo.store.base import AlertEvent, Silence, StoredAlert

STATES = ("firing", "resolved")


def alert_json(alert: StoredAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "state": alert.state,
        "severity": alert.severity,
        "rule": alert.rule,
        "model": alert.model,
        "segment": alert.segment,
        "summary": alert.alert.get("summary"),
        "started_at": alert.started_at.isoformat(),
        "updated_at": alert.updated_at.isoformat(),
        "resolved_at": alert.alert.get("resolved_at"),
        "acknowledged_at": None
        if alert.acknowledged_at is None
        else alert.acknowledged_at.isoformat(),
        "acknowledged_by": alert.acknowledged_by,
        "notified_at": None if alert.notified_at is None else alert.notified_at.isoformat(),
        "alert": alert.alert,
    }


def event_json(event: AlertEvent) -> dict[str, Any]:
    return {**event.details, "seq": event.seq, "kind": event.kind, "at": event.at.isoformat()}


def silence_json(silence: Silence) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": silence.id,
        "matchers": silence.matchers,
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "active": silence.starts_at <= now < silence.ends_at,
        "created_by": silence.created_by,
        "comment": silence.comment,
        "created_at": silence.created_at.isoformat(),
    }


async def _object(request: Request) -> dict[str, Any]:
    document = await json_body(request)
    if not isinstance(document, dict):
        raise RequestError(422, "invalid_body", "the body must be a JSON object")
    return document


def _text(document: dict[str, Any], key: str, *, required: bool) -> str:
    value = document.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid([Problem(key, "required, a non-empty string")], "body")
    return value


router = APIRouter(tags=["alerts"], responses=READ_ERRORS)


@router.get("/v1/alerts", dependencies=[scope("read")])
async def list_alerts(
    service: State, state: str | None = None, model: str | None = None, limit: int = 100
) -> dict[str, Any]:
    if state is not None and state not in STATES:
        raise invalid([Problem("state", f"use one of {', '.join(STATES)}")], "query")
    if not 1 <= limit <= 1000:
        raise invalid([Problem("limit", "between 1 and 1000")], "query")
    store = service.store
    found = await run_in_threadpool(
        lambda: store.list_alerts(state=state, model=model, limit=limit)
    )
    return {"alerts": [alert_json(a) for a in found]}


@router.get("/v1/alerts/{alert_id}", dependencies=[scope("read")])
async def get_alert(alert_id: str, service: State) -> dict[str, Any]:
    store = service.store
    found = await run_in_threadpool(store.get_alert, alert_id)
    if found is None:
        raise RequestError(404, "unknown_alert", f"no alert {alert_id!r}")
    events = await run_in_threadpool(lambda: store.list_alert_events(alert_id=alert_id))
    return {**alert_json(found), "history": [event_json(e) for e in events]}


@router.post(
    "/v1/alerts/{alert_id}/ack",
    dependencies=[scope("admin")],
    responses=WRITE_ERRORS,
    openapi_extra=ACK_BODY,
)
async def acknowledge(alert_id: str, request: Request, service: State) -> dict[str, Any]:
    document = await _object(request)
    by = _text(document, "by", required=True)
    comment = _text(document, "comment", required=False)
    try:
        stored = await run_in_threadpool(service.alerting.book.acknowledge, alert_id, by, comment)
    except KeyError:
        raise RequestError(404, "unknown_alert", f"no alert {alert_id!r}") from None
    return alert_json(stored)


@router.get("/v1/silences", dependencies=[scope("read")])
async def list_silences(service: State, active: bool = False) -> dict[str, Any]:
    store = service.store
    at = datetime.now(UTC) if active else None
    found = await run_in_threadpool(lambda: store.list_silences(active_at=at))
    return {"silences": [silence_json(s) for s in found]}


@router.post(
    "/v1/silences",
    status_code=201,
    dependencies=[scope("admin")],
    responses=WRITE_ERRORS,
    openapi_extra=SILENCE_BODY,
)
async def add_silence(request: Request, service: State) -> dict[str, Any]:
    document = await _object(request)
    matchers = document.get("matchers")
    if (
        not isinstance(matchers, dict)
        or not matchers
        or not all(isinstance(v, str) for v in matchers.values())
    ):
        raise invalid(
            [
                Problem(
                    "matchers",
                    f"an object of one or more of {', '.join(SILENCE_MATCHERS)} "
                    "to exact string values",
                )
            ],
            "body",
        )
    now = datetime.now(UTC)
    ends_at = _end(document, now)
    try:
        silence = await run_in_threadpool(
            lambda: service.alerting.book.silence(
                matchers,
                ends_at=ends_at,
                created_by=_text(document, "by", required=True),
                comment=_text(document, "comment", required=False),
            )
        )
    except InputError as error:
        raise invalid([Problem("matchers", str(error))], "body") from None
    return silence_json(silence)


@router.delete("/v1/silences/{silence_id}", dependencies=[scope("admin")])
async def end_silence(silence_id: str, service: State) -> dict[str, Any]:
    store = service.store
    ended = await run_in_threadpool(store.end_silence, silence_id, datetime.now(UTC))
    if not ended:
        raise RequestError(404, "unknown_silence", f"no silence {silence_id!r}")
    return {"id": silence_id, "ended": True}


def _end(document: dict[str, Any], now: datetime) -> datetime:
    if "duration" in document and "ends_at" in document:
        raise invalid([Problem("duration", "give duration or ends_at, not both")], "body")
    if "duration" in document:
        try:
            return now + parse_duration(str(document["duration"]))
        except InputError as error:
            raise invalid([Problem("duration", str(error))], "body") from None
        except OverflowError:
            raise invalid([Problem("duration", "ends after the year 9999")], "body") from None
    ends_at, problem = parse_timestamp(document.get("ends_at"), "ends_at")
    if problem is not None:
        raise invalid([problem], "body")
    if ends_at is None:
        raise invalid([Problem("duration", "required: how long, e.g. '2h' (or ends_at)")], "body")
    if ends_at <= now:
        raise invalid([Problem("ends_at", "must be in the future")], "body")
    return ends_at

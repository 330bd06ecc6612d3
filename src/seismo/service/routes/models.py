"""Registered models, their versions and lineage, rollouts and the loop's decisions: read
with the read scope; promote, roll out and roll back with admin."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from seismo.errors import InputError
from seismo.loop import registry
from seismo.service.deps import State, json_body, scope
from seismo.service.errors import Problem, RequestError, invalid
from seismo.service.openapi import READ_ERRORS, ROLLOUT_BODY, TRANSITION_BODY, WRITE_ERRORS
from seismo.store.base import Decision, ModelVersion, Rollout

router = APIRouter(tags=["models"])
KINDS = ("retrain", "validation", "rollout", "promotion", "rollback")
#: A version number as the store keeps it (a 32-bit integer from 1).
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]


def version_info(version: ModelVersion, rollout: Rollout | None = None) -> dict[str, Any]:
    status = version.status
    if rollout is not None:
        if version.version == rollout.champion:
            status = "champion"
        elif version.version == rollout.challenger:
            status = "challenger"
    return {
        "name": version.model,
        "version": version.version,
        "task": version.task,
        "classes": list(version.classes),
        "features": list(version.features),
        "hosted": version.artifact is not None,
        "created_at": version.created_at.isoformat(),
        "description": version.description,
        "status": status,
        "parent_version": version.parent_version,
        "lineage": version.lineage,
    }


def rollout_info(rollout: Rollout) -> dict[str, Any]:
    return {
        "model": rollout.model,
        "champion": rollout.champion,
        "challenger": rollout.challenger,
        "mode": rollout.mode,
        "share": rollout.share,
        "started_at": rollout.started_at.isoformat() if rollout.started_at else None,
    }


def decision_info(decision: Decision) -> dict[str, Any]:
    return {
        "seq": decision.seq,
        "model": decision.model,
        "kind": decision.kind,
        "outcome": decision.outcome,
        "version": decision.version,
        "at": decision.at.isoformat(),
        "actor": decision.actor,
        "summary": decision.summary,
        "evidence": decision.evidence,
    }


@router.get("/v1/models", dependencies=[scope("read")], responses=READ_ERRORS)
async def list_models(state: State) -> dict[str, Any]:
    versions = await run_in_threadpool(state.store.list_model_versions)
    return {"models": [version_info(v) for v in versions]}


@router.get("/v1/models/{name}", dependencies=[scope("read")], responses=READ_ERRORS)
async def model_info(name: str, state: State) -> dict[str, Any]:
    current = await run_in_threadpool(state.models.serving, name)
    return {
        **version_info(current.champion.version, current.rollout),
        "rollout": rollout_info(current.rollout),
    }


@router.get("/v1/models/{name}/versions", dependencies=[scope("read")], responses=READ_ERRORS)
async def model_versions(name: str, state: State) -> dict[str, Any]:
    current = await run_in_threadpool(state.models.serving, name)
    versions = await run_in_threadpool(state.store.list_model_versions, name)
    return {
        "rollout": rollout_info(current.rollout),
        "versions": [version_info(v, current.rollout) for v in versions],
    }


@router.get("/v1/models/{name}/decisions", dependencies=[scope("read")], responses=READ_ERRORS)
async def model_decisions(
    name: str,
    state: State,
    kind: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    await run_in_threadpool(state.models.serving, name)  # 404 for an unknown model
    if kind is not None and kind not in KINDS:
        raise invalid([Problem("kind", f"one of {', '.join(KINDS)}")], "query")
    found = await run_in_threadpool(
        partial(state.store.list_decisions, name, kind=kind, limit=limit)
    )
    return {"decisions": [decision_info(d) for d in found]}


async def _transition(request: Request) -> tuple[str, str]:
    document = await json_body(request)
    if not isinstance(document, dict):
        raise RequestError(422, "invalid_body", "the body must be a JSON object")
    by, reason = document.get("by"), document.get("reason", "")
    if not isinstance(by, str) or not by.strip():
        raise invalid([Problem("by", "required, a non-empty string")], "body")
    if not isinstance(reason, str):
        raise invalid([Problem("reason", "a string")], "body")
    return by, reason


async def _change(state: Any, name: str, action: Any) -> dict[str, Any]:
    await run_in_threadpool(state.models.serving, name)  # 404 for an unknown model
    try:
        rollout = await run_in_threadpool(action)
    except InputError as error:
        raise RequestError(409, "conflict", str(error)) from None
    state.models.forget(name)
    return {"rollout": rollout_info(rollout)}


@router.post(
    "/v1/models/{name}/versions/{version}:promote",
    dependencies=[scope("admin")],
    responses=WRITE_ERRORS,
    openapi_extra=TRANSITION_BODY,
)
async def promote(
    name: str, version: VersionNumber, request: Request, state: State
) -> dict[str, Any]:
    by, reason = await _transition(request)
    return await _change(
        state,
        name,
        partial(registry.promote, state.store, name, version, actor=by, reason=reason),
    )


@router.post(
    "/v1/models/{name}/versions/{version}:rollout",
    dependencies=[scope("admin")],
    responses=WRITE_ERRORS,
    openapi_extra=ROLLOUT_BODY,
)
async def start_rollout(
    name: str, version: VersionNumber, request: Request, state: State
) -> dict[str, Any]:
    by, reason = await _transition(request)
    document = await json_body(request)
    mode, share = document.get("mode", "canary"), document.get("share", 0.2)
    if mode not in ("canary", "shadow"):
        raise invalid([Problem("mode", "'canary' or 'shadow'")], "body")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise invalid([Problem("share", "a number in (0, 1]")], "body")
    return await _change(
        state,
        name,
        partial(
            registry.start_rollout,
            state.store,
            name,
            version,
            mode=mode,
            share=float(share),
            actor=by,
            reason=reason,
        ),
    )


@router.post(
    "/v1/models/{name}:rollback",
    dependencies=[scope("admin")],
    responses=WRITE_ERRORS,
    openapi_extra=TRANSITION_BODY,
)
async def rollback(name: str, request: Request, state: State) -> dict[str, Any]:
    by, reason = await _transition(request)
    return await _change(
        state, name, partial(registry.rollback, state.store, name, actor=by, reason=reason)
    )

"""Registered models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from seismo.service.deps import State, scope
from seismo.service.openapi import READ_ERRORS
from seismo.store.base import ModelVersion

router = APIRouter(tags=["models"], dependencies=[scope("read")], responses=READ_ERRORS)


def version_info(version: ModelVersion) -> dict[str, Any]:
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


@router.get("/v1/models")
async def list_models(state: State) -> dict[str, Any]:
    versions = await run_in_threadpool(state.store.list_model_versions)
    return {"models": [version_info(v) for v in versions]}


@router.get("/v1/models/{name}")
async def model_info(name: str, state: State) -> dict[str, Any]:
    hosted = await run_in_threadpool(state.models.get, name)
    return version_info(hosted.version)

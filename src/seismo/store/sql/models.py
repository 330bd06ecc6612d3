"""Model versions: the registry of references and artifacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa

from seismo.store.base import (
    ModelVersion,
)
from seismo.store.sql.engine import (
    SQLBase,
)
from seismo.store.sql.tables import (
    _decode,
    _encode,
    _Row,
    model_versions,
)

TASKS: Final = ("classification", "regression")


def _model_version(row: _Row) -> ModelVersion:
    return ModelVersion(
        model=row.model,
        version=row.version,
        task=row.task,
        reference=bytes(row.reference),
        created_at=row.created_at,
        artifact=row.artifact,
        classes=tuple(_decode(row.classes)),
        features=tuple(_decode(row.features)),
        description=row.description,
    )


class ModelVersions(SQLBase):
    # -- models ------------------------------------------------------------------------------
    def add_model_version(
        self,
        model: str,
        *,
        task: str,
        reference: bytes,
        artifact: str | None = None,
        classes: Sequence[str] = (),
        features: Sequence[str] = (),
        description: str = "",
    ) -> ModelVersion:
        if not isinstance(model, str) or not model:
            raise ValueError(f"a model name must be a non-empty string, not {model!r}")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r} for model {model!r}; use one of {TASKS}")
        class_names = tuple(str(name) for name in classes)
        feature_names = tuple(str(name) for name in features)
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "model_versions")
            latest = connection.execute(
                sa.select(sa.func.max(model_versions.c.version)).where(
                    model_versions.c.model == model
                )
            ).scalar_one()
            registered = ModelVersion(
                model=model,
                version=(latest or 0) + 1,
                task=task,
                reference=bytes(reference),
                created_at=datetime.now(UTC),
                artifact=artifact,
                classes=class_names,
                features=feature_names,
                description=description,
            )
            connection.execute(
                model_versions.insert().values(
                    model=registered.model,
                    version=registered.version,
                    task=registered.task,
                    reference=registered.reference,
                    artifact=registered.artifact,
                    classes=_encode(list(class_names)),
                    features=_encode(list(feature_names)),
                    description=registered.description,
                    created_at=registered.created_at,
                )
            )
        return registered

    def get_model_version(self, model: str, version: int | None = None) -> ModelVersion | None:
        query = sa.select(model_versions).where(model_versions.c.model == model)
        if version is None:
            query = query.order_by(model_versions.c.version.desc()).limit(1)
        else:
            query = query.where(model_versions.c.version == version)
        with self.transaction() as connection:
            row = connection.execute(query).first()
        return None if row is None else _model_version(row)

    def list_model_versions(self, model: str | None = None) -> list[ModelVersion]:
        query = sa.select(model_versions).order_by(model_versions.c.model, model_versions.c.version)
        if model is not None:
            query = query.where(model_versions.c.model == model)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [_model_version(row) for row in rows]

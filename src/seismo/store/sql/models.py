"""The model registry: versions (references, artifacts, lineage), rollouts and decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

import sqlalchemy as sa

from seismo.store.base import (
    JSON,
    ROLLOUT_MODES,
    VERSION_STATUSES,
    Decision,
    ModelVersion,
    Rollout,
)
from seismo.store.sql.engine import (
    SQLBase,
)
from seismo.store.sql.tables import (
    _decode,
    _encode,
    _Row,
    _utc,
    decisions,
    model_versions,
    rollouts,
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
        parent_version=row.parent_version,
        status=row.status,
        lineage=_decode(row.lineage),
    )


def _check_status(status: str) -> None:
    if status not in VERSION_STATUSES:
        raise ValueError(f"unknown version status {status!r}; use one of {VERSION_STATUSES}")


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
        parent_version: int | None = None,
        status: str = "registered",
        lineage: dict[str, JSON] | None = None,
    ) -> ModelVersion:
        _check_status(status)
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
                parent_version=parent_version,
                status=status,
                lineage=dict(lineage or {}),
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
                    parent_version=parent_version,
                    status=status,
                    lineage=_encode(registered.lineage),
                )
            )
        return registered

    def update_model_version(
        self,
        model: str,
        version: int,
        *,
        status: str | None = None,
        lineage: dict[str, JSON] | None = None,
    ) -> ModelVersion:
        if status is not None:
            _check_status(status)
        key = (model_versions.c.model == model) & (model_versions.c.version == version)
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "model_versions")
            row = connection.execute(sa.select(model_versions).where(key)).first()
            if row is None:
                raise KeyError(f"model {model!r} has no version {version}")
            merged = {**_decode(row.lineage), **(lineage or {})}
            connection.execute(
                model_versions.update()
                .where(key)
                .values(status=status or row.status, lineage=_encode(merged))
            )
            row = connection.execute(sa.select(model_versions).where(key)).one()
        return _model_version(row)

    # -- rollouts ----------------------------------------------------------------------------
    def get_rollout(self, model: str) -> Rollout | None:
        with self.transaction() as connection:
            row = connection.execute(sa.select(rollouts).where(rollouts.c.model == model)).first()
        return None if row is None else _rollout(row)

    def set_rollout(self, rollout: Rollout, *, expected: Rollout | None = None) -> bool:
        if rollout.mode is not None and rollout.mode not in ROLLOUT_MODES:
            raise ValueError(f"unknown rollout mode {rollout.mode!r}; use one of {ROLLOUT_MODES}")
        if (rollout.mode is None) != (rollout.challenger is None):
            raise ValueError("a rollout has a challenger exactly when it has a mode")
        if not 0.0 <= rollout.share <= 1.0:
            raise ValueError(f"a canary share lies in [0, 1], not {rollout.share}")
        values = {
            "champion": rollout.champion,
            "challenger": rollout.challenger,
            "mode": rollout.mode,
            "share": float(rollout.share),
            "started_at": rollout.started_at,
            "updated_at": datetime.now(UTC),
        }
        with self.transaction(write=True) as connection:
            self._serialise_writers(connection, "rollouts")
            row = connection.execute(
                sa.select(rollouts).where(rollouts.c.model == rollout.model)
            ).first()
            if expected is not None:
                current = None if row is None else _rollout(row)
                if current is None or (current.champion, current.challenger, current.mode) != (
                    expected.champion,
                    expected.challenger,
                    expected.mode,
                ):
                    return False
            if row is None:
                connection.execute(rollouts.insert().values(model=rollout.model, **values))
            else:
                connection.execute(
                    rollouts.update().where(rollouts.c.model == rollout.model).values(**values)
                )
        return True

    # -- decisions ---------------------------------------------------------------------------
    def add_decision(self, decision: Decision) -> Decision:
        with self.transaction(write=True) as connection:
            inserted = connection.execute(
                decisions.insert().values(
                    model=decision.model,
                    kind=decision.kind,
                    outcome=decision.outcome,
                    version=decision.version,
                    at=_utc(decision.at, "decision time"),
                    actor=decision.actor,
                    summary=decision.summary,
                    evidence=_encode(decision.evidence),
                )
            )
            seq = inserted.inserted_primary_key[0]  # type: ignore[index]
        return replace(decision, seq=int(seq))

    def list_decisions(
        self, model: str | None = None, *, kind: str | None = None, limit: int = 100
    ) -> list[Decision]:
        query = sa.select(decisions).order_by(decisions.c.seq.desc()).limit(limit)
        if model is not None:
            query = query.where(decisions.c.model == model)
        if kind is not None:
            query = query.where(decisions.c.kind == kind)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [
            Decision(
                model=row.model,
                kind=row.kind,
                outcome=row.outcome,
                summary=row.summary,
                at=row.at,
                actor=row.actor,
                version=row.version,
                evidence=_decode(row.evidence),
                seq=row.seq,
            )
            for row in rows
        ]

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


def _rollout(row: _Row) -> Rollout:
    return Rollout(
        model=row.model,
        champion=row.champion,
        challenger=row.challenger,
        mode=row.mode,
        share=row.share,
        started_at=row.started_at,
        updated_at=row.updated_at,
    )

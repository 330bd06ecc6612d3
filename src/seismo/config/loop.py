"""The ``loop:`` section of seismo.yaml: when to retrain, how to validate, how to roll out.

Every key has a default; ``models:`` overrides any of them for one model::

    loop:
      enabled: true            # the service runs the loop after each monitor run
      min_labelled_rows: 500
      cooldown: 7d
      models:
        flights:
          trainer: my_project.training:retrain
          canary_share: 0.1
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from seismo.config.types import ConfigModel, Duration, problem
from seismo.performance.metrics import METRICS

RetrainCause = Literal["covariate_drift", "concept_drift", "prior_shift"]
RETRAIN_CAUSES: tuple[RetrainCause, ...] = ("covariate_drift", "concept_drift", "prior_shift")


def _entry_point(value: str) -> str:
    module, _, function = value.partition(":")
    if (
        not module
        or not function
        or not all(part.isidentifier() for part in (*module.split("."), function))
    ):
        raise problem(
            f"{value!r} is not an entry point; write it as module:function "
            "(e.g. my_project.training:retrain)"
        )
    return value


class LoopPolicy(ConfigModel):
    """One model's retrain, validation and rollout settings."""

    retrain_on: list[RetrainCause] = Field(
        default_factory=lambda: list(RETRAIN_CAUSES),
        description="diagnoses of a firing alert that start a retrain (never pipeline_error)",
    )
    min_labelled_rows: int = Field(
        default=500, ge=10, description="labelled rows since the last training needed to retrain"
    )
    cooldown: Duration = Field(
        default=timedelta(days=1), description="least time between two retrains of a model"
    )
    max_concurrent: int = Field(
        default=1, ge=1, description="retrains of one model running or rolled out at a time"
    )
    trainer: str = Field(
        default="seismo.loop.train:refit",
        description="module:function that trains the challenger (default: refit a clone of "
        "the champion's scikit-learn pipeline)",
    )
    training_window: Duration = Field(
        default=timedelta(days=30), description="recent labelled predictions used to retrain"
    )
    reference_sample: int = Field(
        default=5000, ge=0, description="rows of the champion's training sample added"
    )
    holdout: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="share of the most recent labelled rows held out for validation "
        "(never trained on)",
    )
    metric: str | None = Field(
        default=None, description="the metric compared (default: roc_auc if binary, else rmse/f1)"
    )
    margin: float = Field(
        default=0.0, ge=0, description="how much better the challenger must be on the holdout"
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="significance of the tests")
    segments: list[str] = Field(
        default_factory=list, description="feature columns whose values are checked one by one"
    )
    segment_tolerance: float = Field(
        default=0.02, ge=0, description="how much worse a segment may be on the holdout"
    )
    rollout: Literal["canary", "shadow"] = Field(
        default="canary", description="how a validated challenger meets live traffic"
    )
    canary_share: float = Field(
        default=0.2, gt=0, le=1, description="share of :predict traffic the canary answers"
    )
    promote_min_labelled_rows: int = Field(
        default=200, ge=10, description="labelled live rows per version before deciding"
    )
    promote_margin: float = Field(
        default=0.01,
        ge=0,
        description="the challenger is promoted unless it is worse than the champion by "
        "this much (non-inferiority margin, live)",
    )
    max_rollout: Duration = Field(
        default=timedelta(days=14),
        description="a rollout without a decision by then is rolled back",
    )

    @field_validator("trainer")
    @classmethod
    def _trainer(cls, value: str) -> str:
        return _entry_point(value)

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        names = [m.name for m in METRICS]
        if value is not None and value not in names:
            raise problem(f"unknown metric {value!r}; use one of {names}")
        return value


class LoopSection(LoopPolicy):
    """The closed loop: defaults for every model, and overrides per model."""

    enabled: bool = Field(
        default=False, description="the service runs the loop after each monitor run"
    )
    models: dict[str, LoopPolicy] = Field(
        default_factory=dict, description="per model, the settings that differ from these"
    )

    def policy(self, model: str) -> LoopPolicy:
        """The settings of ``model``: these defaults with the keys its entry sets."""
        base = self.model_dump(exclude={"enabled", "models"})
        override = self.models.get(model)
        if override is not None:
            base.update(override.model_dump(include=override.model_fields_set))
        return LoopPolicy.model_validate(base)

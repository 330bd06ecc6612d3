"""The retrain trigger, the training of a challenger, and its validation on a holdout.

:func:`consider` decides whether a model should be retrained now, and records why or why not:
only for a diagnosis the policy names (covariate drift, concept drift, prior shift — never a
pipeline error, which a retrain would bake into the model), with enough labelled rows since
the last training, after the cooldown, and with fewer than ``max_concurrent`` retrained
versions in flight. :func:`retrain` trains a challenger on the recent labelled window (plus a
sample of the champion's training data), registers it as a candidate with its lineage, and
validates it against the champion on a time-based holdout of the most recent labelled rows,
which it never trained on; a challenger that passes is rolled out (canary or shadow), one
that fails is rejected. Every step is a recorded decision.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from seismo.config.loop import LoopPolicy
from seismo.errors import InputError
from seismo.loop.data import Labelled, labelled, unique_requests
from seismo.loop.models import HostedModel, load_artifact, register_model
from seismo.loop.registry import Notify, record, serving, start_rollout
from seismo.loop.train import (
    LABEL_COLUMN,
    SAMPLE_FILE,
    TrainingContext,
    TrainingSet,
    load_sample,
    load_trainer,
)
from seismo.monitor.history import WindowHistory
from seismo.performance.metrics import Task
from seismo.store.base import Decision, ModelVersion, Store

log = logging.getLogger(__name__)

IN_FLIGHT = ("candidate", "challenger")


@dataclass(frozen=True)
class Trigger:
    """Why a retrain is being considered: the firing alert and its diagnosis."""

    alert: str  # the alert's id
    rule: str
    cause: str  # the diagnosis' cause
    summary: str = ""
    window_start: datetime | None = None
    diagnosis: dict[str, Any] = field(default_factory=dict)


def task_of(name: str) -> Task:
    if name not in ("classification", "regression"):
        raise InputError(f"unknown task {name!r}")
    return "classification" if name == "classification" else "regression"


def default_metric(version: ModelVersion) -> str:
    if version.task == "regression":
        return "rmse"
    return "roc_auc" if len(version.classes) == 2 else "accuracy"


def consider(
    store: Store,
    model: str,
    policy: LoopPolicy,
    triggers: list[Trigger],
    *,
    now: datetime,
    notify: Notify | None = None,
) -> Decision | None:
    """Whether to retrain ``model`` now; the decision is recorded (a decision that repeats
    the previous one for the same alert is not recorded again). None when nothing fires."""
    if not triggers:
        return None
    broken = [t for t in triggers if t.cause == "pipeline_error"]
    evidence: dict[str, Any] = {
        "as_of": now.isoformat(),
        "alerts": [{"id": t.alert, "rule": t.rule, "cause": t.cause} for t in triggers],
    }
    if broken:
        return _once(
            store,
            model,
            "skipped",
            f"no retrain: {broken[0].rule} fired on a pipeline error ({broken[0].summary}); "
            "fix the pipeline — retraining on broken data would bake the error into the model",
            evidence,
            now,
            notify,
        )
    wanted = [t for t in triggers if t.cause in policy.retrain_on]
    if not wanted:
        causes = sorted({t.cause for t in triggers})
        return _once(
            store,
            model,
            "skipped",
            f"no retrain: the diagnosis is {', '.join(causes)}, not one of "
            f"{', '.join(policy.retrain_on)}",
            evidence,
            now,
            notify,
        )
    versions = store.list_model_versions(model)
    in_flight = [v.version for v in versions if v.status in IN_FLIGHT]
    if len(in_flight) >= policy.max_concurrent:
        return _once(
            store,
            model,
            "skipped",
            f"no retrain: version(s) {in_flight} already in validation or rollout "
            f"(at most {policy.max_concurrent})",
            evidence,
            now,
            notify,
        )
    fired = [
        d for d in store.list_decisions(model, kind="retrain", limit=50) if d.outcome == "fired"
    ]
    last = [decided_as_of(d) for d in fired[:1]]
    if last and now - last[0] < policy.cooldown:
        wait = last[0] + policy.cooldown - now
        return _once(
            store,
            model,
            "skipped",
            f"no retrain: cooldown ({_hours(policy.cooldown)} since the retrain as of "
            f"{last[0]:%Y-%m-%d %H:%M}; {_hours(wait)} left)",
            evidence,
            now,
            notify,
        )
    window_start: datetime = now - policy.training_window
    since = max(window_start, last[0]) if last else window_start
    rows = len(unique_requests(labelled(store, model, start=since, end=now)))
    evidence["labelled_rows"] = rows
    if rows < policy.min_labelled_rows:
        return _once(
            store,
            model,
            "skipped",
            f"no retrain: {rows} labelled rows since {since:%Y-%m-%d %H:%M}, "
            f"fewer than {policy.min_labelled_rows}",
            evidence,
            now,
            notify,
        )
    trigger = wanted[0]
    return record(
        store,
        model,
        "retrain",
        "fired",
        f"retrain: {trigger.rule} fired on {trigger.cause.replace('_', ' ')} "
        f"({trigger.summary}); {rows} labelled rows",
        evidence={**evidence, "diagnosis": trigger.diagnosis},
        notify=notify,
    )


def decided_as_of(decision: Decision) -> datetime:
    """The event time a decision was taken at (its wall-clock time if it has none)."""
    moment = decision.evidence.get("as_of")
    return datetime.fromisoformat(moment) if isinstance(moment, str) else decision.at


def _once(
    store: Store,
    model: str,
    outcome: str,
    summary: str,
    evidence: dict[str, Any],
    now: datetime,
    notify: Notify | None,
) -> Decision:
    previous = store.list_decisions(model, kind="retrain", limit=1)
    if previous and previous[0].outcome == outcome and previous[0].summary == summary:
        return previous[0]
    return record(store, model, "retrain", outcome, summary, evidence=evidence, notify=notify)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


@dataclass(frozen=True)
class RetrainOutcome:
    candidate: ModelVersion | None
    validation: Decision | None
    rolled_out: bool


def retrain(
    store: Store,
    model: str,
    policy: LoopPolicy,
    *,
    now: datetime,
    models_dir: str | Path,
    trigger: Decision | None = None,
    notify: Notify | None = None,
    history: WindowHistory | None = None,
) -> RetrainOutcome:
    """Train, register, validate and (if it passes) roll out a challenger.

    With ``history``, every window of the training range is diagnosed first and the rows of
    windows diagnosed ``pipeline_error`` are left out of training and validation (a retrain
    must never learn a broken pipeline, even one that raised no alert)."""
    rollout = serving(store, model)
    champion_version = store.get_model_version(model, rollout.champion)
    if champion_version is None or champion_version.artifact is None:
        raise InputError(
            f"model {model!r}: the champion is served elsewhere; seismo can only retrain a "
            "hosted model"
        )
    champion = HostedModel.load(champion_version)
    start = now - policy.training_window
    rows = unique_requests(labelled(store, model, start=start, end=now))
    excluded = broken_windows(history, model, start, now) if history is not None else []
    for broken in excluded:
        inside = (rows.timestamps >= _moment(broken["start"])) & (
            rows.timestamps < _moment(broken["end"])
        )
        rows = rows.take(~inside)
    if len(rows) < 2:
        raise InputError(f"model {model!r}: no labelled predictions since {start:%Y-%m-%d}")
    cut = _holdout_start(rows, policy.holdout)
    train_rows = rows.take(rows.timestamps < cut)
    holdout = rows.take(rows.timestamps >= cut)
    features = list(champion.features)
    labels_of = _label_values(champion)
    data = _training_set(champion_version, train_rows, features, labels_of, policy)
    context = TrainingContext(
        model=model,
        champion_version=champion_version.version,
        task=champion_version.task,
        classes=champion_version.classes,
        window_start=start,
        window_end=cut.astype(datetime).replace(tzinfo=UTC),
    )
    estimator = load_trainer(policy.trainer)(champion.estimator, data, context)
    if not hasattr(estimator, "predict"):
        raise InputError(f"trainer {policy.trainer!r} returned an object without predict()")
    candidate = _register(
        store,
        model,
        champion_version,
        estimator,
        data,
        features,
        policy,
        models_dir,
        context,
        holdout,
        trigger,
        excluded,
    )
    challenger = HostedModel.load(candidate)
    validation = validate(
        store, model, champion, challenger, holdout, policy, now=now, notify=notify
    )
    passed = validation.outcome == "passed"
    if passed:
        start_rollout(
            store,
            model,
            candidate.version,
            mode=policy.rollout,
            share=policy.canary_share,
            reason="validated on the holdout",
            evidence={"validation": validation.seq},
            notify=notify,
        )
    else:
        store.update_model_version(model, candidate.version, status="rejected")
    return RetrainOutcome(store.get_model_version(model, candidate.version), validation, passed)


def _holdout_start(rows: Labelled, share: float) -> np.datetime64:
    """The instant from which rows are held out: the most recent ``share`` of them, cut
    between two instants so no instant is both trained on and held out."""
    position = min(len(rows) - 1, max(1, round(len(rows) * (1 - share))))
    cut = rows.timestamps[position]
    if cut == rows.timestamps[0]:
        later = rows.timestamps[rows.timestamps > cut]
        cut = later[0] if len(later) else cut
    return np.datetime64(cut, "us")


def _label_values(champion: HostedModel) -> dict[str, Any]:
    """Stored labels are class names as text; a refit must see the champion's own values."""
    classes = getattr(champion.estimator, "classes_", None)
    if classes is None:
        return {}
    return {str(c): c for c in classes}


def _training_set(
    version: ModelVersion,
    rows: Labelled,
    features: list[str],
    labels_of: dict[str, Any],
    policy: LoopPolicy,
) -> TrainingSet:
    import pandas as pd

    frame = rows.frame(features)
    labels = [labels_of.get(str(label), label) for label in rows.labels]
    sources = {"recent": len(frame)}
    if version.artifact is not None:
        sample = load_sample(
            Path(version.artifact).parent / SAMPLE_FILE, policy.reference_sample, 0
        )
        if sample is not None:
            sources["reference_sample"] = len(sample)
            sample_labels = [labels_of.get(str(v), v) for v in sample[LABEL_COLUMN]]
            frame = pd.concat([sample[features], frame], ignore_index=True)
            labels = sample_labels + labels
    if version.task == "regression":
        target = np.asarray(labels, dtype=np.float64)
    else:
        target = np.asarray(labels, dtype=object)
        kinds = {type(v) for v in labels_of.values()}
        if len(kinds) == 1:
            target = target.astype(next(iter(kinds)))
    return TrainingSet(frame, target, sources)


def _register(
    store: Store,
    model: str,
    parent: ModelVersion,
    estimator: Any,
    data: TrainingSet,
    features: list[str],
    policy: LoopPolicy,
    models_dir: str | Path,
    context: TrainingContext,
    holdout: Labelled,
    trigger: Decision | None,
    excluded: list[dict[str, Any]],
) -> ModelVersion:
    import joblib

    from seismo.loop.models import fit_reference_with_predictions
    from seismo.profile.dataset import Reference

    parent_reference = Reference.from_bytes(parent.reference)
    frame = data.features.copy()
    targets = (
        [c.name for c in parent_reference.schema.with_role_target()]
        if hasattr(parent_reference.schema, "with_role_target")
        else []
    )
    del targets
    with tempfile.TemporaryDirectory() as scratch:
        artifact = Path(scratch) / "model.joblib"
        joblib.dump(estimator, artifact)
        reference = fit_reference_with_predictions(
            frame, _schema_of(parent_reference, features), artifact, name=f"{model} retrained"
        )
        lineage: dict[str, Any] = {
            "training": {
                "start": context.window_start.isoformat(),
                "end": context.window_end.isoformat(),
                "rows": len(data),
                "sources": data.sources,
                "trainer": policy.trainer,
            },
            "excluded": excluded,
            "holdout": {
                "start": _iso(holdout.timestamps[0]) if len(holdout) else None,
                "end": _iso(holdout.timestamps[-1]) if len(holdout) else None,
                "rows": len(holdout),
            },
        }
        if trigger is not None:
            lineage["trigger"] = {"decision": trigger.seq, "summary": trigger.summary}
        version = register_model(
            store,
            model,
            reference=reference,
            model_file=artifact,
            models_dir=models_dir,
            description=f"retrained from v{parent.version}",
            status="candidate",
            parent_version=parent.version,
            lineage=lineage,
        )
    load_artifact(version.artifact or "")
    return version


def _schema_of(reference: Any, features: list[str]) -> Any:
    """The parent's column kinds for the feature columns (so a retrained reference reads the
    data as the parent's did)."""
    from seismo.schema.types import ColumnOverride, SchemaOverrides

    return SchemaOverrides(
        {
            name: ColumnOverride(reference.schema[name].kind, reference.schema[name].role)
            for name in features
            if name in reference.schema
        },
        "parent reference",
    )


def _iso(value: np.datetime64) -> str:
    moment: datetime = value.astype(datetime)
    return moment.replace(tzinfo=UTC).isoformat()


def validate(
    store: Store,
    model: str,
    champion: HostedModel,
    challenger: HostedModel,
    holdout: Labelled,
    policy: LoopPolicy,
    *,
    now: datetime,
    notify: Notify | None = None,
) -> Decision:
    """Champion against challenger on the holdout: recorded, with its numbers."""
    from seismo.loop.validation import compare_models

    version = challenger.version
    metric = policy.metric or default_metric(version)
    rows = holdout.frame(list(champion.features)).to_dict("records")
    champion_outputs, champion_scores = champion.predict(rows)
    challenger_outputs, challenger_scores = challenger.predict(rows)
    truth: Any = [str(label) for label in holdout.labels]
    if version.task == "regression":
        truth = np.asarray(holdout.labels, dtype=np.float64)
        champion_outputs = list(np.asarray(champion_outputs, dtype=np.float64))
        challenger_outputs = list(np.asarray(challenger_outputs, dtype=np.float64))
    segments = {
        column: [str(row.get(column)) for row in holdout.features] for column in policy.segments
    }
    binary = version.task == "classification" and len(version.classes) == 2
    comparison = compare_models(
        y_true=truth,
        champion=[str(o) for o in champion_outputs]
        if version.task != "regression"
        else champion_outputs,
        challenger=[str(o) for o in challenger_outputs]
        if version.task != "regression"
        else challenger_outputs,
        task=task_of(version.task),
        metric=metric,
        classes=list(version.classes) or None,
        champion_scores=champion_scores if binary else None,
        challenger_scores=challenger_scores if binary else None,
        margin=policy.margin,
        alpha=policy.alpha,
        segments=segments or None,
        segment_tolerance=policy.segment_tolerance,
    )
    result = comparison.to_dict()
    store.update_model_version(model, version.version, lineage={"validation": result})
    outcome = "passed" if comparison.passed else "failed"
    return record(
        store,
        model,
        "validation",
        outcome,
        f"v{version.version} vs champion v{champion.version.version} on {comparison.rows} "
        f"held-out rows: {'; '.join(comparison.reasons)}",
        version=version.version,
        evidence={**result, "as_of": now.isoformat()},
        notify=notify,
    )


def broken_windows(
    history: WindowHistory, model: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The windows in [start, end) whose data a pipeline error broke (their diagnosis)."""
    from seismo.loop.diagnosis import diagnose_profiles

    broken = []
    for window in history.windows(model, start=start, end=end, segment=""):
        try:
            diagnosis = diagnose_profiles(window.reference(), window.state.profile, window.report)
        except Exception:  # an undiagnosable window is kept out too: it is not known good
            log.exception("diagnosing %r for a retrain failed", window)
            diagnosis = None
        if diagnosis is None or diagnosis.cause.value == "pipeline_error":
            broken.append(
                {
                    "start": window.summary.start.isoformat(),
                    "end": window.summary.end.isoformat(),
                    "version": window.summary.version,
                    "reason": diagnosis.summary if diagnosis is not None else "not diagnosed",
                }
            )
    return broken


def _moment(text: str) -> np.datetime64:
    moment = datetime.fromisoformat(text).astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "us")

"""The order of the questions, and the diagnosis they add up to.

1. Is the data broken upstream? The profile rules (:mod:`.pipeline`), and with raw rows the
   checks profiles cannot make (:mod:`.raw`: an exact rescaled match, a step at one instant).
   A pipeline error decides the diagnosis whatever drift it also causes: a retrain on broken
   data bakes the bug into the model.
2. With labels in both tables (:mod:`.labels`): did the label mix move while the inputs of
   each class did not (``prior_shift``)? Did performance fall beyond what the input shift
   explains (``concept_drift``)?
3. Did the features drift (``covariate_drift``, ranked by effect × importance to the model)?
   Otherwise ``none``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from seismo.drift.result import ColumnDrift, DriftReport
from seismo.loop.diagnosis import labels as label_checks
from seismo.loop.diagnosis.pipeline import PipelinePolicy, pipeline_findings
from seismo.loop.diagnosis.raw import RawPolicy, raw_findings
from seismo.loop.diagnosis.result import Action, Cause, Diagnosis, Finding
from seismo.loop.diagnosis.result import round_number as _round
from seismo.loop.diagnosis.rows import Rows
from seismo.profile.dataset import DatasetProfile, Reference
from seismo.schema.types import Role

NO_LABELS = (
    "no labels in the current data: concept drift and prior shift cannot be told apart from "
    "covariate drift"
)
PIPELINE_FIRST = "a pipeline error comes first: no retrain until the data is fixed"


def diagnose_profiles(
    reference: Reference,
    current: DatasetProfile,
    report: DriftReport | None = None,
    *,
    policy: PipelinePolicy | None = None,
) -> Diagnosis:
    """Diagnose a current profile (a window, a table) against the reference: what profiles
    alone can tell (pipeline errors, covariate drift or none)."""
    pipeline = pipeline_findings(reference, current, policy)
    if pipeline:
        return _pipeline(pipeline)
    return _drift(reference, current, report, None, (NO_LABELS,))


def diagnose_tables(
    reference: Reference,
    current: DatasetProfile,
    current_rows: Rows,
    reference_rows: Rows | None = None,
    *,
    model: Any = None,
    policy: PipelinePolicy | None = None,
    raw_policy: RawPolicy | None = None,
    label_policy: label_checks.LabelPolicy | None = None,
) -> Diagnosis:
    """Diagnose two tables: the profile rules, and what raw rows, labels and a model add."""
    label_policy = label_policy or label_checks.LabelPolicy()
    raw = raw_findings(reference, reference_rows, current_rows, raw_policy)
    # A step says more than the window's profile (when, and what before): it replaces the
    # profile's finding on its column; other raw findings only add columns.
    stepped = {column for f in raw if f.kind == "step_change" for column in f.columns}
    pipeline = [
        f for f in pipeline_findings(reference, current, policy) if not stepped & set(f.columns)
    ]
    flagged = {column for finding in pipeline for column in finding.columns}
    extra = [f for f in raw if f.kind == "step_change" or not flagged & set(f.columns)]
    if pipeline or extra:
        return _pipeline(sorted(pipeline + extra, key=lambda f: -f.strength))
    task = (
        label_checks.task_of(reference.schema, reference_rows, current_rows, model, label_policy)
        if reference_rows is not None
        else None
    )
    features = [c.name for c in reference.schema if c.role is Role.FEATURE]
    if task is None:
        ranked = (
            label_checks.importances(None, features, model, reference_rows, label_policy)
            if model is not None and reference_rows is not None
            else None
        )
        return _drift(reference, current, None, ranked, (NO_LABELS,))
    assert reference_rows is not None
    return _with_labels(reference, current, task, reference_rows, current_rows, model, label_policy)


def _with_labels(
    reference: Reference,
    current: DatasetProfile,
    task: label_checks.Task,
    reference_rows: Rows,
    current_rows: Rows,
    model: Any,
    policy: label_checks.LabelPolicy,
) -> Diagnosis:
    ref = _labelled_sample(reference_rows, task.target, policy.sample)
    cur = _labelled_sample(current_rows, task.target, policy.sample)
    ranked = label_checks.importances(task, task.features, model, ref, policy)
    shift = label_checks.label_shift(task, ref, cur, policy)
    conditional = label_checks.conditional_drift(task, ref, cur, policy) if shift.moved else []
    if shift.moved and not conditional:
        drift = _drift(reference, current, None, ranked, ())
        return Diagnosis(
            Cause.PRIOR_SHIFT,
            Action.RETRAIN,
            0.8,
            (label_checks.prior_finding(task, shift), *drift.findings),
            labels=True,
            notes=(
                "the label mix moved, the inputs of each class did not: reweight or retrain",
                *drift.notes,
            ),
        )
    space = label_checks.InputSpace(ref, task.features)
    near = label_checks.Neighbours.find(ref, cur, space, policy)
    reweighting = label_checks.Reweighting.fit(ref, cur, near)
    # The decision rests on the relation the reference rows state themselves (left out one at
    # a time): a model's own performance on the rows it was fit on would flatter it.
    neighbours = label_checks.neighbour_predictions(task, ref, cur, near)
    found = label_checks.relation(task, ref, cur, neighbours, reweighting, policy)
    outside = label_checks.model_predictions(task, ref, cur, model)
    by_model = (
        label_checks.relation(task, ref, cur, outside, reweighting, policy) if outside else None
    )
    drift = _drift(reference, current, None, ranked, ())
    if found.fell:
        finding = label_checks.concept_finding(task, found, by_model)
        return Diagnosis(
            Cause.CONCEPT_DRIFT,
            Action.RETRAIN,
            finding.strength,
            (finding, *drift.findings),
            labels=True,
            notes=(
                "performance fell beyond what the input shift explains: retrain on recent labels",
                *drift.notes,
            ),
        )
    if drift.cause is Cause.COVARIATE_DRIFT:
        return Diagnosis(
            Cause.COVARIATE_DRIFT,
            Action.RETRAIN,
            drift.confidence,
            (*drift.findings, label_checks.performance_finding(task, found, by_model)),
            labels=True,
            notes=drift.notes,
        )
    if shift.moved:
        return Diagnosis(
            Cause.PRIOR_SHIFT,
            Action.INVESTIGATE,
            0.5,
            (label_checks.prior_finding(task, shift),),
            labels=True,
            notes=(
                "the label mix moved and so did the inputs of some class "
                f"({conditional[0]['feature']} within {conditional[0]['label']}), while "
                "performance held and no feature drifted overall: not a clean prior shift",
            ),
        )
    return Diagnosis(Cause.NONE, Action.NONE, 0.9, labels=True)


def _labelled_sample(rows: Rows, target: str, size: int) -> Rows:
    labelled = np.flatnonzero(~rows.missing(target))
    if len(labelled) > size:
        labelled = np.sort(np.random.default_rng(0).choice(labelled, size=size, replace=False))
    return rows.take(labelled)


def _pipeline(findings: list[Finding]) -> Diagnosis:
    strongest = max(f.strength for f in findings)
    # Unsure between a pipeline error and drift: look before fixing, never retrain.
    action = Action.FIX_PIPELINE if strongest >= 0.75 else Action.INVESTIGATE
    return Diagnosis(
        Cause.PIPELINE_ERROR, action, strongest, tuple(findings), notes=(PIPELINE_FIRST,)
    )


def _drift(
    reference: Reference,
    current: DatasetProfile,
    report: DriftReport | None,
    ranked: tuple[dict[str, float], str] | None,
    notes: tuple[str, ...],
) -> Diagnosis:
    from seismo.drift.engine import compare_profiles

    report = report or compare_profiles(reference, current)
    drifted = [c for c in report.columns if c.drifted and c.role is Role.FEATURE]
    if ranked:
        notes = (*notes, f"features ranked by drift × importance ({ranked[1]})")
    if not drifted:
        return Diagnosis(Cause.NONE, Action.NONE, 0.9, notes=notes)
    weights = ranked[0] if ranked else {}
    # Unknown to the model (absent from its importances): weight 0, ranked after the rest.
    drifted.sort(key=lambda c: -_leading_ratio(c) * (weights.get(c.column, 0.0) if ranked else 1.0))
    findings = tuple(_feature_drift(c, weights.get(c.column) if ranked else None) for c in drifted)
    share = len(drifted) / max(1, report.dataset.features_tested)
    return Diagnosis(
        Cause.COVARIATE_DRIFT, Action.RETRAIN, min(0.9, 0.6 + 0.3 * share), findings, notes=notes
    )


def _leading_ratio(column: ColumnDrift) -> float:
    """The largest effect over its bar (how far past its bar the column drifted)."""
    ratios = [e.value / e.threshold for e in column.effects if e.threshold and e.threshold > 0]
    return max(ratios, default=0.0)


def _feature_drift(column: ColumnDrift, importance: float | None) -> Finding:
    leading = max(
        (e for e in column.effects if e.threshold and e.threshold > 0),
        key=lambda e: e.value / e.threshold,
        default=None,
    )
    evidence: dict[str, Any] = {"p_value_adjusted": column.p_value_adjusted}
    if leading is not None:
        evidence.update(
            effect=leading.name, value=_round(leading.value), bar=_round(leading.threshold)
        )
    if importance is not None:
        evidence["importance"] = _round(importance, 3)
        evidence["drift_x_importance"] = _round(_leading_ratio(column) * importance, 3)
    shown = f", importance {importance:.2f}" if importance is not None else ""
    return Finding(
        Cause.COVARIATE_DRIFT,
        "feature_drift",
        (column.column,),
        evidence,
        f"{column.column}: drifted ({column.severity.value}"
        + (
            f", {leading.name} {leading.value:.3g} over a bar of {leading.threshold:.3g}"
            if leading is not None
            else ""
        )
        + f"{shown})",
        strength=0.8 if importance is None else min(1.0, 0.5 + 0.5 * math.sqrt(importance)),
    )

"""Judging a canary or a shadow on live traffic: promote it, roll it back, or wait.

Both versions' predictions are logged under their own version, so once labels arrive the
rollout is judged on what each version answered since it started:

- shadow: both versions scored the same requests, so the comparison is paired (the same
  tests as the holdout validation);
- canary: each request went to one version (a hash of its key), so the comparison is between
  two independent samples (a bootstrap of the difference).

With at least ``promote_min_labelled_rows`` labelled rows per version: the challenger is
rolled back when it is worse than the champion beyond doubt (the interval of its improvement
lies below 0), and promoted when it is not worse by more than ``promote_margin`` (the
interval's lower end lies above ``-promote_margin``). It is also rolled back when an alert
fires on its own windows (data quality, drift of its outputs, performance), and when no
decision was reached within ``max_rollout``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from seismo.config.loop import LoopPolicy
from seismo.loop.data import Labelled, labelled
from seismo.loop.registry import Notify, promote, record, rollback
from seismo.loop.retrain import default_metric, task_of
from seismo.store.base import Decision, ModelVersion, Store

#: The alerts firing on one version of a model: (rule, summary) pairs.
VersionAlerts = Callable[[str, int, datetime], list[tuple[str, str]]]


def evaluate(
    store: Store,
    model: str,
    policy: LoopPolicy,
    *,
    now: datetime,
    alerts: VersionAlerts | None = None,
    notify: Notify | None = None,
) -> Decision | None:
    """Decide the model's rollout if one is under way; None when there is none or it must
    wait (a wait is recorded once, when its reason changes)."""
    rollout = store.get_rollout(model)
    if rollout is None or rollout.challenger is None:
        return None
    challenger = store.get_model_version(model, rollout.challenger)
    champion = store.get_model_version(model, rollout.champion)
    if challenger is None or champion is None:
        return None
    if alerts is not None:
        firing = alerts(model, rollout.challenger, now)
        if firing:
            rule, summary = firing[0]
            rollback(
                store,
                model,
                reason=f"alert {rule} fired on the {rollout.mode}: {summary}",
                evidence={"alerts": [{"rule": r, "summary": s} for r, s in firing]},
                notify=notify,
            )
            return store.list_decisions(model, kind="rollback", limit=1)[0]
    theirs = labelled(store, model, version=challenger.version)
    since = _first(theirs)
    ours = labelled(store, model, version=champion.version, start=since)
    result = compare_live(ours, theirs, champion, challenger, rollout.mode or "canary", policy)
    evidence: dict[str, Any] = {"mode": rollout.mode, "as_of": now.isoformat(), **result}
    if result["status"] == "worse":
        rollback(
            store,
            model,
            reason=result["summary"],
            evidence=evidence,
            notify=notify,
        )
        return store.list_decisions(model, kind="rollback", limit=1)[0]
    if result["status"] == "not_worse":
        promote(
            store,
            model,
            challenger.version,
            reason=f"{rollout.mode} not worse on live traffic: {result['summary']}",
            evidence=evidence,
            notify=notify,
        )
        return store.list_decisions(model, kind="promotion", limit=1)[0]
    if since is not None and now - since >= policy.max_rollout:
        rollback(
            store,
            model,
            reason=f"no decision within {policy.max_rollout} ({result['summary']})",
            evidence=evidence,
            notify=notify,
        )
        return store.list_decisions(model, kind="rollback", limit=1)[0]
    previous = store.list_decisions(model, kind="rollout", limit=1)
    summary = f"{rollout.mode} of v{challenger.version}: waiting ({result['summary']})"
    if (
        previous
        and previous[0].outcome == "waiting"
        and previous[0].evidence.get("status") == result["status"]
        and previous[0].version == challenger.version
    ):
        return None
    return record(
        store,
        model,
        "rollout",
        "waiting",
        summary,
        version=challenger.version,
        evidence=evidence,
    )


def _first(rows: Labelled) -> datetime | None:
    """When the first of ``rows`` was predicted (event time), or None."""
    if not len(rows):
        return None
    moment: datetime = rows.timestamps.min().astype(datetime)
    return moment.replace(tzinfo=UTC)


def compare_live(
    ours: Labelled,
    theirs: Labelled,
    champion: ModelVersion,
    challenger: ModelVersion,
    mode: str,
    policy: LoopPolicy,
) -> dict[str, Any]:
    """The live comparison: ``status`` is waiting, worse, not_worse or undecided."""
    from seismo.loop.validation import compare_groups, compare_models

    metric = policy.metric or default_metric(champion)
    if mode == "shadow":
        common = sorted(set(ours.ids) & set(theirs.ids))
        ours = _by_ids(ours, common)
        theirs = _by_ids(theirs, common)
    counts = {"champion_rows": len(ours), "challenger_rows": len(theirs), "metric": metric}
    need = policy.promote_min_labelled_rows
    if min(len(ours), len(theirs)) < need:
        return {
            **counts,
            "status": "waiting",
            "summary": f"{len(ours)} and {len(theirs)} labelled rows of {need} needed",
        }
    classification = champion.task == "classification"
    binary = classification and len(champion.classes) == 2

    def outputs(part: Labelled) -> Any:
        if classification:
            return [str(o) for o in part.outputs]
        return np.asarray(part.outputs, dtype=np.float64)

    def truth(part: Labelled) -> Any:
        if classification:
            return [str(v) for v in part.labels]
        return np.asarray(part.labels, dtype=np.float64)

    def scores(part: Labelled) -> Any:
        return np.asarray(part.scores, dtype=np.float64) if binary else None

    if mode == "shadow":
        comparison = compare_models(
            y_true=truth(ours),
            champion=outputs(ours),
            challenger=outputs(theirs),
            task=task_of(champion.task),
            metric=metric,
            classes=list(champion.classes) or None,
            champion_scores=scores(ours),
            challenger_scores=scores(theirs),
            alpha=policy.alpha,
        )
        values = comparison.champion, comparison.challenger
        improvement, interval = comparison.improvement, comparison.interval
    else:
        groups = compare_groups(
            champion=(truth(ours), outputs(ours), scores(ours)),
            challenger=(truth(theirs), outputs(theirs), scores(theirs)),
            task=task_of(champion.task),
            metric=metric,
            classes=list(champion.classes) or None,
            alpha=policy.alpha,
        )
        values = groups.champion, groups.challenger
        improvement, interval = groups.improvement, groups.interval
    low, high = interval
    margin = policy.promote_margin
    numbers = (
        f"{metric} {values[1]:.4f} (v{challenger.version}) vs {values[0]:.4f} "
        f"(v{champion.version}), improvement {improvement:+.4f} in [{low:+.4f}, {high:+.4f}]"
    )
    if high < 0:
        status, verdict = "worse", "worse than the champion"
    elif low > -margin:
        status, verdict = "not_worse", f"not worse than the champion by more than {margin}"
    else:
        status, verdict = "undecided", "not yet clear"
    return {
        **counts,
        "status": status,
        "champion": values[0],
        "challenger": values[1],
        "improvement": improvement,
        "interval": [low, high],
        "margin": margin,
        "summary": f"{numbers}: {verdict}",
    }


def _by_ids(rows: Labelled, ids: list[str]) -> Labelled:
    position = {prediction_id: i for i, prediction_id in enumerate(rows.ids)}
    mask = np.zeros(len(rows), dtype=bool)
    order = [position[i] for i in ids]
    mask[order] = True
    picked = rows.take(mask)
    # take() keeps time order; pair by id order instead
    index = {prediction_id: i for i, prediction_id in enumerate(picked.ids)}
    ordered = np.array([index[i] for i in ids], dtype=np.intp)
    return Labelled(
        [picked.ids[i] for i in ordered],
        picked.versions[ordered],
        picked.timestamps[ordered],
        [picked.features[i] for i in ordered],
        [picked.outputs[i] for i in ordered],
        [picked.scores[i] for i in ordered],
        [picked.labels[i] for i in ordered],
    )

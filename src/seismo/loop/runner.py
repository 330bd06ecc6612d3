"""One turn of the closed loop for every hosted model, as each scheduler runs it (the service
after its monitor runs, ``seismo loop run``, Airflow's ``retrain_dag``).

For each model: judge a canary or shadow under way (promote, roll back or wait); otherwise
look at the alerts firing on the champion and their diagnoses, decide whether to retrain
(recorded either way), and if so train, validate and roll out a challenger. One model's
failure is recorded and never stops the others.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from seismo.config import SeismoConfig
from seismo.loop import retrain as retraining
from seismo.loop import rollout as rollouts
from seismo.loop.registry import Notify, record, serving
from seismo.store.base import Decision, Store

if TYPE_CHECKING:
    from seismo.alerts import Alerting

log = logging.getLogger(__name__)
LEASE = "loop"
#: The alerts that roll a challenger back: its performance and its data quality (drift of its
#: inputs against its own, more recent, training data says nothing against it).
JUDGED = ("performance.", "quality.")
LEASE_LENGTH = timedelta(minutes=30)


@dataclass
class LoopRun:
    decisions: list[Decision] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: bool = False  # another process holds the loop's lease


def run_loop(
    store: Store,
    settings: SeismoConfig,
    *,
    now: datetime | None = None,
    alerting: Alerting | None = None,
    models: list[str] | None = None,
    notify: Notify | None = None,
) -> LoopRun:
    """Run the loop once for ``models`` (default: every model with a hosted champion).

    The loop keeps event time: each model is judged as of the end of its latest closed
    window (or ``now`` when given), so training windows, cooldowns and rollout deadlines
    follow the predictions' timestamps — the same live, and right for a replay or backfill.
    """
    holder = f"{socket.gethostname()}:{os.getpid()}"
    result = LoopRun()
    real_now = datetime.now(UTC)
    if not store.acquire_lease(LEASE, holder, until=real_now + LEASE_LENGTH, now=real_now):
        result.skipped = True
        return result
    try:
        names = (
            models if models is not None else sorted({v.model for v in store.list_model_versions()})
        )
        for model in names:
            try:
                moment = now or as_of(store, model, real_now)
                if moment is None:
                    continue  # no closed window yet: nothing to judge
                result.decisions.extend(
                    _one_model(store, settings, model, moment, alerting, notify)
                )
            except Exception as error:  # a trainer is user code: any failure is recorded
                message = f"{type(error).__name__}: {error}"
                result.errors[model] = message
                result.decisions.append(
                    record(
                        store, model, "retrain", "error", f"the loop failed: {message}", at=moment
                    )
                )
                log.warning("loop for %s failed: %s", model, message)
    finally:
        store.release_lease(LEASE, holder)
    return result


def as_of(store: Store, model: str, wall_clock: datetime) -> datetime | None:
    """The model's event time: the end of its latest window closed by the wall clock."""
    ends = [w.end for w in store.latest_windows(model, end=wall_clock) if w.segment == ""]
    return max(ends) if ends else None


def _one_model(
    store: Store,
    settings: SeismoConfig,
    model: str,
    now: datetime,
    alerting: Alerting | None,
    notify: Notify | None,
) -> list[Decision]:
    policy = settings.loop.policy(model)
    current = serving(store, model)
    champion = store.get_model_version(model, current.champion)
    if champion is None or champion.artifact is None:
        return []  # served elsewhere: seismo neither retrains nor routes it
    made: list[Decision] = []
    if current.challenger is not None:
        decided = rollouts.evaluate(
            store,
            model,
            policy,
            now=now,
            alerts=_challenger_alerts(alerting) if alerting is not None else None,
            notify=notify,
        )
        if decided is not None:
            made.append(decided)
        return made
    triggers = [
        retraining.Trigger(
            alert=alert.id,
            rule=alert.rule,
            cause=str(diagnosis.get("cause", "unknown")),
            summary=str(diagnosis.get("summary", alert.alert.get("summary", ""))),
            diagnosis=diagnosis,
        )
        for alert in store.list_alerts(state="firing", model=model)
        if int(alert.alert.get("version", 0)) == current.champion
        for diagnosis in [_diagnosis(alert.alert)]
    ]
    decision = retraining.consider(store, model, policy, triggers, now=now, notify=notify)
    if decision is None:
        return made
    made.append(decision)
    if decision.outcome == "fired":
        outcome = retraining.retrain(
            store,
            model,
            policy,
            now=now,
            models_dir=settings.models_dir,
            trigger=decision,
            notify=notify,
            history=alerting.evaluator.history if alerting is not None else None,
        )
        if outcome.validation is not None:
            made.append(outcome.validation)
        if outcome.rolled_out:
            made.extend(store.list_decisions(model, kind="rollout", limit=1))
    return made


def _diagnosis(alert: dict[str, Any]) -> dict[str, Any]:
    values = alert.get("values") or {}
    found = values.get("diagnosis") if isinstance(values, dict) else None
    return dict(found) if isinstance(found, dict) else {"cause": "unknown"}


def _challenger_alerts(alerting: Alerting) -> rollouts.VersionAlerts:
    """The performance and data-quality rules firing on the challenger's own windows and not
    on the champion's: an alert both versions raise (the data moved for everyone) says nothing
    against the challenger."""

    def firing_on(model: str, version: int, now: datetime) -> dict[str, str]:
        decisions = alerting.evaluator.evaluate(
            now, [model], version=lambda _: version, strict=True
        )
        return {
            f"{d.rule.name}/{d.segment}": "; ".join(
                f"{f.key or d.rule.series} {f.value:.4g} {f.side} {f.bound:.4g}" for f in d.findings
            )
            for d in decisions
            if d.verdict == "firing" and d.version == version and d.rule.series.startswith(JUDGED)
        }

    def firing(model: str, version: int, now: datetime) -> list[tuple[str, str]]:
        theirs = firing_on(model, version, now)
        if not theirs:
            return []
        rollout = alerting.evaluator.history.store.get_rollout(model)
        ours = firing_on(model, rollout.champion, now) if rollout is not None else {}
        return [(key.rstrip("/"), text) for key, text in theirs.items() if key not in ours]

    return firing

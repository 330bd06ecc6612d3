"""Decisions of the loop told through the alert sinks (Slack, PagerDuty, webhooks,
Alertmanager, email): each is sent as an event that opens and closes at once, so paging
receivers do not keep an incident open for a decision already taken."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta

from seismo.alerts import Alerting
from seismo.alerts.delivery import deliver
from seismo.alerts.model import Alert, AlertState, Notification, Severity
from seismo.loop.registry import Notify
from seismo.store.base import Decision

log = logging.getLogger(__name__)

#: Decisions worth telling people about (a retrain skipped is in the record, not a message).
NOTIFIED = {
    ("retrain", "fired"),
    ("retrain", "skipped"),
    ("retrain", "error"),
    ("validation", "passed"),
    ("validation", "failed"),
    ("rollout", "started"),
    ("promotion", "promoted"),
    ("rollback", "rolled_back"),
}


def decision_alert(decision: Decision) -> Alert:
    severity = (
        Severity.WARNING
        if decision.kind == "rollback" or decision.outcome in ("error", "failed")
        else Severity.INFO
    )
    evidence = json.dumps(decision.evidence, default=str, sort_keys=True)
    if len(evidence) > 2000:
        evidence = evidence[:2000] + " ..."
    return Alert(
        id=f"seismo-loop-{decision.model}-{decision.seq}",
        rule=f"loop.{decision.kind}",
        model=decision.model,
        version=decision.version or 0,
        segment="",
        severity=severity,
        state=AlertState.FIRING,
        summary=f"{decision.model}: {decision.summary}",
        description=f"{decision.kind} {decision.outcome} by {decision.actor} at "
        f"{decision.at.isoformat()}\n{decision.summary}\nEvidence: {evidence}",
        window_start=decision.at,
        window_end=decision.at + timedelta(seconds=1),
        started_at=decision.at,
        labels={
            "model": decision.model,
            "version": str(decision.version or ""),
            "rule": f"loop.{decision.kind}",
            "severity": str(severity),
            "outcome": decision.outcome,
        },
        values={"decision": decision.seq, "evidence": decision.evidence},
    )


def notifier(alerting: Alerting) -> Notify:
    """A :data:`Notify` that sends decisions through ``alerting``'s sinks, with its retries."""
    retries = alerting.config.delivery

    def notify(decision: Decision) -> None:
        if (decision.kind, decision.outcome) not in NOTIFIED:
            return
        alert = decision_alert(decision)
        resolved = replace(alert, state=AlertState.RESOLVED, resolved_at=decision.at)
        for sink in alerting.config.sinks:
            for notification in (
                Notification(alert, "trigger"),
                Notification(resolved, "resolve"),
            ):
                result = deliver(
                    sink,
                    notification,
                    attempts=retries.attempts,
                    backoff=retries.backoff,
                    max_backoff=retries.max_backoff,
                )
                if not result.ok:
                    log.warning("decision %s to %s: %s", decision.seq, sink.name, result.error)

    return notify

"""Alert lifecycle: from rule decisions to alerts that fire once, resolve, and are delivered.

One alert per rule, model and segment (its ``id`` is derived from the three): a ``firing``
decision opens it (or reopens a resolved one), later firing decisions update it without a new
notification (deduplication), an ``ok`` decision resolves it, and ``unknown`` (too few rows
or too little history) changes nothing. A drift rule's alert lists every drifted feature of
the window (grouping: one alert, not one per feature).

Notifications: a trigger when an alert opens, and again only if its severity rises while it
is not acknowledged; a resolve when it resolves, if its trigger went out. Within ``cooldown``
of the last trigger an alert that reopens is recorded but not notified again (flapping), and
an alert matched by an active silence is recorded but not notified. Every transition and
every delivery (its sink, attempts, error) is appended to the alert's history in the store.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from seismo.alerts.delivery import DeliveryResult, deliver
from seismo.alerts.evaluate import Decision, Finding
from seismo.alerts.model import Alert, AlertState, Notification, Severity
from seismo.alerts.series import FEATURE_SERIES
from seismo.alerts.sinks import Sink
from seismo.errors import InputError
from seismo.store.base import AlertEvent, Silence, Store, StoredAlert

log = logging.getLogger("seismo.alerts")

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
SILENCE_MATCHERS = ("rule", "model", "segment", "severity")


def alert_id(rule: str, model: str, segment: str) -> str:
    digest = hashlib.blake2b(f"{rule}\x00{model}\x00{segment}".encode(), digest_size=10)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one batch of decisions did."""

    opened: list[str]
    resolved: list[str]
    notifications: list[Notification]
    deliveries: list[DeliveryResult]


class AlertBook:
    """Applies decisions to the alerts in the store and delivers the notifications."""

    def __init__(
        self,
        store: Store,
        sinks: Sequence[Sink] = (),
        *,
        cooldown: timedelta = timedelta(hours=1),
        base_url: str | None = None,
        send: Callable[[Sink, Notification], DeliveryResult] = deliver,
    ) -> None:
        self.store = store
        self.sinks = list(sinks)
        self.cooldown = cooldown
        self.base_url = base_url.rstrip("/") if base_url else None
        self._send = send

    # -- decisions --------------------------------------------------------------------------
    def apply(self, decisions: Iterable[Decision], now: datetime | None = None) -> Outcome:
        moment = now or datetime.now(UTC)
        silences = self.store.list_silences(active_at=moment)
        outcome = Outcome([], [], [], [])
        for decision in decisions:
            if decision.verdict == "unknown":
                continue
            key = alert_id(decision.rule.name, decision.model, decision.segment)
            current = self.store.get_alert(key)
            if decision.verdict == "firing":
                notification = self._fire(key, current, decision, moment, silences, outcome)
            else:
                notification = self._resolve(current, decision, moment, outcome)
            if notification is not None:
                outcome.notifications.append(notification)
                outcome.deliveries.extend(self._deliver(notification, moment))
        return outcome

    def _fire(
        self,
        key: str,
        current: StoredAlert | None,
        decision: Decision,
        now: datetime,
        silences: list[Silence],
        outcome: Outcome,
    ) -> Notification | None:
        rule = decision.rule
        opening = current is None or current.state == AlertState.RESOLVED
        if not opening and current is not None and _window(current) == decision.window_start:
            return None  # this window was decided before: nothing new
        started = now if opening or current is None else current.started_at
        alert = Alert(
            id=key,
            rule=rule.name,
            model=decision.model,
            version=decision.version,
            segment=decision.segment,
            severity=rule.severity,
            state=AlertState.FIRING,
            summary=summary(decision),
            description=describe(decision),
            window_start=decision.window_start,
            window_end=decision.window_end,
            started_at=started,
            labels={
                "model": decision.model,
                "version": str(decision.version),
                "segment": decision.segment,
                "rule": rule.name,
                "severity": rule.severity.value,
                "series": rule.series,
            },
            values={
                "series": rule.series,
                "kind": rule.kind,
                "findings": [finding.to_dict() for finding in decision.findings],
                **({"diagnosis": dict(decision.diagnosis)} if decision.diagnosis else {}),
                **(
                    {"features": [finding.key for finding in decision.findings]}
                    if rule.series in FEATURE_SERIES
                    else {}
                ),
            },
            url=self._url(decision),
        )
        events = [AlertEvent(key, "fired" if opening else "updated", now, _event(alert))]
        notify = opening or (
            current is not None
            and current.acknowledged_at is None
            and _RANK[rule.severity] > _RANK[Severity(current.notified_severity or "info")]
        )
        previous_notice = current.notified_at if current is not None else None
        if (
            notify
            and opening
            and previous_notice is not None
            and now - previous_notice < (self.cooldown)
        ):
            notify = False
            events.append(
                AlertEvent(key, "cooldown", now, {"last_notified_at": _iso(previous_notice)})
            )
        silence = _silenced_by(alert, silences, now) if notify else None
        if silence is not None:
            notify = False
            events.append(AlertEvent(key, "silenced", now, {"silence": silence.id}))
        stored = StoredAlert(
            id=key,
            rule=rule.name,
            model=decision.model,
            segment=decision.segment,
            state=AlertState.FIRING.value,
            severity=rule.severity.value,
            started_at=started,
            updated_at=now,
            alert=alert_to_dict(alert),
            acknowledged_at=None if opening or current is None else current.acknowledged_at,
            acknowledged_by=None if opening or current is None else current.acknowledged_by,
            notified_at=now if notify else previous_notice,
            notified_severity=(
                rule.severity.value
                if notify
                else (None if opening or current is None else current.notified_severity)
            ),
        )
        self.store.put_alert(stored, events)
        if opening:
            outcome.opened.append(key)
        return Notification(alert, "trigger") if notify else None

    def _resolve(
        self, current: StoredAlert | None, decision: Decision, now: datetime, outcome: Outcome
    ) -> Notification | None:
        if current is None or current.state != AlertState.FIRING:
            return None
        fired_on = _window(current)
        if fired_on is not None and decision.window_start < fired_on:
            return None  # an older window than the one that fired says nothing new
        previous = alert_from_dict(current.alert)
        alert = replace(
            previous,
            state=AlertState.RESOLVED,
            resolved_at=now,
            summary=f"resolved: {previous.summary}",
        )
        notified = current.notified_at is not None and current.notified_at >= current.started_at
        stored = replace(
            current,
            state=AlertState.RESOLVED.value,
            updated_at=now,
            alert=alert_to_dict(alert),
        )
        details = {"window_start": _iso(decision.window_start)}
        self.store.put_alert(stored, [AlertEvent(current.id, "resolved", now, details)])
        outcome.resolved.append(current.id)
        return Notification(alert, "resolve") if notified else None

    def _deliver(self, notification: Notification, now: datetime) -> list[DeliveryResult]:
        results = [self._send(sink, notification) for sink in self.sinks]
        events = [
            AlertEvent(
                notification.alert.id,
                "delivered" if result.ok else "delivery_failed",
                result.at,
                {
                    "sink": result.sink,
                    "kind": result.kind,
                    "event": result.event,
                    "attempts": result.attempts,
                    "error": result.error,
                },
            )
            for result in results
        ]
        for result in results:
            if not result.ok:
                log.warning(
                    "alert %s: %s to %s failed after %d attempts: %s",
                    notification.alert.id,
                    notification.event,
                    result.sink,
                    result.attempts,
                    result.error,
                )
        self.store.add_alert_events(events)
        return results

    def _url(self, decision: Decision) -> str | None:
        if self.base_url is None:
            return None
        url = (
            f"{self.base_url}/v1/models/{decision.model}/report?start={_iso(decision.window_start)}"
        )
        if decision.segment:
            url += f"&segment={decision.segment}"
        return url

    # -- people -----------------------------------------------------------------------------
    def acknowledge(
        self, alert_id: str, by: str, comment: str = "", now: datetime | None = None
    ) -> StoredAlert:
        moment = now or datetime.now(UTC)
        current = self.store.get_alert(alert_id)
        if current is None:
            raise KeyError(alert_id)
        stored = replace(current, acknowledged_at=moment, acknowledged_by=by, updated_at=moment)
        self.store.put_alert(
            stored, [AlertEvent(alert_id, "acknowledged", moment, {"by": by, "comment": comment})]
        )
        return stored

    def silence(
        self,
        matchers: dict[str, str],
        *,
        ends_at: datetime,
        created_by: str,
        comment: str = "",
        starts_at: datetime | None = None,
    ) -> Silence:
        moment = datetime.now(UTC)
        unknown = sorted(set(matchers) - set(SILENCE_MATCHERS))
        if unknown or not matchers:
            raise InputError(
                f"silence matchers {sorted(matchers)}: use one or more of "
                f"{', '.join(SILENCE_MATCHERS)}"
            )
        start = starts_at or moment
        if ends_at <= start:
            raise InputError("a silence must end after it starts")
        silence = Silence(
            uuid.uuid4().hex, dict(matchers), start, ends_at, created_by, comment, moment
        )
        self.store.add_silence(silence)
        return silence


def _window(stored: StoredAlert) -> datetime | None:
    text = stored.alert.get("window_start")
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _silenced_by(alert: Alert, silences: list[Silence], now: datetime) -> Silence | None:
    fields = {
        "rule": alert.rule,
        "model": alert.model,
        "segment": alert.segment,
        "severity": alert.severity.value,
    }
    return next((s for s in silences if s.matches(fields, now)), None)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _event(alert: Alert) -> dict[str, Any]:
    return {
        "window_start": _iso(alert.window_start),
        "summary": alert.summary,
        "severity": alert.severity.value,
    }


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    out = asdict(alert)
    for key in ("window_start", "window_end", "started_at", "resolved_at"):
        if out[key] is not None:
            out[key] = _iso(out[key])
    out["severity"] = alert.severity.value
    out["state"] = alert.state.value
    return out


def alert_from_dict(data: dict[str, Any]) -> Alert:
    values = dict(data)
    for key in ("window_start", "window_end", "started_at", "resolved_at"):
        if values.get(key) is not None:
            values[key] = datetime.fromisoformat(values[key])
    values["severity"] = Severity(values["severity"])
    values["state"] = AlertState(values["state"])
    return Alert(**values)


# -- words ----------------------------------------------------------------------------------


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _finding_text(finding: Finding) -> str:
    where = "above" if finding.side == "above" else "below"
    text = f"{_number(finding.value)}"
    if finding.low != finding.high:
        text += f" [{_number(finding.low)}, {_number(finding.high)}]"
    text += f" {where} {_number(finding.bound)}"
    if finding.baseline is not None:
        text += f" (usual {_number(finding.baseline)})"
    return text


def summary(decision: Decision) -> str:
    rule = decision.rule
    where = decision.model + (f" [{decision.segment}]" if decision.segment else "")
    window = f"{decision.window_start:%Y-%m-%d %H:%M}"
    if rule.series in FEATURE_SERIES:
        ranked = sorted(decision.findings, key=lambda f: -f.value)
        names = ", ".join(_feature_text(rule.series, f) for f in ranked[:5])
        more = f" and {len(ranked) - 5} more" if len(ranked) > 5 else ""
        count = len(ranked)
        noun = "feature" if count == 1 else "features"
        what = "PSI " if rule.series == "drift.psi" else ""
        return f"{where}: {count} {noun} drifted ({what}{names}{more}) in window {window}"
    finding = decision.findings[0]
    name = rule.series.split(".", 1)[1]
    return f"{where}: {name} {_finding_text(finding)} in window {window}"


def _feature_text(series: str, finding: Finding) -> str:
    if series == "drift.effect_ratio":  # "distance: psi 9.3x its bar"
        return f"{finding.key}: {finding.effect or 'effect'} {finding.value:.1f}x its bar"
    if series == "drift.drifted":
        return finding.key
    return f"{finding.key} {finding.value:.2f}"


def describe(decision: Decision) -> str:
    rule = decision.rule
    lines = [
        f"Rule {rule.name} ({rule.kind} on {rule.series}, severity {rule.severity.value})"
        + (f": {rule.description}" if rule.description else ""),
        f"Model {decision.model} version {decision.version}"
        + (f", segment {decision.segment}" if decision.segment else "")
        + f"; window {decision.window_start.isoformat()} to {decision.window_end.isoformat()}.",
    ]
    for finding in decision.findings:
        label = finding.key or rule.series
        lines.append(f"- {label}: {_finding_text(finding)}; n = {finding.n:,}")
    if decision.diagnosis:
        found = decision.diagnosis
        lines.append(
            f"Diagnosis: {found.get('cause')} (action: {found.get('action')}, confidence "
            f"{found.get('confidence')}): {found.get('summary')}"
        )
    return "\n".join(lines)

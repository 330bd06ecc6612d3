"""Alerting: rules over the monitor's series, the alert lifecycle, and delivery to sinks.

:class:`Alerting` is what the service and ``seismo monitor run`` call after each monitor run:
it decides every rule on the latest closed windows and applies the decisions to the alerts
in the store, delivering the notifications.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from seismo.alerts.delivery import deliver
from seismo.alerts.evaluate import Decision, Evaluator, Finding
from seismo.alerts.lifecycle import AlertBook, Outcome, alert_id
from seismo.alerts.model import Alert, AlertState, Notification, Severity
from seismo.alerts.rules import Rule, default_rules, rules_from_config
from seismo.alerts.sinks import Sink, sinks_from_config
from seismo.errors import InputError
from seismo.monitor.history import WindowHistory

__all__ = [
    "Alert",
    "AlertBook",
    "AlertConfig",
    "AlertState",
    "Alerting",
    "Decision",
    "Evaluator",
    "Finding",
    "Notification",
    "Outcome",
    "Rule",
    "Severity",
    "alert_id",
    "alerts_config",
    "default_rules",
]

ALERT_KEYS = ("rules", "default_rules", "cooldown", "base_url", "sinks", "delivery")


@dataclass(frozen=True)
class Delivery:
    """Retries of one notification to one sink (see :func:`seismo.alerts.delivery.deliver`)."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0


@dataclass(frozen=True)
class AlertConfig:
    """The ``alerts:`` section of the service configuration."""

    rules: tuple[Rule, ...] = field(default_factory=lambda: tuple(default_rules()))
    cooldown: timedelta = timedelta(hours=1)
    base_url: str | None = None
    sinks: tuple[Sink, ...] = ()
    delivery: Delivery = field(default_factory=Delivery)


def alerts_config(data: Any, source: str = "config") -> AlertConfig:
    """Parse ``alerts:``: rules (replacing the defaults, unless ``default_rules: true``),
    cooldown ('1h'), base_url (for links in notifications), sinks, delivery (attempts,
    backoff, max_backoff: the retries of each notification)."""
    from seismo.monitor.windows import parse_duration

    if data is None:
        return AlertConfig()
    if not isinstance(data, dict):
        raise InputError(f"{source}: alerts must be a mapping with keys {list(ALERT_KEYS)}")
    unknown = sorted(set(data) - set(ALERT_KEYS))
    if unknown:
        raise InputError(
            f"{source}: alerts: unknown key(s) {unknown}; valid keys are {list(ALERT_KEYS)}"
        )
    keep = data.get("default_rules", False)
    if not isinstance(keep, bool):
        raise InputError(f"{source}: alerts.default_rules must be true or false, got {keep!r}")
    rules: tuple[Rule, ...] = tuple(default_rules())
    if "rules" in data:
        configured = rules_from_config(data["rules"], f"{source}: alerts.rules")
        names = {rule.name for rule in configured}
        defaults = tuple(rule for rule in default_rules() if rule.name not in names)
        rules = (defaults if keep else ()) + configured
    cooldown = timedelta(hours=1)
    if "cooldown" in data:
        try:
            cooldown = parse_duration(str(data["cooldown"]))
        except InputError:
            raise InputError(
                f"{source}: alerts.cooldown {data['cooldown']!r}: use a whole number and a "
                "unit m, h, d or w ('30m', '1h')"
            ) from None
    base_url = data.get("base_url")
    if base_url is not None and not isinstance(base_url, str):
        raise InputError(f"{source}: alerts.base_url must be a URL, got {base_url!r}")
    entries = data.get("sinks", [])
    sinks = tuple(sinks_from_config(entries, source, path="alerts.sinks"))
    delivery = _delivery(data.get("delivery", {}), source)
    return AlertConfig(rules, cooldown, base_url, sinks, delivery)


DELIVERY_KEYS = ("attempts", "backoff", "max_backoff")


def _delivery(data: Any, source: str) -> Delivery:
    if not isinstance(data, dict):
        raise InputError(f"{source}: alerts.delivery must be a mapping of {list(DELIVERY_KEYS)}")
    unknown = sorted(set(data) - set(DELIVERY_KEYS))
    if unknown:
        raise InputError(
            f"{source}: alerts.delivery: unknown key(s) {unknown}; valid keys are "
            f"{list(DELIVERY_KEYS)}"
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        whole = key == "attempts"
        valid = (
            not isinstance(value, bool)
            and isinstance(value, int if whole else int | float)
            and math.isfinite(value)
            and (value >= 1 if whole else value >= 0)
        )
        if not valid:
            wanted = "a whole number of at least 1" if whole else "seconds, at least 0"
            raise InputError(f"{source}: alerts.delivery.{key}: {wanted}, got {value!r}")
        values[key] = value
    return Delivery(**values)


class Alerting:
    """Rules decided on the monitor's windows (read through ``history``), applied to the
    alerts in the store."""

    def __init__(self, history: WindowHistory, config: AlertConfig | None = None) -> None:
        self.config = config or AlertConfig()
        self.evaluator = Evaluator(history, self.config.rules)
        retries = self.config.delivery
        self.book = AlertBook(
            history.store,
            self.config.sinks,
            cooldown=self.config.cooldown,
            base_url=self.config.base_url,
            send=functools.partial(
                deliver,
                attempts=retries.attempts,
                backoff=retries.backoff,
                max_backoff=retries.max_backoff,
            ),
        )

    def run(self, now: datetime | None = None, models: Iterable[str] | None = None) -> Outcome:
        moment = now or datetime.now(UTC)
        return self.book.apply(self.evaluator.evaluate(moment, models), moment)

"""Alerting: rules over the monitor's series, the alert lifecycle, and delivery to sinks.

:class:`Alerting` is what the service and ``seismo monitor run`` call after each monitor run:
it decides every rule on the latest closed windows and applies the decisions to the alerts
in the store, delivering the notifications.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from seismo.alerts.delivery import deliver
from seismo.alerts.evaluate import Decision, Evaluator, Finding
from seismo.alerts.lifecycle import AlertBook, Outcome, alert_id
from seismo.alerts.model import Alert, AlertState, Notification, Severity
from seismo.alerts.rules import Rule, default_rules
from seismo.alerts.sinks import Sink
from seismo.monitor.history import Window, WindowHistory

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
    "default_rules",
]


@dataclass(frozen=True)
class Delivery:
    """Retries of one notification to one sink (see :func:`seismo.alerts.delivery.deliver`)."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0


@dataclass(frozen=True)
class AlertConfig:
    """What alerting runs on: the rules, the built sinks, cooldown, links and retries (from
    the ``alerts:`` section of seismo.yaml, see :func:`alerts_config`)."""

    rules: tuple[Rule, ...] = field(default_factory=lambda: tuple(default_rules()))
    cooldown: timedelta = timedelta(hours=1)
    base_url: str | None = None
    sinks: tuple[Sink, ...] = ()
    delivery: Delivery = field(default_factory=Delivery)


class Alerting:
    """Rules decided on the monitor's windows (read through ``history``), applied to the
    alerts in the store."""

    def __init__(
        self,
        history: WindowHistory,
        config: AlertConfig | None = None,
        *,
        explain: Callable[[Window], Mapping[str, Any]] | None = None,
    ) -> None:
        self.config = config or AlertConfig()
        self.evaluator = Evaluator(history, self.config.rules, explain)
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
        decisions = self.evaluator.evaluate(moment, models, version=self.serving_version)
        return self.book.apply(decisions, moment)

    def serving_version(self, model: str) -> int | None:
        """The version whose windows the model's alerts are about: the champion of its
        rollout (a canary or shadow beside it is judged by the closed loop), else the newest."""
        rollout = self.evaluator.history.store.get_rollout(model)
        return None if rollout is None else rollout.champion

"""What an alert is, as every part of alerting sees it (rules, lifecycle, store, sinks)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: a rule crossing for one model (and segment), from firing until resolved.

    ``id`` is stable for the rule, model and segment (it is the deduplication key the sinks
    pass on: PagerDuty ``dedup_key``, Alertmanager labels); a new firing after a resolution
    keeps the same ``id`` and gets a new ``started_at``. ``labels`` are short strings for
    routing (model, version, segment, rule, severity, series); ``values`` hold the numbers
    behind the decision (value, threshold or baseline, sample size, the drifted features).
    """

    id: str
    rule: str
    model: str
    version: int
    segment: str  # "" for the whole model
    severity: Severity
    state: AlertState
    summary: str  # one line
    description: str  # a few lines of plain text
    window_start: datetime
    window_end: datetime
    started_at: datetime
    resolved_at: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    url: str | None = None  # the window's drift report, when the service's address is known


@dataclass(frozen=True, slots=True)
class Notification:
    """What a sink delivers: an alert that started firing, or one that resolved."""

    alert: Alert
    event: Literal["trigger", "resolve"]

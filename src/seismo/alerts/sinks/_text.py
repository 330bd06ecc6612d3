"""Text for people (Slack, email): the same words for the same alert in every sink."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from seismo.alerts.model import Alert, Notification
from seismo.alerts.sinks.base import utc

ELLIPSIS = "…"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with an ellipsis when cut.

    >>> truncate("population stability", 10)
    'populatio…'
    """
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def one_line(text: str) -> str:
    return " ".join(text.split())


def event_word(notification: Notification) -> str:
    return "FIRING" if notification.event == "trigger" else "RESOLVED"


def segment_text(alert: Alert) -> str:
    return alert.segment or "all"


def model_text(alert: Alert) -> str:
    return f"{alert.model} v{alert.version}"


def title(notification: Notification) -> str:
    """``FIRING critical psi_drift churn v3 [country=FR]``: event, severity, rule, model."""
    alert = notification.alert
    segment = f" [{alert.segment}]" if alert.segment else ""
    return one_line(
        f"{event_word(notification)} {alert.severity.value} {alert.rule} "
        f"{model_text(alert)}{segment}"
    )


def when(moment: Any) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def window_text(alert: Alert) -> str:
    """``2026-05-04 00:00 → 2026-05-05 00:00 UTC``."""
    start = utc(alert.window_start).strftime("%Y-%m-%d %H:%M")
    return f"{start} → {when(alert.window_end)}"


def number(value: Any) -> str:
    """A value for people: floats to four significant digits, anything else as is.

    >>> number(0.123456), number(12), number("n/a")
    ('0.1235', '12', 'n/a')
    """
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    return str(value)


def value_text(values: Mapping[str, Any]) -> str | None:
    """``0.31 (threshold 0.2)``, or None when the alert carries no ``value``."""
    if "value" not in values:
        return None
    text = number(values["value"])
    for reference in ("threshold", "baseline"):
        if reference in values:
            return f"{text} ({reference} {number(values[reference])})"
    return text


def feature_names(values: Mapping[str, Any]) -> list[str]:
    """The drifted features: ``values["features"]`` as a list of names, a mapping from name
    to score (shown ``name (score)``), or a single name."""
    features = values.get("features")
    if features is None:
        return []
    if isinstance(features, Mapping):
        return [f"{name} ({number(score)})" for name, score in features.items()]
    if isinstance(features, str):
        return [features]
    if isinstance(features, list | tuple | set | frozenset):
        return [str(feature) for feature in features]
    return [str(features)]


def listing(names: list[str], limit: int, *, separator: str = ", ") -> str:
    """Names joined until ``limit`` characters, then ``and N more``.

    >>> listing(["age", "plan", "country", "tenure"], 22)
    'age, plan and 2 more'
    """
    shown: list[str] = []
    for index, name in enumerate(names):
        rest = len(names) - index - 1
        candidate = separator.join([*shown, name])
        suffix = f" and {rest} more" if rest else ""
        if len(candidate + suffix) > limit:
            break
        shown.append(name)
    rest = len(names) - len(shown)
    if not rest:
        return separator.join(shown)
    if not shown:
        return truncate(f"{len(names)} features", limit)
    return f"{separator.join(shown)} and {rest} more"

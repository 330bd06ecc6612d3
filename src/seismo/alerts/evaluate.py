"""Deciding rules over the monitor's windows.

For every rule, model and segment the evaluator takes the latest closed windows as the data
has them — the newest ones that ended by ``now``, however long ago that was, so a backfill or
replay of old data is decided too — and decides the newest (the newest with enough labelled
rows, for performance) against the rule's baseline. Baselines are built walking forward
through the preceding windows, leaving out the windows that were problems themselves. Windows
are read through the monitor's :class:`~seismo.monitor.history.WindowHistory`, which decodes
each summary once and computes its drift report and metrics once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np

from seismo.alerts.rules import Rule
from seismo.alerts.series import FEATURE_SERIES, Point, points
from seismo.monitor.history import Window, WindowHistory

log = logging.getLogger("seismo.alerts")

Verdict = Literal["firing", "ok", "unknown"]
_Z95 = 1.959963984540054  # the intervals' level: 95 %


@dataclass(frozen=True, slots=True)
class Finding:
    """One key (a feature, or "" for single-valued series) that crossed its bound."""

    key: str
    value: float
    low: float
    high: float
    n: int
    bound: float  # the bound it crossed
    side: str  # "above" or "below"
    baseline: float | None  # the adaptive baseline's centre; None for static rules
    effect: str = ""  # the leading effect, for drift.effect_ratio

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "bound": self.bound,
            "side": self.side,
            "baseline": self.baseline,
        }
        if self.effect:
            out["effect"] = self.effect
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    """A rule's verdict on one model (and segment) in one window."""

    rule: Rule
    model: str
    version: int
    segment: str
    window_start: datetime
    window_end: datetime
    verdict: Verdict
    findings: tuple[Finding, ...] = ()
    decided: int = 0  # keys with enough data and history to be decided
    diagnosis: Mapping[str, Any] | None = None  # why the window changed, when firing


class Evaluator:
    """Decides rules on the windows of a :class:`~seismo.monitor.history.WindowHistory`."""

    def __init__(
        self,
        history: WindowHistory,
        rules: Sequence[Rule],
        explain: Callable[[Window], Mapping[str, Any]] | None = None,
    ) -> None:
        """``explain`` gives the diagnosis (JSON-ready) of a window a firing decision is
        about; it is injected by whoever wires alerting (the alerts do not depend on it)."""
        self.history = history
        self.rules = list(rules)
        self.explain = explain

    def evaluate(
        self,
        now: datetime,
        models: Iterable[str] | None = None,
        *,
        version: Callable[[str], int | None] | None = None,
        strict: bool = False,
    ) -> list[Decision]:
        """The decisions for the latest windows that closed by ``now``.

        Each model is judged on the windows of one version: ``version(model)`` (the serving
        champion, while a challenger logs beside it), or the newest version with windows when
        that one has none yet (never, with ``strict``: then the model is skipped).
        """
        names = list(models) if models is not None else self.history.models()
        decisions: list[Decision] = []
        for model in names:
            rules = [rule for rule in self.rules if rule.applies_to(model)]
            if not rules:
                continue
            reach = max(_reach(rule) for rule in rules)
            by_segment: dict[str, list[Window]] = {}
            wanted = version(model) if version is not None else None
            for window in self.history.latest(model, limit=reach + 1, end=now):
                by_segment.setdefault(window.summary.segment, []).append(window)
            for segment, windows in sorted(by_segment.items()):
                windows.sort(key=lambda w: (w.summary.start, w.summary.version))
                for rule in rules:
                    if segment and not rule.segments:
                        continue
                    decision = self._decide(rule, model, segment, windows, now, wanted, strict)
                    if decision is not None:
                        decisions.append(decision)
        return decisions

    def _decide(
        self,
        rule: Rule,
        model: str,
        segment: str,
        windows: list[Window],
        now: datetime,
        wanted: int | None = None,
        strict: bool = False,
    ) -> Decision | None:
        length = self.history.length
        latest_version = windows[-1].summary.version
        if wanted is not None and (strict or any(w.summary.version == wanted for w in windows)):
            latest_version = wanted
        chosen = [w for w in windows if w.summary.version == latest_version]
        if not chosen:
            return None
        timeline = [(w.summary.start, w.summary.end, points(rule.series, w)) for w in chosen]
        if rule.series == "volume.rows":
            until = _volume_until(rule, chosen[-1], now, length)
            timeline = _with_empty_windows(timeline, length, until)
        if rule.series.startswith("performance."):
            # The latest window with enough labels: later ones are still waiting for theirs.
            while timeline and all(p.n < rule.min_rows for p in timeline[-1][2].values()):
                timeline.pop()
        if not timeline:
            return None
        keys = sorted({key for _, _, values in timeline for key in values})
        findings: list[Finding] = []
        decided = 0
        for key in keys:
            series = [(start, values.get(key)) for start, _, values in timeline]
            key_verdict, finding = _walk(rule, series, length)
            if key_verdict != "unknown":
                decided += 1
            if finding is not None:
                findings.append(replace(finding, key=key))
        start, end, _ = timeline[-1]
        verdict: Verdict = "firing" if findings else ("ok" if decided else "unknown")
        diagnosis = None
        if verdict == "firing" and self.explain is not None:
            window = next((w for w in reversed(chosen) if w.summary.start == start), None)
            if window is not None:
                try:
                    diagnosis = self.explain(window)
                except Exception:  # a diagnosis is extra: it never stops an alert
                    log.exception("diagnosis of %r failed", window)
        return Decision(
            rule,
            model,
            latest_version,
            segment,
            start,
            end,
            verdict,
            tuple(findings),
            decided,
            diagnosis,
        )


def _reach(rule: Rule) -> int:
    """Windows of history a rule looks back over (twice its history, for the walk)."""
    if rule.kind == "seasonal":
        return min(rule.season * rule.history * 2, 400)
    if rule.kind == "static":
        return max(rule.history if rule.series.startswith("performance.") else 1, rule.for_windows)
    return rule.history * 2


def _volume_until(rule: Rule, newest: Window, now: datetime, length: timedelta) -> datetime:
    """Until when closed windows without predictions count as zero rows: ``now`` — unless the
    newest window was written long after it ended (more than the rule's reach of windows: a
    backfill or a replay of old data), whose data ends with that window."""
    summary = newest.summary
    written = summary.updated_at if summary.updated_at.tzinfo is not None else now
    if min(written, now) - summary.end > length * _reach(rule):
        return summary.end
    return now


def _with_empty_windows(
    timeline: list[tuple[datetime, datetime, dict[str, Point]]], length: timedelta, now: datetime
) -> list[tuple[datetime, datetime, dict[str, Point]]]:
    """Closed windows without a single prediction count as zero rows (between the first
    window seen and now)."""
    if not timeline:
        return timeline
    known = {start: (start, end, values) for start, end, values in timeline}
    out = []
    start = timeline[0][0]
    while start + length <= now:
        empty = {"": Point(0.0, 0, 0.0, 0.0)}
        out.append(known.get(start, (start, start + length, empty)))
        start += length
    return out


def _walk(
    rule: Rule, series: list[tuple[datetime, Point | None]], length: timedelta
) -> tuple[Verdict, Finding | None]:
    """Decide every window in turn against the windows before it (problems left out of the
    baseline); return the last window's verdict."""
    verdict: Verdict = "unknown"
    finding: Finding | None = None
    streak = 0  # consecutive decided windows that crossed the bound
    for step in _steps(rule, series, length):
        verdict, finding = step[0], step[1]
        if verdict == "firing":
            streak += 1
        elif verdict == "ok":
            streak = 0
    if verdict == "firing" and streak < rule.for_windows:
        return "ok", None  # crossed, but not yet in enough windows in a row
    return verdict, finding


def bounds(
    rule: Rule, series: Sequence[tuple[datetime, Point | None]], length: timedelta
) -> list[tuple[float, float] | None]:
    """The (lower, upper) bound ``rule`` held each window of a single-valued series to, as
    alerting decides it (None where the window decided nothing: too few rows or too little
    history). ``series``: (window start, point) oldest first; ``length``: the window length."""
    return [bound for _, _, bound in _steps(rule, list(series), length)]


def _steps(
    rule: Rule, series: list[tuple[datetime, Point | None]], length: timedelta
) -> Iterator[tuple[Verdict, Finding | None, tuple[float, float] | None]]:
    """Each window's verdict, finding and bounds, judged against the windows before it."""
    history: list[tuple[datetime, float, float]] = []  # start, value, sampling variance
    for start, point in series:
        if point is None:
            yield "unknown", None, None
            continue
        verdict, finding, bound = _judged(rule, point, start, history, length)
        yield verdict, finding, bound
        if point.n >= rule.min_rows and verdict != "firing":
            sampling = ((point.high - point.low) / (2 * _Z95)) ** 2
            history.append((start, point.value, sampling))


def _judge(
    rule: Rule,
    point: Point,
    start: datetime,
    history: list[tuple[datetime, float, float]],
    length: timedelta,
) -> tuple[Verdict, Finding | None]:
    verdict, finding, _ = _judged(rule, point, start, history, length)
    return verdict, finding


def _judged(
    rule: Rule,
    point: Point,
    start: datetime,
    history: list[tuple[datetime, float, float]],
    length: timedelta,
) -> tuple[Verdict, Finding | None, tuple[float, float] | None]:
    if point.n < rule.min_rows or not math.isfinite(point.value):
        return "unknown", None, None
    center: float | None = None
    low, high = (point.low, point.high) if rule.interval else (point.value, point.value)
    if rule.kind == "static":
        assert rule.threshold is not None
        upper = lower = rule.threshold
    else:
        baseline = _baseline(rule, start, history, length)
        if baseline is None:
            return "unknown", None, None
        center, deviation = baseline
        floor = max(rule.tolerance * abs(center), rule.min_spread)
        if rule.interval and rule.series.startswith("performance."):
            # One test on the value: the window's own sampling error (from its interval)
            # and the baseline's variation beyond sampling error, combined.
            sampling = (point.high - point.low) / (2 * _Z95)
            margin = max(rule.sigmas * math.hypot(deviation, sampling), floor)
            low = high = point.value
        else:
            margin = rule.sigmas * max(deviation, floor)
        upper, lower = center + margin, center - margin
        if rule.threshold is not None:  # a floor the value must cross as well
            upper, lower = max(upper, rule.threshold), min(lower, rule.threshold)
    side = rule.side
    crossed: tuple[str, float] | None = None
    if side in ("above", "both") and low > upper:
        crossed = ("above", upper)
    elif side in ("below", "both") and high < lower:
        crossed = ("below", lower)
    if crossed is not None and rule.series in FEATURE_SERIES and rule.engine and not point.flagged:
        crossed = None
    if crossed is None:
        return "ok", None, (lower, upper)
    side, bound = crossed
    return (
        "firing",
        Finding("", point.value, point.low, point.high, point.n, bound, side, center, point.effect),
        (lower, upper),
    )


def _baseline(
    rule: Rule, start: datetime, history: list[tuple[datetime, float, float]], length: timedelta
) -> tuple[float, float] | None:
    """Centre and standard deviation of the history (sigma, seasonal: mean and sample
    deviation; ewma: exponentially weighted). For performance decided with intervals the
    deviation is the window-to-window variation beyond sampling error: the current window's
    sampling error is added back by :func:`_judge`, from its own interval."""
    if rule.kind == "seasonal":
        wanted = {start - length * rule.season * cycle for cycle in range(1, rule.history + 1)}
        chosen = [(value, noise) for at, value, noise in history if at in wanted]
    else:
        chosen = [(value, noise) for _, value, noise in history[-rule.history :]]
    if len(chosen) < rule.min_history:
        return None
    array = np.asarray([value for value, _ in chosen], dtype=np.float64)
    if rule.kind == "ewma":
        mean, variance = float(array[0]), 0.0
        for value in array[1:]:
            delta = float(value) - mean
            mean += rule.alpha * delta
            variance = (1 - rule.alpha) * (variance + rule.alpha * delta * delta)
    else:
        mean, variance = float(array.mean()), float(array.var(ddof=1))
    if rule.interval and rule.series.startswith("performance."):
        variance = max(variance - float(np.mean([noise for _, noise in chosen])), 0.0)
    return mean, math.sqrt(variance)

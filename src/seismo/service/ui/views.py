"""What each page shows, read from the store through the monitor's read path.

No HTTP and no HTML here: each function takes the service's state and the page's query and
returns plain objects the templates render. Pages over time read window *digests* (a few
kilobytes each, :mod:`seismo.monitor.digest`) of the windows they show — plus, for a rule's
adaptive bounds, the windows the rule looks back on — never the whole history.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

import numpy as np
from numpy.typing import NDArray

from seismo.alerts.evaluate import bounds
from seismo.alerts.rules import Rule
from seismo.alerts.series import LOWER_IS_BETTER, Point
from seismo.errors import InputError
from seismo.loop import registry
from seismo.loop.retrain import default_metric
from seismo.monitor.digest import Digest
from seismo.performance.metrics import metric_names
from seismo.service.state import ServiceState, explain
from seismo.store.base import Decision, ModelVersion, Rollout, StoredAlert, WindowDigest

#: Windows a model page shows unless asked otherwise, and the most it shows.
DEFAULT_WINDOWS: Final = 90
MAX_WINDOWS: Final = 1000
#: Windows of the overview's trend line.
TREND_WINDOWS: Final = 30
ALERT_STATES: Final = ("firing", "acknowledged", "resolved")


class NotFound(InputError):
    """What the page names does not exist (a 404 page)."""


@dataclass(frozen=True, slots=True)
class Shown:
    """One window as a page shows it: its key and its digest."""

    item: WindowDigest
    digest: Digest

    @property
    def start(self) -> datetime:
        return self.item.start


def _choose(found: Sequence[tuple[WindowDigest, Digest]], version: int | None) -> list[Shown]:
    """One window per start: the given version's, or the version that served most rows (the
    champion of the time, during a canary or a shadow)."""
    by_start: dict[datetime, Shown] = {}
    for item, digest in found:
        if version is not None and item.version != version:
            continue
        current = by_start.get(item.start)
        if current is None or (digest.rows, item.version) > (
            current.digest.rows,
            current.item.version,
        ):
            by_start[item.start] = Shown(item, digest)
    return [by_start[start] for start in sorted(by_start)]


def main_metric(state: ServiceState, model: str, version: ModelVersion) -> str:
    """The metric the loop judges the model by (its policy's, or the task's default)."""
    chosen = state.settings.loop.policy(model).metric
    return chosen or default_metric(version)


def _rollout(state: ServiceState, model: str) -> Rollout:
    return registry.serving(state.store, model)


# -- overview -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelRow:
    name: str
    rollout: Rollout
    task: str
    metric: str
    latest: Shown | None
    labelled: Shown | None  # the latest window with the metric
    trend: list[float]
    trend_low: list[float]
    trend_high: list[float]
    usual_rows: float | None
    firing: int
    critical: int
    error: str | None = None

    @property
    def volume_ratio(self) -> float | None:
        if self.latest is None or not self.usual_rows:
            return None
        return self.latest.digest.rows / self.usual_rows

    @property
    def trend_delta(self) -> float | None:
        """The latest metric's change over the trend's median (NaN-free)."""
        values = [v for v in self.trend if math.isfinite(v)]
        if len(values) < 3:
            return None
        return values[-1] - statistics.median(values[:-1])


def overview(state: ServiceState) -> list[ModelRow]:
    rows = []
    firing = state.store.list_alerts(state="firing", limit=1000)
    for name in state.history.models():
        alerts = [a for a in firing if a.model == name]
        critical = sum(a.severity == "critical" for a in alerts)
        try:
            rows.append(_model_row(state, name, len(alerts), critical))
        except Exception as error:  # one broken model never hides the others
            rows.append(
                ModelRow(
                    name,
                    Rollout(name, 0),
                    "",
                    "",
                    None,
                    None,
                    [],
                    [],
                    [],
                    None,
                    len(alerts),
                    critical,
                    f"{type(error).__name__}: {error}",
                )
            )
    return rows


def _model_row(state: ServiceState, name: str, firing: int, critical: int) -> ModelRow:
    rollout = _rollout(state, name)
    version = state.store.get_model_version(name, rollout.champion)
    if version is None:
        raise NotFound(f"model {name!r} has no version {rollout.champion}")
    metric = main_metric(state, name, version)
    extent = state.store.window_extent(name).get("")
    found = (
        []
        if extent is None
        else state.history.digests(
            name, segment="", start=extent[1] - state.history.length * (TREND_WINDOWS - 1)
        )
    )
    shown = _choose(found, None)
    latest = shown[-1] if shown else None
    with_metric = [s for s in shown if metric in s.digest.metrics]
    values = [s.digest.metrics[metric] for s in with_metric]
    previous = [s.digest.rows for s in shown[:-1]]
    return ModelRow(
        name=name,
        rollout=rollout,
        task=version.task,
        metric=metric,
        latest=latest,
        labelled=with_metric[-1] if with_metric else None,
        trend=[m.value for m in values],
        trend_low=[m.low for m in values],
        trend_high=[m.high for m in values],
        usual_rows=float(statistics.median(previous)) if previous else None,
        firing=firing,
        critical=critical,
    )


# -- model page -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    """A model page's state, all of it in the URL."""

    last: int = DEFAULT_WINDOWS
    start: datetime | None = None
    end: datetime | None = None
    segment: str = ""
    version: int | None = None
    metric: str | None = None


@dataclass(frozen=True, slots=True)
class Threshold:
    rule: str
    kind: str  # "static" or the adaptive kind
    side: str
    lower: NDArray[np.float64]  # per shown window (NaN: undecided)
    upper: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    kind: str
    label: str
    href: str | None


@dataclass
class ModelPage:
    name: str
    rollout: Rollout
    versions: list[ModelVersion]
    query: Query
    length: timedelta
    start: datetime
    end: datetime
    windows: list[Shown]
    features: list[str]
    ratios: NDArray[np.float64]
    drifted: NDArray[np.bool_]
    metric: str
    metrics: list[str]
    values: NDArray[np.float64]
    lows: NDArray[np.float64]
    highs: NDArray[np.float64]
    thresholds: list[Threshold]
    events: list[Event]
    segments: list[str]
    latest_start: datetime | None
    earliest_start: datetime | None
    lower_is_better: bool
    notes: list[str] = field(default_factory=list)

    @property
    def starts(self) -> list[datetime]:
        return [w.start for w in self.windows]

    def column(self, name: str) -> NDArray[np.float64]:
        """A per-window number: rows, labelled, coverage or delay (hours)."""
        out = []
        for w in self.windows:
            d = w.digest
            if name == "rows":
                out.append(float(d.rows))
            elif name == "coverage":
                out.append(d.label_coverage)
            elif name == "delay":
                delay = d.mean_label_delay
                out.append(math.nan if delay is None else delay / 3600)
            else:
                raise ValueError(name)
        return np.asarray(out, dtype=np.float64)


def model_page(state: ServiceState, name: str, query: Query) -> ModelPage:
    versions = state.store.list_model_versions(name)
    if not versions:
        raise NotFound(f"no model named {name!r}")
    rollout = _rollout(state, name)
    if query.version is not None and query.version not in {v.version for v in versions}:
        raise NotFound(f"model {name!r} has no version {query.version}")
    champion = next((v for v in versions if v.version == rollout.champion), versions[-1])
    length = state.history.length
    extent = state.store.window_extent(name)
    segments = sorted(segment for segment in extent if segment)
    if query.segment and query.segment not in segments:
        raise NotFound(f"model {name!r} has no segment {query.segment!r}")
    earliest_start, latest_start = extent.get(query.segment, (None, None))
    end = query.end or ((latest_start + length) if latest_start else datetime.now(UTC))
    start = query.start or (end - length * query.last)
    if query.start is None and earliest_start is not None and earliest_start > start:
        start = earliest_start  # the history is shorter than asked: show it all
    if start >= end:
        raise InputError("from: must be before to")
    if (end - start) / length > MAX_WINDOWS:
        raise InputError(f"the range holds more than {MAX_WINDOWS} windows; choose a shorter one")

    metrics = list(
        metric_names("regression" if champion.task == "regression" else "classification")
    )
    metric = query.metric or main_metric(state, name, champion)
    if metric not in metrics:
        raise InputError(f"metric: use one of {', '.join(metrics)}")

    rules = [
        rule
        for rule in state.alerting.evaluator.rules
        if rule.applies_to(name)
        and rule.series == f"performance.{metric}"
        and (not query.segment or rule.segments)
    ]
    reach = max((_reach(rule) for rule in rules), default=0)
    found = state.history.digests(
        name,
        start=start - length * reach,
        end=end,
        segment=query.segment,
        version=query.version,
    )
    every = _choose(found, query.version)
    windows = [w for w in every if w.start >= start]

    features = _features(windows)
    index = {feature: i for i, feature in enumerate(features)}
    ratios = np.full((len(features), len(windows)), np.nan)
    drifted = np.zeros((len(features), len(windows)), dtype=bool)
    for j, shown in enumerate(windows):
        digest = shown.digest
        rows = [index[name] for name in digest.names]
        ratios[rows, j] = np.array(digest.ratios, dtype=np.float64)  # None -> NaN
        drifted[rows, j] = digest.drifted
    values, lows, highs = (
        np.asarray(
            [
                getattr(w.digest.metrics[metric], part) if metric in w.digest.metrics else math.nan
                for w in windows
            ],
            dtype=np.float64,
        )
        for part in ("value", "low", "high")
    )
    thresholds = [_threshold(rule, every, windows, metric, length) for rule in rules]
    return ModelPage(
        name=name,
        rollout=rollout,
        versions=versions,
        query=query,
        length=length,
        start=start,
        end=end,
        windows=windows,
        features=features,
        ratios=ratios,
        drifted=drifted,
        metric=metric,
        metrics=metrics,
        values=values,
        lows=lows,
        highs=highs,
        thresholds=thresholds,
        events=events(state, name, start, end),
        segments=segments,
        latest_start=latest_start,
        earliest_start=earliest_start,
        lower_is_better=metric in LOWER_IS_BETTER,
    )


def _reach(rule: Rule) -> int:
    if rule.kind == "static":
        return 0
    return rule.history * (rule.season if rule.kind == "seasonal" else 1)


def _features(windows: Sequence[Shown]) -> list[str]:
    """Every feature of the windows, those furthest along to their bar first (drifted in some
    window before any that never drifted)."""
    worst: dict[str, float] = {}
    for shown in windows:
        digest = shown.digest
        for name, ratio, drifted in zip(digest.names, digest.ratios, digest.drifted, strict=True):
            score = -1.0 if ratio is None else ratio + (100.0 if drifted else 0.0)
            if score > worst.get(name, -2.0):
                worst[name] = score
    return sorted(worst, key=lambda name: (-worst[name], name))


def _threshold(
    rule: Rule, every: Sequence[Shown], windows: Sequence[Shown], metric: str, length: timedelta
) -> Threshold:
    """The bounds the rule held each shown window to, walked over the windows before them
    as alerting walks them."""
    series: list[tuple[datetime, Point | None]] = []
    for shown in every:
        found = shown.digest.metrics.get(metric)
        series.append(
            (
                shown.start,
                None
                if found is None
                else Point(found.value, shown.digest.metrics_n, found.low, found.high),
            )
        )
    walked = dict(zip((s.start for s in every), bounds(rule, series, length), strict=True))
    lower = np.full(len(windows), np.nan)
    upper = np.full(len(windows), np.nan)
    for j, shown in enumerate(windows):
        bound = walked.get(shown.start)
        if bound is not None:
            lower[j], upper[j] = bound
    return Threshold(rule.name, rule.kind, rule.side, lower, upper)


def events(state: ServiceState, name: str, start: datetime, end: datetime) -> list[Event]:
    """Alerts (at their window) and the loop's decisions between ``start`` and ``end``."""
    out = []
    for alert in state.store.list_alerts(model=name, limit=1000):
        at = _moment(alert.alert.get("window_start")) or alert.started_at
        if start <= at < end:
            kind = "alert" if alert.state == "firing" else "alert-resolved"
            out.append(
                Event(
                    at,
                    kind,
                    f"{alert.severity} alert {alert.rule}: {alert.alert.get('summary', '')}",
                    f"/ui/alerts/{quote(alert.id, safe='')}",
                )
            )
    for decision in state.store.list_decisions(name, limit=1000):
        at = _decision_moment(decision)
        if start <= at < end and notable(decision):
            out.append(
                Event(
                    at,
                    decision.kind,
                    f"{decision.kind} {decision.outcome}: {decision.summary}",
                    f"/ui/models/{quote(name, safe='')}/rollouts#decision-{decision.seq}",
                )
            )
    return sorted(out, key=lambda e: e.at)


def notable(decision: Decision) -> bool:
    """Decisions worth showing at a glance: the loop acted, judged, or refused to retrain on a
    pipeline error; not its routine skips (cooldown, nothing changed) and waits for labels."""
    if decision.outcome not in ("skipped", "waiting"):
        return True
    alerts = decision.evidence.get("alerts")
    return isinstance(alerts, list) and any(
        isinstance(a, dict) and a.get("cause") == "pipeline_error" for a in alerts
    )


def _decision_moment(decision: Decision) -> datetime:
    """When a decision happened in the model's time: the event time the loop judged as of
    (a replay's decisions are in the replay's time), else when it was recorded."""
    return _moment(decision.evidence.get("as_of")) or decision.at


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- window page ----------------------------------------------------------------------------


@dataclass
class WindowPage:
    name: str
    shown: Shown
    versions: list[int]
    previous: datetime | None
    following: datetime | None
    diagnosis: dict[str, Any] | None
    metrics: list[tuple[str, float, float, float]]
    alerts: list[StoredAlert]
    segments: list[str]


def window_page(
    state: ServiceState, name: str, start: datetime, segment: str, version: int | None
) -> WindowPage:
    length = state.history.length
    found = state.history.digests(name, start=start, end=start + length, segment=segment)
    here = [(i, d) for i, d in found if i.start == start]
    chosen = _choose(here, version)
    if not chosen:
        raise NotFound(
            f"no {segment or 'overall'} window of {name!r} starts at {start.isoformat()}"
        )
    shown = chosen[0]
    window = state.history.window(name, start, segment=segment, version=shown.item.version)
    diagnosis = None
    if window is not None:
        try:
            diagnosis = explain(window)
        except Exception:  # the page is served without it
            diagnosis = None
    neighbours = state.store.window_digests(
        name, start=start - length, end=start + 2 * length, segment=segment
    )
    previous = max((i.start for i in neighbours if i.start < start), default=None)
    following = min((i.start for i in neighbours if i.start > start), default=None)
    metrics = [(metric, m.value, m.low, m.high) for metric, m in shown.digest.metrics.items()]
    alerts = [
        alert
        for alert in state.store.list_alerts(model=name, limit=1000)
        if _moment(alert.alert.get("window_start")) == start and alert.segment == segment
    ]
    segments = sorted(
        {
            i.segment
            for i in state.store.window_digests(name, start=start, end=start + length, segment=None)
        }
        - {""}
    )
    return WindowPage(
        name,
        shown,
        sorted({i.version for i, _ in here}),
        previous,
        following,
        diagnosis,
        metrics,
        alerts,
        segments,
    )


# -- alerts ---------------------------------------------------------------------------------


def alerts(state: ServiceState, which: str, model: str | None) -> list[StoredAlert]:
    if which not in ALERT_STATES:
        raise InputError(f"state: use one of {', '.join(ALERT_STATES)}")
    stored = "resolved" if which == "resolved" else "firing"
    found = state.store.list_alerts(state=stored, model=model or None, limit=500)
    if which == "firing":
        return [a for a in found if a.acknowledged_at is None]
    if which == "acknowledged":
        return [a for a in found if a.acknowledged_at is not None]
    return found


def alert_counts(state: ServiceState) -> dict[str, int]:
    firing = state.store.list_alerts(state="firing", limit=1000)
    acknowledged = sum(a.acknowledged_at is not None for a in firing)
    return {"firing": len(firing) - acknowledged, "acknowledged": acknowledged}


# -- rollouts -------------------------------------------------------------------------------


@dataclass
class RolloutsPage:
    name: str
    rollout: Rollout
    versions: list[ModelVersion]
    decisions: list[Decision]
    champion: ModelVersion | None
    challenger: ModelVersion | None
    hidden: int = 0  # routine decisions left out (``every`` shows them)


def rollouts_page(state: ServiceState, name: str, *, every: bool = False) -> RolloutsPage:
    versions = state.store.list_model_versions(name)
    if not versions:
        raise NotFound(f"no model named {name!r}")
    rollout = _rollout(state, name)
    by_number = {v.version: v for v in versions}
    decisions = state.store.list_decisions(name, limit=500)
    shown = decisions if every else [d for d in decisions if notable(d)]
    return RolloutsPage(
        name,
        rollout,
        versions,
        shown,
        by_number.get(rollout.champion),
        None if rollout.challenger is None else by_number.get(rollout.challenger),
        len(decisions) - len(shown),
    )

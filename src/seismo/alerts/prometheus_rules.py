"""Prometheus alerting rules over the metrics seismo exposes at ``GET /metrics``.

``prometheus_rules(settings)`` returns a rules file (``groups:`` / ``rules:``) to list under
``rule_files:`` in ``prometheus.yml``; ``promtool check rules`` accepts it. Each alert carries
``labels.severity`` (``warning`` or ``critical``) and ``summary`` / ``description`` annotations
that name the model, version and segment.

Decisions follow the monitor's own policy where it has one:

* Performance alerts decide on the confidence interval, never on the point estimate: a
  higher-is-better metric (accuracy, f1, roc_auc, ...) alerts when its **upper** bound is below
  the floor, a lower-is-better one (log_loss, mae, rmse, mape) when its **lower** bound is above
  the ceiling, and bias when the whole interval lies outside ``[-limit, limit]``. A window whose
  metric has no interval (too few labels) never alerts.
* Feature drift follows the drift engine's per-feature decision (significant, and some effect
  — PSI, total variation or W/σ — at its bar: ``seismo_feature_drift_severity``), as seismo's
  default ``feature-drift`` rule does, never PSI alone; the alert's value is the leading
  effect over its bar (``seismo_feature_drift_effect_ratio``).
* The gauges describe the latest window of every model version and segment, so a retired
  version keeps its last window forever. The per-window alerts only look at windows that started
  within ``stale_after_windows`` windows; older ones are the staleness alert's business, which is
  raised per model when no version got a new window in that time.

>>> rules = prometheus_rules(PrometheusRuleSettings(performance_limits={"f1": 0.7}))
>>> print(next(line for line in rules.splitlines() if 'metric="f1"' in line).strip())
expr: seismo_performance_high{metric="f1"} < 0.7 and on(model, version, segment) ...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import yaml

from seismo.errors import InputError
from seismo.performance.metrics import metric, metric_names

# How long each alert's condition must hold before it fires (the rule's ``for:``). The window
# gauges change only when the monitor runs, so a few minutes only rides out a restart; label
# coverage of the latest window grows as labels arrive, so it waits longer. ``None``: one
# window length — a feature's drift decision must hold through a whole window, about two
# windows in a row, as seismo's own default ``feature-drift`` rule (``for_windows: 2``).
DEFAULT_FOR: dict[str, timedelta | None] = {
    "SeismoDatasetDrifted": timedelta(minutes=15),
    "SeismoDriftedShareHigh": timedelta(minutes=15),
    "SeismoFeatureDriftCritical": None,
    "SeismoFeatureDriftWarning": None,
    "SeismoPerformanceBelowFloor": timedelta(minutes=15),
    "SeismoPerformanceAboveCeiling": timedelta(minutes=15),
    "SeismoBiasOutsideTolerance": timedelta(minutes=15),
    "SeismoLabelCoverageLow": timedelta(hours=6),
    "SeismoLabelDelayHigh": timedelta(hours=1),
    "SeismoIngestStopped": timedelta(minutes=5),
    "SeismoRejectedRequests": timedelta(minutes=10),
    "SeismoRequestLatencyHigh": timedelta(minutes=10),
    "SeismoMonitorStale": timedelta(minutes=30),
}
ALERT_NAMES = tuple(DEFAULT_FOR)

_WINDOW_LABELS = "model, version, segment"
_FEATURE_LABELS = "model, version, segment, feature"
_WHERE = "model {{ $labels.model }} v{{ $labels.version }}, segment {{ $labels.segment }}"


@dataclass(frozen=True)
class PrometheusRuleSettings:
    """Thresholds of the generated alerts. Every default is listed here.

    drifted_share_above: ``SeismoDriftedShareHigh`` (critical) when more than this share of the
        tested features drifted in a window (default 0.3). ``SeismoDatasetDrifted`` (warning)
        follows the monitor's own dataset verdict.
    psi_warning_above, psi_critical_above: the PSI bands drawn on the dashboard's PSI panel
        (0.1 and 0.25, the usual bands). The feature alerts follow the drift engine's decision,
        not PSI alone (a column can drift by total variation or W/σ): ``SeismoFeatureDriftWarning``
        when a feature drifted with moderate severity, ``SeismoFeatureDriftCritical`` with high
        severity (an effect that reached its bar is at PSI ≥ 0.25, TV ≥ 0.25 or W/σ ≥ 0.5); both
        hold for one window length by default (``for:``), about two windows in a row.
    performance_limits: metric name -> limit, e.g. ``{"f1": 0.7, "rmse": 12.0}`` (default none:
        no floor suits every model). Floors for higher-is-better metrics, ceilings for
        lower-is-better ones, a tolerance on ``|bias|``; decided on the confidence interval.
    label_coverage_below: ``SeismoLabelCoverageLow`` when less than this share of a window's
        predictions has a label (default 0.1) in windows of at least ``label_min_rows`` rows
        (default 100).
    label_delay_above: ``SeismoLabelDelayHigh`` when the mean delay from prediction to label
        exceeds this (default 2 days).
    ingest_quiet, ingest_history: ``SeismoIngestStopped`` when a model logged no row for
        ``ingest_quiet`` (default 30 minutes) after logging some in the ``ingest_history``
        before that (default 1 day); a service restart that loses the counter counts as quiet.
    rejected_per_second_above: ``SeismoRejectedRequests`` when 4xx answers of one error code
        exceed this rate (default 0.1/s) over ``rate_range`` (default 5 minutes).
    latency_p99_above: ``SeismoRequestLatencyHigh`` when an endpoint's p99 latency over
        ``rate_range`` exceeds this many seconds (default 0.5).
    window, stale_after_windows: the monitor's window length (default 1 day, as ``monitor.window``
        in the service config) and how many windows may pass without a new one before
        ``SeismoMonitorStale`` (default 2).
    selector: PromQL label matchers added to every series, e.g. ``job="seismo"`` (default none).
    for_durations: alert name -> ``for:`` duration, overriding ``DEFAULT_FOR``.
    group, interval: the rule group's name (default ``seismo``) and evaluation interval
        (default none: Prometheus's ``evaluation_interval``).
    """

    drifted_share_above: float = 0.3
    psi_warning_above: float = 0.1
    psi_critical_above: float = 0.25
    performance_limits: Mapping[str, float] = field(default_factory=dict)
    label_coverage_below: float = 0.1
    label_min_rows: int = 100
    label_delay_above: timedelta = timedelta(days=2)
    ingest_quiet: timedelta = timedelta(minutes=30)
    ingest_history: timedelta = timedelta(days=1)
    rejected_per_second_above: float = 0.1
    latency_p99_above: float = 0.5
    rate_range: timedelta = timedelta(minutes=5)
    window: timedelta = timedelta(days=1)
    stale_after_windows: float = 2.0
    selector: str = ""
    for_durations: Mapping[str, timedelta] = field(default_factory=dict)
    group: str = "seismo"
    interval: timedelta | None = None

    def __post_init__(self) -> None:
        for name in ("drifted_share_above", "label_coverage_below"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"prometheus rules: {name} is a share, between 0 and 1")
        if not 0 < self.psi_warning_above <= self.psi_critical_above:
            raise InputError(
                "prometheus rules: psi_warning_above must be positive and at most "
                f"psi_critical_above (got {self.psi_warning_above} and {self.psi_critical_above})"
            )
        unknown = sorted(set(self.performance_limits) - set(metric_names()))
        if unknown:
            raise InputError(
                f"prometheus rules: unknown performance metric(s) {unknown}; "
                f"valid metrics are {list(metric_names())}"
            )
        unknown = sorted(set(self.for_durations) - set(ALERT_NAMES))
        if unknown:
            raise InputError(
                f"prometheus rules: for_durations names unknown alert(s) {unknown}; "
                f"valid alerts are {list(ALERT_NAMES)}"
            )
        for name, duration in self.for_durations.items():
            if duration < timedelta(0):
                raise InputError(f"prometheus rules: for_durations[{name!r}] is negative")
        for name in ("label_delay_above", "ingest_quiet", "ingest_history", "rate_range", "window"):
            if getattr(self, name) <= timedelta(0):
                raise InputError(f"prometheus rules: {name} must be a positive duration")
        if self.interval is not None and self.interval <= timedelta(0):
            raise InputError("prometheus rules: interval must be a positive duration")
        if self.stale_after_windows <= 0:
            raise InputError("prometheus rules: stale_after_windows must be positive")
        if self.label_min_rows < 0:
            raise InputError("prometheus rules: label_min_rows must not be negative")
        if self.rejected_per_second_above < 0 or self.latency_p99_above <= 0:
            raise InputError("prometheus rules: rate and latency thresholds must be positive")
        if "{" in self.selector or "}" in self.selector:
            raise InputError(
                "prometheus rules: selector holds label matchers without braces, "
                "e.g. 'job=\"seismo\"'"
            )
        if not self.group.strip():
            raise InputError("prometheus rules: group needs a name")

    @property
    def stale_after(self) -> timedelta:
        return self.window * self.stale_after_windows

    def for_duration(self, alert: str) -> timedelta:
        if alert in self.for_durations:
            return self.for_durations[alert]
        return DEFAULT_FOR[alert] or self.window


def prometheus_rules(settings: PrometheusRuleSettings | None = None) -> str:
    """The alerting rules file as YAML text (see the module docstring)."""
    settings = settings or PrometheusRuleSettings()
    group: dict[str, Any] = {"name": settings.group}
    if settings.interval is not None:
        group["interval"] = duration(settings.interval)
    group["rules"] = alerting_rules(settings)
    header = (
        "# Prometheus alerting rules for seismo's /metrics, generated by seismo.\n"
        "# Check with: promtool check rules <this file>\n"
    )
    return header + yaml.safe_dump(
        {"groups": [group]}, sort_keys=False, width=1000, allow_unicode=True
    )


def alerting_rules(settings: PrometheusRuleSettings) -> list[dict[str, Any]]:
    """The rules of the group, each a mapping with alert, expr, for, labels, annotations."""
    s = settings
    m = _Metrics(s.selector)
    fresh = f"and on({_WINDOW_LABELS}) ({m.window_age()} < {number(s.stale_after)})"
    rules = [
        _rule(
            s,
            "SeismoDatasetDrifted",
            f"{m('seismo_dataset_drifted')} == 1 {fresh}",
            "warning",
            f"Data drift in {_WHERE}",
            "The latest window drifted from the reference (the monitor's dataset verdict). "
            "See GET /v1/models/{{ $labels.model }}/drift for the features.",
        ),
        _rule(
            s,
            "SeismoDriftedShareHigh",
            f"{m('seismo_drifted_share')} > {number(s.drifted_share_above)} {fresh}",
            "critical",
            f"Broad data drift in {_WHERE}",
            "{{ $value | humanizePercentage }} of the tested features drifted in the latest "
            f"window (alert above {s.drifted_share_above:.0%}).",
        ),
        _rule(
            s,
            "SeismoFeatureDriftCritical",
            f"{m('seismo_feature_drift_effect_ratio')} and on({_FEATURE_LABELS}) "
            f"{m('seismo_feature_drift_severity')} == 2 {fresh}",
            "critical",
            "Feature {{ $labels.feature }} drifted in " + _WHERE,
            "The drift engine found {{ $labels.feature }} drifted, with high severity, in the "
            'latest window: its leading effect is {{ $value | printf "%.1f" }} times its bar.',
        ),
        _rule(
            s,
            "SeismoFeatureDriftWarning",
            f"{m('seismo_feature_drift_effect_ratio')} and on({_FEATURE_LABELS}) "
            f"{m('seismo_feature_drift_severity')} == 1 {fresh}",
            "warning",
            "Feature {{ $labels.feature }} shifting in " + _WHERE,
            "The drift engine found {{ $labels.feature }} drifted in the latest window: its "
            'leading effect is {{ $value | printf "%.1f" }} times its bar.',
        ),
    ]
    for name, limit in s.performance_limits.items():
        rules.append(_performance_rule(s, m, name, limit, fresh))
    rules += [
        _rule(
            s,
            "SeismoLabelCoverageLow",
            f"{m('seismo_label_coverage')} < {number(s.label_coverage_below)} and "
            f"{m('seismo_window_rows')} >= {s.label_min_rows} {fresh}",
            "warning",
            f"Few labels for {_WHERE}",
            "Only {{ $value | humanizePercentage }} of the latest window's predictions have a "
            f"label (alert below {s.label_coverage_below:.0%}); performance cannot be judged.",
        ),
        _rule(
            s,
            "SeismoLabelDelayHigh",
            f"{m('seismo_label_delay_seconds')} > {number(s.label_delay_above)} {fresh}",
            "warning",
            f"Labels arrive late for {_WHERE}",
            "Labels arrive {{ $value | humanizeDuration }} after their prediction on average "
            f"(alert above {duration(s.label_delay_above)}).",
        ),
        _rule(
            s,
            "SeismoIngestStopped",
            f"sum by (model) (increase({m('seismo_ingested_rows_total')}"
            f"[{duration(s.ingest_history)}] offset {duration(s.ingest_quiet)})) > 0 unless "
            f"sum by (model) (increase({m('seismo_ingested_rows_total')}"
            f"[{duration(s.ingest_quiet)}])) > 0",
            "critical",
            "No predictions logged for model {{ $labels.model }}",
            f"Model {{{{ $labels.model }}}} logged no prediction in the last "
            f"{duration(s.ingest_quiet)}, after "
            '{{ $value | printf "%.0f" }} rows in the '
            f"{duration(s.ingest_history)} before.",
        ),
        _rule(
            s,
            "SeismoRejectedRequests",
            f"sum by (code) (rate({m('seismo_rejected_requests_total')}"
            f"[{duration(s.rate_range)}])) > {number(s.rejected_per_second_above)}",
            "warning",
            "seismo rejects requests: {{ $labels.code }}",
            'Requests answered 4xx with code {{ $labels.code }} at {{ $value | printf "%.2f" }}/s'
            f" (alert above {number(s.rejected_per_second_above)}/s); check the clients.",
        ),
        _rule(
            s,
            "SeismoRequestLatencyHigh",
            f"histogram_quantile(0.99, sum by (endpoint, le) (rate("
            f"{m('seismo_request_seconds_bucket')}[{duration(s.rate_range)}]))) > "
            f"{number(s.latency_p99_above)}",
            "warning",
            "seismo {{ $labels.endpoint }} is slow",
            "p99 latency of {{ $labels.endpoint }} is {{ $value | humanizeDuration }} "
            f"(alert above {number(s.latency_p99_above)} s).",
        ),
        _rule(
            s,
            "SeismoMonitorStale",
            f"time() - max by (model) ({m('seismo_window_start_timestamp_seconds')}) > "
            f"{number(s.stale_after)}",
            "warning",
            "Monitor of model {{ $labels.model }} is stale",
            "The newest window of model {{ $labels.model }} started "
            "{{ $value | humanizeDuration }} ago, more than "
            f"{number(s.stale_after_windows)} windows of {duration(s.window)}: the monitor does "
            "not run or no predictions arrive.",
        ),
    ]
    return rules


def _performance_rule(
    s: PrometheusRuleSettings, m: _Metrics, name: str, limit: float, fresh: str
) -> dict[str, Any]:
    where = f"{name} of {_WHERE}"
    better = metric(name).better
    if better == "higher":
        return _rule(
            s,
            "SeismoPerformanceBelowFloor",
            f"{m('seismo_performance_high', metric=name)} < {number(limit)} {fresh}",
            "critical",
            f"{where} below {number(limit)}",
            f"Even the upper confidence bound of {name} in the latest window, "
            f'{{{{ $value | printf "%.3f" }}}}, is below the floor {number(limit)}.',
            metric=name,
        )
    if better == "lower":
        return _rule(
            s,
            "SeismoPerformanceAboveCeiling",
            f"{m('seismo_performance_low', metric=name)} > {number(limit)} {fresh}",
            "critical",
            f"{where} above {number(limit)}",
            f"Even the lower confidence bound of {name} in the latest window, "
            f'{{{{ $value | printf "%.4g" }}}}, is above the ceiling {number(limit)}.',
            metric=name,
        )
    assert better == "zero"
    return _rule(
        s,
        "SeismoBiasOutsideTolerance",
        f"({m('seismo_performance_low', metric=name)} > {number(limit)} or "
        f"{m('seismo_performance_high', metric=name)} < {number(-limit)}) {fresh}",
        "critical",
        f"{where} outside ±{number(limit)}",
        f"The confidence interval of {name} in the latest window lies outside "
        f"[{number(-limit)}, {number(limit)}] (nearest bound "
        '{{ $value | printf "%.4g" }}).',
        metric=name,
    )


def _rule(
    s: PrometheusRuleSettings,
    alert: str,
    expr: str,
    severity: str,
    summary: str,
    description: str,
    **labels: str,
) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": expr,
        "for": duration(s.for_duration(alert)),
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary, "description": description},
    }


class _Metrics:
    """Series selectors with the settings' extra label matchers."""

    def __init__(self, selector: str) -> None:
        self.selector = selector.strip().strip(",")

    def __call__(self, name: str, **matchers: str) -> str:
        parts = [f'{label}="{value}"' for label, value in matchers.items()]
        if self.selector:
            parts.append(self.selector)
        return f"{name}{{{', '.join(parts)}}}" if parts else name

    def window_age(self) -> str:
        return f"time() - {self('seismo_window_start_timestamp_seconds')}"


_UNITS = (("d", 86400_000), ("h", 3600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def duration(value: timedelta) -> str:
    """A Prometheus duration: the largest unit that divides it.

    >>> duration(timedelta(days=1)), duration(timedelta(minutes=90)), duration(timedelta(0))
    ('1d', '90m', '0s')
    """
    millis = round(value.total_seconds() * 1000)
    if millis == 0:
        return "0s"
    for unit, size in _UNITS:
        if millis % size == 0:
            return f"{millis // size}{unit}"
    raise AssertionError("unreachable: every duration is a whole number of milliseconds")


def number(value: float | timedelta) -> str:
    """A PromQL number literal; a duration in seconds.

    >>> number(0.7), number(timedelta(days=2)), number(-0.05), number(1e-9)
    ('0.7', '172800', '-0.05', '1e-09')
    """
    if isinstance(value, timedelta):
        value = value.total_seconds()
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)

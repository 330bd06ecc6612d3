"""A Grafana dashboard (JSON model) over the metrics seismo exposes at ``GET /metrics``.

``grafana_dashboard(settings)`` returns the classic dashboard JSON model (``schemaVersion`` 39,
read by Grafana 10.4 and 11, which migrate it on load) to import through the UI, the HTTP API
(``POST /api/dashboards/db`` with ``{"dashboard": ..., "overwrite": true}``) or a provisioning
folder. Its Prometheus data source is the ``${datasource}`` variable, so it imports into any
Grafana; ``model``, ``version``, ``segment`` and ``metric`` are variables read from the series
(``label_values``). Threshold lines come from the same :class:`PrometheusRuleSettings` as the
alerting rules, so the dashboard draws the lines the alerts fire on.

>>> dashboard = grafana_dashboard()
>>> dashboard["uid"], dashboard["schemaVersion"], len(dashboard["panels"]) > 10
('seismo-monitor', 39, True)
"""

from __future__ import annotations

from typing import Any

from seismo.alerts.prometheus_rules import PrometheusRuleSettings, number
from seismo.errors import InputError
from seismo.performance.metrics import metric

SCHEMA_VERSION = 39
GRID_WIDTH = 24
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_WINDOW = 'model="$model", version="$version", segment="$segment"'

Panel = dict[str, Any]


def grafana_dashboard(
    settings: PrometheusRuleSettings | None = None,
    *,
    title: str = "seismo: drift and model performance",
    uid: str = "seismo-monitor",
    time_from: str = "now-7d",
    refresh: str = "1m",
) -> dict[str, Any]:
    """The dashboard JSON model; the same arguments give the same JSON (stable ``uid``, ids).

    One performance panel shows the ``$metric`` variable's estimate with its confidence band;
    each metric in ``settings.performance_limits`` gets its own panel with the limit drawn.
    """
    settings = settings or PrometheusRuleSettings()
    if not 1 <= len(uid) <= 40:
        raise InputError(f"grafana dashboard: uid {uid!r} must have 1 to 40 characters")
    q = _Query(settings.selector)
    sections: list[tuple[str, list[tuple[Panel, int, int]]]] = [
        ("Latest window", _summary_panels(q, settings)),
        ("Drift", _drift_panels(q, settings)),
        ("Performance and labels", _performance_panels(q, settings)),
        ("Service", _service_panels(q, settings)),
    ]
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": "Drift, performance and service metrics of seismo's /metrics endpoint.",
        "tags": ["seismo", "drift", "ml-monitoring"],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": _variables(q)},
        "panels": _layout(sections),
    }


class _Query:
    """Series selectors: the settings' label matchers plus the panel's own."""

    def __init__(self, selector: str) -> None:
        self.selector = selector.strip().strip(",")

    def __call__(self, name: str, matchers: str = "") -> str:
        parts = [part for part in (matchers, self.selector) if part]
        return f"{name}{{{', '.join(parts)}}}" if parts else name

    def window(self, name: str, extra: str = "") -> str:
        return self(name, ", ".join(part for part in (_WINDOW, extra) if part))


def _variables(q: _Query) -> list[dict[str, Any]]:
    def query_variable(
        name: str, label: str, query: str, sort: int, current: str | None = None
    ) -> dict[str, Any]:
        variable: dict[str, Any] = {
            "name": name,
            "label": label,
            "type": "query",
            "datasource": DATASOURCE,
            "query": query,
            "refresh": 2,  # on time range change: new versions and segments appear
            "sort": sort,
            "includeAll": False,
            "multi": False,
            "hide": 0,
            "regex": "",
            "options": [],
        }
        if current is not None:
            variable["current"] = {"text": current, "value": current, "selected": True}
        return variable

    model = 'model="$model"'
    model_version = 'model="$model", version="$version"'
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "refresh": 1,
            "includeAll": False,
            "multi": False,
            "hide": 0,
            "regex": "",
            "options": [],
        },
        query_variable("model", "Model", f"label_values({q('seismo_window_rows')}, model)", sort=1),
        # Numerical descending: the newest version is the first option, so the default.
        query_variable(
            "version",
            "Version",
            f"label_values({q('seismo_window_rows', model)}, version)",
            sort=4,
        ),
        query_variable(
            "segment",
            "Segment",
            f"label_values({q('seismo_window_rows', model_version)}, segment)",
            sort=1,
            current="all",
        ),
        query_variable(
            "metric",
            "Performance metric",
            f"label_values({q.window('seismo_performance')}, metric)",
            sort=1,
        ),
    ]


def _summary_panels(q: _Query, s: PrometheusRuleSettings) -> list[tuple[Panel, int, int]]:
    return [
        (
            _stat(
                "Dataset drifted",
                f"max({q.window('seismo_dataset_drifted')})",
                mappings=_DRIFT_MAPPINGS,
                steps=[_step("green"), _step("red", 1)],
            ),
            6,
            4,
        ),
        (
            _stat(
                "Drifted share of features",
                f"max({q.window('seismo_drifted_share')})",
                unit="percentunit",
                steps=[_step("green"), _step("red", s.drifted_share_above)],
            ),
            6,
            4,
        ),
        (
            _stat(
                "Predictions in the latest window",
                f"max({q.window('seismo_window_rows')})",
                unit="short",
                steps=[_step("blue")],
            ),
            6,
            4,
        ),
        (
            _stat(
                "Latest window started",
                f"time() - max({q.window('seismo_window_start_timestamp_seconds')})",
                unit="s",
                steps=[_step("green"), _step("red", s.stale_after.total_seconds())],
                description="Age of the newest window; red once the monitor looks stale.",
            ),
            6,
            4,
        ),
    ]


_DRIFT_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "0": {"text": "no drift", "color": "green", "index": 0},
            "1": {"text": "drifted", "color": "red", "index": 1},
        },
    }
]


def _drift_panels(q: _Query, s: PrometheusRuleSettings) -> list[tuple[Panel, int, int]]:
    return [
        (
            _timeseries(
                "Feature drift (PSI)",
                [
                    _target(
                        f"max by (feature) ({q.window('seismo_feature_drift_psi')})",
                        "{{feature}}",
                    )
                ],
                unit="none",
                min_=0,
                steps=[
                    _step("green"),
                    _step("orange", s.psi_warning_above),
                    _step("red", s.psi_critical_above),
                ],
                description="PSI of each tested feature in the latest window; dashed lines at "
                "the usual PSI bands. The feature alerts follow the drift engine's decision "
                "(next panel), not PSI alone.",
                legend_table=True,
            ),
            12,
            9,
        ),
        (
            _timeseries(
                "Feature drift (leading effect over its bar)",
                [
                    _target(
                        f"max by (feature) ({q.window('seismo_feature_drift_effect_ratio')})",
                        "{{feature}}",
                    )
                ],
                unit="none",
                min_=0,
                steps=[_step("green"), _step("red", 1)],
                description="Per feature, its effect size furthest along to its threshold (PSI, "
                "total variation or W/σ) divided by that threshold: at 1 or more the change is "
                "large enough to be drift (when it is also significant).",
                legend_table=True,
            ),
            12,
            9,
        ),
        (
            _timeseries(
                "Drifted share of features",
                [_target(f"max({q.window('seismo_drifted_share')})", "drifted share")],
                unit="percentunit",
                min_=0,
                max_=1,
                steps=[_step("green"), _step("red", s.drifted_share_above)],
            ),
            24,
            7,
        ),
        (
            {
                "type": "state-timeline",
                "title": "Dataset drift verdict",
                "datasource": DATASOURCE,
                "targets": [
                    _target(f"max({q.window('seismo_dataset_drifted')})", "dataset drifted")
                ],
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "thresholds"},
                        "mappings": _DRIFT_MAPPINGS,
                        "thresholds": _thresholds([_step("green"), _step("red", 1)]),
                        "custom": {"fillOpacity": 70, "lineWidth": 0},
                    },
                    "overrides": [],
                },
                "options": {
                    "rowHeight": 0.8,
                    "showValue": "never",
                    "mergeValues": True,
                    "alignValue": "left",
                    "legend": _legend(),
                    "tooltip": {"mode": "single", "sort": "none"},
                },
            },
            24,
            4,
        ),
    ]


def _performance_panels(q: _Query, s: PrometheusRuleSettings) -> list[tuple[Panel, int, int]]:
    panels = [(_performance("$metric", q, None), 12, 9)]
    for name, limit in s.performance_limits.items():
        panels.append((_performance(name, q, limit), 12, 9))
    panels += [
        (
            _timeseries(
                "Label coverage",
                [_target(f"max({q.window('seismo_label_coverage')})", "labelled share")],
                unit="percentunit",
                min_=0,
                max_=1,
                steps=[_step("red"), _step("green", s.label_coverage_below)],
                description="Share of the latest window's predictions that have a label.",
            ),
            12,
            8,
        ),
        (
            _timeseries(
                "Label delay (mean)",
                [_target(f"max({q.window('seismo_label_delay_seconds')})", "mean delay")],
                unit="s",
                min_=0,
                steps=[_step("green"), _step("red", s.label_delay_above.total_seconds())],
            ),
            12,
            8,
        ),
    ]
    return panels


def _performance(name: str, q: _Query, limit: float | None) -> Panel:
    """A metric's estimate with its confidence interval drawn as a band (high filled down to
    low), and the alerting limit as a dashed line when there is one."""
    matchers = f'metric="{name}"'
    targets = [
        _target(f"max({q.window('seismo_performance', matchers)})", "estimate", "A"),
        _target(f"max({q.window('seismo_performance_low', matchers)})", "low", "B"),
        _target(f"max({q.window('seismo_performance_high', matchers)})", "high", "C"),
    ]
    band = [{"id": "custom.lineWidth", "value": 0}, {"id": "custom.hideFrom", "value": _HIDDEN}]
    panel = _timeseries(
        f"Performance: {name}" + ("" if limit is None else f" (limit {number(limit)})"),
        targets,
        unit="none",
        steps=_limit_steps(name, limit),
        description="Estimate of the latest window with its confidence interval (band). "
        "Alerts decide on the interval: a floor on its upper bound, a ceiling on its lower.",
    )
    panel["fieldConfig"]["defaults"]["color"] = {"mode": "fixed", "fixedColor": "blue"}
    panel["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byName", "options": "high"},
            "properties": [
                *band,
                {"id": "custom.fillBelowTo", "value": "low"},
                {"id": "custom.fillOpacity", "value": 25},
            ],
        },
        {"matcher": {"id": "byName", "options": "low"}, "properties": band},
    ]
    return panel


_HIDDEN = {"legend": True, "tooltip": False, "viz": False}


def _limit_steps(name: str, limit: float | None) -> list[dict[str, Any]]:
    if limit is None:
        return [_step("transparent")]
    better = metric(name).better
    if better == "higher":
        return [_step("red"), _step("green", limit)]
    if better == "lower":
        return [_step("green"), _step("red", limit)]
    return [_step("red"), _step("green", -limit), _step("red", limit)]


def _service_panels(q: _Query, s: PrometheusRuleSettings) -> list[tuple[Panel, int, int]]:
    rate = "[$__rate_interval]"
    model = 'model="$model"'
    return [
        (
            _timeseries(
                "Ingest rate",
                [
                    _target(
                        f"sum by (endpoint) (rate({q('seismo_ingested_rows_total', model)}{rate}))",
                        "{{endpoint}}",
                    )
                ],
                unit="suffix: rows/s",
                min_=0,
            ),
            6,
            8,
        ),
        (
            _timeseries(
                "Labels received",
                [
                    _target(
                        f"sum by (outcome) (rate({q('seismo_labels_total', model)}{rate}))",
                        "{{outcome}}",
                    )
                ],
                unit="suffix: labels/s",
                min_=0,
            ),
            6,
            8,
        ),
        (
            _timeseries(
                "Rejected requests (4xx)",
                [
                    _target(
                        f"sum by (code) (rate({q('seismo_rejected_requests_total')}{rate}))",
                        "{{code}}",
                    )
                ],
                unit="reqps",
                min_=0,
                steps=[_step("green"), _step("red", s.rejected_per_second_above)],
            ),
            6,
            8,
        ),
        (
            _timeseries(
                "Request latency",
                [
                    _target(
                        f"histogram_quantile({quantile}, sum by (endpoint, le) "
                        f"(rate({q('seismo_request_seconds_bucket')}{rate})))",
                        f"p{round(quantile * 100)} {{{{endpoint}}}}",
                        ref,
                    )
                    for ref, quantile in (("A", 0.5), ("B", 0.99))
                ],
                unit="s",
                min_=0,
                steps=[_step("green"), _step("red", s.latency_p99_above)],
            ),
            6,
            8,
        ),
    ]


def _target(expr: str, legend: str, ref: str = "A") -> dict[str, Any]:
    return {
        "refId": ref,
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend,
        "editorMode": "code",
        "range": True,
        "instant": False,
    }


def _step(color: str, value: float | None = None) -> dict[str, Any]:
    return {"color": color, "value": value}


def _thresholds(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": steps}


def _legend(table: bool = False) -> dict[str, Any]:
    return {
        "showLegend": True,
        "displayMode": "table" if table else "list",
        "placement": "bottom",
        "calcs": ["lastNotNull", "max"] if table else [],
    }


def _timeseries(
    title: str,
    targets: list[dict[str, Any]],
    *,
    unit: str,
    steps: list[dict[str, Any]] | None = None,
    min_: float | None = None,
    max_: float | None = None,
    description: str = "",
    legend_table: bool = False,
) -> Panel:
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "thresholds": _thresholds(steps or [_step("green")]),
        "custom": {
            "drawStyle": "line",
            # the window gauges change when the monitor runs: steps, not slopes
            "lineInterpolation": "stepAfter",
            "lineWidth": 1,
            "fillOpacity": 0,
            "showPoints": "never",
            "spanNulls": False,
            "axisPlacement": "auto",
            "thresholdsStyle": {"mode": "dashed" if steps else "off"},
        },
    }
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    panel: Panel = {
        "type": "timeseries",
        "title": title,
        "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": _legend(legend_table),
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }
    if description:
        panel["description"] = description
    return panel


def _stat(
    title: str,
    expr: str,
    *,
    steps: list[dict[str, Any]],
    unit: str = "none",
    mappings: list[dict[str, Any]] | None = None,
    description: str = "",
) -> Panel:
    panel: Panel = {
        "type": "stat",
        "title": title,
        "datasource": DATASOURCE,
        "targets": [_target(expr, title)],
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": _thresholds(steps),
                "mappings": mappings or [],
            },
            "overrides": [],
        },
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "auto",
            "colorMode": "background",
            "graphMode": "none",
            "justifyMode": "auto",
            "textMode": "value",
            "wideLayout": True,
            "showPercentChange": False,
            "percentChangeColorMode": "standard",
        },
    }
    if description:
        panel["description"] = description
    return panel


def _layout(sections: list[tuple[str, list[tuple[Panel, int, int]]]]) -> list[Panel]:
    """Rows of panels packed left to right on the 24-column grid; ids numbered in order."""
    panels: list[Panel] = []
    y = 0
    for title, members in sections:
        panels.append(
            {
                "type": "row",
                "title": title,
                "collapsed": False,
                "panels": [],
                "gridPos": {"x": 0, "y": y, "w": GRID_WIDTH, "h": 1},
            }
        )
        y += 1
        x = 0
        line_height = 0
        for panel, width, height in members:
            if x + width > GRID_WIDTH:
                y += line_height
                x, line_height = 0, 0
            panel["gridPos"] = {"x": x, "y": y, "w": width, "h": height}
            panels.append(panel)
            x += width
            line_height = max(line_height, height)
        y += line_height
    for panel_id, panel in enumerate(panels, start=1):
        panel["id"] = panel_id
    return panels

"""The generated alerting rules: promtool accepts them, their expressions say what the settings
say, and a real Prometheus loading them fires on a seismo-style target."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import generate_latest

from seismo.alerts.prometheus_rules import (
    ALERT_NAMES,
    DEFAULT_FOR,
    PrometheusRuleSettings,
    duration,
    prometheus_rules,
)
from seismo.errors import InputError
from seismo.monitor.history import WindowHistory
from seismo.monitor.prometheus import MonitorCollector
from seismo.performance.metrics import METRICS
from seismo.service.app import ServiceMetrics
from tests.external import require_binary, running_prometheus

# --- helpers shared with tests/test_grafana.py ---------------------------------------------


@contextmanager
def serving(body: Any) -> Iterator[str]:
    """A tiny HTTP server on loopback answering every GET with ``body()`` (exposition text);
    yields its host:port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = body().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _NoModels:
    def list_model_versions(self) -> list[Any]:
        return []


def exposed_metric_names() -> set[str]:
    """Every series name seismo's /metrics can expose, read from the service's own metrics
    (each counter and histogram touched once) and the monitor collector's families."""
    metrics = ServiceMetrics()
    metrics.rows.labels("m", "ingest").inc()
    metrics.labels.labels("m", "inserted").inc()
    metrics.rejected.labels("invalid").inc()
    metrics.latency.labels("ingest").observe(0.01)
    names = {
        line.split("{")[0].split(" ")[0]
        for line in generate_latest(metrics.registry).decode().splitlines()
        if line and not line.startswith("#")
    }
    collector = MonitorCollector(WindowHistory(_NoModels(), timedelta(days=1)))  # type: ignore[arg-type]
    names |= {family.name for family in collector.collect()}
    return names


_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "offset", "bool"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, label matchers, ranges, grouping
    clauses, numbers and function calls removed)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\boffset\s+\w+", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"(?<![\w:])\d+(\.\d+)?(e[+-]?\d+)?", " ", text)
    names = set()
    for match in re.finditer(r"([A-Za-z_:][\w:]*)\s*(\()?", text):
        name, call = match.group(1), match.group(2)
        if not call and name not in _KEYWORDS:
            names.add(name)
    return names


# --- the rules file -------------------------------------------------------------------------


def _rules(settings: PrometheusRuleSettings | None = None) -> list[dict[str, Any]]:
    document = yaml.safe_load(prometheus_rules(settings))
    (group,) = document["groups"]
    return group["rules"]  # type: ignore[no-any-return]


def _by_alert(rules: list[dict[str, Any]], alert: str) -> list[dict[str, Any]]:
    return [rule for rule in rules if rule["alert"] == alert]


EVERY_LIMIT = PrometheusRuleSettings(
    performance_limits={m.name: 0.5 for m in METRICS},
    selector='job="seismo", env=~"prod|staging"',
    interval=timedelta(seconds=30),
    for_durations={name: timedelta(minutes=1) for name in ALERT_NAMES},
)


@pytest.mark.parametrize(
    ("settings", "count"),
    [
        (PrometheusRuleSettings(), 10),
        (PrometheusRuleSettings(performance_limits={"f1": 0.7}), 11),
        (EVERY_LIMIT, 10 + len(METRICS)),
    ],
    ids=["defaults", "f1-floor", "every-metric-selector-interval"],
)
def test_promtool_accepts_the_rules(
    settings: PrometheusRuleSettings, count: int, tmp_path: Path
) -> None:
    promtool = require_binary("promtool", package="prometheus", what="promtool check")
    path = tmp_path / "seismo-rules.yml"
    path.write_text(prometheus_rules(settings))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {count} rules found" in result.stdout + result.stderr


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    # the check above could fail: promtool does parse the expressions
    promtool = require_binary("promtool", package="prometheus", what="promtool check")
    text = prometheus_rules().replace("seismo_drifted_share >", "seismo_drifted_share >>", 1)
    path = tmp_path / "broken.yml"
    path.write_text(text)
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True)
    assert result.returncode != 0


def test_every_rule_has_severity_summary_and_description() -> None:
    rules = _rules(EVERY_LIMIT)
    assert {rule["alert"] for rule in rules} == set(ALERT_NAMES)
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["for"] == "1m"
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        if "model" in rule["expr"] or "seismo_window" in rule["expr"]:
            assert "{{ $labels.model }}" in rule["annotations"]["summary"]


def test_rules_use_only_metrics_seismo_exposes() -> None:
    exposed = exposed_metric_names()
    used = set().union(*(metric_names(rule["expr"]) for rule in _rules(EVERY_LIMIT)))
    assert used <= exposed, used - exposed
    # the parser found the metrics (an empty set would pass the line above)
    assert {
        "seismo_feature_drift_effect_ratio",
        "seismo_feature_drift_severity",
        "seismo_performance_high",
        "seismo_performance_low",
        "seismo_ingested_rows_total",
        "seismo_request_seconds_bucket",
        "seismo_window_start_timestamp_seconds",
    } <= used


def test_metric_name_parser() -> None:
    assert metric_names(
        'histogram_quantile(0.99, sum by (endpoint, le) (rate(a_bucket{x="y"}[5m]))) > 1e-3'
    ) == {"a_bucket"}
    assert metric_names("time() - max by (model) (b) > 60 unless c == 1") == {"b", "c"}


def test_performance_decides_on_the_interval() -> None:
    settings = PrometheusRuleSettings(performance_limits={"f1": 0.7, "rmse": 12.5, "bias": 0.2})
    rules = _rules(settings)
    (floor,) = _by_alert(rules, "SeismoPerformanceBelowFloor")
    assert floor["expr"].startswith('seismo_performance_high{metric="f1"} < 0.7 and on(')
    (ceiling,) = _by_alert(rules, "SeismoPerformanceAboveCeiling")
    assert ceiling["expr"].startswith('seismo_performance_low{metric="rmse"} > 12.5 and on(')
    (bias,) = _by_alert(rules, "SeismoBiasOutsideTolerance")
    assert bias["expr"].startswith(
        '(seismo_performance_low{metric="bias"} > 0.2 or '
        'seismo_performance_high{metric="bias"} < -0.2)'
    )
    for rule in (floor, ceiling, bias):
        assert "seismo_performance{" not in rule["expr"]  # never the point estimate
        assert rule["labels"]["severity"] == "critical"
    assert not _by_alert(_rules(), "SeismoPerformanceBelowFloor")  # no default floor


def test_feature_drift_follows_the_engine_decision_not_psi() -> None:
    # As seismo's own default feature-drift rule: the drift engine's decision (significant,
    # and PSI, total variation or W/sigma at its bar), never PSI alone; the value shown is the
    # leading effect over its bar.
    rules = _rules(PrometheusRuleSettings(psi_warning_above=0.15, psi_critical_above=0.3))
    (critical,) = _by_alert(rules, "SeismoFeatureDriftCritical")
    (warning,) = _by_alert(rules, "SeismoFeatureDriftWarning")
    on = "and on(model, version, segment, feature)"
    assert critical["expr"].startswith(
        f"seismo_feature_drift_effect_ratio {on} seismo_feature_drift_severity == 2 and on("
    )
    # a high-severity feature raises only the critical alert
    assert warning["expr"].startswith(
        f"seismo_feature_drift_effect_ratio {on} seismo_feature_drift_severity == 1 and on("
    )
    for rule in (critical, warning):
        assert "seismo_feature_drift_psi" not in rule["expr"]
        assert rule["for"] == "1d"  # a whole window: about two windows in a row
    assert (critical["labels"]["severity"], warning["labels"]["severity"]) == (
        "critical",
        "warning",
    )
    hourly = _rules(PrometheusRuleSettings(window=timedelta(hours=1)))
    assert {r["for"] for r in hourly if r["alert"].startswith("SeismoFeatureDrift")} == {"1h"}


def test_window_alerts_skip_stale_windows_and_staleness_follows_the_window() -> None:
    settings = PrometheusRuleSettings(window=timedelta(hours=1), stale_after_windows=3)
    rules = _rules(settings)
    fresh = (
        "and on(model, version, segment) (time() - seismo_window_start_timestamp_seconds < 10800)"
    )
    for alert in ("SeismoDatasetDrifted", "SeismoDriftedShareHigh", "SeismoLabelCoverageLow"):
        (rule,) = _by_alert(rules, alert)
        assert rule["expr"].endswith(fresh)
    (stale,) = _by_alert(rules, "SeismoMonitorStale")
    assert stale["expr"] == (
        "time() - max by (model) (seismo_window_start_timestamp_seconds) > 10800"
    )


def test_service_rules() -> None:
    settings = PrometheusRuleSettings(
        ingest_quiet=timedelta(minutes=10),
        ingest_history=timedelta(hours=6),
        rate_range=timedelta(minutes=2),
        rejected_per_second_above=0.5,
        latency_p99_above=0.25,
        label_delay_above=timedelta(hours=12),
        label_coverage_below=0.2,
        label_min_rows=50,
    )
    rules = _rules(settings)
    (ingest,) = _by_alert(rules, "SeismoIngestStopped")
    assert ingest["expr"] == (
        "sum by (model) (increase(seismo_ingested_rows_total[6h] offset 10m)) > 0 unless "
        "sum by (model) (increase(seismo_ingested_rows_total[10m])) > 0"
    )
    (rejected,) = _by_alert(rules, "SeismoRejectedRequests")
    assert rejected["expr"] == ("sum by (code) (rate(seismo_rejected_requests_total[2m])) > 0.5")
    (latency,) = _by_alert(rules, "SeismoRequestLatencyHigh")
    assert latency["expr"] == (
        "histogram_quantile(0.99, sum by (endpoint, le) "
        "(rate(seismo_request_seconds_bucket[2m]))) > 0.25"
    )
    (delay,) = _by_alert(rules, "SeismoLabelDelayHigh")
    assert delay["expr"].startswith("seismo_label_delay_seconds > 43200 and on(")
    (coverage,) = _by_alert(rules, "SeismoLabelCoverageLow")
    assert coverage["expr"].startswith(
        "seismo_label_coverage < 0.2 and seismo_window_rows >= 50 and on("
    )


def test_selector_reaches_every_series() -> None:
    rules = _rules(EVERY_LIMIT)
    for rule in rules:
        selectors = re.findall(r"\bseismo_\w+(\{[^}]*\})?", rule["expr"])
        assert selectors
        for matchers in selectors:
            assert 'job="seismo", env=~"prod|staging"' in matchers, rule["expr"]


def test_for_durations() -> None:
    rules = _rules(
        PrometheusRuleSettings(for_durations={"SeismoDatasetDrifted": timedelta(seconds=0)})
    )
    fors = {rule["alert"]: rule["for"] for rule in rules}
    assert fors["SeismoDatasetDrifted"] == "0s"
    assert fors["SeismoLabelCoverageLow"] == duration(DEFAULT_FOR["SeismoLabelCoverageLow"])
    assert fors["SeismoMonitorStale"] == "30m"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"performance_limits": {"f2": 0.5}}, "unknown performance metric(s) ['f2']"),
        ({"for_durations": {"Drift": timedelta(1)}}, "unknown alert(s) ['Drift']"),
        ({"psi_warning_above": 0.3, "psi_critical_above": 0.2}, "psi_warning_above"),
        ({"drifted_share_above": 1.5}, "drifted_share_above is a share"),
        ({"selector": '{job="x"}'}, "without braces"),
        ({"window": timedelta(0)}, "window must be a positive duration"),
    ],
)
def test_invalid_settings_name_the_field(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        PrometheusRuleSettings(**settings)


# --- end to end: a real Prometheus evaluates the rules ---------------------------------------


def _exposition() -> str:
    now = time.time()
    window = 'model="m",version="3",segment="all"'
    old = 'model="retired",version="1",segment="all"'
    return "\n".join(
        [
            "# TYPE seismo_performance gauge",
            f'seismo_performance{{{window},metric="f1"}} 0.58',
            # accuracy's estimate is below its 0.9 floor, but its interval reaches above: no alert
            f'seismo_performance{{{window},metric="accuracy"}} 0.88',
            "# TYPE seismo_performance_low gauge",
            f'seismo_performance_low{{{window},metric="f1"}} 0.54',
            f'seismo_performance_low{{{window},metric="accuracy"}} 0.84',
            "# TYPE seismo_performance_high gauge",
            f'seismo_performance_high{{{window},metric="f1"}} 0.62',
            f'seismo_performance_high{{{window},metric="accuracy"}} 0.92',
            # a retired version whose last window, ten days old, was bad: no alert
            f'seismo_performance_high{{{old},metric="f1"}} 0.3',
            "# TYPE seismo_drifted_share gauge",
            f"seismo_drifted_share{{{window}}} 0.6",
            f"seismo_drifted_share{{{old}}} 0.9",
            # "origin" drifted by total variation with a small PSI: the decision alerts;
            # "noise" has a large PSI the engine did not call drift (not significant): no alert
            "# TYPE seismo_feature_drift_psi gauge",
            f'seismo_feature_drift_psi{{{window},feature="origin"}} 0.05',
            f'seismo_feature_drift_psi{{{window},feature="noise"}} 0.4',
            "# TYPE seismo_feature_drifted gauge",
            f'seismo_feature_drifted{{{window},feature="origin"}} 1',
            f'seismo_feature_drifted{{{window},feature="noise"}} 0',
            "# TYPE seismo_feature_drift_severity gauge",
            f'seismo_feature_drift_severity{{{window},feature="origin"}} 1',
            f'seismo_feature_drift_severity{{{window},feature="noise"}} 0',
            "# TYPE seismo_feature_drift_effect_ratio gauge",
            f'seismo_feature_drift_effect_ratio{{{window},feature="origin"}} 1.5',
            f'seismo_feature_drift_effect_ratio{{{window},feature="noise"}} 4',
            "# TYPE seismo_window_start_timestamp_seconds gauge",
            f"seismo_window_start_timestamp_seconds{{{window}}} {now - 3600:.3f}",
            f"seismo_window_start_timestamp_seconds{{{old}}} {now - 10 * 86400:.3f}",
            "",
        ]
    )


def test_real_prometheus_fires_on_the_upper_bound(tmp_path: Path) -> None:
    settings = PrometheusRuleSettings(
        performance_limits={"f1": 0.7, "accuracy": 0.9},
        for_durations={  # fire at once
            "SeismoPerformanceBelowFloor": timedelta(0),
            "SeismoFeatureDriftWarning": timedelta(0),
            "SeismoFeatureDriftCritical": timedelta(0),
        },
    )
    (tmp_path / "rules.yml").write_text(prometheus_rules(settings))
    with serving(_exposition) as target:
        config = (
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files: ['{tmp_path / 'rules.yml'}']\n"
            "scrape_configs:\n  - job_name: seismo\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        with running_prometheus(tmp_path, config) as url:
            deadline = time.monotonic() + 30
            alerts: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                answer = httpx.get(f"{url}/api/v1/alerts", timeout=2).json()
                alerts = answer["data"]["alerts"]
                states = {(a["labels"]["alertname"], a["state"]) for a in alerts}
                if {
                    ("SeismoPerformanceBelowFloor", "firing"),
                    ("SeismoDriftedShareHigh", "pending"),
                    ("SeismoFeatureDriftWarning", "firing"),
                } <= states:
                    break
                time.sleep(0.25)
            else:
                raise AssertionError(f"expected alerts never showed up: {alerts}")

    floor = [a for a in alerts if a["labels"]["alertname"] == "SeismoPerformanceBelowFloor"]
    # f1's interval [0.54, 0.62] lies below 0.7; accuracy's [0.84, 0.92] reaches its 0.9 floor
    # (though its estimate, 0.88, does not); the retired version's window is stale.
    assert len(floor) == 1, floor
    (alert,) = floor
    assert alert["labels"] | {"job": "seismo"} == {
        "alertname": "SeismoPerformanceBelowFloor",
        "severity": "critical",
        "model": "m",
        "version": "3",
        "segment": "all",
        "metric": "f1",
        "job": "seismo",
        "instance": target,
    }
    assert float(alert["value"]) == pytest.approx(0.62)
    assert "0.620" in alert["annotations"]["description"]  # the template was rendered
    assert alert["annotations"]["summary"] == "f1 of model m v3, segment all below 0.7"
    share = [a for a in alerts if a["labels"]["alertname"] == "SeismoDriftedShareHigh"]
    assert [a["labels"]["model"] for a in share] == ["m"]
    assert share[0]["annotations"]["description"].startswith("60% of the tested features")
    drift = [a for a in alerts if a["labels"]["alertname"].startswith("SeismoFeatureDrift")]
    assert [(a["labels"]["alertname"], a["labels"]["feature"]) for a in drift] == [
        ("SeismoFeatureDriftWarning", "origin")
    ]
    assert float(drift[0]["value"]) == pytest.approx(1.5)
    assert "1.5 times its bar" in drift[0]["annotations"]["description"]

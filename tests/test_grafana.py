"""The Grafana dashboard: its layout, that every query selects series seismo exposes and is
PromQL a real Prometheus runs (with data from a real ``seismo serve``), and that the JSON fits
Grafana's own dashboard types (@grafana/schema, checked by the TypeScript compiler).

No Grafana server can be installed here (neither Debian, PyPI nor npm ship one), so importing
the dashboard into Grafana is not tested; the schema check is the closest official check."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from seismo.alerts.prometheus_rules import PrometheusRuleSettings
from seismo.errors import InputError
from seismo.grafana import SCHEMA_VERSION, grafana_dashboard
from tests.alerts.test_prometheus_rules import exposed_metric_names, metric_names
from tests.external import running_prometheus
from tests.external import seismo_serve as serving_seismo
from tests.service.conftest import training_frame

LIMITS = PrometheusRuleSettings(performance_limits={"f1": 0.7, "rmse": 2.0, "bias": 0.1})


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def _targets(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [target for panel in _panels(dashboard) for target in panel["targets"]]


def _variable_selectors(dashboard: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, series selector, label) of each ``label_values(selector, label)`` variable."""
    found = []
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.*), (\w+)\)", variable["query"])
            assert match, variable["query"]
            found.append((variable["name"], match.group(1), match.group(2)))
    return found


@pytest.fixture(params=[None, LIMITS], ids=["defaults", "limits"])
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    return grafana_dashboard(request.param)


def test_dashboard_is_stable_json() -> None:
    dashboard = grafana_dashboard(LIMITS)
    assert json.dumps(dashboard) == json.dumps(grafana_dashboard(LIMITS))
    assert json.loads(json.dumps(dashboard)) == dashboard
    assert dashboard["uid"] == "seismo-monitor"
    assert dashboard["id"] is None  # Grafana assigns it on import
    assert dashboard["schemaVersion"] == SCHEMA_VERSION == 39  # Grafana 10.4 and 11
    assert grafana_dashboard(uid="mine", title="Mine")["uid"] == "mine"
    with pytest.raises(InputError, match="uid"):
        grafana_dashboard(uid="x" * 41)


def test_panel_ids_unique_and_grid_without_overlap(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    occupied: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in occupied, f"{panel['title']} overlaps {occupied[x, y]}"
                occupied[x, y] = panel["title"]
    # laid out top to bottom in list order, so Grafana shows them as listed
    positions = [(p["gridPos"]["y"], p["gridPos"]["x"]) for p in dashboard["panels"]]
    assert positions == sorted(positions)


def test_variables_and_datasource(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert list(variables) == ["datasource", "model", "version", "segment", "metric"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("model", "version", "segment", "metric"):
        assert variables[name]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert [(name, label) for name, _, label in _variable_selectors(dashboard)] == [
        ("model", "model"),
        ("version", "version"),
        ("segment", "segment"),
        ("metric", "metric"),
    ]
    for panel in _panels(dashboard):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_panels_cover_what_seismo_monitors(dashboard: dict[str, Any]) -> None:
    by_title = {panel["title"]: panel for panel in _panels(dashboard)}
    expected = {
        "Feature drift (PSI)": "timeseries",
        "Drifted share of features": "timeseries",
        "Dataset drift verdict": "state-timeline",
        "Dataset drifted": "stat",
        "Performance: $metric": "timeseries",
        "Label coverage": "timeseries",
        "Label delay (mean)": "timeseries",
        "Ingest rate": "timeseries",
        "Rejected requests (4xx)": "timeseries",
        "Request latency": "timeseries",
    }
    assert {title: by_title[title]["type"] for title in expected} == expected
    latency = [t["expr"] for t in by_title["Request latency"]["targets"]]
    assert [expr.split(",")[0] for expr in latency] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.99",
    ]
    assert "rate(seismo_ingested_rows_total" in by_title["Ingest rate"]["targets"][0]["expr"]


def test_thresholds_follow_the_alerting_settings() -> None:
    settings = PrometheusRuleSettings(
        psi_warning_above=0.12, psi_critical_above=0.3, performance_limits={"f1": 0.7}
    )
    by_title = {p["title"]: p for p in _panels(grafana_dashboard(settings))}
    psi = by_title["Feature drift (PSI)"]["fieldConfig"]["defaults"]
    assert [step["value"] for step in psi["thresholds"]["steps"]] == [None, 0.12, 0.3]
    assert psi["custom"]["thresholdsStyle"] == {"mode": "dashed"}
    f1 = by_title["Performance: f1 (limit 0.7)"]["fieldConfig"]["defaults"]
    assert [step["value"] for step in f1["thresholds"]["steps"]] == [None, 0.7]


def test_performance_band_fills_between_the_bounds() -> None:
    for panel in _panels(grafana_dashboard(LIMITS)):
        if not panel["title"].startswith("Performance: "):
            continue
        legends = {t["legendFormat"]: t["expr"] for t in panel["targets"]}
        assert set(legends) == {"estimate", "low", "high"}
        assert "seismo_performance_low{" in legends["low"]
        assert "seismo_performance_high{" in legends["high"]
        overrides = {
            o["matcher"]["options"]: {p["id"]: p.get("value") for p in o["properties"]}
            for o in panel["fieldConfig"]["overrides"]
        }
        assert overrides["high"]["custom.fillBelowTo"] == "low"
        assert overrides["low"]["custom.lineWidth"] == 0


def test_queries_use_only_metrics_seismo_exposes(dashboard: dict[str, Any]) -> None:
    exposed = exposed_metric_names()
    exprs = [target["expr"] for target in _targets(dashboard)]
    exprs += [selector for _, selector, _ in _variable_selectors(dashboard)]
    used = set().union(*(metric_names(expr.replace("$__rate_interval", "1m")) for expr in exprs))
    assert used <= exposed, used - exposed
    assert {
        "seismo_feature_drift_psi",
        "seismo_drifted_share",
        "seismo_dataset_drifted",
        "seismo_performance",
        "seismo_performance_low",
        "seismo_performance_high",
        "seismo_label_coverage",
        "seismo_label_delay_seconds",
        "seismo_ingested_rows_total",
        "seismo_labels_total",
        "seismo_rejected_requests_total",
        "seismo_request_seconds_bucket",
        "seismo_window_rows",
        "seismo_window_start_timestamp_seconds",
    } <= used


# --- every query against a real Prometheus scraping a real seismo serve ----------------------


@pytest.fixture
def seismo_serve(tmp_path: Path) -> Iterator[str]:
    """A real ``seismo serve`` with a shifted, partly labelled window, one rejected request
    and its monitor run: every family on /metrics has samples."""
    with serving_seismo(tmp_path) as base:
        frame = training_frame(400, seed=9)
        frame["mean radius"] += 3.0
        rows = [
            {
                "id": f"p{i}",
                "features": {k: v for k, v in row.items() if k != "malignant"},
                "output": row["malignant"],
                "score": 0.7,
                "timestamp": "2026-05-04T10:00:00Z",
            }
            for i, row in enumerate(frame.to_dict(orient="records"))
        ]
        assert httpx.post(f"{base}/v1/models/m/predictions", json=rows).status_code == 200
        labels = [{"prediction_id": f"p{i}", "label": "yes" if i % 3 else "no"} for i in range(200)]
        assert httpx.post(f"{base}/v1/models/m/labels", json=labels).status_code == 200
        assert httpx.post(f"{base}/v1/models/nope/predictions", json=[]).status_code == 404
        assert httpx.post(f"{base}/v1/monitor/run", timeout=60).json()["windows"] == 1
        yield base


def _metric_with_interval(exposition: str) -> str:
    for line in exposition.splitlines():
        match = re.match(r'seismo_performance_high\{.*metric="(\w+)"', line)
        if match:
            return match.group(1)
    raise AssertionError("the service exposes no performance interval")


def _query(url: str, expr: str) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5)


def test_every_query_runs_on_real_prometheus_and_finds_series(
    seismo_serve: str, tmp_path: Path
) -> None:
    # the service hosts a classifier: limits on classification metrics, one of each direction
    settings = PrometheusRuleSettings(performance_limits={"f1": 0.7, "log_loss": 0.7})
    dashboard = grafana_dashboard(settings)
    metric = _metric_with_interval(httpx.get(f"{seismo_serve}/metrics").text)
    values = {
        "$__rate_interval": "1m",
        "$model": "m",
        "$version": "1",
        "$segment": "all",
        "$metric": metric,
    }

    def substituted(expr: str) -> str:
        for name, value in values.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, expr
        return expr

    exprs = sorted({substituted(target["expr"]) for target in _targets(dashboard)})
    config = (
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n  - job_name: seismo\n    static_configs:\n"
        f"      - targets: ['{seismo_serve.removeprefix('http://')}']\n"
    )
    with running_prometheus(tmp_path, config) as url:
        # the check could fail: an expression Prometheus can't parse is a 400 bad_data
        broken = _query(url, "sum(rate(seismo_labels_total[1m])")
        assert (broken.status_code, broken.json()["errorType"]) == (400, "bad_data")

        empty: list[str] = exprs
        deadline = time.monotonic() + 30
        while empty and time.monotonic() < deadline:
            empty = []
            for expr in exprs:
                answer = _query(url, expr)
                assert answer.status_code == 200, (expr, answer.text)
                assert answer.json()["status"] == "success"
                if not answer.json()["data"]["result"]:
                    empty.append(expr)
            if empty:
                time.sleep(0.5)
        assert not empty, f"queries that found no series: {empty}"

        # each variable's label_values() selector finds the value the panels were run with
        for name, selector, label in _variable_selectors(dashboard):
            answer = _query(url, f"count by ({label}) ({substituted(selector)})").json()
            found = {series["metric"][label] for series in answer["data"]["result"]}
            assert values[f"${name}"] in found, (name, found)


# --- the JSON model against Grafana's published dashboard types ------------------------------

SCHEMA_PACKAGE = "@grafana/schema@11.6.16"
TYPESCRIPT_PACKAGE = "typescript@5.9.3"

# Grafana's dashboard kind and panel plugin options, as the TypeScript types it publishes on
# npm (generated from its CUE schemas). Enums are mapped to their values, as JSON holds them;
# each panel's options and custom field config are checked against its own plugin's types.
_SCHEMA_CHECK = """\
import type { Dashboard, FieldConfigSource, Panel, RowPanel } from '@grafana/schema';
import type * as timeseries from
  '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen.js';
import type * as stat from
  '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen.js';
import type * as statetimeline from
  '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen.js';

type Plain<T> = T extends string
  ? `${T}`
  : T extends number
    ? `${T}` extends `${infer N extends number}` ? N : never
    : T extends boolean | null | undefined
      ? T
      : T extends Array<infer U>
        ? Array<Plain<U>>
        : T extends object
          ? { [K in keyof T]: Plain<T[K]> }
          : T;

type Typed<Name extends string, Options, Custom> =
  Omit<Panel, 'type' | 'options' | 'fieldConfig'> & {
    type: Name;
    options: Options;
    fieldConfig: FieldConfigSource<Custom>;
  };
type SeismoPanel =
  | Typed<'timeseries', timeseries.Options, timeseries.FieldConfig>
  | Typed<'stat', stat.Options, Record<string, unknown>>
  | Typed<'state-timeline', statetimeline.Options, statetimeline.FieldConfig>
  | RowPanel;
type SeismoDashboard = Omit<Dashboard, 'panels'> & { panels: SeismoPanel[] };

export const dashboard: Plain<SeismoDashboard> = DASHBOARD;
"""


@pytest.fixture(scope="module")
def grafana_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with @grafana/schema and the TypeScript compiler installed from npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed for the Grafana schema check")
        pytest.skip("node/npm not installed: Grafana schema check not run")
    folder = tmp_path_factory.mktemp("grafana-schema")
    install = subprocess.run(
        [
            npm,
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--prefix",
            str(folder),
            SCHEMA_PACKAGE,
            TYPESCRIPT_PACKAGE,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        message = f"npm could not install {SCHEMA_PACKAGE}: {install.stderr[-2000:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    (folder / "tsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "strict": True,
                    "noEmit": True,
                    "module": "esnext",
                    "moduleResolution": "bundler",
                    "target": "es2022",
                    "skipLibCheck": True,
                },
                "files": ["check.ts"],
            }
        )
    )
    return folder


def _type_check(folder: Path, dashboard: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    source = _SCHEMA_CHECK.replace("DASHBOARD", json.dumps(dashboard, indent=1))
    (folder / "check.ts").write_text(source)
    compiler = folder / "node_modules" / "typescript" / "bin" / "tsc"
    return subprocess.run(
        ["node", str(compiler), "-p", str(folder / "tsconfig.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dashboard_fits_grafana_schema(grafana_schema: Path, dashboard: dict[str, Any]) -> None:
    result = _type_check(grafana_schema, dashboard)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "value", "error"),
    [
        (["panels", 7, "fieldConfig", "defaults", "custom", "thresholdsStyle", "mode"], "dot", ""),
        (["panels", 7, "options", "tooltip", "sort"], "up", '"up"'),
        (["templating", "list", 1, "refresh"], 7, "'7'"),
        (["panels", 1, "options", "colourMode"], "value", "colourMode"),
        (["schemaVersion"], "39", ""),
    ],
    ids=["enum", "tooltip-sort", "numeric-enum", "unknown-key", "type"],
)
def test_schema_check_catches_mistakes(
    grafana_schema: Path, path: list[Any], value: Any, error: str
) -> None:
    broken = copy.deepcopy(grafana_dashboard())
    holder = broken
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    result = _type_check(grafana_schema, broken)
    assert result.returncode != 0
    assert "error TS" in result.stdout and error in result.stdout

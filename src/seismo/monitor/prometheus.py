"""Prometheus exposition of the monitor's latest windows (a custom collector).

At each scrape the collector reads the latest window summary of every model version and
segment from the store and exposes drift, performance (with interval bounds), label coverage
and delay. Drift is recomputed from a window only when its summary changed (cached by the
summary's update time), so a scrape costs O(windows x bins).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from seismo.drift.result import DriftReport
from seismo.monitor.job import Monitor
from seismo.monitor.results import window_report
from seismo.monitor.windows import WindowState
from seismo.store.base import WindowSummary

log = logging.getLogger("seismo.monitor")

PERFORMANCE_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "mae",
    "rmse",
    "mape",
    "r2",
    "bias",
)


class MonitorCollector(Collector):
    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self._lock = threading.Lock()
        self._cache: dict[
            tuple[str, int, str], tuple[datetime, datetime, DriftReport, WindowState]
        ] = {}

    def _latest(self) -> list[tuple[WindowSummary, DriftReport, WindowState]]:
        store = self.monitor.store
        latest: dict[tuple[str, int, str], WindowSummary] = {}
        for model in sorted({v.model for v in store.list_model_versions()}):
            for summary in store.get_windows(model):
                key = (summary.model, summary.version, summary.segment)
                if key not in latest or summary.start > latest[key].start:
                    latest[key] = summary
        out = []
        with self._lock:
            for key, summary in latest.items():
                cached = self._cache.get(key)
                if cached is None or cached[0] != summary.start or cached[1] != summary.updated_at:
                    state = WindowState.from_bytes(summary.payload)
                    report = window_report(self.monitor, summary, state)
                    cached = (summary.start, summary.updated_at, report, state)
                    self._cache[key] = cached
                out.append((summary, cached[2], cached[3]))
        return out

    def collect(self) -> Iterator[GaugeMetricFamily]:
        base = ["model", "version", "segment"]
        families = {
            "psi": GaugeMetricFamily(
                "seismo_feature_drift_psi",
                "PSI of a feature in the latest window",
                labels=[*base, "feature"],
            ),
            "drifted": GaugeMetricFamily(
                "seismo_feature_drifted",
                "1 when the feature drifted in the latest window",
                labels=[*base, "feature"],
            ),
            "share": GaugeMetricFamily(
                "seismo_drifted_share", "Share of tested features that drifted", labels=base
            ),
            "dataset": GaugeMetricFamily(
                "seismo_dataset_drifted", "1 when the latest window drifted", labels=base
            ),
            "rows": GaugeMetricFamily(
                "seismo_window_rows", "Predictions in the latest window", labels=base
            ),
            "start": GaugeMetricFamily(
                "seismo_window_start_timestamp_seconds", "Start of the latest window", labels=base
            ),
            "coverage": GaugeMetricFamily(
                "seismo_label_coverage",
                "Share of the latest window's predictions with a label",
                labels=base,
            ),
            "delay": GaugeMetricFamily(
                "seismo_label_delay_seconds", "Mean delay from prediction to label", labels=base
            ),
            "performance": GaugeMetricFamily(
                "seismo_performance",
                "Performance metric of the latest window",
                labels=[*base, "metric"],
            ),
            "low": GaugeMetricFamily(
                "seismo_performance_low",
                "Lower confidence bound of a performance metric",
                labels=[*base, "metric"],
            ),
            "high": GaugeMetricFamily(
                "seismo_performance_high",
                "Upper confidence bound of a performance metric",
                labels=[*base, "metric"],
            ),
        }
        try:
            latest = self._latest()
        except Exception:  # a scrape must not fail because of one bad window
            log.exception("collecting monitor metrics failed")
            latest = []
        for summary, report, state in latest:
            labels = [summary.model, str(summary.version), summary.segment or "all"]
            for column in report.columns:
                if column.tested and column.psi is not None:
                    families["psi"].add_metric([*labels, column.column], column.psi)
                    families["drifted"].add_metric([*labels, column.column], float(column.drifted))
            families["share"].add_metric(labels, report.dataset.drifted_share)
            families["dataset"].add_metric(labels, float(report.dataset.drifted))
            families["rows"].add_metric(labels, state.rows)
            families["start"].add_metric(labels, summary.start.timestamp())
            families["coverage"].add_metric(labels, state.label_coverage)
            if state.mean_label_delay is not None:
                families["delay"].add_metric(labels, state.mean_label_delay)
            if state.performance is not None and state.labelled:
                values: dict[str, Any] = state.performance.metrics().to_dict()
                for name in PERFORMANCE_METRICS:
                    estimate = values.get(name)
                    if not isinstance(estimate, dict) or estimate.get("value") is None:
                        continue
                    families["performance"].add_metric([*labels, name], estimate["value"])
                    interval = estimate.get("interval")
                    if interval:
                        families["low"].add_metric([*labels, name], interval["low"])
                        families["high"].add_metric([*labels, name], interval["high"])
        yield from families.values()

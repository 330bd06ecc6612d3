"""Prometheus exposition of the monitor's latest windows (a custom collector).

At each scrape the collector reads, through the :class:`~seismo.monitor.history.WindowHistory`,
the latest window of every model version and segment — and the ``rolling - 1`` windows before
it, for the rolling gauges — and nothing older, so a scrape's cost does not grow with the
history. It exposes drift, performance (with interval bounds), label coverage and delay of the
latest window, and performance over the latest rolling window (the latest ``rolling`` windows
merged: ``monitor.rolling``, for models whose single windows have too few labels). Windows are
decoded, and drift and metrics computed, only when a summary changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from seismo.drift.result import leading_effect
from seismo.monitor.history import Window, WindowHistory
from seismo.performance.metrics import metric_names

log = logging.getLogger("seismo.monitor")


class MonitorCollector(Collector):
    """``rolling``: windows merged into the rolling gauges (``seismo_performance_rolling``...),
    the monitor's ``monitor.rolling``."""

    def __init__(self, history: WindowHistory, rolling: int = 7) -> None:
        if rolling < 1:
            raise ValueError("rolling must be at least 1")
        self.history = history
        self.rolling = rolling

    def _latest(self) -> list[tuple[Window, Window]]:
        """(latest window, latest rolling window) of every model version and segment."""
        out: list[tuple[Window, Window]] = []
        for model in self.history.models():
            try:
                rolled = self.history.latest_rolling(model, self.rolling)
            except Exception:  # one bad model must not hide the others
                log.exception("collecting monitor metrics of model %r failed", model)
                continue
            out.extend((window.newest, window) for window in rolled)
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
                "1 when the feature drifted in the latest window (the drift engine's decision)",
                labels=[*base, "feature"],
            ),
            "ratio": GaugeMetricFamily(
                "seismo_feature_drift_effect_ratio",
                "The feature's leading effect size over its threshold in the latest window "
                "(1 or more: large enough to be drift when significant)",
                labels=[*base, "feature"],
            ),
            "severity": GaugeMetricFamily(
                "seismo_feature_drift_severity",
                "Drift severity of the feature in the latest window: 0 none, 1 moderate, 2 high",
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
            **_performance_families(base, "", "the latest window"),
            "rolling_rows": GaugeMetricFamily(
                "seismo_rolling_window_rows",
                "Predictions in the latest rolling window (the latest monitor.rolling windows)",
                labels=base,
            ),
            "rolling_labelled": GaugeMetricFamily(
                "seismo_rolling_window_labelled",
                "Predictions with a label in the latest rolling window",
                labels=base,
            ),
            "rolling_windows": GaugeMetricFamily(
                "seismo_rolling_windows",
                "Windows merged into the latest rolling window",
                labels=base,
            ),
            **_performance_families(base, "_rolling", "the latest rolling window"),
        }
        try:
            latest = self._latest()
        except Exception:  # a scrape must not fail because of one bad window
            log.exception("collecting monitor metrics failed")
            latest = []
        for window, rolled in latest:
            summary, state = window.summary, window.state
            labels = [summary.model, str(summary.version), summary.segment or "all"]
            try:  # computed once per window summary, then cached by the history
                report = window.report
                _ = window.metrics, rolled.metrics
            except Exception:  # one bad window must not fail the scrape
                log.exception("monitor metrics of %r failed", window)
                continue
            for column in report.columns:
                if not column.tested:
                    continue
                feature = [*labels, column.column]
                if column.psi is not None:
                    families["psi"].add_metric(feature, column.psi)
                families["drifted"].add_metric(feature, float(column.drifted))
                families["severity"].add_metric(feature, float(column.severity.rank))
                leading = leading_effect(column)
                if leading is not None:
                    families["ratio"].add_metric(feature, leading[1])
            families["share"].add_metric(labels, report.dataset.drifted_share)
            families["dataset"].add_metric(labels, float(report.dataset.drifted))
            families["rows"].add_metric(labels, state.rows)
            families["start"].add_metric(labels, summary.start.timestamp())
            families["coverage"].add_metric(labels, state.label_coverage)
            if state.mean_label_delay is not None:
                families["delay"].add_metric(labels, state.mean_label_delay)
            _add_performance(families, "", labels, window)
            families["rolling_rows"].add_metric(labels, rolled.state.rows)
            families["rolling_labelled"].add_metric(labels, rolled.state.labelled)
            families["rolling_windows"].add_metric(labels, rolled.merged)
            _add_performance(families, "_rolling", labels, rolled)
        yield from families.values()


def _performance_families(base: list[str], kind: str, what: str) -> dict[str, GaugeMetricFamily]:
    labels = [*base, "metric"]
    return {
        f"performance{kind}": GaugeMetricFamily(
            f"seismo_performance{kind}", f"Performance metric of {what}", labels=labels
        ),
        f"low{kind}": GaugeMetricFamily(
            f"seismo_performance{kind}_low",
            f"Lower confidence bound of a performance metric of {what}",
            labels=labels,
        ),
        f"high{kind}": GaugeMetricFamily(
            f"seismo_performance{kind}_high",
            f"Upper confidence bound of a performance metric of {what}",
            labels=labels,
        ),
    }


def _add_performance(
    families: dict[str, GaugeMetricFamily], kind: str, labels: list[str], window: Window
) -> None:
    metrics = window.metrics
    if metrics is None:
        return
    values: dict[str, Any] = metrics.to_dict()
    for name in metric_names():
        estimate = values.get(name)
        if not isinstance(estimate, dict) or estimate.get("value") is None:
            continue
        families[f"performance{kind}"].add_metric([*labels, name], estimate["value"])
        interval = estimate.get("interval")
        if interval:
            families[f"low{kind}"].add_metric([*labels, name], interval["low"])
            families[f"high{kind}"].add_metric([*labels, name], interval["high"])

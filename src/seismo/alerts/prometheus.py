"""Prometheus exposition of alerts: what is firing, and how deliveries went."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from seismo.store.base import Store, StoreError

log = logging.getLogger("seismo.alerts")


class AlertCollector(Collector):
    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        firing = GaugeMetricFamily(
            "seismo_alerts_firing",
            "1 for each firing alert",
            labels=["rule", "model", "segment", "severity", "acknowledged"],
        )
        deliveries = CounterMetricFamily(
            "seismo_alert_deliveries",
            "Notifications delivered to sinks, by outcome",
            labels=["sink", "event", "outcome"],
        )
        try:
            for alert in self.store.list_alerts(state="firing"):
                acknowledged = "true" if alert.acknowledged_at is not None else "false"
                firing.add_metric(
                    [alert.rule, alert.model, alert.segment, alert.severity, acknowledged], 1.0
                )
            for kind, outcome in (("delivered", "ok"), ("delivery_failed", "failed")):
                for (sink, event), count in sorted(self.store.count_alert_events(kind).items()):
                    deliveries.add_metric([sink, event, outcome], float(count))
        except StoreError as error:
            log.warning("alert metrics unavailable: %s", error)
        yield firing
        yield deliveries

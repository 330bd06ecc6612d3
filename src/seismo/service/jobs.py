"""One monitor run as every scheduler runs it: the service's schedule and POST
/v1/monitor/run, ``seismo monitor run`` (cron) and the Airflow DAGs."""

from __future__ import annotations

from collections.abc import Sequence

from seismo.alerts import Alerting, Outcome, alerts_config
from seismo.monitor import Monitor, WindowHistory
from seismo.monitor.job import RunReport
from seismo.service.config import ServiceSettings, monitor_config
from seismo.store import open_store


def run_counts(report: RunReport, outcome: Outcome) -> dict[str, int]:
    """What a run did, as numbers: new predictions and label changes read, windows rebuilt,
    alerts opened and resolved, notifications sent and deliveries that failed."""
    return {
        "windows": len(report.windows),
        "predictions_read": report.predictions_read,
        "label_changes_read": report.label_changes_read,
        "alerts_opened": len(outcome.opened),
        "alerts_resolved": len(outcome.resolved),
        "notifications": len(outcome.notifications),
        "failed_deliveries": sum(not delivery.ok for delivery in outcome.deliveries),
    }


def describe_counts(counts: dict[str, int]) -> str:
    text = (
        f"monitor: {counts['predictions_read']} new predictions, "
        f"{counts['label_changes_read']} label changes, {counts['windows']} windows updated; "
        f"alerts: {counts['alerts_opened']} opened, {counts['alerts_resolved']} resolved, "
        f"{counts['notifications']} notifications"
    )
    if counts["failed_deliveries"]:
        text += f", {counts['failed_deliveries']} deliveries failed"
    return text


def run_monitor_once(
    settings: ServiceSettings, source: str, models: Sequence[str] | None = None
) -> dict[str, int]:
    """Process the new predictions and labels, then decide the alert rules and deliver."""
    monitor_settings, _ = monitor_config(settings.monitor)
    alert_settings = alerts_config(settings.alerts, source)
    store = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
    try:
        monitor = Monitor(store, monitor_settings)
        report = monitor.run(models)
        history = WindowHistory(store, monitor_settings.window)
        outcome = Alerting(history, alert_settings).run(models=models)
    finally:
        store.close()
    return run_counts(report, outcome)

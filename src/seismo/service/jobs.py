"""One monitor run as every scheduler runs it: the service's schedule and POST
/v1/monitor/run, ``seismo monitor run`` (cron) and the Airflow DAGs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seismo.alerts import Outcome
from seismo.monitor.job import RunReport
from seismo.service.config import ServiceSettings
from seismo.service.state import monitoring
from seismo.store import open_store


def run_counts(report: RunReport, outcome: Outcome) -> dict[str, Any]:
    """What a run did, as numbers: new predictions and label changes read, windows rebuilt,
    windows that failed to build (``errors`` says which and why), alerts opened and resolved,
    notifications sent and deliveries that failed."""
    return {
        "windows": len(report.windows),
        "predictions_read": report.predictions_read,
        "label_changes_read": report.label_changes_read,
        "window_errors": len(report.errors),
        "alerts_opened": len(outcome.opened),
        "alerts_resolved": len(outcome.resolved),
        "notifications": len(outcome.notifications),
        "failed_deliveries": sum(not delivery.ok for delivery in outcome.deliveries),
        "errors": [
            {
                "model": error.model,
                "version": error.version,
                "window_start": error.start.isoformat(),
                "message": error.message,
            }
            for error in report.errors
        ],
    }


def describe_counts(counts: dict[str, Any]) -> str:
    text = (
        f"monitor: {counts['predictions_read']} new predictions, "
        f"{counts['label_changes_read']} label changes, {counts['windows']} windows updated"
    )
    if counts["window_errors"]:
        text += f", {counts['window_errors']} windows failed (recorded; retried by every run)"
    text += (
        f"; alerts: {counts['alerts_opened']} opened, {counts['alerts_resolved']} resolved, "
        f"{counts['notifications']} notifications"
    )
    if counts["failed_deliveries"]:
        text += f", {counts['failed_deliveries']} deliveries failed"
    return text


class MonitorBusy(Exception):
    """Another monitor run holds the lease; this one did nothing."""


def run_monitor_once(
    settings: ServiceSettings, source: str, models: Sequence[str] | None = None
) -> dict[str, Any]:
    """Process the new predictions and labels, then decide the alert rules and deliver."""
    store = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
    try:
        wired = monitoring(store, settings, source)
        report = wired.monitor.run(models)
        if report.busy:
            raise MonitorBusy(f"{report.busy} is in progress on this store; nothing was done")
        outcome = wired.alerting.run(models=models)
    finally:
        store.close()
    return run_counts(report, outcome)

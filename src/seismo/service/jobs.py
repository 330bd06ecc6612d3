"""One monitor run as every scheduler runs it: the service's schedule and POST
/v1/monitor/run, ``seismo monitor run`` (cron) and the Airflow DAGs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seismo.alerts import Alerting, Outcome
from seismo.config import SeismoConfig
from seismo.loop.runner import LoopRun
from seismo.monitor.job import RunReport
from seismo.service.config import ServiceSettings
from seismo.service.state import monitoring
from seismo.store import Store, open_store


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
        counts = run_counts(report, outcome)
        if settings.loop.enabled:
            counts["loop"] = loop_counts(
                run_loop_with(store, settings, wired.alerting, list(models) if models else None)
            )
    finally:
        store.close()
    return counts


def run_lake_once(
    settings: SeismoConfig,
    source: str,
    model: str,
    predictions: str,
    labels: str | None,
    *,
    version: int | None = None,
    master: str | None = None,
    full: bool = False,
    columns: Any = None,
) -> dict[str, Any]:
    """The monitor over a data lake on Spark (``seismo monitor run --engine spark``), then the
    alert rules and the loop, as :func:`run_monitor_once` runs them after the service's."""
    from seismo.spark import session
    from seismo.spark.lake import monitor_lake

    spark = session(master)
    store = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
    try:
        wired = monitoring(store, settings, source)
        run = monitor_lake(
            store,
            model,
            predictions,
            labels,
            settings=wired.monitor.settings,
            version=version,
            spark=spark,
            full=full,
            columns=columns,
        )
        if run.busy:
            raise MonitorBusy(f"{run.busy} is in progress on this store; nothing was done")
        outcome = wired.alerting.run(models=[model])
        counts = run_counts(run, outcome)
        counts["rebuilt"] = "every window" if run.full else "new files' windows"
        if settings.loop.enabled:
            counts["loop"] = loop_counts(run_loop_with(store, settings, wired.alerting, [model]))
    finally:
        store.close()
    return counts


def run_loop_with(
    store: Store,
    settings: SeismoConfig,
    alerting: Alerting,
    models: list[str] | None = None,
) -> LoopRun:
    """One turn of the closed loop, its decisions notified through the alert sinks."""
    from seismo.loop.notify import notifier
    from seismo.loop.runner import run_loop

    return run_loop(store, settings, alerting=alerting, models=models, notify=notifier(alerting))


def run_loop_once(
    settings: SeismoConfig, source: str, models: Sequence[str] | None = None
) -> dict[str, Any]:
    """The loop alone, on the store's current windows and alerts (``seismo loop run``)."""
    store = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
    try:
        wired = monitoring(store, settings, source)
        result = run_loop_with(store, settings, wired.alerting, list(models) if models else None)
    finally:
        store.close()
    return loop_counts(result)


def loop_counts(result: LoopRun) -> dict[str, Any]:
    return {
        "skipped": result.skipped,
        "decisions": [
            {
                "seq": d.seq,
                "model": d.model,
                "kind": d.kind,
                "outcome": d.outcome,
                "version": d.version,
                "summary": d.summary,
            }
            for d in result.decisions
        ],
        "errors": result.errors,
    }

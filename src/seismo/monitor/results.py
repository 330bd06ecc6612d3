"""Series of drift, performance and quality results over windows, as JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from seismo.drift.engine import compare_profiles
from seismo.drift.result import DriftReport
from seismo.monitor.job import Monitor
from seismo.monitor.windows import WindowState
from seismo.store.base import WindowSummary


def _windows(
    monitor: Monitor,
    model: str,
    start: datetime | None,
    end: datetime | None,
    segment: str,
    rolling: int,
) -> list[tuple[WindowSummary, WindowState]]:
    """Windows in [start, end); with ``rolling`` > 1 each state is merged with the
    ``rolling - 1`` windows before it (same version and segment)."""
    reach = None if start is None else start - monitor.settings.window * max(rolling - 1, 0)
    summaries = monitor.store.get_windows(model, start=reach, end=end, segment=segment)
    decoded = [(s, WindowState.from_bytes(s.payload)) for s in summaries]
    out = []
    for index, (summary, state) in enumerate(decoded):
        if start is not None and summary.start < start:
            continue
        merged = state
        if rolling > 1:
            earliest = summary.start - monitor.settings.window * (rolling - 1)
            for other, other_state in decoded[:index]:
                if other.version == summary.version and other.start >= earliest:
                    merged = merged.merge(other_state)
        out.append((summary, merged))
    return out


def window_report(monitor: Monitor, summary: WindowSummary, state: WindowState) -> DriftReport:
    _, reference = monitor.version(summary.model, summary.version)
    return compare_profiles(
        reference,
        state.profile,
        reference_name=f"{summary.model} v{summary.version} reference",
        current_name=f"{summary.model} {summary.start:%Y-%m-%d %H:%M} window"
        + (f" ({summary.segment})" if summary.segment else ""),
    )


def _head(summary: WindowSummary, state: WindowState) -> dict[str, Any]:
    return {
        "start": summary.start.isoformat(),
        "end": summary.end.isoformat(),
        "version": summary.version,
        "segment": summary.segment,
        "rows": state.rows,
    }


def _series(
    monitor: Monitor,
    model: str,
    start: datetime | None,
    end: datetime | None,
    segment: str,
    rolling: int,
    entry: Callable[[WindowSummary, WindowState], dict[str, Any]],
) -> list[dict[str, Any]]:
    return [
        {**_head(summary, state), **entry(summary, state)}
        for summary, state in _windows(monitor, model, start, end, segment, rolling)
    ]


def drift_series(
    monitor: Monitor,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    segment: str = "",
    rolling: int = 1,
) -> list[dict[str, Any]]:
    """Per window: the dataset verdict and each feature's effects, p-value and decision."""

    def entry(summary: WindowSummary, state: WindowState) -> dict[str, Any]:
        report = window_report(monitor, summary, state)
        features = {
            c.column: {
                "psi": c.psi,
                "jensen_shannon": c.jensen_shannon,
                "total_variation": c.total_variation,
                "wasserstein_normalized": c.wasserstein_normalized,
                "p_value_adjusted": c.p_value_adjusted,
                "threshold": c.threshold,
                "effects": [effect.to_dict() for effect in c.effects],
                "drifted": c.drifted,
                "severity": c.severity.value,
                "tested": c.tested,
            }
            for c in report.columns
        }
        return {"dataset": report.dataset.to_dict(), "features": features}

    return _series(monitor, model, start, end, segment, rolling, entry)


def performance_series(
    monitor: Monitor,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    segment: str = "",
    rolling: int = 1,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Per window: label coverage and delay, and the metrics with their intervals."""

    def entry(_: WindowSummary, state: WindowState) -> dict[str, Any]:
        metrics = None
        if state.performance is not None and state.labelled:
            metrics = state.performance.metrics(confidence).to_dict()
        return {
            "labelled": state.labelled,
            "label_coverage": state.label_coverage,
            "mean_label_delay_seconds": state.mean_label_delay,
            "metrics": metrics,
        }

    return _series(monitor, model, start, end, segment, rolling, entry)


def quality_series(
    monitor: Monitor,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    segment: str = "",
    rolling: int = 1,
) -> list[dict[str, Any]]:
    """Per window: the data-quality anomalies against the reference."""

    def entry(summary: WindowSummary, state: WindowState) -> dict[str, Any]:
        report = window_report(monitor, summary, state)
        return {"anomalies": [a.to_dict() for a in report.anomalies]}

    return _series(monitor, model, start, end, segment, rolling, entry)

"""Series of drift, performance and quality results over windows, as JSON-ready dicts (read
through the monitor's :class:`~seismo.monitor.history.WindowHistory`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from seismo.drift.result import ColumnDrift, leading_effect
from seismo.monitor.history import Window, WindowHistory


def _head(window: Window) -> dict[str, Any]:
    summary = window.summary
    return {
        "start": summary.start.isoformat(),
        "end": summary.end.isoformat(),
        "version": summary.version,
        "segment": summary.segment,
        "rows": window.state.rows,
    }


def _series(
    history: WindowHistory,
    model: str,
    start: datetime | None,
    end: datetime | None,
    segment: str,
    rolling: int,
    entry: Callable[[Window], dict[str, Any]],
) -> list[dict[str, Any]]:
    """One entry per window in [start, end); with ``rolling`` > 1 each window is merged with
    the ``rolling - 1`` windows before it (same version and segment)."""
    return [
        {**_head(window), **entry(window)}
        for window in history.rolling(model, rolling, start=start, end=end, segment=segment)
    ]


def drift_series(
    history: WindowHistory,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    segment: str = "",
    rolling: int = 1,
) -> list[dict[str, Any]]:
    """Per window: the dataset verdict and each feature's effects, p-value and decision, and
    its leading effect (the one furthest along to its bar) with ``effect_ratio`` = its value
    over its bar."""

    def entry(window: Window) -> dict[str, Any]:
        report = window.report
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
                **_feature(c),
            }
            for c in report.columns
        }
        return {"dataset": report.dataset.to_dict(), "features": features}

    return _series(history, model, start, end, segment, rolling, entry)


def _feature(column: ColumnDrift) -> dict[str, Any]:
    leading = leading_effect(column)
    if leading is None:
        return {"leading_effect": None, "effect_ratio": None}
    return {"leading_effect": leading[0].name, "effect_ratio": leading[1]}


def performance_series(
    history: WindowHistory,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    segment: str = "",
    rolling: int = 1,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Per window: label coverage and delay, and the metrics with their intervals."""

    def entry(window: Window) -> dict[str, Any]:
        state = window.state
        metrics = window.metrics_at(confidence)
        return {
            "labelled": state.labelled,
            "label_coverage": state.label_coverage,
            "mean_label_delay_seconds": state.mean_label_delay,
            "metrics": None if metrics is None else metrics.to_dict(),
        }

    return _series(history, model, start, end, segment, rolling, entry)


def quality_series(
    history: WindowHistory,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    segment: str = "",
    rolling: int = 1,
) -> list[dict[str, Any]]:
    """Per window: the data-quality anomalies against the reference."""

    def entry(window: Window) -> dict[str, Any]:
        return {"anomalies": [a.to_dict() for a in window.report.anomalies]}

    return _series(history, model, start, end, segment, rolling, entry)

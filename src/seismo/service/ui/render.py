"""Formatting for the UI's templates, and the charts of a model page (drawn by
:mod:`.charts` from what :mod:`.views` read)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

import numpy as np
from markupsafe import Markup

from seismo.service.ui import charts
from seismo.service.ui.views import ModelPage

#: Chart geometry shared by a model page's time charts (they line up on one time axis).
WIDTH: Final = 960.0
LEFT: Final = 170.0
RIGHT: Final = 60.0


def num(value: Any, digits: int = 3) -> str:
    """A number for people: ``digits`` significant digits, thousands separated; — for none."""
    if value is None:
        return "—"
    number = float(value)
    if not math.isfinite(number):
        return "—"
    if number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    if abs(number) >= 10**digits:
        return f"{number:,.0f}"
    return f"{number:.{digits}g}"


def pct(value: Any) -> str:
    if value is None or not math.isfinite(float(value)):
        return "—"
    return f"{100 * float(value):.1f}%"


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.hour == value.minute == value.second == 0:
        return f"{value:%Y-%m-%d}"
    return f"{value:%Y-%m-%d %H:%M}"


def iso(value: datetime) -> str:
    """A window start as it appears in URLs."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: Any) -> str:
    if seconds is None or not math.isfinite(float(seconds)):
        return "—"
    value = float(seconds)
    if value >= 2 * 86400:
        return f"{value / 86400:.1f} d"
    if value >= 2 * 3600:
        return f"{value / 3600:.1f} h"
    if value >= 120:
        return f"{value / 60:.0f} min"
    return f"{value:.0f} s"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def window_href(
    model: str,
    start: datetime,
    segment: str = "",
    version: int | None = None,
    feature: str | None = None,
) -> str:
    query = {
        key: value
        for key, value in (
            ("segment", segment),
            ("version", "" if version is None else str(version)),
            ("feature", feature or ""),
        )
        if value
    }
    tail = f"?{urlencode(query)}" if query else ""
    return f"/ui/models/{quote(model, safe='')}/windows/{iso(start)}{tail}"


def model_href(model: str, **query: Any) -> str:
    kept = {k: v for k, v in query.items() if v not in (None, "")}
    tail = f"?{urlencode(kept)}" if kept else ""
    return f"/ui/models/{quote(model, safe='')}{tail}"


def _day(value: Any) -> str:
    return str(value)[:10] if value else "?"


def lineage_lines(lineage: dict[str, Any]) -> list[str]:
    """Where a version came from, in sentences (the JSON is shown beside them)."""
    lines = []
    training = lineage.get("training")
    if isinstance(training, dict):
        sources = training.get("sources") or {}
        parts = [f"{num(count)} {name.replace('_', ' ')}" for name, count in sources.items()]
        lines.append(
            f"trained on {num(training.get('rows'))} rows"
            + (f" ({' + '.join(parts)})" if len(parts) > 1 else "")
            + f" from {_day(training.get('start'))} to {_day(training.get('end'))}"
            + (f" by {training['trainer']}" if training.get("trainer") else "")
        )
    excluded = lineage.get("excluded")
    if isinstance(excluded, list) and excluded:
        lines.append(f"left out {len(excluded)} window(s) diagnosed as a pipeline error")
    holdout = lineage.get("holdout")
    if isinstance(holdout, dict):
        lines.append(
            f"validated on {num(holdout.get('rows'))} held-out rows from "
            f"{_day(holdout.get('start'))} to {_day(holdout.get('end'))}"
        )
    validation = lineage.get("validation")
    if isinstance(validation, dict):
        verdict = "passed" if validation.get("passed") else "failed"
        lines.append(
            f"validation {verdict}: {validation.get('metric')} "
            f"{num(validation.get('challenger'), 4)} vs {num(validation.get('champion'), 4)} "
            f"({validation.get('test')}, "
            f"p = {num(validation.get('p_value'), 2)})"
        )
    trigger = lineage.get("trigger")
    if isinstance(trigger, dict) and trigger.get("summary"):
        lines.append(f"triggered by decision #{trigger.get('decision')}: {trigger['summary']}")
    sample = lineage.get("training_sample")
    if isinstance(sample, dict):
        lines.append(f"keeps a sample of {num(sample.get('rows'))} training rows for retrains")
    for key in ("promoted", "rolled_back", "retired"):
        event = lineage.get(key)
        if isinstance(event, dict):
            lines.append(
                f"{key.replace('_', ' ')} by {event.get('by', '?')} on {_day(event.get('at'))}"
                + (f": {event['reason']}" if event.get("reason") else "")
            )
    return lines


FILTERS: Final[dict[str, Any]] = {
    "num": num,
    "pct": pct,
    "when": when,
    "iso": iso,
    "duration": duration,
    "pretty": pretty,
    "q": lambda value: quote(str(value), safe=""),
    "lineage": lineage_lines,
}


def legend() -> list[tuple[str, str]]:
    """The heatmap's colour classes and what each means."""
    edges = list(charts.RATIO_BINS)
    out = []
    for k, low in enumerate(edges):
        high = edges[k + 1] if k + 1 < len(edges) else None
        label = f"{num(low, 2)}–{num(high, 2)}" if high is not None else f"≥ {num(low, 2)}"
        out.append((charts.ratio_class(low), label))
    out.append(("na", "not tested"))
    return out


def sparkline(
    values: Sequence[float], lows: Sequence[float], highs: Sequence[float], title: str
) -> Markup:
    if not values:
        return Markup("")
    return charts.sparkline(
        np.asarray(values, dtype=np.float64),
        lower=np.asarray(lows, dtype=np.float64),
        upper=np.asarray(highs, dtype=np.float64),
        title=title,
    )


def model_charts(page: ModelPage) -> dict[str, Markup]:
    """The model page's charts on one time axis: drift heatmap, the metric with its interval,
    thresholds and events, volume, label coverage and delay."""
    axis = charts.TimeAxis(page.start, page.end, WIDTH, LEFT, RIGHT, step=page.length)
    starts = page.starts
    out: dict[str, Markup] = {}
    out["heatmap"] = charts.heatmap(
        page.features,
        starts,
        page.ratios,
        page.drifted,
        axis=axis,
        title=f"Drift of {page.name}'s features per window (leading effect over its bar)",
    )
    thresholds = []
    for threshold in page.thresholds:
        if threshold.side in ("below", "both"):
            thresholds.append(
                charts.Threshold(f"{threshold.rule} (lower)", values=threshold.lower, kind="lower")
            )
        if threshold.side in ("above", "both"):
            thresholds.append(
                charts.Threshold(f"{threshold.rule} (upper)", values=threshold.upper, kind="upper")
            )
    events = [charts.Event(e.at, e.kind, e.label, e.href) for e in page.events]
    hrefs = [window_href(page.name, s, page.query.segment, page.query.version) for s in starts]
    out["performance"] = charts.timeseries(
        starts,
        page.values,
        page.lows,
        page.highs,
        axis=axis,
        y_label=page.metric,
        title=f"{page.metric} per window with its 95% confidence interval",
        thresholds=thresholds,
        events=events,
        points_href=hrefs,
    )
    rows = page.column("rows")
    finite = rows[np.isfinite(rows)]
    usual = float(np.median(finite)) if finite.size else None
    band = (
        (float(np.quantile(finite, 0.05)), float(np.quantile(finite, 0.95)))
        if finite.size >= 10
        else None
    )
    out["volume"] = charts.bars(
        starts,
        rows,
        axis=axis,
        title="Predictions per window",
        y_label="rows",
        usual=usual,
        usual_band=band,
    )
    out["coverage"] = charts.timeseries(
        starts,
        page.column("coverage"),
        None,
        None,
        axis=axis,
        height=120,
        y_label="labelled share",
        title="Share of each window's predictions with a label",
        y_domain=(0.0, 1.0),
    )
    out["delay"] = charts.timeseries(
        starts,
        page.column("delay"),
        None,
        None,
        axis=axis,
        height=120,
        y_label="hours",
        title="Mean delay from prediction to label (hours)",
    )
    return out

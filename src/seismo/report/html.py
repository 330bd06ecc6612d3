"""DriftReport -> one self-contained HTML page.

The page needs nothing but itself: CSS and a little JavaScript are inline, charts are inline SVG
drawn here from :mod:`seismo.report.figures`, and a Content-Security-Policy forbids every
request (only the page's own script, identified by its hash, may run). Column names and
category labels are user data: the template autoescapes them and the SVG code escapes them.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import jinja2
import numpy as np
from markupsafe import Markup, escape

from seismo._version import __version__
from seismo.drift.quality import Anomaly
from seismo.drift.result import ColumnDrift, ColumnSummary, DriftReport, Effect
from seismo.profile.grid import OTHER
from seismo.report.figures import Bars, Histogram, figure_for
from seismo.schema.types import Kind, Role

__all__ = ["render_diagnosis_html", "render_html"]

METHODS = {"ks": "KS", "chi2": "χ²", "ztest": "z-test"}
STATISTICS = {"ks": "D", "chi2": "χ²", "ztest": "z"}
EFFECTS = {
    "psi": "PSI",
    "jensen_shannon": "JS distance",
    "total_variation": "TV",
    "wasserstein_normalized": "W/σ",
}
ROLE_ORDER = (Role.PREDICTION, Role.SCORE, Role.TARGET)
#: Columns whose details are shown open when the report is small.
OPEN_ALL_UP_TO = 12
#: Charts are not drawn for these kinds: every value is different.
NO_CHART = (Kind.ID,)

# Chart geometry (SVG user units; the charts scale down with the page).
_W = 560
_H = 216
_LEFT = 46
_RIGHT = 10
_TOP = 10
_BOTTOM = 40
_SIDE_SLOT = 20
_SIDE_GAP = 10
_LABEL_W = 150
_VALUE_W = 104
_ROW = 20


# ---------------------------------------------------------------------------------------------
# View model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stat:
    name: str
    reference: str
    current: str


@dataclass(frozen=True, slots=True)
class _Row:
    """One line of the summary table (and the header of the column's card)."""

    anchor: str
    name: str
    kind: str
    role: str
    tested: bool
    reason: str
    method: str
    p_value: str
    p_raw: str
    effect_name: str  # the leading effect: the one furthest over (or nearest to) its bar
    effect: str
    threshold: str
    threshold_source: str
    meter_fill: float
    meter_tick: float
    metric: str
    wasserstein: str
    drifted: bool
    severity: str
    severity_label: str
    order: int
    sort_p: str
    sort_effect: str
    sort_metric: str
    sort_wasserstein: str


@dataclass(frozen=True, slots=True)
class _Card:
    row: _Row
    decision: str
    statistics: tuple[str, ...]
    chart: Markup | None
    chart_note: str
    stats: tuple[_Stat, ...]
    top: tuple[_Stat, ...]
    anomalies: tuple[Anomaly, ...]
    open: bool


@dataclass(frozen=True, slots=True)
class _ModelItem:
    role: str
    row: _Row


@dataclass(frozen=True, slots=True)
class _FindingView:
    cause: str
    kind: str
    columns: str
    summary: str
    evidence: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class _DiagnosisView:
    cause: str
    action: str
    confidence: str
    summary: str
    severity: str  # the verdict's colour: high for a pipeline error, moderate for drift
    findings: tuple[_FindingView, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _DiagnosisPage:
    title: str
    reference_name: str
    current_name: str
    generated: str
    version: str
    csp: str
    css: Markup
    diagnosis: _DiagnosisView


@dataclass(frozen=True, slots=True)
class _Page:
    title: str
    reference_name: str
    current_name: str
    reference_rows: str
    current_rows: str
    drifted: bool
    severity: str
    verdict: str
    verdict_detail: str
    features_line: str
    policy: str
    generated: str
    version: str
    metric_label: str
    rows: tuple[_Row, ...]
    cards: tuple[_Card, ...]
    model: tuple[_ModelItem, ...]
    anomalies: tuple[Anomaly, ...]
    anomaly_anchors: dict[str, str]
    anomaly_counts: str
    csp: str
    css: Markup
    script: Markup
    kpis: tuple[tuple[str, str, str], ...]
    diagnosis: _DiagnosisView | None = None


def render_html(
    report: DriftReport,
    *,
    generated: datetime | None = None,
    diagnosis: Mapping[str, object] | None = None,
) -> str:
    """Render a drift report as one self-contained HTML page.

    Parameters
    ----------
    report : DriftReport
        The result of :func:`seismo.compare`.
    generated : datetime, optional
        Time stamp printed in the page (default: now, UTC).
    diagnosis : mapping, optional
        A diagnosis of the change (``Diagnosis.to_dict()``), shown in its own section.

    Returns
    -------
    str
        The HTML document. It opens offline: it loads nothing and sends no request.
    """
    template = _environment().get_template("report.html.j2")
    page = _page(report, generated or datetime.now(UTC))
    if diagnosis is not None:
        page = dataclasses.replace(page, diagnosis=_diagnosis_view(diagnosis))
    return template.render(page=page)


def render_diagnosis_html(
    diagnosis: Mapping[str, object],
    *,
    reference_name: str = "reference",
    current_name: str = "current",
    generated: datetime | None = None,
) -> str:
    """Render a diagnosis (``Diagnosis.to_dict()``) as one self-contained HTML page, styled
    as the drift report (it loads nothing and runs no script)."""
    page = _DiagnosisPage(
        title=f"Diagnosis: {reference_name} → {current_name}",
        reference_name=reference_name,
        current_name=current_name,
        generated=(generated or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        csp="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        css=Markup(_asset("report.css")),
        diagnosis=_diagnosis_view(diagnosis),
    )
    return _environment().get_template("diagnosis.html.j2").render(page=page)


_CAUSE_SEVERITY = {
    "pipeline_error": "high",
    "concept_drift": "high",
    "covariate_drift": "moderate",
    "prior_shift": "moderate",
    "none": "ok",
}


def _diagnosis_view(diagnosis: Mapping[str, object]) -> _DiagnosisView:
    findings = diagnosis.get("findings") or []
    notes = diagnosis.get("notes") or []
    confidence = diagnosis.get("confidence")
    cause = str(diagnosis.get("cause", ""))
    return _DiagnosisView(
        cause=cause,
        action=str(diagnosis.get("action", "")),
        confidence=f"{confidence:.2f}" if isinstance(confidence, int | float) else "—",
        summary=str(diagnosis.get("summary", "")),
        severity=_CAUSE_SEVERITY.get(cause, "none"),
        findings=tuple(_finding_view(f) for f in findings if isinstance(f, Mapping))
        if isinstance(findings, list)
        else (),
        notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (),
    )


def _finding_view(finding: Mapping[str, object]) -> _FindingView:
    evidence = finding.get("evidence")
    columns = finding.get("columns")
    return _FindingView(
        cause=str(finding.get("cause", "")),
        kind=str(finding.get("kind", "")),
        columns=", ".join(str(c) for c in columns) if isinstance(columns, list) else "",
        summary=str(finding.get("summary", "")),
        evidence=tuple((str(key), _evidence_value(value)) for key, value in evidence.items())
        if isinstance(evidence, Mapping)
        else (),
    )


def _evidence_value(value: object) -> str:
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("seismo.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _asset(name: str) -> str:
    loader = _environment().loader
    assert loader is not None
    source, _, _ = loader.get_source(_environment(), name)
    return source.strip()


def _page(report: DriftReport, generated: datetime) -> _Page:
    config = report.config
    dataset = report.dataset
    ordered = report.by_severity()
    anchors = {result.column: f"col-{i}" for i, result in enumerate(report.columns)}
    rows = {
        result.column: _row(result, anchors[result.column], order, report)
        for order, result in enumerate(ordered)
    }
    by_column: dict[str, list[Anomaly]] = {}
    for anomaly in report.anomalies:
        if anomaly.column is not None:
            by_column.setdefault(anomaly.column, []).append(anomaly)
    open_all = len(report.columns) <= OPEN_ALL_UP_TO
    cards = tuple(
        _card(report, result, rows[result.column], by_column.get(result.column, ()), open_all)
        for result in ordered
    )
    model = tuple(
        _ModelItem(result.role.value, rows[result.column])
        for role in ROLE_ORDER
        for result in report.columns
        if result.role is role
    )
    anomalies = tuple(sorted(report.anomalies, key=lambda a: -a.level.rank))
    levels = [a.level.value for a in anomalies]
    counts = ", ".join(
        f"{levels.count(level)} {level}{'s' if levels.count(level) != 1 else ''}"
        for level in ("error", "warning", "info")
        if level in levels
    )

    tested = dataset.features_tested
    features_line = (
        f"{dataset.features_drifted} of {tested} feature{'s' if tested != 1 else ''} drifted "
        f"({_share(dataset.drifted_share)})"
    )
    if dataset.features > tested:
        features_line += f"; {dataset.features - tested} not tested"
    if dataset.drifted:
        verdict = "Drift detected"
        detail = f"{dataset.severity.value} severity"
    elif dataset.features_drifted:
        verdict = "No dataset drift"
        detail = f"drifted share within the allowed {_share(config.drift_share)}"
    else:
        verdict = "No drift detected"
        detail = "no feature drifted" if tested else "no feature could be tested"

    script = _asset("report.js")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )
    kpis = (
        (
            "Features drifted",
            f"{dataset.features_drifted} / {tested}",
            _share(dataset.drifted_share),
        ),
        ("Reference rows", _count(dataset.reference_rows), report.reference_name),
        ("Current rows", _count(dataset.current_rows), report.current_name),
        ("Data-quality findings", _count(len(anomalies)), counts or "none"),
    )
    return _Page(
        title=f"Drift report: {report.reference_name} → {report.current_name}",
        reference_name=report.reference_name,
        current_name=report.current_name,
        reference_rows=_count(dataset.reference_rows),
        current_rows=_count(dataset.current_rows),
        drifted=dataset.drifted,
        severity=dataset.severity.value if dataset.drifted else "ok",
        verdict=verdict,
        verdict_detail=detail,
        features_line=features_line,
        policy=_policy(report),
        generated=generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        metric_label="JS" if config.effect == "psi" else "PSI",
        rows=tuple(rows[result.column] for result in ordered),
        cards=cards,
        model=model,
        anomalies=anomalies,
        anomaly_anchors=anchors,
        anomaly_counts=counts,
        csp=csp,
        css=Markup(_asset("report.css")),
        script=Markup(script),
        kpis=kpis,
    )


def _policy(report: DriftReport) -> str:
    config = report.config
    tests = ", ".join(
        f"{METHODS.get(test, test)} ({kind.value})" for kind, test in config.tests.items()
    )
    numeric = config.effects_for(numeric=True)
    labels = [EFFECTS.get(name, name) for name in numeric]
    floors = ", ".join(
        f"{label} floor {_effect(config.floor_of(name))}"
        + (" (numeric)" if name == "wasserstein_normalized" else "")
        for name, label in zip(numeric, labels, strict=True)
    )
    if config.thresholds == "calibrated":
        levels = sorted(
            {config.calibration_level(len(config.effects_for(kind))) for kind in (True, False)}
        )
        level = " / ".join(f"{_number(value * 100)}th" for value in levels)
        threshold = (
            f"each bar the larger of its floor and its noise level at these sizes ({level} "
            f"percentile under no drift: {_count(config.bootstrap)} reference resamples, the "
            f"large-sample law of W for W/σ) · {floors}"
        )
    else:
        threshold = f"static thresholds · {floors}"
    large = f"large when {' or '.join(labels)} reaches its bar"
    high = " or ".join(
        f"{label} ≥ {_effect(config.high_of(name))}"
        for name, label in zip(numeric, labels, strict=True)
    )
    high = f"high severity at {high}"
    dataset = (
        "dataset drifted when any tested feature drifts"
        if config.drift_share == 0
        else f"dataset drifted when more than {_share(config.drift_share)} of tested features drift"
    )
    return (
        f"drifted = significant and large · {tests} at α = {_number(config.alpha)} with "
        f"Benjamini–Hochberg · {large}: {threshold} · {high} · {dataset}"
    )


def _row(result: ColumnDrift, anchor: str, order: int, report: DriftReport) -> _Row:
    config = report.config
    lead = _leading_effect(result)
    name = lead.name if lead is not None else config.effect
    effect = lead.value if lead is not None else result.effect
    threshold = lead.threshold if lead is not None else result.threshold
    scale = max(3.0 * (threshold or config.floor_of(name)), 1.5 * config.high_of(name))
    fill = min(1.0, effect / scale) if effect is not None and math.isfinite(effect) else 0.0
    if effect is not None and math.isinf(effect):
        fill = 1.0
    tick = min(1.0, threshold / scale) if threshold is not None else 0.0
    ratio = effect / threshold if effect is not None and threshold else None
    metric = result.jensen_shannon if config.effect == "psi" else result.psi
    if not result.tested:
        severity, label = "untested", "not tested"
    else:
        severity, label = result.severity.value, result.severity.value
    return _Row(
        anchor=anchor,
        name=result.column,
        kind=result.kind.value,
        role=result.role.value,
        tested=result.tested,
        reason=result.reason or "",
        method=METHODS.get(result.method or "", result.method or "—"),
        p_value=_p(result.p_value_adjusted),
        p_raw=_p(result.p_value),
        effect_name=EFFECTS.get(name, name),
        effect=_effect(effect),
        threshold=_effect(threshold),
        threshold_source=(lead.threshold_source if lead is not None else "") or "",
        meter_fill=round(100 * fill, 1),
        meter_tick=round(100 * tick, 1),
        metric=_effect(metric),
        wasserstein=_effect(result.wasserstein_normalized),
        drifted=result.drifted,
        severity=severity,
        severity_label=label,
        order=order,
        sort_p=_sort_key(result.p_value_adjusted),
        sort_effect=_sort_key(ratio),
        sort_metric=_sort_key(metric),
        sort_wasserstein=_sort_key(result.wasserstein_normalized),
    )


def _leading_effect(result: ColumnDrift) -> Effect | None:
    """The effect that says most about the verdict: the one furthest over its bar."""
    if not result.effects:
        return None
    return max(
        result.effects,
        key=lambda e: e.value / e.threshold if e.threshold > 0 else math.inf,
    )


def _card(
    report: DriftReport,
    result: ColumnDrift,
    row: _Row,
    anomalies: Iterable[Anomaly],
    open_all: bool,
) -> _Card:
    config = report.config
    effect_name = EFFECTS.get(config.effect, config.effect)
    statistics: list[str] = []
    if result.tested:
        method = METHODS.get(result.method or "", result.method or "")
        statistic_name = STATISTICS.get(result.method or "", "statistic")
        prefix = statistic_name if statistic_name == method else f"{method} {statistic_name}"
        statistics.append(f"{prefix} = {_number(result.statistic)}")
        statistics.append(
            f"p {_relation(row.p_value)} (BH-adjusted; raw {_relation(row.p_raw, bare=True)})"
        )
        relation = (
            "≥"
            if result.effect is not None
            and result.threshold is not None
            and (result.effect >= result.threshold)
            else "<"
        )
        statistics.append(
            f"{effect_name} {row.effect} {relation} threshold {row.threshold} "
            f"({result.threshold_source})"
        )
        if config.effect != "psi" and result.psi is not None:
            statistics.append(f"PSI {_effect(result.psi)}")
        if config.effect == "psi" and result.jensen_shannon is not None:
            statistics.append(f"JS distance {_effect(result.jensen_shannon)}")
        for other in result.effects[1:]:
            statistics.append(
                f"{EFFECTS.get(other.name, other.name)} {_effect(other.value)} "
                f"{'≥' if other.reached else '<'} threshold {_effect(other.threshold)} "
                f"({other.threshold_source})"
            )
        if result.effect_of("wasserstein_normalized") is None and (
            result.wasserstein_normalized is not None
        ):
            statistics.append(f"Wasserstein / σ {_effect(result.wasserstein_normalized)}")
        decision = _decision(result, report)
    else:
        decision = f"Not tested: {result.reason}." if result.reason else "Not tested."

    chart: Markup | None = None
    note = ""
    reference = report.reference.profile.columns.get(result.column)
    current = report.current.columns.get(result.column)
    if result.kind in NO_CHART:
        note = f"No chart for {result.kind.value} columns."
    else:
        figure = figure_for(reference, current, time=result.kind is Kind.DATETIME)
        label = f"Distribution of {result.column}: {report.reference_name} vs {report.current_name}"
        if isinstance(figure, Histogram):
            chart = _svg_histogram(figure, label, time=result.kind is Kind.DATETIME)
            note = "Shares of finite values on equal-width bins"
            if figure.has_under or figure.has_over:
                note += "; the outer bars hold values outside the range shown"
            note += "."
        elif isinstance(figure, Bars):
            if figure.ordered:
                chart = _svg_columns(figure, label)
                note = "Shares of finite values, one bar per reference value."
            else:
                chart = _svg_categories(figure, label)
                note = "Shares of non-missing values"
                if figure.other:
                    note += (
                        f"; {OTHER} adds up {figure.other} less frequent "
                        f"categor{'y' if figure.other == 1 else 'ies'} and unseen values"
                    )
                note += "."
        else:
            note = "No values to chart."
    stats, top = _summary(result)
    return _Card(
        row=row,
        decision=decision,
        statistics=tuple(statistics),
        chart=chart,
        chart_note=note,
        stats=stats,
        top=top,
        anomalies=tuple(anomalies),
        open=open_all or result.drifted,
    )


def _relation(text: str, *, bare: bool = False) -> str:
    """``= 0.03`` or ``≈ 0``: a formatted p-value after "p"."""
    if text.startswith("≈"):
        return text
    return text if bare else f"= {text}"


def _decision(result: ColumnDrift, report: DriftReport) -> str:
    alpha = _number(report.config.alpha)
    names = [EFFECTS.get(effect.name, effect.name) for effect in result.effects]
    effects = " or ".join(names) or "the effect"
    significant = result.p_value_adjusted is not None and result.p_value_adjusted <= (
        report.config.alpha
    )
    reached = " and ".join(EFFECTS.get(name, name) for name in result.large_by)
    if result.drifted:
        return (
            f"Drifted ({result.severity.value}): the change is significant (p ≤ {alpha}) and "
            f"large ({reached} at or above its threshold)."
        )
    if significant and not reached:
        return (
            f"Not drifted: the change is significant (p ≤ {alpha}) but small "
            f"({effects} below {'its' if len(names) == 1 else 'their'} threshold)."
        )
    if reached and not significant:
        return (
            f"Not drifted: {reached} reaches its threshold but the change is not "
            f"significant (p > {alpha})."
        )
    return f"Not drifted: no significant change (p > {alpha}) and {effects} below threshold."


def _summary(result: ColumnDrift) -> tuple[tuple[_Stat, ...], tuple[_Stat, ...]]:
    ref, cur = result.reference, result.current
    time = result.kind is Kind.DATETIME
    stats = [
        _Stat("count", _count(ref.count), _count(cur.count)),
        _Stat(
            "missing",
            f"{_count(ref.missing)} ({_share(ref.missing_share)})",
            f"{_count(cur.missing)} ({_share(cur.missing_share)})",
        ),
    ]
    value = _time if time else _number
    spread = _duration if time else _number
    if any(s.mean is not None for s in (ref, cur)):
        stats.append(_Stat("mean", value(ref.mean), value(cur.mean)))
        stats.append(_Stat("std", spread(ref.std), spread(cur.std)))
        stats.append(_Stat("min", value(ref.minimum), value(cur.minimum)))
        stats.append(_Stat("median", value(ref.median), value(cur.median)))
        stats.append(_Stat("max", value(ref.maximum), value(cur.maximum)))
    if ref.distinct is not None or cur.distinct is not None:
        stats.append(_Stat("distinct", _count(ref.distinct), _count(cur.distinct)))
    top: list[_Stat] = []
    if ref.top or cur.top:
        ref_top = _top(ref)
        cur_top = _top(cur)
        for i in range(max(len(ref_top), len(cur_top))):
            top.append(
                _Stat(
                    str(i + 1),
                    ref_top[i] if i < len(ref_top) else "",
                    cur_top[i] if i < len(cur_top) else "",
                )
            )
    return tuple(stats), tuple(top)


def _top(summary: ColumnSummary) -> list[str]:
    valid = summary.count - summary.missing
    return [f"{label} · {_share(count / valid if valid else 0.0)}" for label, count in summary.top]


# ---------------------------------------------------------------------------------------------
# Inline SVG charts
# ---------------------------------------------------------------------------------------------


def _c(value: float) -> str:
    """Compact SVG coordinate: one decimal, no trailing zero."""
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _box(css: str, x: float, y: float, width: float, height: float) -> str:
    """A rectangle as a compact path (shorter than ``<rect>`` with four attributes)."""
    return f'<path class="{css}" d="M{_c(x)} {_c(y)}h{_c(width)}v{_c(height)}h-{_c(width)}z"/>'


def _svg_open(width: float, height: float, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {_c(width)} {_c(height)}" role="img" '
        f'aria-label="{escape(label)}">'
    )


def _y_axis(top_share: float, height: float) -> tuple[float, list[str]]:
    """Scale maximum and the gridlines with their labels for a vertical chart."""
    step = _nice(max(top_share, 1e-9) / 4)
    scale = step * math.ceil(max(top_share, 1e-9) / step)
    parts: list[str] = []
    plot_bottom = height - _BOTTOM
    plot_height = plot_bottom - _TOP
    ticks = round(scale / step)
    for i in range(ticks + 1):
        y = plot_bottom - plot_height * i / ticks
        parts.append(f'<path class="g" d="M{_LEFT} {_c(y)}H{_W - _RIGHT}"/>')
        parts.append(
            f'<text class="yl" x="{_LEFT - 5}" y="{_c(y + 3)}">{_share(i * step, axis=True)}</text>'
        )
    return scale, parts


def _bar_pair(
    x: float, width: float, ref: float, cur: float, scale: float, tip: str, height: float
) -> str:
    plot_bottom = height - _BOTTOM
    plot_height = plot_bottom - _TOP
    gap = min(2.0, width * 0.15)
    half = max((width - gap) / 2, 0.5)
    parts = [f"<g><title>{escape(tip)}</title>", _box("h", x, _TOP, width, plot_height)]
    for offset, share, css in ((0.0, ref, "r"), (half + gap, cur, "c")):
        if share > 0:
            bar = max(plot_height * share / scale, 0.6)
            parts.append(_box(css, x + offset, plot_bottom - bar, half, bar))
    parts.append("</g>")
    return "".join(parts)


def _svg_histogram(hist: Histogram, label: str, *, time: bool = False) -> Markup:
    height = _H
    plot_bottom = height - _BOTTOM
    left, right = float(_LEFT), float(_W - _RIGHT)
    bins_left = left + (_SIDE_SLOT + _SIDE_GAP if hist.has_under else 0)
    bins_right = right - (_SIDE_SLOT + _SIDE_GAP if hist.has_over else 0)
    n = len(hist.reference)
    step = (bins_right - bins_left) / n
    top_share = max(
        float(np.max(hist.reference, initial=0.0)),
        float(np.max(hist.current, initial=0.0)),
        hist.reference_under,
        hist.current_under,
        hist.reference_over,
        hist.current_over,
    )
    scale, parts = _y_axis(top_share, height)
    lo, hi = float(hist.edges[0]), float(hist.edges[-1])

    def x_of(value: float) -> float:
        return bins_left + (value - lo) / (hi - lo) * (bins_right - bins_left)

    pad = min(1.0, step * 0.1)
    for i in range(n):
        a, b = float(hist.edges[i]), float(hist.edges[i + 1])
        tip = (
            f"{_interval(a, b, hist.integer, time)}: reference {_share(float(hist.reference[i]))}"
            f" · current {_share(float(hist.current[i]))}"
        )
        parts.append(
            _bar_pair(
                bins_left + i * step + pad,
                step - 2 * pad,
                float(hist.reference[i]),
                float(hist.current[i]),
                scale,
                tip,
                height,
            )
        )
    text_y = _c(plot_bottom + 14)
    edge_text = _time_tick if time else _tick
    if hist.has_under:
        bound = edge_text(lo + 0.5 if hist.integer else lo, hist.width)
        tip = (
            f"below {bound}: reference {_share(hist.reference_under)} · "
            f"current {_share(hist.current_under)}"
        )
        parts.append(
            _bar_pair(
                left, _SIDE_SLOT, hist.reference_under, hist.current_under, scale, tip, height
            )
        )
        parts.append(
            f'<text class="xl o" x="{_c(left + _SIDE_SLOT / 2)}" y="{text_y}">below</text>'
        )
    if hist.has_over:
        bound = edge_text(hi - 0.5 if hist.integer else hi, hist.width)
        tip = (
            f"above {bound}: reference {_share(hist.reference_over)} · "
            f"current {_share(hist.current_over)}"
        )
        parts.append(
            _bar_pair(
                right - _SIDE_SLOT,
                _SIDE_SLOT,
                hist.reference_over,
                hist.current_over,
                scale,
                tip,
                height,
            )
        )
        parts.append(
            f'<text class="xl o" x="{_c(right - _SIDE_SLOT / 2)}" y="{text_y}">above</text>'
        )
    parts.append(f'<path class="a" d="M{_c(bins_left)} {_c(plot_bottom)}H{_c(bins_right)}"/>')
    # Ticks at multiples of a few bin widths, so their values are round numbers.
    width = hist.width
    first = lo + 0.5 if hist.integer else lo
    max_ticks = 6 if time else 7
    every = next(m for m in (1, 2, 4, 5, 10, 20, 25, 50, 100, 10**9) if n / m <= max_ticks - 1)
    start_index = round(first / width)
    for k in range(n + 1):
        if (start_index + k) % every:
            continue
        value = first + k * width
        x = x_of(value)
        if (hist.has_under and x < bins_left + 6) or (hist.has_over and x > bins_right - 6):
            continue  # would collide with the "below"/"above" label
        parts.append(f'<path class="a" d="M{_c(x)} {_c(plot_bottom)}v4"/>')
        parts.append(
            f'<text class="xl" x="{_c(x)}" y="{text_y}">{escape(edge_text(value, width))}</text>'
        )
    return Markup(_svg_open(_W, height, label) + "".join(parts) + "</svg>")


def _svg_columns(bars: Bars, label: str) -> Markup:
    """Vertical bars, one per distinct value (numeric columns with few values)."""
    height = _H
    plot_bottom = height - _BOTTOM
    left, right = float(_LEFT), float(_W - _RIGHT)
    n = len(bars.labels)
    step = min((right - left) / n, 72.0)
    left = (left + right - n * step) / 2  # few values: narrower bars, centred
    top_share = max(
        float(np.max(bars.reference, initial=0.0)), float(np.max(bars.current, initial=0.0))
    )
    scale, parts = _y_axis(top_share, height)
    pad = min(3.0, step * 0.12)
    every = max(1, math.ceil(n / 14))
    text_y = _c(plot_bottom + 14)
    for i, name in enumerate(bars.labels):
        ref, cur = float(bars.reference[i]), float(bars.current[i])
        tip = f"{name}: reference {_share(ref)} · current {_share(cur)}"
        x = left + i * step
        parts.append(_bar_pair(x + pad, step - 2 * pad, ref, cur, scale, tip, height))
        if i % every == 0 or name.startswith(("<", ">")):
            parts.append(
                f'<text class="xl" x="{_c(x + step / 2)}" y="{text_y}">{escape(name)}</text>'
            )
    parts.append(f'<path class="a" d="M{_LEFT} {_c(plot_bottom)}H{_c(right)}"/>')
    return Markup(_svg_open(_W, height, label) + "".join(parts) + "</svg>")


def _svg_categories(bars: Bars, label: str) -> Markup:
    """Horizontal bars, one row per category, values printed at the right."""
    n = len(bars.labels)
    height = _TOP + n * _ROW + 6
    left = float(_LABEL_W)
    right = float(_W - _VALUE_W - 12)
    named = [i for i, name in enumerate(bars.labels) if name != OTHER] or list(range(n))
    top_share = max(
        float(np.max(bars.reference[named], initial=0.0)),
        float(np.max(bars.current[named], initial=0.0)),
        1e-9,
    )
    scale = _nice(top_share / 4) * math.ceil(top_share / _nice(top_share / 4))
    scale = min(scale, 1.0)
    parts = [f'<path class="a" d="M{_c(left)} {_TOP - 4}V{_c(height - 4)}"/>']
    for i, name in enumerate(bars.labels):
        ref, cur = float(bars.reference[i]), float(bars.current[i])
        y = _TOP + i * _ROW
        shown = name if len(name) <= 24 else name[:23] + "…"
        text_class = "cl o" if name == OTHER else "cl"
        tip = f"{name}: reference {_share(ref)} · current {_share(cur)}"
        parts.append(f"<g><title>{escape(tip)}</title>")
        parts.append(_box("h", 0, y - 2, _W, _ROW))
        parts.append(
            f'<text class="{text_class}" x="{_c(left - 6)}" y="{_c(y + 11)}">{escape(shown)}</text>'
        )
        clipped = False
        for offset, share, css in ((1.0, ref, "r"), (8.5, cur, "c")):
            if share <= 0:
                continue
            length = max((right - left) * share / scale, 0.6)
            if length > right - left + 12:  # far longer than the named categories: cut it
                length, clipped = right - left + 12, True
            parts.append(_box(css, left, y + offset, length, 6.5))
        if clipped:
            x = right - 6
            low = _c(y + 17)
            parts.append(f'<path class="brk" d="M{_c(x)} {low}l5 -17M{_c(x + 4)} {low}l5 -17"/>')
        parts.append(
            f'<text class="vl" x="{_W - 4}" y="{_c(y + 11)}">{_share(ref)} → '
            f'<tspan class="vc">{_share(cur)}</tspan></text></g>'
        )
    return Markup(_svg_open(_W, height, label) + "".join(parts) + "</svg>")


# ---------------------------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------------------------


def _missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: float | int | None) -> str:
    """Four significant digits, thousands separators, exponent only for very large/small."""
    if value is None or _missing(value):
        return "—"
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "−∞"
    if number == 0:
        return "0"
    size = abs(number)
    if size >= 1e7 or size < 1e-4:
        return f"{number:.3e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
    digits = max(0, 3 - math.floor(math.log10(size)))
    text = f"{number:,.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _share(value: float, *, axis: bool = False) -> str:
    """A share as a percentage: 12.3%, 0.41%, 0%."""
    if math.isnan(value):
        return "—"
    percent = 100 * value
    if percent == 0:
        return "0%"
    if axis:
        return f"{percent:.3g}%"
    if abs(percent) >= 10:
        return f"{percent:.1f}%"
    if abs(percent) >= 0.01:
        return f"{percent:.2g}%" if abs(percent) < 1 else f"{percent:.1f}%"
    return "<0.01%"


def _p(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if value == 0:
        return "≈ 0"  # underflow, or an asymptotic p-value that is exactly 0 (KS with D = 1)
    if value < 1e-4:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.3g}"


def _effect(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def _sort_key(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return repr(float(value)) if math.isfinite(value) else ("1e999" if value > 0 else "-1e999")


def _nice(raw: float) -> float:
    power = 10.0 ** math.floor(math.log10(raw))
    return next(f * power for f in (1.0, 2.0, 2.5, 5.0, 10.0) if f * power >= raw * (1 - 1e-9))


def _tick(value: float, width: float) -> str:
    """Axis label of a grid value: no float noise, exponent only for large magnitudes."""
    if abs(value) >= 1e6:
        return f"{value:.3g}".replace("e+0", "e").replace("e+", "e")
    digits = max(0, 9 - math.floor(math.log10(abs(value)))) if value else 0
    text = f"{round(value, min(digits, 12)):.12f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _interval(a: float, b: float, integer: bool, time: bool) -> str:
    width = b - a
    if time:
        return f"{_time_tick(a, width)} – {_time_tick(b, width)}"
    if integer:
        low, high = math.ceil(a), math.floor(b)
        return _tick(low, 1) if low == high else f"{_tick(low, 1)} – {_tick(high, 1)}"
    return f"{_tick(a, width)} – {_tick(b, width)}"


def _time_tick(seconds: float, width: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    if width >= 86400:
        return moment.strftime("%Y-%m-%d")
    if width >= 60:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M:%S")


def _time(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return "—"
    moment = datetime.fromtimestamp(seconds, UTC)
    if moment.hour == moment.minute == moment.second == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds) or math.isinf(seconds):
        return "—"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"

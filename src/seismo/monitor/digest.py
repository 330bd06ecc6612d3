"""A window's digest: the few numbers pages over many windows need, kept beside the payload.

A window's payload (its profile and performance statistics) is large and its drift report
costs milliseconds per feature to compute: a year of daily windows of a 100-feature model is
hundreds of megabytes and minutes of work. The digest is what a history view needs of each
window — counts, each feature's leading effect over its bar and the engine's decision, the
data-quality anomalies, the metrics with their intervals — a few kilobytes of JSON, computed
once by the monitor when it writes the window (and by :class:`~seismo.monitor.history.
WindowHistory` for windows written before digests existed). The numbers are those of the
window's drift report and metrics: the series API computes them the same way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from seismo.drift.result import leading_effect

if TYPE_CHECKING:
    from seismo.monitor.history import Window

#: Bumped when the digest's content changes: older digests are recomputed on read.
FORMAT: Final = 2


@dataclass(frozen=True, slots=True)
class FeatureDigest:
    """One feature in one window: its leading effect over its bar (None when not tested or
    without an effect), that effect's name and the drift engine's decision."""

    name: str
    ratio: float | None
    drifted: bool
    effect: str | None


@dataclass(frozen=True, slots=True)
class MetricDigest:
    """A metric's value and its 95 % interval (``low``/``high`` equal ``value`` without one)."""

    value: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Digest:
    """The digest of one window (see the module's docstring)."""

    rows: int
    labelled: int
    mean_label_delay: float | None
    # Per feature, in the report's order (columns: a year of a wide model parses fast).
    names: tuple[str, ...]
    ratios: tuple[float | None, ...]
    drifted: tuple[bool, ...]
    effects: tuple[str | None, ...]
    features_tested: int
    features_drifted: int
    dataset_drifted: bool
    severity: str
    anomalies: tuple[dict[str, Any], ...]
    metrics: dict[str, MetricDigest]
    metrics_n: int

    @property
    def features(self) -> tuple[FeatureDigest, ...]:
        return tuple(
            FeatureDigest(*entry)
            for entry in zip(self.names, self.ratios, self.drifted, self.effects, strict=True)
        )

    @property
    def label_coverage(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0

    @property
    def drifted_share(self) -> float | None:
        return self.features_drifted / self.features_tested if self.features_tested else None

    def worst(self) -> FeatureDigest | None:
        """The feature furthest along to its bar (drifted ones first)."""
        rated = [f for f in self.features if f.ratio is not None]
        if not rated:
            return None
        return max(rated, key=lambda f: (f.drifted, f.ratio))

    def to_json(self) -> str:
        document = {
            "format": FORMAT,
            "rows": self.rows,
            "labelled": self.labelled,
            "mean_label_delay": self.mean_label_delay,
            "names": list(self.names),
            "ratios": list(self.ratios),
            "drifted": [int(flag) for flag in self.drifted],
            "effects": list(self.effects),
            "features_tested": self.features_tested,
            "features_drifted": self.features_drifted,
            "dataset_drifted": self.dataset_drifted,
            "severity": self.severity,
            "anomalies": list(self.anomalies),
            "metrics": {k: [m.value, m.low, m.high] for k, m in self.metrics.items()},
            "metrics_n": self.metrics_n,
        }
        return json.dumps(document, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | None) -> Digest | None:
        """The digest, or None when absent or of another format (then it is recomputed)."""
        if not text:
            return None
        document = json.loads(text)
        if document.get("format") != FORMAT:
            return None
        return cls(
            rows=int(document["rows"]),
            labelled=int(document["labelled"]),
            mean_label_delay=document["mean_label_delay"],
            names=tuple(document["names"]),
            ratios=tuple(document["ratios"]),
            drifted=tuple(map(bool, document["drifted"])),
            effects=tuple(document["effects"]),
            features_tested=int(document["features_tested"]),
            features_drifted=int(document["features_drifted"]),
            dataset_drifted=bool(document["dataset_drifted"]),
            severity=str(document["severity"]),
            anomalies=tuple(document["anomalies"]),
            metrics={k: MetricDigest(*v) for k, v in document["metrics"].items()},
            metrics_n=int(document["metrics_n"]),
        )


def digest_of(window: Window) -> Digest:
    """The digest of a window, from its drift report and metrics (computed by the window)."""
    state = window.state
    report = window.report
    features = []
    for column in report.columns:
        leading = leading_effect(column) if column.tested else None
        features.append(
            FeatureDigest(
                column.column,
                None if leading is None else _finite(leading[1]),
                bool(column.drifted),
                None if leading is None else leading[0].name,
            )
        )
    metrics: dict[str, MetricDigest] = {}
    found = window.metrics
    if found is not None:
        for name, value in found.to_dict().items():
            if not isinstance(value, dict) or "value" not in value:
                continue
            estimate = _finite(value["value"])
            if estimate is None:
                continue
            interval = value.get("interval") or {}
            low = _finite(interval.get("low"))
            high = _finite(interval.get("high"))
            metrics[name] = MetricDigest(
                estimate, estimate if low is None else low, estimate if high is None else high
            )
    dataset = report.dataset
    return Digest(
        rows=state.rows,
        labelled=state.labelled,
        mean_label_delay=state.mean_label_delay,
        names=tuple(f.name for f in features),
        ratios=tuple(f.ratio for f in features),
        drifted=tuple(f.drifted for f in features),
        effects=tuple(f.effect for f in features),
        features_tested=dataset.features_tested,
        features_drifted=dataset.features_drifted,
        dataset_drifted=bool(dataset.drifted),
        severity=dataset.severity.value,
        anomalies=tuple(
            {"check": a.check, "column": a.column, "level": a.level.value, "message": a.message}
            for a in report.anomalies
        ),
        metrics=metrics,
        metrics_n=0 if found is None else int(found.n),
    )


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None

"""Result objects of a drift comparison: frozen, JSON-ready, no rendering."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seismo.profile.dataset import DatasetProfile, Reference
from seismo.schema.types import Kind, Role, Schema

if TYPE_CHECKING:
    from seismo.drift.config import DriftConfig
    from seismo.drift.quality import Anomaly

REPORT_SCHEMA_VERSION = 1


class Severity(StrEnum):
    NONE = "none"
    MODERATE = "moderate"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return {"none": 0, "moderate": 1, "high": 2}[self.value]


@dataclass(frozen=True, slots=True)
class ColumnSummary:
    """Descriptive numbers of one column in one dataset (reference or current)."""

    count: int
    missing: int
    mean: float | None = None
    std: float | None = None
    minimum: float | None = None
    median: float | None = None
    maximum: float | None = None
    distinct: int | None = None
    top: tuple[tuple[str, int], ...] = ()

    @property
    def missing_share(self) -> float:
        return self.missing / self.count if self.count else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": self.count,
            "missing": self.missing,
            "missing_share": _num(self.missing_share),
        }
        for name in ("mean", "std", "minimum", "median", "maximum", "distinct"):
            value = getattr(self, name)
            if value is not None:
                out[name] = _num(value)
        if self.top:
            out["top"] = [{"value": value, "count": count} for value, count in self.top]
        return out


@dataclass(frozen=True, slots=True)
class Effect:
    """One effect size of a tested column and the threshold it is held to."""

    name: str  # "psi", "jensen_shannon", "total_variation" or "wasserstein_normalized"
    value: float
    threshold: float
    threshold_source: str  # "calibrated", "floor" or "static"

    @property
    def reached(self) -> bool:
        return self.value >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": _num(self.value),
            "threshold": _num(self.threshold),
            "threshold_source": self.threshold_source,
            "reached": self.reached,
        }


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """The verdict on one column, with every statistic that applies to its kind."""

    column: str
    kind: Kind
    role: Role
    method: str | None  # the significance test: "ks", "chi2", "ztest"; None when not tested
    reason: str | None  # why the column was not tested
    statistic: float | None
    p_value: float | None
    p_value_adjusted: float | None
    effect_name: str
    effect: float | None
    threshold: float | None
    threshold_source: str | None  # "calibrated", "floor" or "static"
    drifted: bool
    severity: Severity
    reference: ColumnSummary
    current: ColumnSummary
    psi: float | None = None
    ks: float | None = None
    ks_bound: float | None = None
    jensen_shannon: float | None = None
    kl: float | None = None
    hellinger: float | None = None
    wasserstein: float | None = None
    wasserstein_normalized: float | None = None
    wasserstein_bound: float | None = None
    total_variation: float | None = None
    #: Every effect size that decides, each with its threshold (see DriftConfig).
    effects: tuple[Effect, ...] = ()

    @property
    def tested(self) -> bool:
        return self.method is not None

    @property
    def large_by(self) -> tuple[str, ...]:
        """The effects that reached their thresholds: the change is large when any did."""
        return tuple(effect.name for effect in self.effects if effect.reached)

    def effect_of(self, name: str) -> Effect | None:
        """The deciding effect ``name`` (``psi``, ``total_variation``, ...), if it applies."""
        return next((effect for effect in self.effects if effect.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "kind": self.kind.value,
            "role": self.role.value,
            "tested": self.tested,
            "reason": self.reason,
            "method": self.method,
            "statistic": _num(self.statistic),
            "p_value": _num(self.p_value),
            "p_value_adjusted": _num(self.p_value_adjusted),
            "effect": {"name": self.effect_name, "value": _num(self.effect)},
            "threshold": _num(self.threshold),
            "threshold_source": self.threshold_source,
            "effects": [effect.to_dict() for effect in self.effects],
            "drifted": self.drifted,
            "severity": self.severity.value,
            "metrics": {
                "psi": _num(self.psi),
                "ks": _num(self.ks),
                "ks_bound": _num(self.ks_bound),
                "jensen_shannon": _num(self.jensen_shannon),
                "kl": _num(self.kl),
                "hellinger": _num(self.hellinger),
                "wasserstein": _num(self.wasserstein),
                "wasserstein_normalized": _num(self.wasserstein_normalized),
                "wasserstein_bound": _num(self.wasserstein_bound),
                "total_variation": _num(self.total_variation),
            },
            "reference": self.reference.to_dict(),
            "current": self.current.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class DatasetDrift:
    """Dataset-level verdict over the feature columns."""

    reference_rows: int
    current_rows: int
    features: int
    features_tested: int
    features_drifted: int
    drifted: bool
    severity: Severity

    @property
    def drifted_share(self) -> float:
        return self.features_drifted / self.features_tested if self.features_tested else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "features": self.features,
            "features_tested": self.features_tested,
            "features_drifted": self.features_drifted,
            "drifted_share": _num(self.drifted_share),
            "drifted": self.drifted,
            "severity": self.severity.value,
        }


@dataclass(frozen=True)
class DriftReport:
    """Everything :func:`seismo.compare` found; render with :mod:`seismo.report`."""

    dataset: DatasetDrift
    columns: tuple[ColumnDrift, ...]
    anomalies: tuple[Anomaly, ...]
    config: DriftConfig
    reference: Reference = field(repr=False)
    current: DatasetProfile = field(repr=False)
    reference_name: str = "reference"
    current_name: str = "current"

    @property
    def schema(self) -> Schema:
        return self.reference.schema

    @property
    def drifted(self) -> bool:
        return self.dataset.drifted

    def __getitem__(self, column: str) -> ColumnDrift:
        for result in self.columns:
            if result.column == column:
                return result
        raise KeyError(column)

    def with_role(self, *roles: Role) -> tuple[ColumnDrift, ...]:
        return tuple(result for result in self.columns if result.role in roles)

    @property
    def features(self) -> tuple[ColumnDrift, ...]:
        return self.with_role(Role.FEATURE)

    @property
    def prediction_drift(self) -> tuple[ColumnDrift, ...]:
        return self.with_role(Role.PREDICTION, Role.SCORE)

    @property
    def target_drift(self) -> tuple[ColumnDrift, ...]:
        return self.with_role(Role.TARGET)

    def by_severity(self) -> tuple[ColumnDrift, ...]:
        """Drifted first, most severe and largest effect first; untested last."""
        return tuple(
            sorted(
                self.columns,
                key=lambda r: (
                    not r.tested,
                    -r.severity.rank,
                    -(r.effect if r.effect is not None and math.isfinite(r.effect) else -1.0),
                    r.column,
                ),
            )
        )

    def to_dict(self) -> dict[str, Any]:
        from seismo.report.json import report_to_dict

        return report_to_dict(self)

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        from seismo.report.json import report_to_json

        text = report_to_json(self, indent=indent)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None) -> str:
        from seismo.report.html import render_html

        page = render_html(self)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page


def _num(value: float | int | None) -> float | int | None:
    """JSON-safe number: NaN becomes null, infinities stay strings-free by clipping to None."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def leading_effect(column: ColumnDrift) -> tuple[Effect, float] | None:
    """The effect furthest along to its bar, and how far: its value divided by its threshold
    (1 or more: that effect is large enough; the column drifted when some effect is and its
    test is significant). None for a column without effects (not tested)."""
    ratios = [
        (effect, effect.value / effect.threshold)
        for effect in column.effects
        if effect.threshold > 0 and effect.value == effect.value  # not NaN
    ]
    return max(ratios, key=lambda pair: pair[1]) if ratios else None

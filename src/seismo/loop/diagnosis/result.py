"""What a diagnosis says: the cause, the action it calls for, and the findings behind it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np


class Cause(StrEnum):
    PIPELINE_ERROR = "pipeline_error"
    COVARIATE_DRIFT = "covariate_drift"
    CONCEPT_DRIFT = "concept_drift"
    PRIOR_SHIFT = "prior_shift"
    NONE = "none"


class Action(StrEnum):
    FIX_PIPELINE = "fix_pipeline"
    RETRAIN = "retrain"
    ROLLBACK = "rollback"
    INVESTIGATE = "investigate"
    NONE = "none"


@dataclass(frozen=True)
class Finding:
    """One piece of the explanation: its cause, what kind of problem, where, and the numbers."""

    cause: Cause
    kind: str
    columns: tuple[str, ...]
    evidence: Mapping[str, Any]
    summary: str
    strength: float = 1.0  # how sure this finding is, in [0, 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause.value,
            "kind": self.kind,
            "columns": list(self.columns),
            "evidence": dict(self.evidence),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class Diagnosis:
    """The explanation of a change: the cause, the action it calls for, how sure, and why."""

    cause: Cause
    action: Action
    confidence: float
    findings: tuple[Finding, ...] = ()
    labels: bool = False  # whether labels were available to tell concept drift and prior shift
    notes: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        if not self.findings:
            return "nothing material changed"
        head = self.findings[0].summary
        more = len(self.findings) - 1
        return head + (f" (and {more} more finding{'s' * (more > 1)})" if more else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause.value,
            "action": self.action.value,
            "confidence": round(self.confidence, 3),
            "summary": self.summary,
            "labels": self.labels,
            "findings": [finding.to_dict() for finding in self.findings],
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=json_default)

    def to_html(
        self,
        path: str | Path | None = None,
        *,
        reference_name: str = "reference",
        current_name: str = "current",
    ) -> str:
        """One self-contained HTML page of the diagnosis (written to ``path`` when given)."""
        from seismo.report.html import render_diagnosis_html

        page = render_diagnosis_html(
            json.loads(self.to_json()), reference_name=reference_name, current_name=current_name
        )
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page


def round_number(value: float | None, digits: int = 6) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def shown(value: float) -> str:
    return f"{value:.6g}"


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Sequence):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")

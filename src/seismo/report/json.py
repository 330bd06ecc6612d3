"""DriftReport -> JSON (stable, documented schema; see README "Report JSON")."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from seismo._version import __version__
from seismo.drift.result import REPORT_SCHEMA_VERSION

if TYPE_CHECKING:
    from seismo.drift.result import DriftReport


def report_to_dict(report: DriftReport) -> dict[str, Any]:
    config = report.config
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "seismo_version": __version__,
        "reference": report.reference_name,
        "current": report.current_name,
        "dataset": report.dataset.to_dict(),
        "policy": {
            "alpha": config.alpha,
            "multiple_testing": "benjamini-hochberg",
            "thresholds": config.thresholds,
            "effect": config.effect,
            "effect_floor": config.effect_floor,
            "effect_high": config.effect_high,
            "total_variation_floor": config.total_variation_floor,
            "total_variation_high": config.total_variation_high,
            "wasserstein_floor": config.wasserstein_floor,
            "wasserstein_high": config.wasserstein_high,
            "effects": {
                "numeric": list(config.effects_for(numeric=True)),
                "categorical": list(config.effects_for(numeric=False)),
            },
            "calibration_quantile": config.calibration_quantile,
            "bootstrap": config.bootstrap,
            "drift_share": config.drift_share,
            "tests": {kind.value: test for kind, test in config.tests.items()},
        },
        "columns": [column.to_dict() for column in report.columns],
        "prediction_drift": [c.column for c in report.prediction_drift],
        "target_drift": [c.column for c in report.target_drift],
        "anomalies": [anomaly.to_dict() for anomaly in report.anomalies],
    }


def report_to_json(report: DriftReport, *, indent: int | None = 2) -> str:
    return json.dumps(report_to_dict(report), indent=indent, ensure_ascii=False, allow_nan=False)

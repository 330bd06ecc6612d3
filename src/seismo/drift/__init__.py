"""Drift decisions: method per kind, calibrated thresholds, multiple testing, dataset verdict."""

from seismo.drift.config import DriftConfig
from seismo.drift.engine import compare_profiles
from seismo.drift.result import ColumnDrift, ColumnSummary, DatasetDrift, DriftReport, Severity

__all__ = [
    "ColumnDrift",
    "ColumnSummary",
    "DatasetDrift",
    "DriftConfig",
    "DriftReport",
    "Severity",
    "compare_profiles",
]

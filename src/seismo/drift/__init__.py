"""Drift decisions: method per kind, calibrated thresholds, multiple testing, dataset verdict."""

from seismo.drift.config import DriftConfig
from seismo.drift.engine import compare_profiles
from seismo.drift.result import ColumnDrift, ColumnSummary, DatasetDrift, DriftReport, Severity
from seismo.drift.statistics import ProfileStatistics, profile_statistics

__all__ = [
    "ColumnDrift",
    "ColumnSummary",
    "DatasetDrift",
    "DriftConfig",
    "DriftReport",
    "ProfileStatistics",
    "Severity",
    "compare_profiles",
    "profile_statistics",
]

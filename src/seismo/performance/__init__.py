"""Model performance metrics from mergeable sufficient statistics, with confidence intervals."""

from __future__ import annotations

from seismo.performance.classification import (
    ClassificationMetrics,
    ClassificationSummary,
    ClassMetrics,
)
from seismo.performance.intervals import Estimate, Interval, normal, wilson
from seismo.performance.regression import RegressionMetrics, RegressionSummary

__all__ = [
    "ClassMetrics",
    "ClassificationMetrics",
    "ClassificationSummary",
    "Estimate",
    "Interval",
    "RegressionMetrics",
    "RegressionSummary",
    "normal",
    "wilson",
]

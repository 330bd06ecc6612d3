"""compare(reference profile, current profile) -> DriftReport: the statistical policy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seismo.drift.calibration import column_seed, null_effects, wasserstein_null_quantile
from seismo.drift.config import DriftConfig
from seismo.drift.multiple_testing import benjamini_hochberg
from seismo.drift.result import ColumnDrift, ColumnSummary, DatasetDrift, DriftReport, Severity
from seismo.drift.statistics import profile_statistics
from seismo.profile.dataset import ColumnProfile, DatasetProfile, Reference
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import ColumnSchema, Role
from seismo.schema.validate import QualityPolicy, validate

UNTESTED_ROLES = (Role.TIMESTAMP, Role.ID, Role.IGNORE)
TOP_CATEGORIES = 5


@dataclass(frozen=True, slots=True)
class _Shape:
    """The Wasserstein effect (W/σ) of a numeric column and its threshold."""

    value: float
    threshold: float
    source: str


@dataclass(frozen=True, slots=True)
class _Measured:
    """A tested column before the report-wide multiple-testing step."""

    column: ColumnSchema
    method: str
    statistic: float
    p_value: float
    effect: float
    threshold: float
    threshold_source: str
    shape: _Shape | None  # the W/σ effect of a numeric column
    metrics: dict[str, float | None]
    reference: ColumnSummary
    current: ColumnSummary


def compare_profiles(
    reference: Reference,
    current: DatasetProfile,
    config: DriftConfig | None = None,
    *,
    quality: QualityPolicy | None = None,
    reference_name: str = "reference",
    current_name: str = "current",
) -> DriftReport:
    """Decide drift per column and for the dataset, from profiles alone (cost O(bins))."""
    config = config or DriftConfig()
    measured: list[_Measured] = []
    untested: list[ColumnDrift] = []
    for column in reference.schema:
        if column.role is Role.IGNORE:
            continue
        ref_profile = reference.profile.columns.get(column.name)
        cur_profile = current.columns.get(column.name)
        outcome = _measure(column, ref_profile, cur_profile, config)
        if isinstance(outcome, ColumnDrift):
            untested.append(outcome)
        else:
            measured.append(outcome)

    adjusted = benjamini_hochberg([m.p_value for m in measured])
    tested = [_decide(m, float(q), config) for m, q in zip(measured, adjusted, strict=True)]
    by_name = {result.column: result for result in [*tested, *untested]}
    columns = tuple(by_name[c.name] for c in reference.schema if c.name in by_name)
    return DriftReport(
        dataset=_dataset_verdict(columns, reference, current, config),
        columns=columns,
        anomalies=validate(reference, current, quality),
        config=config,
        reference=reference,
        current=current,
        reference_name=reference_name,
        current_name=current_name,
    )


def _untested(
    column: ColumnSchema,
    reason: str,
    config: DriftConfig,
    reference: ColumnSummary,
    current: ColumnSummary,
) -> ColumnDrift:
    return ColumnDrift(
        column=column.name,
        kind=column.kind,
        role=column.role,
        method=None,
        reason=reason,
        statistic=None,
        p_value=None,
        p_value_adjusted=None,
        effect_name=config.effect,
        effect=None,
        threshold=None,
        threshold_source=None,
        drifted=False,
        severity=Severity.NONE,
        reference=reference,
        current=current,
    )


def _measure(
    column: ColumnSchema,
    reference: ColumnProfile | None,
    current: ColumnProfile | None,
    config: DriftConfig,
) -> _Measured | ColumnDrift:
    ref_summary = summarize(reference) if reference is not None else ColumnSummary(0, 0)
    cur_summary = summarize(current) if current is not None else ColumnSummary(0, 0)

    def skip(reason: str) -> ColumnDrift:
        return _untested(column, reason, config, ref_summary, cur_summary)

    if reference is None:
        return skip("not profiled in the reference")
    if current is None:
        return skip("missing from the current data")
    if column.role in UNTESTED_ROLES:
        return skip(f"role {column.role.value} is not tested for drift")
    test = config.tests.get(column.kind)
    if test is None:
        return skip(f"{column.kind.value} columns are not tested for drift")

    if isinstance(reference, NumericProfile) != isinstance(current, NumericProfile):
        return skip("reference and current profiles are of different types")
    if isinstance(reference, NumericProfile) and not reference.finite_count:
        return skip("no finite values in the reference")
    if isinstance(reference, NumericProfile) and not len(reference.grid.edges):
        return skip("no grid: the reference sample held no finite value")
    if isinstance(current, NumericProfile) and not current.finite_count:
        return skip("no finite values in the current data")
    if not reference.bin_counts.sum():
        return skip("no values in the reference")
    if not current.bin_counts.sum():
        return skip("no values in the current data")
    found = profile_statistics(reference, current)

    if test == "ks" and found.ks is not None:
        statistic, p_value = found.ks.statistic, found.ks.pvalue
    elif test == "ztest" and found.ztest is not None:
        statistic, p_value = found.ztest.statistic, found.ztest.pvalue
    else:  # chi-squared; also for booleans holding values other than the two expected
        statistic, p_value = found.chi2.statistic, found.chi2.pvalue
        test = "chi2"
    metrics: dict[str, float | None] = {
        "psi": found.psi.statistic,
        "jensen_shannon": found.jensen_shannon.statistic,
        "kl": found.kl.statistic,
        "hellinger": found.hellinger.statistic,
    }
    if found.ks is not None:
        metrics.update(ks=found.ks.statistic, ks_bound=found.ks.bound)
    if found.wasserstein is not None:
        metrics.update(
            wasserstein=found.wasserstein.statistic,
            wasserstein_normalized=found.wasserstein.normalized,
            wasserstein_bound=found.wasserstein.bound,
        )
    psi, jensen_shannon = found.psi.statistic, found.jensen_shannon.statistic
    effect_ref, effect_cur = found.reference_counts, found.current_counts
    effect = psi if config.effect == "psi" else jensen_shannon
    shape = None
    if (
        config.wasserstein_floor is not None
        and isinstance(reference, NumericProfile)
        and isinstance(current, NumericProfile)
        and found.wasserstein is not None
        and math.isfinite(found.wasserstein.normalized)
    ):
        shape = _shape(reference, current, found.wasserstein.normalized, config)
    level = config.calibration_level(1 if shape is None else 2)
    threshold, source = _threshold(column.name, effect_ref, int(effect_cur.sum()), config, level)
    return _Measured(
        column,
        test,
        float(statistic),
        float(p_value),
        float(effect),
        threshold,
        source,
        shape,
        metrics,
        ref_summary,
        cur_summary,
    )


def _threshold(
    name: str,
    reference_counts: NDArray[np.int64],
    current_size: int,
    config: DriftConfig,
    level: float,
) -> tuple[float, str]:
    floor = config.effect_floor
    if config.thresholds == "static":
        return floor, "static"
    effects = null_effects(
        reference_counts,
        current_size,
        effect=config.effect,
        draws=config.bootstrap,
        seed=column_seed(config.seed, name),
    )
    calibrated = float(np.quantile(effects, level))
    return (calibrated, "calibrated") if calibrated > floor else (floor, "floor")


def _shape(
    reference: NumericProfile, current: NumericProfile, value: float, config: DriftConfig
) -> _Shape:
    floor = config.wasserstein_floor or 0.0
    if config.thresholds == "static":
        return _Shape(value, floor, "static")
    std = reference.std
    calibrated = math.inf
    if std > 0:
        calibrated = (
            wasserstein_null_quantile(
                reference,
                reference.finite_count,
                current.finite_count,
                config.calibration_level(2),
            )
            / std
        )
    if calibrated > floor:
        return _Shape(value, calibrated, "calibrated")
    return _Shape(value, floor, "floor")


def _decide(measured: _Measured, adjusted: float, config: DriftConfig) -> ColumnDrift:
    shape = measured.shape
    large_by = tuple(
        name
        for name, cleared in (
            (config.effect, measured.effect >= measured.threshold),
            ("wasserstein_normalized", shape is not None and shape.value >= shape.threshold),
        )
        if cleared
    )
    drifted = adjusted <= config.alpha and bool(large_by)
    severity = Severity.NONE
    if drifted:
        high = measured.effect >= config.effect_high or (
            shape is not None and shape.value >= config.wasserstein_high
        )
        severity = Severity.HIGH if high else Severity.MODERATE
    column = measured.column
    return ColumnDrift(
        column=column.name,
        kind=column.kind,
        role=column.role,
        method=measured.method,
        reason=None,
        statistic=measured.statistic,
        p_value=measured.p_value,
        p_value_adjusted=adjusted,
        effect_name=config.effect,
        effect=measured.effect,
        threshold=measured.threshold,
        threshold_source=measured.threshold_source,
        drifted=drifted,
        severity=severity,
        reference=measured.reference,
        current=measured.current,
        wasserstein_threshold=None if shape is None else shape.threshold,
        wasserstein_threshold_source=None if shape is None else shape.source,
        large_by=large_by,
        **measured.metrics,
    )


def _dataset_verdict(
    columns: tuple[ColumnDrift, ...],
    reference: Reference,
    current: DatasetProfile,
    config: DriftConfig,
) -> DatasetDrift:
    features = [c for c in columns if c.role is Role.FEATURE]
    tested = [c for c in features if c.tested]
    drifted = [c for c in tested if c.drifted]
    share = len(drifted) / len(tested) if tested else 0.0
    is_drifted = bool(drifted) and share > config.drift_share
    severity = max((c.severity for c in drifted), key=lambda s: s.rank, default=Severity.NONE)
    return DatasetDrift(
        reference_rows=reference.profile.row_count,
        current_rows=current.row_count,
        features=len(features),
        features_tested=len(tested),
        features_drifted=len(drifted),
        drifted=is_drifted,
        severity=severity if is_drifted else Severity.NONE,
    )


def summarize(profile: ColumnProfile) -> ColumnSummary:
    """Descriptive numbers of a column profile for the report."""
    if isinstance(profile, NumericProfile):
        if not profile.finite_count:
            return ColumnSummary(profile.count, profile.missing_count)
        median = float(profile.quantiles(np.array([0.5]), interpolate=False)[0])
        return ColumnSummary(
            count=profile.count,
            missing=profile.missing_count,
            mean=profile.mean,
            std=profile.std,
            minimum=profile.minimum,
            median=median,
            maximum=profile.maximum,
        )
    counts = profile.bin_counts
    labels = profile.grid.labels
    order = np.argsort(-counts[:-1], kind="stable")[:TOP_CATEGORIES]
    top = tuple((labels[i], int(counts[i])) for i in order.tolist() if counts[i] > 0)
    distinct = int(np.count_nonzero(counts[:-1])) + len(profile.off_grid)
    return ColumnSummary(
        count=profile.count,
        missing=profile.missing_count,
        distinct=distinct if profile.grid.complete else None,
        top=top,
    )

"""compare(reference profile, current profile) -> DriftReport: the statistical policy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from seismo.drift.calibration import column_seed, null_effect_table, wasserstein_null_quantile
from seismo.drift.config import DriftConfig
from seismo.drift.multiple_testing import benjamini_hochberg
from seismo.drift.quality import QualityPolicy, validate
from seismo.drift.result import (
    ColumnDrift,
    ColumnSummary,
    DatasetDrift,
    DriftReport,
    Effect,
    Severity,
)
from seismo.drift.statistics import ProfileStatistics, profile_statistics
from seismo.profile.dataset import ColumnProfile, DatasetProfile, Reference
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import ColumnSchema, Role

UNTESTED_ROLES = (Role.TIMESTAMP, Role.ID, Role.IGNORE)
TOP_CATEGORIES = 5


@dataclass(frozen=True, slots=True)
class _Measured:
    """A tested column before the report-wide multiple-testing step."""

    column: ColumnSchema
    method: str
    statistic: float
    p_value: float
    effects: tuple[Effect, ...]  # the first is ``config.effect``
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
    metrics["total_variation"] = found.total_variation.statistic
    values = {
        "psi": found.psi.statistic,
        "jensen_shannon": found.jensen_shannon.statistic,
        "total_variation": found.total_variation.statistic,
    }
    numeric = (
        isinstance(reference, NumericProfile)
        and isinstance(current, NumericProfile)
        and found.wasserstein is not None
        and math.isfinite(found.wasserstein.normalized)
    )
    if numeric and found.wasserstein is not None:
        values["wasserstein_normalized"] = found.wasserstein.normalized
    names = config.effects_for(numeric)
    thresholds = _thresholds(column.name, names, found, reference, current, config)
    effects = tuple(Effect(name, float(values[name]), *thresholds[name]) for name in names)
    return _Measured(
        column,
        test,
        float(statistic),
        float(p_value),
        effects,
        metrics,
        ref_summary,
        cur_summary,
    )


def _thresholds(
    name: str,
    effects: tuple[str, ...],
    found: ProfileStatistics,
    reference: ColumnProfile,
    current: ColumnProfile,
    config: DriftConfig,
) -> dict[str, tuple[float, str]]:
    """Each effect's threshold: the larger of its floor and its calibrated noise level."""
    if config.thresholds == "static":
        return {effect: (config.floor_of(effect), "static") for effect in effects}
    level = config.calibration_level(len(effects))
    calibrated: dict[str, float] = {}
    binned = tuple(effect for effect in effects if effect != "wasserstein_normalized")
    table = null_effect_table(
        found.reference_counts,
        int(found.current_counts.sum()),
        effects=binned,
        draws=config.bootstrap,
        seed=column_seed(config.seed, name),
    )
    for effect, draws in table.items():
        calibrated[effect] = float(np.quantile(draws, level))
    if "wasserstein_normalized" in effects:
        assert isinstance(reference, NumericProfile) and isinstance(current, NumericProfile)
        std = reference.std
        calibrated["wasserstein_normalized"] = (
            wasserstein_null_quantile(
                reference, reference.finite_count, current.finite_count, level
            )
            / std
            if std > 0
            else math.inf
        )
    found_thresholds = {}
    for effect in effects:
        floor, noise = config.floor_of(effect), calibrated[effect]
        found_thresholds[effect] = (noise, "calibrated") if noise > floor else (floor, "floor")
    return found_thresholds


def _decide(measured: _Measured, adjusted: float, config: DriftConfig) -> ColumnDrift:
    large = any(effect.reached for effect in measured.effects)
    drifted = adjusted <= config.alpha and large
    severity = Severity.NONE
    if drifted:
        high = any(e.value >= config.high_of(e.name) for e in measured.effects if e.reached)
        severity = Severity.HIGH if high else Severity.MODERATE
    column = measured.column
    primary = measured.effects[0]
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
        effect=primary.value,
        threshold=primary.threshold,
        threshold_source=primary.threshold_source,
        drifted=drifted,
        severity=severity,
        reference=measured.reference,
        current=measured.current,
        effects=measured.effects,
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

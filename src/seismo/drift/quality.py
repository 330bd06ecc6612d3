"""Data-quality checks of a current batch against the reference: the anomalies of a report."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from seismo.profile.categorical import CategoricalProfile
from seismo.profile.dataset import DatasetProfile, Reference
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import Kind, Physical, Role
from seismo.stats.ztest import two_proportion_ztest

NUMERIC_STORAGE = {Physical.INT, Physical.FLOAT}


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One data-quality finding. ``check`` is a stable key (see README for the list)."""

    check: str
    column: str | None
    level: Level
    message: str
    value: float | None = None  # the share or count the check measured

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "column": self.column,
            "level": self.level.value,
            "message": self.message,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """Thresholds of the quality checks (documented defaults).

    A null-rate jump is reported when the missing share rose by at least ``null_jump`` (absolute)
    and the rise is significant at ``alpha`` (two-proportion z-test); it is an error at
    ``null_jump_error``. Out-of-range values are reported when their share is significantly above
    what the reference itself would give (binomial test at ``alpha``) and at least ``min_share``.
    """

    alpha: float = 0.01
    null_jump: float = 0.05
    null_jump_error: float = 0.25
    min_share: float = 0.005
    error_share: float = 0.05


def validate(
    reference: Reference, current: DatasetProfile, policy: QualityPolicy | None = None
) -> tuple[Anomaly, ...]:
    """Compare the current profile with the reference; most severe findings first."""
    policy = policy or QualityPolicy()
    found: list[Anomaly] = []
    schema = reference.schema
    known = set(schema.names)
    for column in schema:
        if column.role is Role.IGNORE:
            continue
        name = column.name
        if name not in current.physical:
            if column.role is Role.TARGET:
                continue  # production data has no target: labels arrive on their own
            found.append(
                Anomaly(
                    "missing_column",
                    name,
                    Level.ERROR,
                    f"column {name!r} is in the reference but missing from the current data",
                )
            )
            continue
        seen = current.physical[name]
        if _type_changed(column.physical, seen):
            found.append(
                Anomaly(
                    "type_change",
                    name,
                    Level.ERROR,
                    f"column {name!r} was {column.physical.value} in the reference and is "
                    f"{seen.value} in the current data",
                )
            )
        elif seen is Physical.MIXED:
            found.append(
                Anomaly(
                    "mixed_types",
                    name,
                    Level.WARNING,
                    f"column {name!r} holds values of several types in the current data",
                )
            )
        ref_profile = reference.profile.columns.get(name)
        cur_profile = current.columns.get(name)
        if ref_profile is None or cur_profile is None:
            continue
        found.extend(_missing_checks(name, ref_profile, cur_profile, policy))
        if isinstance(ref_profile, NumericProfile) and isinstance(cur_profile, NumericProfile):
            found.extend(_numeric_checks(name, column.kind, ref_profile, cur_profile, policy))
        elif isinstance(ref_profile, CategoricalProfile) and isinstance(
            cur_profile, CategoricalProfile
        ):
            found.extend(_categorical_checks(name, column.kind, ref_profile, cur_profile))
    for name in current.physical:
        if name not in known:
            found.append(
                Anomaly(
                    "new_column",
                    name,
                    Level.WARNING,
                    f"column {name!r} is in the current data but not in the reference",
                )
            )
    return tuple(sorted(found, key=lambda a: (-a.level.rank, a.check, a.column or "")))


def _type_changed(before: Physical, after: Physical) -> bool:
    if Physical.NULL in (before, after) or before == after:
        return False
    if before in NUMERIC_STORAGE and after in NUMERIC_STORAGE:
        return False  # integers with missing values often arrive as floats
    return not (before is Physical.MIXED or after is Physical.MIXED)


def _missing_checks(
    name: str,
    reference: NumericProfile | CategoricalProfile,
    current: NumericProfile | CategoricalProfile,
    policy: QualityPolicy,
) -> list[Anomaly]:
    found = []
    if reference.count and reference.missing_count == reference.count:
        found.append(
            Anomaly(
                "all_missing_reference",
                name,
                Level.WARNING,
                f"column {name!r} has no values in the reference, so it cannot be tested",
            )
        )
    if not current.count:
        return found
    if isinstance(current, NumericProfile) and current.invalid_count:
        share = current.invalid_count / current.count
        found.append(
            Anomaly(
                "invalid_numbers",
                name,
                Level.WARNING,
                f"column {name!r}: {current.invalid_count} value(s) ({share:.2%}) are text "
                "that is not a number",
                share,
            )
        )
    if current.missing_count == current.count and reference.missing_count < reference.count:
        found.append(
            Anomaly(
                "all_missing",
                name,
                Level.ERROR,
                f"column {name!r} has no values in the current data",
                1.0,
            )
        )
        return found
    ref_share = reference.missing_count / reference.count if reference.count else 0.0
    cur_share = current.missing_count / current.count
    rise = cur_share - ref_share
    if rise >= policy.null_jump:
        test = two_proportion_ztest(
            reference.missing_count, reference.count, current.missing_count, current.count
        )
        if test.pvalue < policy.alpha:
            level = Level.ERROR if rise >= policy.null_jump_error else Level.WARNING
            found.append(
                Anomaly(
                    "null_rate_jump",
                    name,
                    level,
                    f"column {name!r}: missing share rose from {ref_share:.1%} to {cur_share:.1%}",
                    cur_share,
                )
            )
    return found


def _numeric_checks(
    name: str,
    kind: Kind,
    reference: NumericProfile,
    current: NumericProfile,
    policy: QualityPolicy,
) -> list[Anomaly]:
    found = []
    if not len(reference.grid.edges) and (reference.finite_count or current.finite_count):
        found.append(
            Anomaly(
                "no_grid",
                name,
                Level.ERROR,
                f"column {name!r}: the reference sample held no finite value, so there are no "
                "bins to compare the finite values on; the column is not tested (declare its "
                "kind in the schema, or use a reference with values)",
            )
        )
    infinite = current.posinf_count + current.neginf_count
    if infinite and not (reference.posinf_count + reference.neginf_count):
        found.append(
            Anomaly(
                "infinite_values",
                name,
                Level.WARNING,
                f"column {name!r}: {infinite} infinite value(s) in the current data, none in "
                "the reference",
                infinite / current.count,
            )
        )
    if reference.finite_count and current.finite_count and kind is not Kind.DATETIME:
        below, above = current.grid.out_of_range(current.bin_counts)
        outside = below + above
        ref_below, ref_above = reference.grid.out_of_range(reference.bin_counts)
        n_ref = reference.finite_count
        expected = max((ref_below + ref_above) / n_ref, 2.0 / (n_ref + 1))
        share = outside / current.finite_count
        if outside and share >= policy.min_share:
            from scipy.special import bdtrc  # P(X > k): the binomial tail without scipy.stats

            pvalue = float(bdtrc(outside - 1, current.finite_count, expected))
            if pvalue < policy.alpha:
                level = Level.ERROR if share >= policy.error_share else Level.WARNING
                found.append(
                    Anomaly(
                        "out_of_range",
                        name,
                        level,
                        f"column {name!r}: {share:.2%} of values lie outside the reference "
                        f"range [{reference.minimum:g}, {reference.maximum:g}] "
                        f"({below} below, {above} above)",
                        share,
                    )
                )
        if reference.minimum == reference.maximum:
            found.append(
                Anomaly(
                    "constant_reference",
                    name,
                    Level.INFO,
                    f"column {name!r} is constant in the reference ({reference.minimum:g})",
                )
            )
        elif current.finite_count > 1 and current.minimum == current.maximum:
            found.append(
                Anomaly(
                    "constant_column",
                    name,
                    Level.WARNING,
                    f"column {name!r} is constant in the current data ({current.minimum:g})",
                )
            )
    return found


def _categorical_checks(
    name: str, kind: Kind, reference: CategoricalProfile, current: CategoricalProfile
) -> list[Anomaly]:
    found: list[Anomaly] = []
    if kind in (Kind.TEXT, Kind.ID) or not current.valid_count:
        return found
    if reference.grid.complete and current.other_count:
        share = current.other_count / current.valid_count
        examples = ", ".join(
            repr(v) for v, _ in sorted(current.off_grid.items(), key=lambda item: -item[1])[:5]
        )
        level = Level.ERROR if share >= 0.1 else Level.WARNING
        found.append(
            Anomaly(
                "unseen_categories",
                name,
                level,
                f"column {name!r}: {current.other_count} value(s) ({share:.2%}) are "
                f"categories the reference never had, e.g. {examples}",
                share,
            )
        )
    ref_distinct = int(np.count_nonzero(reference.bin_counts))
    cur_distinct = int(np.count_nonzero(current.bin_counts[:-1])) + len(current.off_grid)
    if ref_distinct == 1 and reference.other_count == 0:
        found.append(
            Anomaly(
                "constant_reference",
                name,
                Level.INFO,
                f"column {name!r} has a single value in the reference",
            )
        )
    elif cur_distinct == 1 and current.valid_count > 1 and ref_distinct > 1:
        found.append(
            Anomaly(
                "constant_column",
                name,
                Level.WARNING,
                f"column {name!r} has a single value in the current data",
            )
        )
    return found

"""Root-cause diagnosis: why a window (or any table) differs from the reference.

A change is explained as one of five causes (:class:`Cause`) with the action it calls for
(:class:`Action`). The first question is always whether the data is broken upstream: a
retrain on a broken pipeline bakes the bug into the model, so a pipeline error is looked for
first and, when found, decides the diagnosis whatever drift it also causes.

Pipeline errors are told from the profiles alone (so the monitor's stored windows can be
diagnosed as well as two tables), each by a rule whose evidence is kept:

=============  ===============================================================================
kind           rule
=============  ===============================================================================
schema_change  a reference column is absent, or a numeric column's values are mostly not numbers
null_spike     the missing share rose by at least 10 points and at least doubled (and beyond
               four binomial standard errors of the reference share); in a column mostly
               missing already, a quarter of the present values gone is a null spike too,
               less sure (action ``investigate``)
stuck          a column that varied in the reference holds a single value (numeric: minimum
               equals maximum; categorical: one value takes 99% where none took 90%)
unit_change    the current values are the reference's rescaled (``a·x``, or ``a·x + b``): the
               Kolmogorov-Smirnov distance between the current CDF and the rescaled
               reference CDF is within sampling noise while the values as they are do not
               fit (twice that distance), and ``a`` is a unit
               factor (a power of ten, 2.54, 0.3048, 1.609, 2.2046, 60, 3600, ... or its
               inverse) or at least 10
reencoded      most current values of a categorical column are values the reference never had,
               about as many distinct ones as the reference's categories, in the same
               proportions once sorted
out_of_range   at least 5% of the values sit on one value outside the reference's range that
               reads as a placeholder (:func:`is_sentinel`: 0, -1, ±9, ±99, ..., or further
               beyond the range than the range is wide), or a column that was never
               negative has 1% or more negative values
=============  ===============================================================================

What comes after the pipeline errors (drift, labels, a model) is in :mod:`.engine`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from seismo.loop.diagnosis.result import Cause, Finding
from seismo.loop.diagnosis.result import round_number as _round
from seismo.loop.diagnosis.result import shown as _shown
from seismo.profile.categorical import CategoricalProfile
from seismo.profile.dataset import DatasetProfile, Reference
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import Role

#: Unit factors a rescaled column is recognised by (each also as its inverse).
UNIT_FACTORS: Mapping[str, float] = {
    "inch/cm": 2.54,
    "foot/m": 0.3048,
    "mile/km": 1.609344,
    "pound/kg": 0.45359237,
    "minute/s": 60.0,
    "hour/s": 3600.0,
    "day/h": 24.0,
    "day/s": 86400.0,
    "celsius/fahrenheit": 1.8,
}
#: Every factor by name: the unit factors, their inverses, and the powers of ten.
UNIT_SCALES: Mapping[str, float] = {
    **UNIT_FACTORS,
    **{f"inverse {name}": 1 / factor for name, factor in UNIT_FACTORS.items()},
    **{f"10^{power}": 10.0**power for power in (-6, -3, -2, -1, 1, 2, 3, 6)},
}


@dataclass(frozen=True)
class PipelinePolicy:
    """The thresholds of the pipeline-error rules (see the module docstring)."""

    min_rows: int = 30
    invalid_share: float = 0.2
    null_rise: float = 0.1
    null_present_loss: float = 0.25  # or this share of the present values gone
    stuck_share: float = 0.99
    stuck_reference_share: float = 0.9
    unit_shape: float = 0.03  # KS distance to the rescaled reference (or 3 noise SDs ...
    unit_shape_cap: float = 0.08  # ... but never more than this)
    unit_min_rows: int = 200  # fewer values on a side cannot tell a unit from a shift
    unit_consistency: float = 0.1  # mean and spread moved by the same factor (log ratio)
    unit_explained: float = 0.25  # rescaled, at most this share of the gap is left
    unit_jump: float = 8.0  # mean and spread both this many times larger (or smaller)
    unit_factor_tolerance: float = 0.05
    unit_min_factor: float = 10.0  # any rescaling this large is no drift
    reencoded_share: float = 0.5
    reencoded_shape: float = 0.15  # total variation between the sorted shares
    reencoded_max_categories: int = 50  # beyond, new values are drift
    sentinel_share: float = 0.05
    negative_share: float = 0.01


def pipeline_findings(
    reference: Reference, current: DatasetProfile, policy: PipelinePolicy | None = None
) -> list[Finding]:
    """The pipeline errors the current profile shows against the reference, strongest first."""
    policy = policy or PipelinePolicy()
    found: list[Finding] = []
    for column in reference.schema:
        if column.role is Role.IGNORE:
            continue
        ref = reference.profile.columns.get(column.name)
        cur = current.columns.get(column.name)
        if ref is None:
            continue
        if cur is None and column.role is Role.TARGET:
            continue  # labels arrive apart from the features (the monitor joins them later)
        if cur is None:
            if column.role is Role.TARGET:
                continue  # labels arrive later than the inputs: their absence is no error
            found.append(
                Finding(
                    Cause.PIPELINE_ERROR,
                    "schema_change",
                    (column.name,),
                    {"change": "column missing"},
                    f"{column.name}: the column is missing from the current data",
                )
            )
            continue
        if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
            found.extend(_numeric(column.name, ref, cur, policy))
        elif isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
            found.extend(_categorical(column.name, ref, cur, policy))
    found.sort(key=lambda f: -f.strength)
    return found


def _numeric(
    name: str, ref: NumericProfile, cur: NumericProfile, policy: PipelinePolicy
) -> list[Finding]:
    out: list[Finding] = []
    if cur.count < policy.min_rows:
        return out
    invalid = cur.invalid_count / cur.count
    if invalid >= policy.invalid_share and ref.invalid_count / max(ref.count, 1) < 0.01:
        out.append(
            Finding(
                Cause.PIPELINE_ERROR,
                "schema_change",
                (name,),
                {"change": "type", "not_numbers_share": _round(invalid)},
                f"{name}: {invalid:.0%} of the values are not numbers (a type change)",
            )
        )
    null = _null_spike(name, ref.missing_count, ref.count, cur.missing_count, cur.count, policy)
    if null is not None:
        out.append(null)
    if cur.finite_count < policy.min_rows or ref.finite_count < policy.min_rows:
        return out
    if ref.maximum > ref.minimum and cur.maximum == cur.minimum:
        out.append(
            Finding(
                Cause.PIPELINE_ERROR,
                "stuck",
                (name,),
                {"value": _round(cur.minimum), "rows": cur.finite_count},
                f"{name}: every value is {_shown(cur.minimum)} (it varied in the reference)",
            )
        )
        return out
    # Sentinels first: 10% of 9999s also move the mean and spread by an order of magnitude.
    ranges = _out_of_range(name, ref, cur, policy)
    if ranges:
        return out + ranges
    unit = _unit_change(name, ref, cur, policy)
    if unit is not None:
        out.append(unit)
    return out


def _unit_change(
    name: str, ref: NumericProfile, cur: NumericProfile, policy: PipelinePolicy
) -> Finding | None:
    """``x -> a·x`` (or ``a·x + b``) with ``a`` a unit factor, told by the shape: the current
    distribution is the reference's rescaled (Kolmogorov-Smirnov distance, on the reference's
    grid, between the current CDF and the rescaled reference CDF, within sampling noise)."""
    spreads = (ref.std, cur.std, ref.mean, cur.mean)
    if not (ref.std > 0 and cur.std > 0 and all(math.isfinite(v) for v in spreads)):
        return None  # no spread, or values near the float limits (their spread overflows)
    few = min(ref.finite_count, cur.finite_count) < policy.unit_min_rows
    inside = 1 - (cur.bin_counts[0] + cur.bin_counts[-1]) / cur.finite_count
    if inside < 0.5:
        # Most values beyond the reference's range: the grid sees no shape to compare (every
        # CDF gap would be 0), so only the moved mean and spread can tell.
        return _magnitude_jump(name, ref, cur, policy)
    candidates: list[tuple[float, float]] = []
    if ref.mean != 0 and cur.mean / ref.mean > 0:
        candidates.append((cur.mean / ref.mean, 0.0))  # a pure rescaling keeps zero
    scale = cur.std / ref.std
    candidates.append((scale, cur.mean - scale * ref.mean))
    noise = math.sqrt(1 / ref.finite_count + 1 / cur.finite_count)
    capped = max(policy.unit_shape, min(3 * noise, policy.unit_shape_cap))
    as_they_are = _cdf_gap(ref, cur, 1.0, 0.0)
    if as_they_are <= 2 * capped:
        return None  # the values as they are fit about as well: nothing was rescaled
    for estimate, offset in candidates:
        factor = _unit_factor(estimate, policy)
        large = max(estimate, 1 / estimate) >= policy.unit_min_factor
        if (factor is None and not large) or (few and not large):
            continue  # a small factor on a small sample could as well be a shift
        # A large factor moves every value far from where it was: any sample shows it.
        allowed = max(policy.unit_shape, 3 * noise) if large else capped
        a = UNIT_SCALES.get(factor, estimate) if factor else estimate
        # Zero kept (a pure rescaling) or moved (an offset, as Celsius to Fahrenheit):
        # whichever fits better.
        b, distance = min(
            ((0.0, _rescaled_distance(ref, cur, a, 0.0)),)
            + (
                (
                    (
                        cur.mean - a * ref.mean,
                        _rescaled_distance(ref, cur, a, cur.mean - a * ref.mean),
                    ),
                )
                if offset != 0.0
                else ()
            ),
            key=lambda pair: pair[1],
        )
        # A unit change on data that also drifted: the rescaled shape does not fit within
        # noise, but mean and spread both moved by the same unit factor, and rescaling
        # explains most of the gap.
        both = (
            factor is not None
            and b == 0.0
            and abs(math.log(cur.std / ref.std / a)) <= policy.unit_consistency
            and distance <= policy.unit_explained * as_they_are
            and not few
        )
        if distance > allowed and not both:
            continue
        return _unit_finding(
            name,
            ref,
            cur,
            factor,
            {"scale": _round(a), "offset": _round(b), "shape_distance": _round(distance)},
            f"{name}: values are the reference's × {a:.4g}"
            + (f" + {b:.4g}" if b else "")
            + (f" ({factor})" if factor else "")
            + f"; rescaled, the shape is unchanged (KS {distance:.3f})",
        )
    return _magnitude_jump(name, ref, cur, policy)


def _unit_finding(
    name: str,
    ref: NumericProfile,
    cur: NumericProfile,
    factor: str | None,
    numbers: dict[str, Any],
    summary: str,
    strength: float = 1.0,
) -> Finding:
    evidence: dict[str, Any] = {
        **numbers,
        "reference_range": [_round(ref.minimum), _round(ref.maximum)],
        "current_range": [_round(cur.minimum), _round(cur.maximum)],
    }
    if factor is not None:
        evidence["unit"] = factor
    return Finding(Cause.PIPELINE_ERROR, "unit_change", (name,), evidence, summary, strength)


def _magnitude_jump(
    name: str, ref: NumericProfile, cur: NumericProfile, policy: PipelinePolicy
) -> Finding | None:
    """Mean and spread both moved by an order of magnitude the same way (x 8 or more):
    a unit change even where the data also drifted and the rescaled shape cannot fit."""
    jump = policy.unit_jump
    if abs(ref.mean) < ref.std:
        return _centred_jump(name, ref, cur, jump)
    if ref.mean == 0 or cur.mean / ref.mean <= 0:
        return None
    by_mean, by_spread = cur.mean / ref.mean, cur.std / ref.std
    if not (
        (by_mean >= jump and by_spread >= jump) or (by_mean <= 1 / jump and by_spread <= 1 / jump)
    ):
        return None
    scale = math.sqrt(by_mean) * math.sqrt(by_spread)
    if not (math.isfinite(scale) and scale > 0):
        return None  # values near the float limits: no factor to name
    nearest = min(UNIT_SCALES, key=lambda k: abs(math.log(UNIT_SCALES[k] / scale)))
    factor = nearest if abs(math.log(UNIT_SCALES[nearest] / scale)) <= math.log(1.5) else None
    return _unit_finding(
        name,
        ref,
        cur,
        factor,
        {
            "scale": _round(scale),
            "mean_ratio": _round(by_mean),
            "spread_ratio": _round(by_spread),
        },
        f"{name}: mean × {by_mean:.4g} and spread × {by_spread:.4g}"
        + (f" (about {factor})" if factor else "")
        + ": an order of magnitude, a unit change",
        strength=0.9,
    )


def _centred_jump(
    name: str, ref: NumericProfile, cur: NumericProfile, jump: float
) -> Finding | None:
    """A column centred near 0 (standardised data): its mean says nothing of a scale, so
    the spread and the span (max - min) must both move by an order of magnitude, alike."""
    ref_span, cur_span = ref.maximum - ref.minimum, cur.maximum - cur.minimum
    if not (ref_span > 0 and cur_span > 0):
        return None
    by_spread, by_span = cur.std / ref.std, cur_span / ref_span
    if not (
        (by_spread >= jump and by_span >= jump) or (by_spread <= 1 / jump and by_span <= 1 / jump)
    ) or abs(math.log(by_span / by_spread)) > math.log(2):
        return None
    scale = math.sqrt(by_spread) * math.sqrt(by_span)
    if not (math.isfinite(scale) and scale > 0):
        return None
    return _unit_finding(
        name,
        ref,
        cur,
        None,
        {"scale": _round(scale), "spread_ratio": _round(by_spread), "span_ratio": _round(by_span)},
        f"{name}: spread × {by_spread:.4g} and range × {by_span:.4g} around a centre near 0: "
        "an order of magnitude, a unit or scaling change",
        strength=0.9,
    )


def _rescaled_distance(ref: NumericProfile, cur: NumericProfile, a: float, b: float) -> float:
    """Largest gap between the current CDF and the reference's CDF of ``a·x + b`` at the
    reference grid's edges (where the current CDF is exact); 1 when the current range does not
    sit within the rescaled reference range, filling at least half of it (a sample's extremes
    lie inside its population's)."""
    low, high = sorted((a * ref.minimum + b, a * ref.maximum + b))
    room = 0.05 * (high - low)
    if not (
        cur.minimum >= low - room
        and cur.maximum <= high + room
        and cur.maximum - cur.minimum >= 0.5 * (high - low)
    ):
        return 1.0
    return _cdf_gap(ref, cur, a, b)


def _cdf_gap(ref: NumericProfile, cur: NumericProfile, a: float, b: float) -> float:
    """Largest gap between the current CDF and the reference's CDF of ``a·x + b`` at the
    reference grid's edges."""
    points = cur.grid.edges
    current = np.cumsum(cur.bin_counts)[:-1] / cur.finite_count
    rescaled = ref.cdf_at((points - b) / a) if a > 0 else 1 - ref.cdf_at((points - b) / a)
    return float(np.max(np.abs(current - rescaled)))


#: Values a pipeline writes for "unknown": 0, -1 and the runs of nines.
CONVENTIONAL_SENTINELS = frozenset(
    {0.0, -1.0, *(sign * (10.0**digits - 1) for sign in (1, -1) for digits in range(1, 8))}
)


def is_sentinel(value: float, low: float, high: float) -> bool:
    """A value beyond the range ``[low, high]`` that reads as a placeholder: a conventional
    sentinel, or further beyond the range than the range is wide (a value just past the
    range, such as 3 cylinders where the reference had 4 to 8, is new data, not a sentinel).

    >>> is_sentinel(-1.0, 0.0, 500.0), is_sentinel(3.0, 4.0, 8.0), is_sentinel(5e6, 0.0, 500.0)
    (True, False, True)
    """
    if value in CONVENTIONAL_SENTINELS:
        return True
    distance = low - value if value < low else value - high
    return distance > 0 and distance >= max(high - low, 0.0) and (high > low or distance >= 1)


def _unit_factor(scale: float, policy: PipelinePolicy) -> str | None:
    """The unit factor ``scale`` is close to (by name), if any."""
    for shown, candidate in UNIT_SCALES.items():
        if abs(scale / candidate - 1) <= policy.unit_factor_tolerance:
            return shown
    return None


def _out_of_range(
    name: str, ref: NumericProfile, cur: NumericProfile, policy: PipelinePolicy
) -> list[Finding]:
    """Sentinels beyond the reference's range, and negative values in a column that never
    had any. Bin 0 of the grid holds values below the reference minimum and the last bin
    values above its maximum, with their exact extremes."""
    out: list[Finding] = []
    counts = cur.bin_counts
    n = cur.finite_count
    if cur.bin_minima is not None and cur.bin_maxima is not None:
        for index, side in ((0, "below"), (len(counts) - 1, "above")):
            share = counts[index] / n
            low, high = cur.bin_minima[index], cur.bin_maxima[index]
            if (
                share >= policy.sentinel_share
                and low == high
                and is_sentinel(low, ref.minimum, ref.maximum)
            ):
                out.append(
                    Finding(
                        Cause.PIPELINE_ERROR,
                        "out_of_range",
                        (name,),
                        {"value": _round(low), "share": _round(share), "side": side},
                        f"{name}: {share:.0%} of the values are {_shown(low)}, {side} the "
                        f"reference's range [{_shown(ref.minimum)}, {_shown(ref.maximum)}] "
                        "(a sentinel)",
                    )
                )
    if ref.minimum >= 0 and cur.minimum < 0:
        negative = float(cur.cdf_at(np.array([-1e-300]))[0]) if n else 0.0
        if negative >= policy.negative_share:
            out.append(
                Finding(
                    Cause.PIPELINE_ERROR,
                    "out_of_range",
                    (name,),
                    {"negative_share": _round(negative), "minimum": _round(cur.minimum)},
                    f"{name}: {negative:.0%} of the values are negative (never in the reference)",
                )
            )
    return out


def _categorical(
    name: str, ref: CategoricalProfile, cur: CategoricalProfile, policy: PipelinePolicy
) -> list[Finding]:
    out: list[Finding] = []
    if cur.count < policy.min_rows:
        return out
    null = _null_spike(name, ref.missing_count, ref.count, cur.missing_count, cur.count, policy)
    if null is not None:
        out.append(null)
    valid, ref_valid = cur.valid_count, ref.valid_count
    if valid < policy.min_rows or ref_valid < policy.min_rows:
        return out
    ref_shares = np.sort(np.asarray(ref.bin_counts, dtype=np.float64))[::-1] / ref_valid
    other = cur.other_count / valid
    found = _reencoded(name, ref, cur, ref_shares, other, policy)
    if found is not None:
        return [*out, found]
    counts = np.asarray(cur.bin_counts, dtype=np.float64)
    top = float(counts.max()) / valid if len(counts) else 0.0
    if top >= policy.stuck_share and ref_shares[0] < policy.stuck_reference_share:
        value = (
            ref.grid.categories[int(np.argmax(counts))]
            if int(np.argmax(counts)) < len(ref.grid.categories)
            else "(other)"
        )
        out.append(
            Finding(
                Cause.PIPELINE_ERROR,
                "stuck",
                (name,),
                {"value": value, "share": _round(top)},
                f"{name}: {top:.0%} of the values are {value!r} (at most "
                f"{ref_shares[0]:.0%} in the reference)",
            )
        )
    return out


def _reencoded(
    name: str,
    ref: CategoricalProfile,
    cur: CategoricalProfile,
    ref_shares: NDArray[np.float64],
    other: float,
    policy: PipelinePolicy,
) -> Finding | None:
    """Most values of a categorical column are values the reference never had: renamed one
    to one (the sorted shares match the reference's), or, in a column of a few values,
    replaced. (A column of many values, such as a flight number, meets new values every
    month; that is drift.)"""
    known = int((ref_shares > 0).sum())
    new = sorted(cur.off_grid.values(), reverse=True)
    if other < policy.reencoded_share or ref.other_count / ref.valid_count >= 0.05 or not new:
        return None
    distance: float | None = None
    if 0.5 * known <= len(new) <= 2 * known:
        cur_shares = np.zeros(max(known, len(new)))
        cur_shares[: len(new)] = np.asarray(new, dtype=np.float64) / sum(new)
        ref_padded = np.zeros_like(cur_shares)
        ref_padded[:known] = ref_shares[:known]
        distance = 0.5 * float(np.abs(cur_shares - ref_padded).sum())
    renamed = distance is not None and distance <= policy.reencoded_shape
    replaced = (
        ref.grid.complete and known <= policy.reencoded_max_categories and 1 < len(new) <= 2 * known
    )
    if not (renamed or replaced):
        return None
    examples = sorted(cur.off_grid, key=lambda k: -cur.off_grid[k])[:5]
    evidence: dict[str, Any] = {
        "new_values_share": _round(other),
        "new_values": examples,
        "reference_values": list(ref.grid.categories[:5]),
    }
    if renamed:
        evidence["shape_distance"] = _round(distance)
    shown = ", ".join(examples[:3])
    summary = (
        f"{name}: {other:.0%} of the values are new ({shown}), in the reference's "
        "proportions: categories re-encoded"
        if renamed
        else f"{name}: {other:.0%} of the values were never seen in the reference ({shown}): "
        "categories re-encoded or replaced"
    )
    return Finding(
        Cause.PIPELINE_ERROR,
        "reencoded",
        (name,),
        evidence,
        summary,
        1.0 if renamed else 0.8,
    )


def _null_spike(
    name: str,
    ref_missing: int,
    ref_count: int,
    cur_missing: int,
    cur_count: int,
    policy: PipelinePolicy,
) -> Finding | None:
    if not ref_count or not cur_count:
        return None
    before, after = ref_missing / ref_count, cur_missing / cur_count
    noise = 4 * math.sqrt(max(before * (1 - before), 1 / ref_count) / cur_count)
    if after - before < max(policy.null_rise, noise):
        return None
    doubled = after >= 2 * before
    # A column mostly missing already cannot double: a quarter of what was there gone is as
    # telling, but less sure (look before fixing).
    if not doubled and (1 - after) > (1 - policy.null_present_loss) * (1 - before):
        return None
    return Finding(
        Cause.PIPELINE_ERROR,
        "null_spike",
        (name,),
        {"reference_missing_share": _round(before), "current_missing_share": _round(after)},
        f"{name}: {after:.0%} of the values are missing ({before:.0%} in the reference)",
        1.0 if doubled else 0.7,
    )

"""Pipeline errors only raw rows show: an exact rescaled match, a sentinel among other new
values, and a step at one instant.

=============  ===============================================================================
kind           rule
=============  ===============================================================================
unit_change    *exact rescaled match*: the reference's values are recorded to a precision (a
               power of ten ``d``: 99% of its non-zero values are multiples of ``d``) and the
               current values divided by a unit factor ``k`` (:data:`UNIT_SCALES`, with the
               Fahrenheit offset) land on that precision (99%) where the reference's own
               values divided by ``k`` do not (at most half, and so unlikely that
               ``share ** rows`` is below one in a million); and either the current values as
               they are left that precision (at most half on it), or dividing by ``k`` brings
               the distribution closer to the reference (smaller KS distance: values that kept
               the precision may only have been rounded more coarsely). Measurement precision
               survives genuine change; a unit conversion multiplies it by ``k``. A column
               with no such precision but few repeated values (at most 200 distinct, each seen
               four times on average) is matched on the reference's own values instead.
out_of_range   one value beyond the reference's range takes at least 5% of the current values
               and is a conventional sentinel (0, -1, ±9, ±99, ...) or lies further beyond the
               range than the range is wide.
step_change    with a time column (role ``timestamp``, else the only datetime column), the
               values of a numeric column, in time order, switch at one instant: to missing
               (95% after, at most the reference's share plus 5 points before), to one value
               until the end (that varied before and was rare in the reference), or to the
               earlier values times ``k`` or plus ``c``: the stretch just after the instant
               differs from the stretch just before (KS, 5% of the rows each) by at least
               0.25 and twice as much as neighbouring stretches differ anywhere else,
               the end of the series still differs, and the stretch after fits the one before
               times ``k`` or plus ``c`` within sampling noise; or the values leave the
               precision they were recorded to (see ``unit_change``) at one instant and stay
               off it (95% after, 1% before).
=============  ===============================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from seismo.loop.diagnosis.pipeline import UNIT_SCALES, is_sentinel
from seismo.loop.diagnosis.result import Cause, Finding
from seismo.loop.diagnosis.result import round_number as _round
from seismo.loop.diagnosis.result import shown as _shown
from seismo.loop.diagnosis.rows import Rows, time_column
from seismo.profile.dataset import Reference
from seismo.schema.types import Kind, Role

Float = NDArray[np.float64]

#: Back-transforms tried for an exact rescaled match: name -> (factor, offset) with
#: current = factor · reference + offset.
TRANSFORMS: dict[str, tuple[float, float]] = {
    **{name: (factor, 0.0) for name, factor in UNIT_SCALES.items()},
    "celsius to fahrenheit": (1.8, 32.0),
    "fahrenheit to celsius": (1 / 1.8, -32.0 / 1.8),
}
CHECKED_ROLES = (Role.FEATURE, Role.TARGET, Role.PREDICTION, Role.SCORE)


@dataclass(frozen=True)
class RawPolicy:
    min_rows: int = 20
    lattice_share: float = 0.99
    lattice_reference_share: float = 0.5
    lattice_chance: float = 1e-6
    known_values: int = 200  # a column of at most this many distinct values is matched by value
    sentinel_share: float = 0.05
    step_min_rows: int = 30
    step_min_share: float = 0.02
    step_null_after: float = 0.95
    step_jump: float = 0.25  # KS distance between the sides as they are, at least
    step_steady: float = 0.5  # neighbouring stretches elsewhere differ by at most this share
    step_rare: float = 0.5  # the value a column switches to had at most this share before


def raw_findings(
    reference: Reference,
    reference_rows: Rows | None,
    current_rows: Rows,
    policy: RawPolicy | None = None,
) -> list[Finding]:
    policy = policy or RawPolicy()
    # Values near the float limits overflow when rescaled: such a value fits no precision.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _raw_findings(reference, reference_rows, current_rows, policy)


def _raw_findings(
    reference: Reference, reference_rows: Rows | None, current_rows: Rows, policy: RawPolicy
) -> list[Finding]:
    found: list[Finding] = []
    stamp = time_column(reference.schema, current_rows)
    for column in reference.schema:
        name = column.name
        if column.role not in CHECKED_ROLES or column.kind is not Kind.NUMERIC:
            continue
        if name not in current_rows.numeric or name == stamp:
            continue
        if stamp is not None:
            step = _step(name, current_rows, stamp, reference, reference_rows, policy)
            if step is not None:
                found.append(step)
                continue
        if reference_rows is None or name not in reference_rows.numeric:
            continue
        ref, cur = reference_rows.numeric[name], current_rows.numeric[name]
        ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
        if min(len(ref), len(cur)) < policy.min_rows:
            continue
        sentinel = _sentinel(name, ref, cur, policy)
        if sentinel is not None:
            found.append(sentinel)
            continue
        unit = _exact_rescaling(name, ref, cur, policy)
        if unit is not None:
            found.append(unit)
    return found


# --------------------------------------------------------------------------- exact rescaling


def _on_lattice(values: Float, step: float) -> float:
    """Share of ``values`` that are whole multiples of ``step`` (to float rounding)."""
    if len(values) == 0:
        return 0.0
    ratio = values / step
    return float(np.mean(np.abs(ratio - np.round(ratio)) <= 1e-6 + 1e-9 * np.abs(ratio)))


def precision(values: Float, share: float = 0.99) -> float | None:
    """The coarsest power of ten (10^3 to 10^-6) that ``share`` of the non-zero values are
    multiples of: the precision they were recorded to (None: no such power).

    >>> precision(np.array([39.1, 18.7, 40.3, 0.0]))
    0.1
    >>> precision(np.array([39.1, 18.7, 40.3]) * 2.54)  # 99.314, 47.498, 102.362
    0.001
    >>> precision(np.random.default_rng(0).normal(size=50)) is None
    True
    """
    nonzero = values[values != 0]
    if len(nonzero) == 0:
        return None
    for power in range(3, -7, -1):
        if _on_lattice(nonzero, 10.0**power) >= share:
            return 10.0**power
    return None


def _in_set(values: Float, known: Float) -> float:
    """Share of ``values`` equal (to float rounding) to one of the sorted ``known`` values."""
    if len(values) == 0 or len(known) == 0:
        return 0.0
    where = np.clip(np.searchsorted(known, values), 1, len(known) - 1)
    nearest = np.minimum(np.abs(known[where - 1] - values), np.abs(known[where] - values))
    return float(np.mean(nearest <= 1e-9 * np.maximum(np.abs(values), 1e-12)))


def _exact_rescaling(name: str, ref: Float, cur: Float, policy: RawPolicy) -> Finding | None:
    """The current values are the reference's times a unit factor, exactly: back-transformed
    they sit on the reference's recorded precision, or (a column of few repeated values with
    no decimal precision) on the reference's own values."""
    ref_nonzero, cur_nonzero = ref[ref != 0], cur[cur != 0]
    if len(cur_nonzero) < policy.min_rows:
        return None
    step = precision(ref, policy.lattice_share)
    known = np.unique(ref_nonzero)
    if step is not None:
        shown = f"the reference's precision ({_shown(step)})"

        def fits(values: Float) -> float:
            return _on_lattice(values, step)

    elif len(known) <= policy.known_values and len(known) <= len(ref_nonzero) / 4:
        shown = f"the reference's {len(known)} distinct values"

        def fits(values: Float) -> float:
            return _in_set(values, known)

    else:
        return None
    as_they_are = float(stats.ks_2samp(ref, cur).statistic)
    best: tuple[float, str, float, float, float, float] | None = None
    for transform, (factor, offset) in TRANSFORMS.items():
        back = fits((cur_nonzero - offset) / factor)
        if back < policy.lattice_share:
            continue
        # The reference itself on the coarser lattice: how likely the current got there anyway.
        chance = fits((ref_nonzero - offset) / factor)
        if chance > policy.lattice_reference_share:
            continue
        if len(cur_nonzero) * math.log(max(chance, 1e-300)) > math.log(policy.lattice_chance):
            continue
        distance = float(stats.ks_2samp(ref, (cur - offset) / factor).statistic)
        # Values that kept the precision as they are (×60 of whole minutes) could also have
        # been rounded more coarsely: then the rescaling must also bring the shape closer.
        lost = fits(cur_nonzero) < policy.lattice_reference_share
        if (lost or distance < as_they_are) and (best is None or distance < best[0]):
            best = (distance, transform, factor, offset, chance, back)
    if best is None:
        return None
    distance, transform, factor, offset, chance, back = best
    return Finding(
        Cause.PIPELINE_ERROR,
        "unit_change",
        (name,),
        {
            "scale": _round(factor),
            "offset": _round(offset),
            "unit": transform,
            "precision": _round(step) if step is not None else None,
            "rescaled_match_share": _round(back),
            "reference_match_share": _round(chance),
            "shape_distance": _round(distance),
            "shape_distance_as_they_are": _round(as_they_are),
        },
        f"{name}: values are the reference's × {factor:.4g}"
        + (f" + {offset:.4g}" if offset else "")
        + f" ({transform}): divided back, they sit on {shown}, where the reference's own "
        "values do not",
        strength=0.9,
    )


# --------------------------------------------------------------------------- sentinels


def _sentinel(name: str, ref: Float, cur: Float, policy: RawPolicy) -> Finding | None:
    low, high = float(ref.min()), float(ref.max())
    beyond = cur[(cur < low) | (cur > high)]
    if len(beyond) == 0:
        return None
    values, counts = np.unique(beyond, return_counts=True)
    top = int(np.argmax(counts))
    value, share = float(values[top]), counts[top] / len(cur)
    if share < policy.sentinel_share or not is_sentinel(value, low, high):
        return None
    side = "below" if value < low else "above"
    return Finding(
        Cause.PIPELINE_ERROR,
        "out_of_range",
        (name,),
        {"value": _round(value), "share": _round(share), "side": side},
        f"{name}: {share:.0%} of the values are {_shown(value)}, {side} the reference's range "
        f"[{_shown(low)}, {_shown(high)}] (a sentinel)",
    )


# --------------------------------------------------------------------------- step change


def _step(
    name: str,
    rows: Rows,
    stamp: str,
    reference: Reference,
    reference_rows: Rows | None,
    policy: RawPolicy,
) -> Finding | None:
    times = rows.numeric[stamp]
    known = np.flatnonzero(np.isfinite(times))
    order = known[np.argsort(times[known], kind="stable")]
    values, times = rows.numeric[name][order], times[order]
    n = len(values)
    least = max(policy.step_min_rows, math.ceil(policy.step_min_share * n))
    if n < 2 * least:
        return None
    kind_is_time = reference.schema[stamp].kind is Kind.DATETIME
    missing = np.isnan(values)
    ref_missing = (
        float(np.mean(np.isnan(reference_rows.numeric[name])))
        if reference_rows is not None and name in reference_rows.numeric
        else float(missing.mean())
    )
    found = _to_missing(missing, least, ref_missing, policy)
    if found is not None:
        at, before, after = found
        return _step_finding(
            name,
            times[at],
            kind_is_time,
            "missing",
            {"missing_before": _round(before), "missing_after": _round(after)},
            f"missing from then on ({after:.0%}, {before:.0%} before)",
        )
    found_constant = _to_constant(values, least, reference_rows, name, policy)
    if found_constant is not None:
        at, value = found_constant
        return _step_finding(
            name,
            times[at],
            kind_is_time,
            "constant",
            {"value": _round(value), "rows_after": n - at},
            f"stuck at {_shown(value)} from then on",
        )
    finite = np.isfinite(values)
    ref_values = (
        reference_rows.numeric[name]
        if reference_rows is not None and name in reference_rows.numeric
        else values[finite][: len(values) // 3]
    )
    found_level = _precision_step(values[finite], ref_values, least, policy) or _level(
        values[finite], least, policy
    )
    if found_level is None:
        return None
    at, numbers, text = found_level
    return _step_finding(
        name, times[finite][at], kind_is_time, numbers.pop("change"), numbers, text
    )


def _to_missing(
    missing: NDArray[np.bool_], least: int, ref_missing: float, policy: RawPolicy
) -> tuple[int, float, float] | None:
    n = len(missing)
    after_counts = np.cumsum(missing[::-1])[::-1]  # missing at or after each row
    split = np.arange(least, n - least + 1)
    after = after_counts[split] / (n - split)
    candidates = split[after >= policy.step_null_after]
    if len(candidates) == 0:
        return None
    at = int(candidates[0])  # the earliest instant from which (nearly) all are missing
    before = float(missing[:at].mean())
    if before > ref_missing + 0.05:
        return None
    return at, before, float(missing[at:].mean())


def _precision_step(
    values: Float, reference: Float, least: int, policy: RawPolicy
) -> tuple[int, dict[str, Any], str] | None:
    """The values leave the precision they were recorded to (the reference's, a power of ten)
    at one instant and stay off it: a transform downstream (a rescaling, an offset) that the
    values' own wandering cannot mimic."""
    step = precision(reference[np.isfinite(reference)], policy.lattice_share)
    if step is None:
        return None
    ratio = values / step
    off = (values != 0) & (np.abs(ratio - np.round(ratio)) > 1e-6 + 1e-9 * np.abs(ratio))
    found = _to_missing(off, least, 1 - policy.lattice_share, policy)
    if found is None:
        return None
    at, before_share, after_share = found
    width = min(max(least, len(values) // 20), at, len(values) - at)
    before, after = values[at - width : at], values[at : at + width]
    numbers: dict[str, Any] = {
        "change": "precision",
        "precision": _round(step),
        "off_precision_before": _round(before_share),
        "off_precision_after": _round(after_share),
        "median_before": _round(float(np.median(before))),
        "median_after": _round(float(np.median(after))),
    }
    text = f"off the recorded precision ({_shown(step)}) from then on"
    later = values[at:][values[at:] != 0]
    for transform, (factor, offset) in TRANSFORMS.items():
        if _on_lattice((later - offset) / factor, step) >= policy.lattice_share:
            numbers.update(change="scaled", factor=_round(factor), unit=transform)
            text = f"× {factor:.4g} ({transform}) from then on"
            break
    else:
        shift = float(np.median(after) - np.median(before))
        if _ks(before + shift, after) < _ks(before, after):
            numbers.update(change="shifted", offset=_round(shift))
            text = f"+ {shift:.4g} from then on, off the recorded precision ({_shown(step)})"
    return at, numbers, text


def _to_constant(
    values: Float, least: int, reference_rows: Rows | None, name: str, policy: RawPolicy
) -> tuple[int, float] | None:
    finite = values[np.isfinite(values)]
    if len(finite) < 2 * least:
        return None
    last = finite[-1]
    run = (
        len(finite) - int(np.flatnonzero(finite != last)[-1]) - 1
        if np.any(finite != last)
        else len(finite)
    )
    if run < least or run == len(finite):
        return None
    before = finite[: len(finite) - run]
    if np.mean(before == last) > policy.step_rare:
        return None
    if reference_rows is not None and name in reference_rows.numeric:
        ref = reference_rows.numeric[name]
        ref = ref[np.isfinite(ref)]
        if len(ref) and np.mean(ref == last) > policy.step_rare:
            return None
    at = int(np.flatnonzero(np.isfinite(values))[len(finite) - run])
    return at, float(last)


def _ks(a: Float, b: Float) -> float:
    return float(stats.ks_2samp(a, b).statistic) if len(a) and len(b) else 0.0


def _level(values: Float, least: int, policy: RawPolicy) -> tuple[int, dict[str, Any], str] | None:
    """A change of level or scale at one point, told from the series' own wandering: the
    values just after the instant differ from those just before (KS between the ``width``
    rows on either side) far more than neighbouring stretches differ anywhere else, the end of
    the series still differs (it persisted), and the later stretch is the earlier one times
    ``k`` or plus ``c``."""
    n = len(values)
    width = min(max(least, n // 20), 2_000)
    if n < 4 * width or np.all(values == values[0]):
        return None
    stride = max(1, width // 4)
    points = np.arange(width, n - width + 1, stride)
    gaps = np.asarray([_ks(values[t - width : t], values[t : t + width]) for t in points])
    rough = int(points[int(np.argmax(gaps))])
    fine = np.arange(max(width, rough - stride), min(n - width, rough + stride) + 1)
    at = int(
        fine[int(np.argmax([_ks(values[t - width : t], values[t : t + width]) for t in fine]))]
    )
    before, after = values[at - width : at], values[at : at + width]
    jump = _ks(before, after)
    noise = 1.95 * math.sqrt(2 / width)  # KS critical value of two stretches, p = 0.001
    elsewhere = gaps[np.abs(points - at) >= width]
    usual = float(np.max(elsewhere)) if len(elsewhere) else 0.0
    if jump < max(policy.step_jump, noise, usual / policy.step_steady):
        return None
    if _ks(before, values[-width:]) < jump / 2:
        return None  # it did not last: an episode, not a step
    candidates: list[tuple[float, str, dict[str, Any], str]] = []
    spread_before = float(np.subtract(*np.percentile(before, [75, 25])))
    spread_after = float(np.subtract(*np.percentile(after, [75, 25])))
    if spread_before > 0 and spread_after > 0:
        factor = spread_after / spread_before
        candidates.append(
            (_ks(before * factor, after), "scaled", {"factor": _round(factor)}, f"× {factor:.4g}")
        )
    shift = float(np.median(after) - np.median(before))
    candidates.append(
        (_ks(before + shift, after), "shifted", {"offset": _round(shift)}, f"+ {shift:.4g}")
    )
    distance, change, numbers, text = min(candidates, key=lambda c: c[0])
    if distance > max(noise, jump / 3):
        return None
    numbers.update(
        change=change,
        median_before=_round(float(np.median(before))),
        median_after=_round(float(np.median(after))),
        shape_distance=_round(distance),
        jump_distance=_round(jump),
        usual_distance=_round(usual),
    )
    return at, numbers, text + " from then on"


def _step_finding(
    name: str, instant: float, is_time: bool, change: str, numbers: dict[str, Any], text: str
) -> Finding:
    shown = (
        datetime.fromtimestamp(float(instant), UTC).isoformat().replace("+00:00", "Z")
        if is_time
        else _shown(float(instant))
    )
    return Finding(
        Cause.PIPELINE_ERROR,
        "step_change",
        (name,),
        {"instant": shown, "change": change, **numbers},
        f"{name}: {text}, at {shown} (a step at one instant)",
        strength=0.9,
    )

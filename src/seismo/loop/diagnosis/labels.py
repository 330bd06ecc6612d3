"""With labels (and optionally a model): concept drift, prior shift, and which drift matters.

Three questions, asked of the labelled rows of both tables (the target: the column whose role
is ``target``; a numeric target of many values is cut at the reference's quintiles wherever a
"label mix" is needed):

prior shift
    the label mix moved (chi-squared p below ``prior_p`` and total variation at least
    ``prior_effect``) while the inputs given the label did not: no feature of any class differs
    between the reference rows of that class and the current rows of that class (KS for
    numbers, chi-squared for categories; Bonferroni over features and classes, and an effect of
    at least ``conditional_effect`` needed to count).
concept drift
    performance fell beyond what the input shift explains. Each current row's *expected* loss
    is the mean loss of the predictor on its ``neighbours`` nearest reference rows (inputs on
    the reference's quantile scale): the reference's performance reweighted to where the
    current inputs are (a nearest-neighbour density ratio). Realized below expected by at least
    ``concept_drop`` (accuracy; a share of the expected mean absolute error for a regression)
    and three paired standard errors is concept drift, and the segments (a category, a quarter
    of a numeric feature) where the drop is largest say where it fell.
    The predictor is the model when one is given, else the prediction column of the tables,
    else the nearest reference rows themselves (their majority label or mean target).
importance
    which drifted features matter to the model: its ``feature_importances_`` or ``|coef_|``,
    else the permutation importance of the predictor on a reference sample; drift findings are
    ranked by effect over bar × importance.

Only the model call needs scikit-learn (or whatever the model is); everything else is numpy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from seismo.errors import InputError
from seismo.loop.diagnosis.result import Cause, Finding
from seismo.loop.diagnosis.result import round_number as _round
from seismo.loop.diagnosis.rows import Rows
from seismo.profile.batch import number_text
from seismo.schema.types import Kind, Role, Schema

Float = NDArray[np.float64]


@dataclass(frozen=True)
class LabelPolicy:
    """Thresholds of the label checks (see the module docstring)."""

    min_rows: int = 50  # labelled rows needed on each side
    max_classes: int = 20  # a numeric target with more distinct values is a regression
    prior_p: float = 1e-3
    prior_effect: float = 0.05
    conditional_p: float = 1e-3  # before Bonferroni over features × classes
    conditional_effect: float = 0.1
    concept_drop: float = 0.05  # accuracy points; for a regression, a share of the error
    concept_sigmas: float = 3.0
    neighbours: int = 15
    sample: int = 3_000  # rows of each table the neighbour search uses
    importance_rows: int = 600
    segment_min_rows: int = 30
    segments: int = 5  # reported at most


@dataclass(frozen=True)
class Task:
    """The target and the features the relation is read on."""

    target: str
    classification: bool
    features: tuple[str, ...]
    prediction: str | None  # a prediction column both tables hold


def task_of(
    schema: Schema, reference: Rows, current: Rows, model: Any, policy: LabelPolicy
) -> Task | None:
    """The task when both tables hold labels (None: concept drift and prior shift cannot be
    told)."""
    targets = [c for c in schema if c.role is Role.TARGET]
    if len(targets) != 1:
        return None
    target = targets[0]
    if target.name not in reference or target.name not in current:
        return None
    if min(_labelled(reference, target.name).sum(), _labelled(current, target.name).sum()) < (
        policy.min_rows
    ):
        return None
    classification = target.kind is not Kind.NUMERIC or (
        len(np.unique(reference.numeric[target.name][_labelled(reference, target.name)]))
        <= policy.max_classes
    )
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        features = tuple(str(n) for n in names)
        absent = [n for n in features if n not in reference or n not in current]
        if absent:
            raise InputError(f"model: it needs column(s) {absent} that the tables do not have")
    else:
        features = tuple(
            c.name
            for c in schema
            if c.role is Role.FEATURE
            and c.kind in (Kind.NUMERIC, Kind.CATEGORICAL, Kind.BOOLEAN)
            and c.name in reference
            and c.name in current
        )
    predictions = [
        c.name
        for c in schema
        if c.role is Role.PREDICTION and c.name in reference and c.name in current
    ]
    return Task(target.name, classification, features, predictions[0] if predictions else None)


def _labelled(rows: Rows, name: str) -> NDArray[np.bool_]:
    return ~rows.missing(name)


def _labels(rows: Rows, name: str) -> NDArray[np.object_]:
    """Labels as text, so numbers and strings compare (1.0 and "1" are the same class)."""
    if name in rows.numeric:
        return np.asarray([number_text(v) for v in rows.numeric[name]], dtype=object)
    return rows.text[name]


# --------------------------------------------------------------------------- the input space


class InputSpace:
    """The features on the reference's quantile scale (numbers) and one-hot (categories), so
    that a distance means the same in every column."""

    def __init__(self, reference: Rows, features: Sequence[str]) -> None:
        self._sorted: dict[str, Float] = {}
        self._categories: dict[str, list[str]] = {}
        for name in features:
            if name in reference.numeric:
                values = reference.numeric[name]
                self._sorted[name] = np.sort(values[np.isfinite(values)])
            else:
                labels, counts = np.unique(
                    reference.text[name][~reference.missing(name)].astype(str), return_counts=True
                )
                self._categories[name] = [str(v) for v in labels[np.argsort(-counts)][:12]]

    def __call__(self, rows: Rows) -> Float:
        parts: list[Float] = []
        for name, ordered in self._sorted.items():
            values = rows.numeric[name]
            if len(ordered) == 0:
                continue
            scaled = np.searchsorted(ordered, values, side="right") / len(ordered)
            scaled = np.where(np.isnan(values), 0.5, scaled)
            parts.append((scaled - 0.5) * math.sqrt(12))  # unit variance on the reference
        for name, categories in self._categories.items():
            texts = rows.text[name]
            for category in categories:
                parts.append((texts == category).astype(np.float64))
        if not parts:
            return np.zeros((rows.count, 1))
        return np.column_stack(parts)


def nearest(
    points: Float, queries: Float, k: int, *, leave_out_self: bool = False
) -> tuple[Float, NDArray[np.intp]]:
    """Distances and indices of the ``k`` nearest ``points`` of each query, nearest first
    (exact, by blocks of squared distances: one-hot columns make a k-d tree slow). With
    ``leave_out_self``, the queries are the points and each leaves itself out."""
    k = max(1, min(k, len(points) - (1 if leave_out_self else 0)))
    points, queries = points.astype(np.float32), queries.astype(np.float32)
    squared = np.einsum("ij,ij->i", points, points)
    distances = np.empty((len(queries), k))
    indices = np.empty((len(queries), k), dtype=np.intp)
    block = max(1, 4_000_000 // max(len(points), 1))
    for start in range(0, len(queries), block):
        chunk = queries[start : start + block]
        gaps = squared[None, :] + np.einsum("ij,ij->i", chunk, chunk)[:, None]
        gaps -= 2 * chunk @ points.T
        if leave_out_self:
            rows = np.arange(len(chunk))
            gaps[rows, start + rows] = np.inf
        part = np.argpartition(gaps, k - 1, axis=1)[:, :k]
        near = np.take_along_axis(gaps, part, axis=1)
        order = np.argsort(near, axis=1, kind="stable")
        indices[start : start + block] = np.take_along_axis(part, order, axis=1)
        distances[start : start + block] = np.sqrt(
            np.maximum(np.take_along_axis(near, order, axis=1), 0.0)
        )
    return distances, indices


# --------------------------------------------------------------------------- the predictor


@dataclass(frozen=True)
class Predictions:
    """Predictor losses per row on each table, and how they were made."""

    source: str
    metric: str  # "accuracy" or "mean absolute error"
    reference_loss: Float
    current_loss: Float


def _frame(rows: Rows, features: Sequence[str]) -> Any:
    """What a fitted model is called with: a DataFrame when it knows its column names (pandas
    is there, since the model was fit on one), else a float matrix of numeric features."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - a model fit on names implies pandas
        pd = None
    if pd is not None:
        return pd.DataFrame(
            {
                name: rows.numeric[name] if name in rows.numeric else rows.text[name]
                for name in features
            }
        )
    text = [name for name in features if name not in rows.numeric]
    if text:
        raise InputError(f"model: cannot pass the text column(s) {text} without pandas")
    return np.column_stack([rows.numeric[name] for name in features])


def model_predict(model: Any, rows: Rows, features: Sequence[str]) -> NDArray[Any]:
    try:
        return np.asarray(model.predict(_frame(rows, features)))
    except InputError:
        raise
    except Exception as error:  # the model's own failure, named in one line
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"model: predict failed on the data ({message})") from error


def _loss(task: Task, predicted: NDArray[Any], truth: NDArray[Any]) -> Float:
    if task.classification:
        shown = [
            number_text(float(v)) if isinstance(v, int | float | np.number) else str(v)
            for v in predicted
        ]
        return np.asarray([a != b for a, b in zip(shown, truth, strict=True)], dtype=np.float64)
    gap = np.asarray(predicted, dtype=np.float64) - np.asarray(truth, dtype=np.float64)
    return np.asarray(np.abs(gap), dtype=np.float64)


@dataclass(frozen=True)
class Neighbours:
    """The nearest reference rows of every reference row (itself left out) and of every
    current row, in the input space."""

    reference_distance: Float
    reference_index: NDArray[np.intp]
    current_distance: Float
    current_index: NDArray[np.intp]

    @classmethod
    def find(
        cls, reference: Rows, current: Rows, space: InputSpace, policy: LabelPolicy
    ) -> Neighbours:
        points = space(reference)
        ref_distance, ref_index = nearest(points, points, policy.neighbours, leave_out_self=True)
        cur_distance, cur_index = nearest(points, space(current), ref_index.shape[1])
        return cls(ref_distance, ref_index, cur_distance, cur_index)


def neighbour_predictions(
    task: Task, reference: Rows, current: Rows, near: Neighbours
) -> Predictions:
    """The relation as the reference rows themselves state it: each row's label predicted by
    its nearest reference rows (leaving the row itself out on the reference)."""
    metric = "accuracy" if task.classification else "mean absolute error"
    ref_truth, cur_truth = _truth(task, reference), _truth(task, current)
    ref_index, cur_index = near.reference_index, near.current_index
    k = ref_index.shape[1]
    return Predictions(
        f"the {k} nearest reference rows",
        metric,
        _loss(task, _vote(task, ref_truth, ref_index), ref_truth),
        _loss(task, _vote(task, ref_truth, cur_index), cur_truth),
    )


def model_predictions(task: Task, reference: Rows, current: Rows, model: Any) -> Predictions | None:
    """The model's losses (or the prediction column's) on both tables; None when neither."""
    metric = "accuracy" if task.classification else "mean absolute error"
    ref_truth, cur_truth = _truth(task, reference), _truth(task, current)
    if model is not None:
        return Predictions(
            f"the model ({type(model).__name__})",
            metric,
            _loss(task, model_predict(model, reference, task.features), ref_truth),
            _loss(task, model_predict(model, current, task.features), cur_truth),
        )
    if task.prediction is not None:
        return Predictions(
            f"the prediction column {task.prediction!r}",
            metric,
            _loss(task, _truth_like(task, reference, task.prediction), ref_truth),
            _loss(task, _truth_like(task, current, task.prediction), cur_truth),
        )
    return None


def _truth(task: Task, rows: Rows) -> NDArray[Any]:
    return _labels(rows, task.target) if task.classification else rows.numeric[task.target]


def _truth_like(task: Task, rows: Rows, name: str) -> NDArray[Any]:
    if task.classification:
        return _labels(rows, name)
    if name not in rows.numeric:
        raise InputError(f"{name}: the prediction column of a regression must hold numbers")
    return rows.numeric[name]


def _vote(task: Task, truth: NDArray[Any], index: NDArray[np.intp]) -> NDArray[Any]:
    votes = truth[index]
    if not task.classification:
        return np.asarray(np.mean(votes.astype(np.float64), axis=1))
    classes, codes = np.unique(votes.astype(str), return_inverse=True)
    codes = codes.reshape(votes.shape)
    counts = np.zeros((len(votes), len(classes)))
    np.add.at(counts, (np.arange(len(votes))[:, None], codes), 1.0)
    return np.asarray(classes[np.argmax(counts, axis=1)], dtype=object)


# --------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class LabelShift:
    reference_shares: dict[str, float]
    current_shares: dict[str, float]
    p_value: float
    distance: float  # total variation between the label mixes
    moved: bool


def label_shift(task: Task, reference: Rows, current: Rows, policy: LabelPolicy) -> LabelShift:
    ref_groups, cur_groups = label_groups(task, reference, current)
    names = sorted(set(ref_groups) | set(cur_groups))
    counts = np.asarray(
        [[np.sum(ref_groups == n) for n in names], [np.sum(cur_groups == n) for n in names]],
        dtype=np.float64,
    )
    p_value = (
        float(stats.chi2_contingency(counts, correction=False).pvalue) if len(names) > 1 else 1.0
    )
    ref_shares = counts[0] / counts[0].sum()
    cur_shares = counts[1] / counts[1].sum()
    distance = 0.5 * float(np.abs(ref_shares - cur_shares).sum())
    return LabelShift(
        {n: float(s) for n, s in zip(names, ref_shares, strict=True)},
        {n: float(s) for n, s in zip(names, cur_shares, strict=True)},
        p_value,
        distance,
        p_value < policy.prior_p and distance >= policy.prior_effect,
    )


def label_groups(
    task: Task, reference: Rows, current: Rows
) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
    """The label of each row (classes, or the reference's target quintiles)."""
    if task.classification:
        return _labels(reference, task.target), _labels(current, task.target)
    edges = np.unique(np.quantile(reference.numeric[task.target], [0.2, 0.4, 0.6, 0.8]))

    def group(values: Float) -> NDArray[np.object_]:
        return np.asarray([f"q{int(i) + 1}" for i in np.searchsorted(edges, values)], dtype=object)

    return group(reference.numeric[task.target]), group(current.numeric[task.target])


def conditional_drift(
    task: Task, reference: Rows, current: Rows, policy: LabelPolicy
) -> list[dict[str, Any]]:
    """Features whose distribution within a class differs between the tables (each with the
    class, its effect and p-value), largest effect first."""
    ref_groups, cur_groups = label_groups(task, reference, current)
    classes = [
        c
        for c in sorted(set(ref_groups) & set(cur_groups))
        if min(np.sum(ref_groups == c), np.sum(cur_groups == c)) >= policy.segment_min_rows
    ]
    tests = max(1, len(classes) * len(task.features))
    found: list[dict[str, Any]] = []
    for label in classes:
        ref_class, cur_class = (
            reference.take(ref_groups == label),
            current.take(cur_groups == label),
        )
        for name in task.features:
            effect, p_value = _two_sample(ref_class, cur_class, name)
            if p_value * tests < policy.conditional_p and effect >= policy.conditional_effect:
                found.append(
                    {"feature": name, "label": label, "effect": effect, "p_value": p_value}
                )
    found.sort(key=lambda f: -f["effect"])
    return found


def _two_sample(reference: Rows, current: Rows, name: str) -> tuple[float, float]:
    """(effect, p-value): KS for numbers, total variation and chi-squared for categories."""
    if name in reference.numeric:
        a, b = reference.numeric[name], current.numeric[name]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) < 2 or len(b) < 2:
            return 0.0, 1.0
        result = stats.ks_2samp(a, b)
        return float(result.statistic), float(result.pvalue)
    a, b = reference.text[name].astype(str), current.text[name].astype(str)
    names = sorted(set(a) | set(b))
    if len(names) < 2:
        return 0.0, 1.0
    counts = np.asarray([[np.sum(a == n) for n in names], [np.sum(b == n) for n in names]])
    counts = counts[:, counts.sum(axis=0) > 0]
    p_value = float(stats.chi2_contingency(counts, correction=False).pvalue)
    shares = counts / counts.sum(axis=1, keepdims=True)
    return 0.5 * float(np.abs(shares[0] - shares[1]).sum()), p_value


@dataclass(frozen=True)
class Relation:
    """Realized against expected performance on the current rows (those within the
    reference's reach: farther from every reference row than 99% of the reference rows are
    from their nearest neighbour, the relation was never seen and cannot be checked)."""

    source: str
    metric: str
    reference: float  # the predictor on the reference
    expected: float  # the reference reweighted to where the current inputs are
    realized: float
    drop: float  # how much worse than expected, in the metric's units (positive: worse)
    standard_error: float
    fell: bool
    within_reach: float  # share of the current rows the comparison could use
    segments: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Reweighting:
    """How much each reference row stands for the current inputs (a nearest-neighbour density
    ratio: how often it is among the current rows' neighbours over how often among the
    reference rows'), and which current rows are within the reference's reach."""

    weights: Float
    inside: NDArray[np.bool_]

    @classmethod
    def fit(cls, reference: Rows, current: Rows, near: Neighbours) -> Reweighting:
        ref_distance, ref_index = near.reference_distance, near.reference_index
        cur_distance, cur_index = near.current_distance, near.current_index
        k = ref_index.shape[1]
        reach = float(np.quantile(ref_distance[:, 0], 0.99))
        inside = cur_distance[:, 0] <= reach
        n_ref, n_in = reference.count, max(int(inside.sum()), 1)
        by_current = np.bincount(cur_index[inside].ravel(), minlength=n_ref)
        by_reference = np.bincount(ref_index.ravel(), minlength=n_ref)
        weights = ((by_current + 1) / (n_in * k + n_ref)) / (
            (by_reference + 1) / (n_ref * k + n_ref)
        )
        return cls(np.asarray(weights, dtype=np.float64), inside)


def relation(
    task: Task,
    reference: Rows,
    current: Rows,
    made: Predictions,
    reweighting: Reweighting,
    policy: LabelPolicy,
) -> Relation:
    inside = reweighting.inside
    everywhere = np.ones(reference.count, dtype=np.bool_)
    expected, realized, error = _compare(
        made.reference_loss, made.current_loss[inside], reweighting.weights, everywhere
    )
    drop = realized - expected
    bar = policy.concept_drop * (1.0 if task.classification else max(expected, 1e-12))
    fell = bool(inside.sum() >= policy.min_rows) and drop >= max(bar, policy.concept_sigmas * error)
    sign = -1.0 if task.classification else 1.0  # report accuracy, not error rate
    base = 1.0 if task.classification else 0.0
    segments = (
        _segments(task, reference, current.take(inside), made, reweighting, bar, policy)
        if fell
        else []
    )
    return Relation(
        made.source,
        made.metric,
        base + sign * float(made.reference_loss.mean()),
        base + sign * expected,
        base + sign * realized,
        drop,
        error,
        fell,
        float(inside.mean()),
        tuple(segments),
    )


def _compare(
    reference_loss: Float, current_loss: Float, weights: Float, where: NDArray[np.bool_]
) -> tuple[float, float, float]:
    """Expected (reweighted reference) and realized mean loss, and the standard error of
    their difference."""
    w, loss = weights[where], reference_loss[where]
    if len(current_loss) < 2 or w.sum() <= 0:
        return 0.0, 0.0, math.inf
    expected = float(np.sum(w * loss) / np.sum(w))
    expected_error = float(np.sqrt(np.sum((w * (loss - expected)) ** 2)) / np.sum(w))
    realized = float(current_loss.mean())
    realized_error = float(current_loss.std(ddof=1) / math.sqrt(len(current_loss)))
    return expected, realized, math.hypot(expected_error, realized_error)


def _segments(
    task: Task,
    reference: Rows,
    current: Rows,
    made: Predictions,
    reweighting: Reweighting,
    bar: float,
    policy: LabelPolicy,
) -> list[dict[str, Any]]:
    """Where the performance fell: the categories and numeric quarters with the largest
    significant drop (at least the bar, three standard errors)."""
    current_loss = made.current_loss[reweighting.inside]
    found: list[dict[str, Any]] = []
    for name in task.features:
        groups: dict[str, tuple[NDArray[np.bool_], NDArray[np.bool_]]] = {}
        if name in current.numeric:
            values = current.numeric[name]
            finite = values[np.isfinite(values)]
            if len(np.unique(finite)) < 4:
                continue
            edges = np.unique(np.quantile(finite, [0.25, 0.5, 0.75]))
            bins = np.searchsorted(edges, values, side="right")
            ref_bins = np.searchsorted(edges, reference.numeric[name], side="right")
            bounds = [-math.inf, *edges.tolist(), math.inf]
            for i in range(len(edges) + 1):
                label = f"{name} in [{_short(bounds[i])}, {_short(bounds[i + 1])})"
                groups[label] = (ref_bins == i, bins == i)
        else:
            texts = current.text[name].astype(str)
            ref_texts = reference.text[name].astype(str)
            top = [v for v, _ in sorted(_counts(texts).items(), key=lambda kv: -kv[1])[:20]]
            for v in top:
                groups[f"{name} = {v}"] = (ref_texts == v, texts == v)
        for label, (in_reference, in_current) in groups.items():
            n = int(in_current.sum())
            if n < policy.segment_min_rows or in_reference.sum() < policy.segment_min_rows:
                continue
            expected, realized, error = _compare(
                made.reference_loss, current_loss[in_current], reweighting.weights, in_reference
            )
            drop = realized - expected
            if drop >= max(bar, policy.concept_sigmas * error):
                found.append(
                    {
                        "segment": label,
                        "rows": n,
                        "drop": _round(drop),
                        "share": _round(n / len(current_loss)),
                    }
                )
    found.sort(key=lambda s: -(s["drop"] or 0) * math.sqrt(s["rows"]))
    return found[: policy.segments]


def _counts(values: NDArray[Any]) -> dict[str, int]:
    labels, counts = np.unique(values, return_counts=True)
    return {str(v): int(c) for v, c in zip(labels, counts, strict=True)}


def _short(value: float) -> str:
    return "-inf" if value == -math.inf else "inf" if value == math.inf else f"{value:.4g}"


# --------------------------------------------------------------------------- importance


def importances(
    task: Task | None,
    features: Sequence[str],
    model: Any,
    reference: Rows,
    policy: LabelPolicy,
) -> tuple[dict[str, float], str] | None:
    """Importance of each feature to the model, scaled to a maximum of 1, and how it was
    measured (None when neither a model nor labels say)."""
    if model is not None:
        names = list(getattr(model, "feature_names_in_", features))
        raw = getattr(model, "feature_importances_", None)
        how = "the model's feature_importances_"
        if raw is None and getattr(model, "coef_", None) is not None:
            coef = np.abs(np.asarray(model.coef_, dtype=np.float64))
            raw = coef.mean(axis=0) if coef.ndim > 1 else coef
            how = "the model's |coef_|"
        if raw is not None and len(np.ravel(raw)) == len(names):
            return _scaled(dict(zip(names, np.ravel(raw).tolist(), strict=True))), how
    if task is None:
        return None
    labelled = reference.take(_labelled(reference, task.target))
    if labelled.count < 2 * policy.min_rows:
        return None
    rng = np.random.default_rng(0)
    order = rng.permutation(labelled.count)
    half = labelled.count // 2
    fit = labelled.take(order[:half][: 3 * policy.importance_rows])
    held = labelled.take(order[half:][: policy.importance_rows])
    if model is not None:

        def score(rows: Rows) -> float:
            return float(
                _loss(task, model_predict(model, rows, task.features), _truth(task, rows)).mean()
            )

        how = "permutation importance of the model on reference rows"
    else:
        space = InputSpace(fit, task.features)
        fit_points = space(fit)
        fit_truth = _truth(task, fit)

        def score(rows: Rows) -> float:
            _, index = nearest(fit_points, space(rows), policy.neighbours)
            voted = _vote(task, fit_truth, index)
            return float(_loss(task, voted, _truth(task, rows)).mean())

        how = "permutation importance of the nearest-neighbour relation on reference rows"
    return _scaled(_permutation(score, held, task.features, rng)), how


def _permutation(
    score: Callable[[Rows], float], rows: Rows, features: Sequence[str], rng: np.random.Generator
) -> dict[str, float]:
    base = score(rows)
    out: dict[str, float] = {}
    for name in features:
        shuffled = rng.permutation(rows.count)
        numeric = dict(rows.numeric)
        text = dict(rows.text)
        if name in numeric:
            numeric[name] = numeric[name][shuffled]
        else:
            text[name] = text[name][shuffled]
        out[name] = max(0.0, score(Rows(rows.count, numeric, text)) - base)
    return out


def _scaled(raw: dict[str, float]) -> dict[str, float]:
    top = max((abs(v) for v in raw.values()), default=0.0)
    return {k: (abs(v) / top if top > 0 else 0.0) for k, v in raw.items()}


# --------------------------------------------------------------------------- findings


def prior_finding(task: Task, shift: LabelShift) -> Finding:
    moved = sorted(
        shift.current_shares,
        key=lambda n: -abs(shift.current_shares[n] - shift.reference_shares.get(n, 0.0)),
    )
    head = moved[0]
    return Finding(
        Cause.PRIOR_SHIFT,
        "label_shift",
        (task.target,),
        {
            "reference_shares": {k: _round(v) for k, v in shift.reference_shares.items()},
            "current_shares": {k: _round(v) for k, v in shift.current_shares.items()},
            "total_variation": _round(shift.distance),
            "p_value": _round(shift.p_value),
            "class_conditional_drift": "none found",
        },
        f"{task.target}: the label mix moved ({head}: {shift.reference_shares.get(head, 0.0):.0%} "
        f"→ {shift.current_shares[head]:.0%}) while the inputs of each class did not",
        strength=0.85,
    )


def _performance(found: Relation) -> dict[str, Any]:
    return {
        "metric": found.metric,
        "predictor": found.source,
        "reference": _round(found.reference),
        "expected": _round(found.expected),
        "realized": _round(found.realized),
        "standard_error": _round(found.standard_error),
        "within_reach": _round(found.within_reach),
    }


def concept_finding(task: Task, found: Relation, model: Relation | None) -> Finding:
    places = "; ".join(s["segment"] for s in found.segments[:3])
    evidence = {**_performance(found), "drop": _round(found.drop), "segments": list(found.segments)}
    if model is not None:
        evidence["model"] = _performance(model)
    told = model if model is not None else found
    return Finding(
        Cause.CONCEPT_DRIFT,
        "performance_drop",
        (task.target,),
        evidence,
        f"{task.target}: {told.metric} {told.realized:.3g} where the shifted inputs predict "
        f"{told.expected:.3g} (by {told.source})" + (f"; worst in {places}" if places else ""),
        strength=min(0.95, 0.6 + 0.05 * found.drop / max(found.standard_error, 1e-12)),
    )


def performance_finding(task: Task, found: Relation, model: Relation | None) -> Finding:
    evidence = _performance(found)
    if model is not None:
        evidence["model"] = _performance(model)
    told = model if model is not None else found
    return Finding(
        Cause.COVARIATE_DRIFT,
        "performance_as_expected",
        (task.target,),
        evidence,
        f"{task.target}: {told.metric} {told.realized:.3g} (by {told.source}), as the shifted "
        f"inputs predict ({told.expected:.3g}; {told.reference:.3g} on the reference): the "
        "relation held",
        strength=0.7,
    )

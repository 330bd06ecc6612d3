from __future__ import annotations

import json
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy.stats import norm
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

from seismo.errors import InputError, ProfileMismatchError
from seismo.performance import ClassificationMetrics, ClassificationSummary, Estimate

BINARY = ("neg", "pos")
THREE = ("cat", "dog", "fox")


def _value(estimate: Estimate | None) -> float:
    assert estimate is not None
    return estimate.value


def _binary_data(
    seed: int, n: int
) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    positive = rng.random(n) < 0.35
    score = 1.0 / (1.0 + np.exp(-(rng.normal(size=n) + 1.5 * positive - 0.75)))
    flip = rng.random(n) < 0.1  # predictions are not just a threshold of the score
    predicted = (score > 0.5) ^ flip
    return np.where(positive, "pos", "neg"), np.where(predicted, "pos", "neg"), score


def _multiclass_data(
    seed: int, n: int, k: int = 3
) -> tuple[NDArray[np.str_], NDArray[np.str_], NDArray[np.float64], tuple[str, ...]]:
    rng = np.random.default_rng(seed)
    classes = THREE if k == 3 else tuple(f"c{i:02d}" for i in range(k))
    truth = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), truth] += 1.2
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    predicted = np.where(rng.random(n) < 0.15, rng.integers(0, k, n), probabilities.argmax(axis=1))
    names = np.array(classes)
    return names[truth], names[predicted], probabilities, classes


def _same_bin_share(summary: ClassificationSummary, row: int) -> float:
    positive = summary.positive_hist[row].astype(float)
    negative = summary.negative_hist[row].astype(float)
    return float(positive @ negative) / float(positive.sum() * negative.sum())


# --- point estimates against scikit-learn ---


def test_binary_point_estimates_equal_sklearn() -> None:
    labels, predictions, scores = _binary_data(0, 3000)
    m = ClassificationSummary.from_batch(BINARY, labels, predictions, scores).metrics()
    assert m.average == "binary" and m.n == 3000 and m.scored == 3000
    assert _value(m.accuracy) == pytest.approx(accuracy_score(labels, predictions), abs=1e-12)
    for ours, theirs in [
        (m.precision, precision_score),
        (m.recall, recall_score),
        (m.f1, f1_score),
    ]:
        assert _value(ours) == pytest.approx(
            theirs(labels, predictions, pos_label="pos"), abs=1e-12
        )
    assert _value(m.log_loss) == pytest.approx(log_loss(labels, scores, labels=BINARY), abs=1e-9)
    np.testing.assert_array_equal(
        m.confusion_matrix, confusion_matrix(labels, predictions, labels=BINARY)
    )
    exact = roc_auc_score(labels == "pos", scores)
    assert m.roc_auc is not None and m.roc_auc.bound > 0.0
    assert abs(m.roc_auc.value - exact) <= m.roc_auc.bound + 1e-12
    assert m.per_class[1].f1 == m.f1 and m.per_class[0].roc_auc is None
    negative_recall = recall_score(labels, predictions, pos_label="neg")
    assert _value(m.per_class[0].recall) == pytest.approx(negative_recall, abs=1e-12)


def test_binary_two_column_scores_give_the_same_metrics() -> None:
    labels, predictions, scores = _binary_data(1, 500)
    one = ClassificationSummary.from_batch(BINARY, labels, predictions, scores)
    two = ClassificationSummary.from_batch(
        BINARY, labels, predictions, np.column_stack([1.0 - scores, scores])
    )
    np.testing.assert_array_equal(one.positive_hist, two.positive_hist)
    np.testing.assert_array_equal(one.negative_hist, two.negative_hist)
    assert one.log_loss_sum == pytest.approx(two.log_loss_sum, rel=1e-12)
    assert (
        (one.scored, one.renormalized_scores) == (two.scored, two.renormalized_scores) == (500, 0)
    )
    assert one.metrics().roc_auc == two.metrics().roc_auc


def test_multiclass_point_estimates_equal_sklearn() -> None:
    labels, predictions, probabilities, classes = _multiclass_data(2, 4000)
    m = ClassificationSummary.from_batch(classes, labels, predictions, probabilities).metrics()
    assert m.average == "macro" and m.n == 4000
    assert _value(m.accuracy) == pytest.approx(accuracy_score(labels, predictions), abs=1e-12)
    for ours, theirs, key in [
        (m.precision, precision_score, "precision"),
        (m.recall, recall_score, "recall"),
        (m.f1, f1_score, "f1"),
    ]:
        macro = theirs(labels, predictions, labels=classes, average="macro")
        assert _value(ours) == pytest.approx(macro, abs=1e-12)
        per_class = theirs(labels, predictions, labels=classes, average=None)
        ours_per_class = [_value(getattr(entry, key)) for entry in m.per_class]
        np.testing.assert_allclose(ours_per_class, per_class, atol=1e-12)
    expected_loss = log_loss(labels, probabilities, labels=classes)
    assert _value(m.log_loss) == pytest.approx(expected_loss, abs=1e-9)
    np.testing.assert_array_equal(
        m.confusion_matrix, confusion_matrix(labels, predictions, labels=classes)
    )
    exact = roc_auc_score(labels, probabilities, multi_class="ovr", average="macro", labels=classes)
    assert m.roc_auc is not None
    assert abs(m.roc_auc.value - exact) <= m.roc_auc.bound + 1e-12
    summary = ClassificationSummary.from_batch(classes, labels, predictions, probabilities)
    for c, entry in enumerate(m.per_class):
        exact_c = roc_auc_score(labels == classes[c], probabilities[:, c])
        assert entry.roc_auc is not None
        assert abs(entry.roc_auc.value - exact_c) <= entry.roc_auc.bound + 1e-12
        assert entry.roc_auc.bound == pytest.approx(0.5 * _same_bin_share(summary, c))
        assert entry.support == np.sum(labels == classes[c])
        assert entry.predicted == np.sum(predictions == classes[c])


def test_macro_averages_skip_undefined_classes_like_zero_division_nan() -> None:
    labels = np.array(["cat", "dog", "fox", "dog", "cat", "cat"])
    predictions = np.array(["cat", "dog", "dog", "dog", "cat", "dog"])  # "fox" never predicted
    m = ClassificationSummary.from_batch(THREE, labels, predictions).metrics()
    assert m.per_class[2].precision is None
    assert _value(m.per_class[2].recall) == 0.0
    for ours, theirs in [(m.precision, precision_score), (m.recall, recall_score)]:
        expected = theirs(labels, predictions, average="macro", zero_division=np.nan)
        assert _value(ours) == pytest.approx(expected, abs=1e-12)
    assert _value(m.f1) == pytest.approx(f1_score(labels, predictions, average="macro"))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 300),
    bins=st.sampled_from([1, 2, 5, 10, 100, 1000]),
    rounding=st.sampled_from([None, 1, 2]),
)
def test_auc_from_histograms_is_within_its_bound(
    seed: int, n: int, bins: int, rounding: int | None
) -> None:
    rng = np.random.default_rng(seed)
    positive = rng.random(n) < 0.5
    if positive.all() or not positive.any():
        positive[0] = not positive[0]
    scores = np.clip(rng.normal(0.5 + 0.2 * positive, 0.25), 0.0, 1.0)
    if rounding is not None:
        scores = np.round(scores, rounding)  # many exact ties, some on bin edges
    labels = np.where(positive, "pos", "neg")
    summary = ClassificationSummary.from_batch(BINARY, labels, labels, scores, score_bins=bins)
    auc = summary.metrics().roc_auc
    assert auc is not None
    exact = roc_auc_score(positive, scores)
    same_bin = _same_bin_share(summary, 0)
    assert auc.bound == pytest.approx(0.5 * same_bin)
    assert abs(auc.value - exact) <= auc.bound + 1e-12 <= same_bin + 1e-12
    assert auc.interval is not None and auc.interval.low <= auc.value <= auc.interval.high


def test_auc_with_one_bin_is_one_half_and_bound_one_half() -> None:
    labels, _, scores = _binary_data(3, 200)
    auc = ClassificationSummary.from_batch(BINARY, labels, labels, scores, score_bins=1)
    estimate = auc.metrics().roc_auc
    assert estimate is not None and (estimate.value, estimate.bound) == (0.5, 0.5)


# --- merge and serialisation ---

_LABEL = st.sampled_from(["cat", "dog", "fox", "yak"])  # "yak" is not a class
_ROW = st.tuples(
    _LABEL,
    _LABEL,
    st.lists(
        st.one_of(st.floats(-0.2, 1.2), st.just(float("nan"))),
        min_size=3,
        max_size=3,
    ),
)
_BATCH = st.lists(_ROW, min_size=0, max_size=25)


def _summary(rows: list[tuple[str, str, list[float]]], bins: int = 20) -> ClassificationSummary:
    labels = np.array([row[0] for row in rows], dtype=str)
    predictions = np.array([row[1] for row in rows], dtype=str)
    scores = np.array([row[2] for row in rows], dtype=float).reshape(len(rows), 3)
    return ClassificationSummary.from_batch(THREE, labels, predictions, scores, score_bins=bins)


def _assert_same(left: ClassificationSummary, right: ClassificationSummary) -> None:
    assert left.classes == right.classes and left.score_bins == right.score_bins
    for name in ("confusion", "unknown_predictions", "positive_hist", "negative_hist"):
        np.testing.assert_array_equal(getattr(left, name), getattr(right, name))
    for name in (
        "unknown_labels",
        "scored",
        "invalid_scores",
        "clipped_scores",
        "renormalized_scores",
    ):
        assert getattr(left, name) == getattr(right, name), name
    assert left.log_loss_sum == pytest.approx(right.log_loss_sum, rel=1e-12, abs=1e-12)
    assert left.log_loss_sum_squares == pytest.approx(
        right.log_loss_sum_squares, rel=1e-12, abs=1e-12
    )


@settings(max_examples=80, deadline=None)
@given(a=_BATCH, b=_BATCH, c=_BATCH)
def test_merge_is_associative_commutative_and_equals_the_concatenation(
    a: list[tuple[str, str, list[float]]],
    b: list[tuple[str, str, list[float]]],
    c: list[tuple[str, str, list[float]]],
) -> None:
    sa, sb, sc = _summary(a), _summary(b), _summary(c)
    whole = _summary(a + b + c)
    _assert_same(sa.merge(sb).merge(sc), whole)
    _assert_same(sa.merge(sb.merge(sc)), whole)
    _assert_same(sc.merge(sa).merge(sb), whole)
    _assert_same(sa.merge(ClassificationSummary.empty(THREE, 20)), sa)
    restored = ClassificationSummary.from_dict(json.loads(json.dumps(whole.to_dict())))
    _assert_same(restored, whole)
    assert restored.metrics().to_dict() == whole.metrics().to_dict()


def test_daily_summaries_merge_to_the_weekly_metrics() -> None:
    labels, predictions, scores = _binary_data(4, 7000)
    days = [
        ClassificationSummary.from_batch(BINARY, labels[i::7], predictions[i::7], scores[i::7])
        for i in range(7)
    ]
    week = reduce(ClassificationSummary.merge, days)
    whole = ClassificationSummary.from_batch(BINARY, labels, predictions, scores)
    _assert_same(week, whole)
    assert _value(week.metrics().f1) == pytest.approx(
        f1_score(labels, predictions, pos_label="pos")
    )


def test_merge_refuses_different_classes_or_grids() -> None:
    a = ClassificationSummary.empty(BINARY)
    with pytest.raises(ProfileMismatchError, match="class lists"):
        a.merge(ClassificationSummary.empty(("pos", "neg")))
    with pytest.raises(ProfileMismatchError, match="score grids"):
        a.merge(ClassificationSummary.empty(BINARY, score_bins=10))


def test_serialisation_is_versioned_and_compact() -> None:
    labels, predictions, scores = _binary_data(5, 10_000)
    summary = ClassificationSummary.from_batch(BINARY, labels, predictions, scores)
    payload = summary.to_dict()
    assert payload["type"] == "classification" and payload["version"] == 1
    assert len(json.dumps(payload)) < 6000  # two 1000-bin histograms dominate
    with pytest.raises(InputError, match="version 2"):
        ClassificationSummary.from_dict({**payload, "version": 2})
    with pytest.raises(InputError, match="not a classification"):
        ClassificationSummary.from_dict({**payload, "type": "regression"})
    with pytest.raises(InputError, match="wrong size"):
        ClassificationSummary.from_dict({**payload, "score_bins": 10})


# --- intervals ---

_SHIFT = 2.0 * float(norm.ppf(0.8))  # binormal model, threshold at the midpoint: accuracy 0.8
_PREVALENCE = 0.4
_TPR = float(norm.cdf(_SHIFT / 2.0))
_PRECISION = _PREVALENCE * _TPR / (_PREVALENCE * _TPR + (1 - _PREVALENCE) * (1 - _TPR))
_TRUE = {
    "accuracy": 0.8,
    "f1": 2 * _PRECISION * _TPR / (_PRECISION + _TPR),
    "roc_auc": float(norm.cdf(_SHIFT / np.sqrt(2.0))),
}


def _simulated_windows(n: int, repetitions: int, seed: int) -> list[ClassificationMetrics]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(repetitions):
        positive = rng.random(n) < _PREVALENCE
        z = rng.normal(size=n) + _SHIFT * positive
        score = 1.0 / (1.0 + np.exp(-(z - _SHIFT / 2.0)))
        labels = np.where(positive, "pos", "neg")
        predictions = np.where(score > 0.5, "pos", "neg")
        out.append(ClassificationSummary.from_batch(BINARY, labels, predictions, score).metrics())
    return out


@pytest.fixture(scope="module")
def simulated() -> dict[int, list[ClassificationMetrics]]:
    return {n: _simulated_windows(n, 1000, seed=n) for n in (30, 200, 5000)}


def _coverage(windows: list[ClassificationMetrics], metric: str) -> float:
    hits = 0
    for window in windows:
        estimate = getattr(window, metric)
        hits += bool(
            estimate is not None
            and estimate.interval is not None
            and _TRUE[metric] in estimate.interval
        )
    return hits / len(windows)


@pytest.mark.parametrize("n", [30, 200, 5000])
def test_coverage_of_the_95_percent_intervals(
    simulated: dict[int, list[ClassificationMetrics]], n: int
) -> None:
    windows = simulated[n]
    assert 0.93 <= _coverage(windows, "accuracy") <= 0.97
    assert _coverage(windows, "f1") >= 0.90
    assert _coverage(windows, "roc_auc") >= 0.90


@pytest.mark.parametrize("metric", ["accuracy", "f1", "roc_auc"])
def test_interval_width_shrinks_like_one_over_root_n(
    simulated: dict[int, list[ClassificationMetrics]], metric: str
) -> None:
    def mean_width(n: int) -> float:
        widths = []
        for window in simulated[n]:
            estimate = getattr(window, metric)
            widths.append(estimate.interval.width)
        return float(np.mean(widths))

    assert mean_width(200) / mean_width(5000) == pytest.approx(np.sqrt(5000 / 200), rel=0.1)
    assert mean_width(30) > mean_width(200)


def test_macro_f1_and_auc_intervals_cover_in_a_multiclass_model() -> None:
    # Truth from one large sample; coverage from 200 windows of 300 rows.
    big_labels, big_predictions, big_probabilities, classes = _multiclass_data(10, 400_000)
    truth = ClassificationSummary.from_batch(
        classes, big_labels, big_predictions, big_probabilities
    ).metrics()
    hits = {"f1": 0, "roc_auc": 0, "precision": 0, "recall": 0}
    for seed in range(200):
        labels, predictions, probabilities, _ = _multiclass_data(100 + seed, 300)
        m = ClassificationSummary.from_batch(classes, labels, predictions, probabilities).metrics()
        for key in hits:
            estimate = getattr(m, key)
            hits[key] += _value(getattr(truth, key)) in estimate.interval
    assert all(count / 200 >= 0.9 for count in hits.values()), hits


def test_intervals_are_seeded_and_contain_the_point_estimate() -> None:
    labels, predictions, scores = _binary_data(6, 60)
    summary = ClassificationSummary.from_batch(BINARY, labels, predictions, scores)
    first, second = summary.metrics(), summary.metrics()
    assert first.to_dict() == second.to_dict()
    other_seed = summary.metrics(seed=1)
    assert other_seed.f1 != first.f1
    narrow = summary.metrics(confidence=0.5)
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
        estimate = getattr(first, metric)
        assert estimate.interval.low <= estimate.value <= estimate.interval.high, metric
        assert getattr(narrow, metric).interval.width < estimate.interval.width, metric


def test_perfect_predictions_still_get_an_f1_interval_below_one() -> None:
    labels = np.array(["pos"] * 12 + ["neg"] * 18)
    m = ClassificationSummary.from_batch(BINARY, labels, labels).metrics()
    assert m.f1 is not None and m.f1.value == 1.0 and m.f1.interval is not None
    assert m.f1.interval.high == 1.0 and m.f1.interval.low < 0.95
    assert m.accuracy is not None and m.accuracy.interval is not None
    assert m.accuracy.interval.high == 1.0 and m.accuracy.interval.low < 0.9


def test_many_classes_are_simulated_in_chunks() -> None:
    labels, predictions, probabilities, classes = _multiclass_data(7, 3000, k=40)
    m = ClassificationSummary.from_batch(classes, labels, predictions, probabilities).metrics()
    assert m.f1 is not None and m.f1.interval is not None
    assert m.f1.interval.low < m.f1.value < m.f1.interval.high
    expected = f1_score(labels, predictions, labels=classes, average="macro")
    assert m.f1.value == pytest.approx(expected, abs=1e-12)


# --- edge cases ---


@pytest.mark.filterwarnings("error")
def test_empty_summary_has_no_metrics_and_no_warnings() -> None:
    for summary in (
        ClassificationSummary.empty(BINARY),
        ClassificationSummary.from_batch(THREE, [], [], np.empty((0, 3))),
    ):
        m = summary.metrics()
        assert m.n == 0 and m.scored == 0
        for metric in ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"):
            assert getattr(m, metric) is None, metric
        assert m.confusion_matrix.sum() == 0
        assert json.dumps(m.to_dict())


@pytest.mark.filterwarnings("error")
def test_a_single_row() -> None:
    m = ClassificationSummary.from_batch(BINARY, ["pos"], ["pos"], [0.9]).metrics()
    assert m.n == 1
    assert _value(m.accuracy) == 1.0 and m.accuracy is not None and m.accuracy.interval is not None
    assert m.f1 is not None and m.f1.value == 1.0 and m.f1.interval is None
    assert m.roc_auc is None  # no negatives
    assert m.log_loss is not None and m.log_loss.value == pytest.approx(-np.log(0.9))
    assert m.log_loss.interval is None


@pytest.mark.filterwarnings("error")
def test_all_one_class() -> None:
    labels = np.array(["neg"] * 50)
    predictions = np.array(["neg"] * 45 + ["pos"] * 5)
    scores = np.linspace(0.0, 0.6, 50)
    m = ClassificationSummary.from_batch(BINARY, labels, predictions, scores).metrics()
    assert _value(m.accuracy) == 0.9
    assert m.recall is None  # no positives
    assert _value(m.precision) == 0.0 and _value(m.f1) == 0.0
    assert m.roc_auc is None
    assert _value(m.log_loss) == pytest.approx(log_loss(labels, scores, labels=BINARY))
    only_negatives = ClassificationSummary.from_batch(BINARY, labels, labels).metrics()
    assert only_negatives.precision is None and only_negatives.recall is None
    assert only_negatives.f1 is None and only_negatives.log_loss is None


def test_labels_and_predictions_outside_the_class_list() -> None:
    labels = np.array(["pos", "neg", "???", "pos", "neg", "pos"])
    predictions = np.array(["pos", "neg", "pos", "maybe", "maybe", "neg"])
    scores = np.array([0.9, 0.1, 0.5, 0.6, 0.4, 0.3])
    summary = ClassificationSummary.from_batch(BINARY, labels, predictions, scores)
    m = summary.metrics()
    assert m.unknown_labels == 1 and m.n == 5 and m.unknown_predictions == 2
    assert summary.unknown_predictions.tolist() == [1, 1]
    known = labels != "???"
    assert _value(m.accuracy) == accuracy_score(labels[known], predictions[known])
    for ours, theirs in [(m.precision, precision_score), (m.recall, recall_score)]:
        expected = theirs(labels[known], predictions[known], labels=["pos"], average="macro")
        assert _value(ours) == pytest.approx(expected)
    assert _value(m.f1) == pytest.approx(
        f1_score(labels[known], predictions[known], labels=["pos"], average="macro")
    )
    assert m.scored == 5
    expected_auc = roc_auc_score(labels[known] == "pos", scores[known])
    assert _value(m.roc_auc) == pytest.approx(expected_auc, abs=1e-12)
    np.testing.assert_array_equal(
        m.confusion_matrix, confusion_matrix(labels, predictions, labels=BINARY)
    )


def test_non_string_labels_are_matched_as_text() -> None:
    classes = ("0", "1")
    expected = ClassificationSummary.from_batch(classes, ["1", "0", "1"], ["1", "1", "0"]).confusion
    integers = ClassificationSummary.from_batch(classes, np.array([1, 0, 1]), [1, 1, 0])
    whole_floats = ClassificationSummary.from_batch(classes, np.array([1.0, 0.0, 1.0]), [1, 1, 0])
    booleans = ClassificationSummary.from_batch(
        ("False", "True"), [True, False, True], np.array([True, True, False])
    )
    for summary in (integers, whole_floats, booleans):
        np.testing.assert_array_equal(summary.confusion, expected)
    # NaN and fractional floats, None, and non-strings in object arrays match no class.
    floats = ClassificationSummary.from_batch(classes, [1.0, np.nan, 0.5], ["1", "1", "1"])
    assert floats.unknown_labels == 2 and floats.n == 1
    objects = ClassificationSummary.from_batch(
        classes,
        np.array(["1", None, 1], dtype=object),
        np.array([None, "0", "1"], dtype=object),
    )
    assert objects.unknown_labels == 2 and objects.unknown_predictions.tolist() == [0, 1]


@pytest.mark.filterwarnings("error")
def test_nan_and_out_of_range_scores() -> None:
    labels = np.array(["pos", "neg", "pos", "neg", "pos", "neg"])
    scores = np.array([0.8, np.nan, 1.7, -0.2, np.nan, 0.3])
    summary = ClassificationSummary.from_batch(BINARY, labels, labels, scores)
    assert (summary.scored, summary.invalid_scores, summary.clipped_scores) == (4, 2, 2)
    m = summary.metrics()
    keep = ~np.isnan(scores)
    clipped = np.clip(scores[keep], 0.0, 1.0)
    assert _value(m.roc_auc) == pytest.approx(roc_auc_score(labels[keep] == "pos", clipped))
    expected = log_loss(labels[keep], np.clip(clipped, 1e-15, 1 - 1e-15), labels=BINARY)
    assert _value(m.log_loss) == pytest.approx(expected)
    all_nan = ClassificationSummary.from_batch(BINARY, labels, labels, np.full(6, np.nan))
    assert all_nan.metrics().roc_auc is None and all_nan.metrics().log_loss is None
    assert all_nan.invalid_scores == 6


@pytest.mark.filterwarnings("error")
def test_two_dimensional_scores_that_do_not_sum_to_one() -> None:
    labels, predictions, probabilities, classes = _multiclass_data(8, 300)
    raw = probabilities * np.random.default_rng(0).uniform(0.5, 1.0, size=(300, 1))
    raw[0] = [0.0, 0.0, 0.0]  # no information: unscored
    raw[1] = [np.nan, 0.5, 0.5]
    raw[2] = [1.5, -0.5, 0.5]  # clipped to [1, 0, 0.5], then normalised
    summary = ClassificationSummary.from_batch(classes, labels, predictions, raw)
    assert summary.scored == 298 and summary.invalid_scores == 2
    assert summary.clipped_scores == 1
    normalised = np.clip(raw[2:], 0.0, 1.0)
    sums = normalised.sum(axis=1, keepdims=True)
    assert summary.renormalized_scores == np.count_nonzero(np.abs(sums - 1.0) > 1e-6)
    normalised = normalised / sums
    m = summary.metrics()
    assert _value(m.log_loss) == pytest.approx(
        log_loss(labels[2:], normalised, labels=classes), abs=1e-9
    )
    exact = roc_auc_score(labels[2:], normalised, multi_class="ovr", labels=classes)
    assert m.roc_auc is not None and abs(m.roc_auc.value - exact) <= m.roc_auc.bound + 1e-12
    assert m.n == 300  # the confusion matrix still counts every row


def test_bad_input_is_refused_with_a_clear_message() -> None:
    with pytest.raises(InputError, match="two or more"):
        ClassificationSummary.empty(["only"])
    with pytest.raises(InputError, match="distinct"):
        ClassificationSummary.empty(["a", "a"])
    with pytest.raises(InputError, match="score_bins"):
        ClassificationSummary.empty(BINARY, score_bins=0)
    with pytest.raises(InputError, match="differ in length"):
        ClassificationSummary.from_batch(BINARY, ["pos"], ["pos", "neg"])
    with pytest.raises(InputError, match="1-D scores need exactly two classes"):
        ClassificationSummary.from_batch(THREE, ["cat"], ["cat"], [0.3])
    with pytest.raises(InputError, match="shape"):
        ClassificationSummary.from_batch(THREE, ["cat"], ["cat"], [[0.3, 0.7]])
    with pytest.raises(InputError, match="scores has 1 rows"):
        ClassificationSummary.from_batch(BINARY, ["pos", "neg"], ["pos", "neg"], [0.3])
    with pytest.raises(InputError, match="1-D"):
        ClassificationSummary.from_batch(BINARY, [["pos"]], [["pos"]])
    with pytest.raises(ValueError, match="confidence"):
        ClassificationSummary.empty(BINARY).metrics(confidence=95)

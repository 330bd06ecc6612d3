"""Champion vs challenger validation: each test against an independent reference (statsmodels,
scikit-learn, scipy, an O(n²) DeLong, a textbook row bootstrap), and the guarantee the loop
relies on, measured on real data: a worse challenger never passes, a better one does."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

import seismo.loop.validation as validation
from seismo.errors import InputError
from seismo.loop.validation import (
    Comparison,
    compare_models,
    delong,
    mcnemar,
    mcnemar_table,
    paired_bootstrap,
)
from seismo.performance.metrics import metric_names

CLASSIFICATION = metric_names("classification")
REGRESSION = metric_names("regression")
SEEDS = (0, 1, 2)


# ----------------------------------------------------------------------------- McNemar


@pytest.mark.parametrize(
    ("champion_only", "challenger_only"),
    [(0, 1), (2, 9), (5, 12), (3, 21), (11, 13), (10, 30), (40, 61), (150, 190), (7, 400)],
)
def test_mcnemar_is_half_of_statsmodels_two_sided_towards_the_challenger(
    champion_only: int, challenger_only: int
) -> None:
    table = [[500, champion_only], [challenger_only, 80]]
    result = mcnemar_table(table)
    discordant = champion_only + challenger_only
    exact = discordant < validation.EXACT_BELOW
    reference = sm_mcnemar(np.array(table), exact=exact, correction=True)
    assert result.method == ("exact" if exact else "chi2")
    assert result.p_value == pytest.approx(reference.pvalue / 2.0, rel=1e-9, abs=1e-300)
    if not exact:
        assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
    binomial = stats.binomtest(challenger_only, discordant, 0.5, alternative="greater")
    if exact:
        assert result.p_value == pytest.approx(binomial.pvalue, rel=1e-9)
    rows = 580 + discordant
    assert result.improvement == pytest.approx((challenger_only - champion_only) / rows)
    assert result.challenger - result.champion == pytest.approx(result.improvement)


@pytest.mark.parametrize(
    ("champion_only", "challenger_only"), [(9, 2), (12, 12), (30, 10), (190, 150), (0, 0)]
)
def test_mcnemar_gives_no_evidence_when_the_challenger_is_not_ahead(
    champion_only: int, challenger_only: int
) -> None:
    result = mcnemar_table([[100, champion_only], [challenger_only, 20]])
    assert result.p_value >= 0.5
    discordant = champion_only + challenger_only
    if 0 < discordant < validation.EXACT_BELOW:
        greater = stats.binomtest(challenger_only, discordant, 0.5, alternative="greater")
        assert result.p_value == pytest.approx(greater.pvalue, rel=1e-9)
    elif discordant:
        two_sided = sm_mcnemar(
            np.array([[100, champion_only], [challenger_only, 20]]), exact=False
        ).pvalue
        # The favourable tail is half the two-sided value; this one is the rest.
        assert result.p_value >= 1.0 - two_sided / 2.0 - 1e-12
    else:
        assert result.p_value == 1.0


def test_mcnemar_from_outcomes_builds_the_table() -> None:
    rng = np.random.default_rng(3)
    champion = rng.random(400) < 0.7
    challenger = rng.random(400) < 0.75
    result = mcnemar(champion, challenger.astype(int), alpha=0.1)
    table = mcnemar_table(
        [
            [np.sum(champion & challenger), np.sum(champion & ~challenger)],
            [np.sum(~champion & challenger), np.sum(~champion & ~challenger)],
        ],
        alpha=0.1,
    )
    assert result == table
    assert result.champion == pytest.approx(champion.mean())
    low, high = result.interval
    assert low < result.improvement < high


def test_mcnemar_interval_covers_the_true_difference() -> None:
    # Paired outcomes with a known difference of accuracies (0.78 - 0.75); the one-sided 95%
    # lower bound (the interval at 90%) should hold about 95% of the time.
    rng = np.random.default_rng(11)
    below, above = 0, 0
    for _ in range(400):
        u = rng.random(300)
        champion = u < 0.75
        challenger = (u < 0.70) | ((u > 0.75) & (u < 0.83))
        low, high = mcnemar(champion, challenger).interval
        below += low > 0.03
        above += high < 0.03
    assert below / 400 < 0.09 and above / 400 < 0.09


# ----------------------------------------------------------------------------- DeLong


def _slow_delong(
    positive: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """DeLong, DeLong & Clarke-Pearson (1988) from the definitions, O(m n)."""
    components10, components01 = [], []
    for scores in (a, b):
        x, y = scores[positive], scores[~positive]
        psi = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
        components10.append(psi.mean(axis=1))
        components01.append(psi.mean(axis=0))
    m, n = int(positive.sum()), int((~positive).sum())
    covariance = np.cov(np.vstack(components10)) / m + np.cov(np.vstack(components01)) / n
    return float(components10[0].mean()), float(components10[1].mean()), covariance


@pytest.mark.parametrize("seed", range(6))
def test_delong_matches_sklearn_and_the_quadratic_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    positive = rng.random(n) < rng.uniform(0.2, 0.7)
    positive[:2], positive[2:4] = True, False
    # Rounded scores: many ties, within and across the classes.
    a = np.round(positive * 0.8 + rng.normal(0, 1.0, n), 1)
    b = np.round(positive * 1.2 + rng.normal(0, 1.0, n), 1)
    result = delong(positive, a, b)
    assert result.champion == pytest.approx(skm.roc_auc_score(positive, a), abs=1e-12)
    assert result.challenger == pytest.approx(skm.roc_auc_score(positive, b), abs=1e-12)
    auc_a, auc_b, covariance = _slow_delong(positive, a, b)
    assert (result.champion, result.challenger) == pytest.approx((auc_a, auc_b), abs=1e-12)
    np.testing.assert_allclose(np.array(result.covariance), covariance, rtol=1e-9, atol=1e-15)
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    assert result.std_error == pytest.approx(math.sqrt(variance), rel=1e-9)
    assert result.statistic == pytest.approx((auc_b - auc_a) / math.sqrt(variance), rel=1e-9)
    assert result.p_value == pytest.approx(stats.norm.sf(result.statistic), rel=1e-9)
    z = stats.norm.ppf(0.95)
    low, high = result.interval
    assert low == pytest.approx(max(result.improvement - z * result.std_error, -1.0))
    assert high == pytest.approx(min(result.improvement + z * result.std_error, 1.0))


def test_delong_gives_no_evidence_for_the_same_ranking() -> None:
    rng = np.random.default_rng(0)
    positive = rng.random(500) < 0.4
    scores = positive + rng.normal(0, 1, 500)
    same = delong(positive, scores, 1.0 / (1.0 + np.exp(-3.0 * scores)))  # monotone: same AUC
    assert same.improvement == 0.0 and same.p_value == 1.0
    perfect = delong(positive, np.zeros(500), positive.astype(float))
    assert perfect.improvement == 0.5 and perfect.std_error == 0.0 and perfect.p_value == 0.0


def test_delong_takes_a_million_rows() -> None:
    # The O(n log n) algorithm: a million rows are a few sorts, not 10^11 comparisons.
    rng = np.random.default_rng(1)
    positive = rng.random(1_000_000) < 0.2
    result = delong(
        positive, positive + rng.normal(0, 1, 10**6), positive + rng.normal(0, 1, 10**6)
    )
    assert result.positives + result.negatives == 10**6
    assert 0.0 < result.p_value < 1.0


# ----------------------------------------------------------------------------- bootstrap values


def _binary_case(seed: int, n: int = 600) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.35
    p_a = np.clip(0.35 + 0.3 * truth + rng.normal(0, 0.2, n), 0.02, 0.98)
    p_b = np.clip(0.35 + 0.35 * truth + rng.normal(0, 0.2, n), 0.02, 0.98)
    return {
        "y": np.where(truth, "fraud", "ok"),
        "a": np.where(p_a > 0.5, "fraud", "ok"),
        "b": np.where(p_b > 0.5, "fraud", "ok"),
        "p_a": p_a,
        "p_b": p_b,
    }


@pytest.mark.parametrize("metric", ["accuracy", "precision", "recall", "f1", "log_loss"])
def test_binary_metric_values_equal_sklearn(metric: str) -> None:
    case = _binary_case(4)
    result = paired_bootstrap(
        y_true=case["y"],
        champion=case["a"],
        challenger=case["b"],
        task="classification",
        metric=metric,
        classes=("ok", "fraud"),
        champion_scores=case["p_a"],
        challenger_scores=case["p_b"],
        resamples=200,
    )
    reference: dict[str, Callable[..., float]] = {
        "accuracy": skm.accuracy_score,
        "precision": functools.partial(skm.precision_score, pos_label="fraud", zero_division=0),
        "recall": functools.partial(skm.recall_score, pos_label="fraud", zero_division=0),
        "f1": functools.partial(skm.f1_score, pos_label="fraud", zero_division=0),
    }
    if metric == "log_loss":
        positive = case["y"] == "fraud"
        expected = (skm.log_loss(positive, case["p_a"]), skm.log_loss(positive, case["p_b"]))
    else:
        expected = (
            reference[metric](case["y"], case["a"]),
            reference[metric](case["y"], case["b"]),
        )
    assert (result.champion, result.challenger) == pytest.approx(expected, rel=1e-12)
    sign = -1.0 if metric == "log_loss" else 1.0
    assert result.improvement == pytest.approx(sign * (expected[1] - expected[0]))


@pytest.mark.parametrize("metric", ["precision", "recall", "f1", "log_loss", "accuracy"])
def test_multiclass_macro_values_equal_sklearn(metric: str) -> None:
    rng = np.random.default_rng(5)
    classes = ("setosa", "versicolor", "virginica", "other")
    n = 500
    y = rng.integers(0, 3, n)  # "other" is never a label: its recall is 0 / 0 -> 0
    logits_a = np.eye(4)[y] * 1.5 + rng.normal(0, 1, (n, 4))
    logits_b = np.eye(4)[y] * 2.0 + rng.normal(0, 1, (n, 4))
    proba_a = np.exp(logits_a) / np.exp(logits_a).sum(axis=1, keepdims=True)
    proba_b = np.exp(logits_b) / np.exp(logits_b).sum(axis=1, keepdims=True)
    names = np.array(classes)
    pred_a, pred_b = names[proba_a.argmax(axis=1)], names[proba_b.argmax(axis=1)]
    pred_b[:5] = "unheard-of"  # a prediction outside the classes is wrong
    result = paired_bootstrap(
        y_true=names[y],
        champion=pred_a,
        challenger=pred_b,
        task="classification",
        metric=metric,
        classes=classes,
        champion_scores=proba_a,
        challenger_scores=proba_b,
        resamples=200,
    )
    if metric == "log_loss":
        expected = tuple(
            # scikit-learn wants the columns in sorted class order.
            skm.log_loss(names[y], proba[:, np.argsort(classes)], labels=sorted(classes))
            for proba in (proba_a, proba_b)
        )
    elif metric == "accuracy":
        expected = (skm.accuracy_score(names[y], pred_a), skm.accuracy_score(names[y], pred_b))
    else:
        score = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}
        expected = tuple(
            score[metric](names[y], pred, labels=list(classes), average="macro", zero_division=0)
            for pred in (pred_a, pred_b)
        )
    assert (result.champion, result.challenger) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("metric", REGRESSION)
def test_regression_metric_values_equal_sklearn(metric: str) -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(30.0, 8.0, 800)
    a = y + rng.normal(1.0, 4.0, 800)
    b = y + rng.normal(-0.5, 3.5, 800)
    result = paired_bootstrap(
        y_true=y, champion=a, challenger=b, task="regression", metric=metric, resamples=200
    )
    reference: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "mae": skm.mean_absolute_error,
        "rmse": lambda t, p: math.sqrt(skm.mean_squared_error(t, p)),
        "mape": skm.mean_absolute_percentage_error,
        "r2": skm.r2_score,
        "bias": lambda t, p: float(np.mean(p - t)),
    }
    expected = (reference[metric](y, a), reference[metric](y, b))
    assert (result.champion, result.challenger) == pytest.approx(expected, rel=1e-10)


def test_bias_improvement_is_measured_by_distance_from_zero() -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(0.0, 1.0, 3000)
    result = compare_models(
        y_true=y,
        champion=y + rng.normal(-0.5, 1.0, 3000),
        challenger=y + rng.normal(0.3, 1.0, 3000),
        task="regression",
        metric="bias",
    )
    assert result.champion < 0 < result.challenger
    assert result.improvement == pytest.approx(abs(result.champion) - abs(result.challenger))
    assert result.passed


def test_mape_leaves_out_zero_labels() -> None:
    y = np.array([0.0, 2.0, 4.0, 0.0, 5.0] * 40)
    a, b = y + 1.0, y + 0.5
    result = paired_bootstrap(y_true=y, champion=a, challenger=b, task="regression", metric="mape")
    kept = y != 0
    assert result.rows == int(kept.sum())
    assert result.champion == pytest.approx(skm.mean_absolute_percentage_error(y[kept], a[kept]))


# ----------------------------------------------------------------------------- bootstrap law


def _row_bootstrap(
    value: Callable[[np.ndarray], float], n: int, resamples: int, seed: int
) -> np.ndarray:
    """The textbook paired bootstrap: resample row indices, recompute the improvement."""
    rng = np.random.default_rng(seed)
    return np.array([value(rng.integers(0, n, n)) for _ in range(resamples)])


def _agree(result: Any, replicates: np.ndarray, alpha: float) -> None:
    spread = replicates.std()
    low, high = np.quantile(replicates, [alpha, 1 - alpha])
    assert result.interval[0] == pytest.approx(low, abs=0.15 * spread)
    assert result.interval[1] == pytest.approx(high, abs=0.15 * spread)
    p_value = (1 + np.sum(replicates <= 0)) / (len(replicates) + 1)
    assert result.p_value == pytest.approx(p_value, abs=0.03)


def test_count_metrics_resample_like_rows() -> None:
    # f1 from multinomial cell counts against the row bootstrap of sklearn's f1.
    case = _binary_case(8, n=400)
    y, a, b = case["y"], case["a"], case["b"]

    # (sklearn's f1 is checked above; here a vectorised one keeps 1,500 replicates quick)
    positive, hit_a, hit_b = y == "fraud", a == "fraud", b == "fraud"

    def f1(truth: np.ndarray, predicted: np.ndarray) -> float:
        hits = np.sum(truth & predicted)
        return float(2 * hits / (truth.sum() + predicted.sum()))

    def f1_gain(rows: np.ndarray) -> float:
        return f1(positive[rows], hit_b[rows]) - f1(positive[rows], hit_a[rows])

    result = paired_bootstrap(
        y_true=y,
        champion=a,
        challenger=b,
        task="classification",
        metric="f1",
        classes=("ok", "fraud"),
        resamples=3000,
        alpha=0.1,
    )
    assert result.exact and result.groups <= 8
    _agree(result, _row_bootstrap(f1_gain, len(y), 1500, seed=1), alpha=0.1)


@pytest.mark.parametrize(("metric", "rows"), [("rmse", 600), ("r2", 600), ("mae", 5000)])
def test_means_resample_like_rows(metric: str, rows: int) -> None:
    # Up to BOOTSTRAP_GROUPS rows the replicates are row resamples; beyond, rows are grouped
    # and the result must still agree with the row bootstrap (heavy-tailed errors here).
    rng = np.random.default_rng(9)
    y = rng.normal(10.0, 3.0, rows)
    a = y + rng.standard_t(4, rows) * 2.0
    b = y + rng.standard_t(4, rows) * 1.9
    functions = {
        "rmse": lambda t, p: -math.sqrt(np.mean((p - t) ** 2)),
        "r2": lambda t, p: 1.0 - np.mean((p - t) ** 2) / np.var(t),
        "mae": lambda t, p: -np.mean(np.abs(p - t)),
    }
    function = functions[metric]
    result = paired_bootstrap(
        y_true=y,
        champion=a,
        challenger=b,
        task="regression",
        metric=metric,
        resamples=3000,
        alpha=0.1,
    )
    assert result.exact == (rows <= validation.BOOTSTRAP_GROUPS)

    def gain(sample: np.ndarray) -> float:
        return float(function(y[sample], b[sample]) - function(y[sample], a[sample]))

    _agree(result, _row_bootstrap(gain, rows, 1500, seed=2), alpha=0.1)


def test_grouping_rows_keeps_the_bootstrap_law(monkeypatch: pytest.MonkeyPatch) -> None:
    # Grouped (64 groups) against exact (every row its own group) on the same 4,000 rows with
    # heavy-tailed errors, where a normal approximation would be furthest off.
    rng = np.random.default_rng(10)
    y = rng.normal(0.0, 1.0, 4000)
    a = y + rng.standard_t(3, 4000)
    b = y + 0.95 * rng.standard_t(3, 4000)
    results = {}
    for groups in (64, 10**9):
        monkeypatch.setattr(validation, "BOOTSTRAP_GROUPS", groups)
        results[groups] = paired_bootstrap(
            y_true=y,
            champion=a,
            challenger=b,
            task="regression",
            metric="rmse",
            resamples=4000,
            alpha=0.1,
        )
    grouped, exact = results[64], results[10**9]
    assert not grouped.exact and grouped.groups == 64 and exact.exact
    width = exact.interval[1] - exact.interval[0]
    assert grouped.interval[0] == pytest.approx(exact.interval[0], abs=0.08 * width)
    assert grouped.interval[1] == pytest.approx(exact.interval[1], abs=0.08 * width)
    assert grouped.p_value == pytest.approx(exact.p_value, abs=0.03)


def test_interval_holds_the_true_difference() -> None:
    # Errors N(0, 1.00) vs N(0, 0.97): true RMSE gain 0.03; population F1 gain from 2M rows.
    rng = np.random.default_rng(12)
    n = 200_000
    y = rng.normal(0.0, 5.0, n)
    rmse = compare_models(
        y_true=y,
        champion=y + rng.normal(0, 1.0, n),
        challenger=y + rng.normal(0, 0.97, n),
        task="regression",
        metric="rmse",
        alpha=0.025,
    )
    assert rmse.interval[0] < 0.03 < rmse.interval[1]
    assert rmse.passed

    def draw(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        truth = rng.random(size) < 0.3
        a = np.where(rng.random(size) < 0.85, truth, rng.random(size) < 0.3)
        b = np.where(rng.random(size) < 0.88, truth, rng.random(size) < 0.3)
        return truth.astype(int), a.astype(int), b.astype(int)

    population = draw(2_000_000)
    true_gain = skm.f1_score(population[0], population[2]) - skm.f1_score(*population[:2])
    y_true, a, b = draw(50_000)
    f1 = compare_models(
        y_true=y_true, champion=a, challenger=b, task="classification", metric="f1", alpha=0.025
    )
    assert f1.interval[0] < true_gain < f1.interval[1]
    assert f1.passed


def test_p_value_is_uniform_around_one_half_for_exchangeable_models() -> None:
    p_values = []
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        y = rng.normal(0.0, 1.0, 1500)
        result = paired_bootstrap(
            y_true=y,
            champion=y + rng.normal(0, 1, 1500),
            challenger=y + rng.normal(0, 1, 1500),
            task="regression",
            metric="mae",
            resamples=500,
            seed=seed,
        )
        p_values.append(result.p_value)
    assert 0.35 < np.mean(p_values) < 0.65
    assert sum(p < 0.05 for p in p_values) <= 3


def test_bootstrap_is_repeatable_given_the_seed() -> None:
    case = _binary_case(13)
    arguments: dict[str, Any] = {
        "y_true": case["y"],
        "champion": case["a"],
        "challenger": case["b"],
        "task": "classification",
        "metric": "log_loss",
        "classes": ("ok", "fraud"),
        "champion_scores": case["p_a"],
        "challenger_scores": case["p_b"],
        "resamples": 500,
    }
    first = paired_bootstrap(**arguments, seed=5)
    assert paired_bootstrap(**arguments, seed=5) == first
    assert paired_bootstrap(**arguments, seed=6).interval != first.interval
    assert compare_models(**arguments, seed=5) == compare_models(**arguments, seed=5)


# ----------------------------------------------------------------------------- the guarantee


@dataclass(frozen=True)
class Holdout:
    """A real holdout scored by a fitted model, and its training labels (for dummies)."""

    y: np.ndarray
    predictions: np.ndarray
    scores: np.ndarray  # positive-class probability (binary) or (rows, k) probabilities
    classes: tuple[str, ...]
    train_y: np.ndarray


@functools.cache
def _cancer(seed: int) -> Holdout:
    data = load_breast_cancer()
    # Target 0 is malignant: make it the positive class (the one to catch).
    labels = np.where(data.target == 0, "malignant", "benign")
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, labels, test_size=0.4, random_state=seed, stratify=labels
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x_train, y_train)
    column = list(model.classes_).index("malignant")
    return Holdout(
        y_test,
        model.predict(x_test),
        model.predict_proba(x_test)[:, column],
        ("benign", "malignant"),
        y_train,
    )


@functools.cache
def _wine(seed: int) -> Holdout:
    data = load_wine()
    names = np.array(["barolo", "grignolino", "barbera"])
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, names[data.target], test_size=0.4, random_state=seed, stratify=data.target
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(x_train, y_train)
    order = [list(model.classes_).index(name) for name in names]
    return Holdout(
        y_test,
        model.predict(x_test),
        model.predict_proba(x_test)[:, order],
        tuple(names),
        y_train,
    )


def _worsen_classifier(holdout: Holdout, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A deliberately worse challenger's (predictions, scores)."""
    rng = np.random.default_rng(1000 + seed)
    n, classes = len(holdout.y), np.array(holdout.classes)
    predictions, scores = holdout.predictions.copy(), holdout.scores.copy()
    binary = scores.ndim == 1
    if kind.startswith("flip"):
        flipped = rng.random(n) < int(kind[4:]) / 100.0
        if binary:
            predictions[flipped] = np.where(
                predictions[flipped] == classes[1], classes[0], classes[1]
            )
            scores[flipped] = 1.0 - scores[flipped]
        else:
            shift = rng.integers(1, len(classes), n)
            codes = np.array([list(classes).index(label) for label in predictions])
            predictions[flipped] = classes[(codes + shift)[flipped] % len(classes)]
            scores[flipped] = np.roll(scores[flipped], 1, axis=1)
        return predictions, scores
    if kind == "dummy":
        dummy = DummyClassifier(strategy="most_frequent").fit(
            np.zeros((len(holdout.train_y), 1)), holdout.train_y
        )
        proba = dummy.predict_proba(np.zeros((n, 1)))
        order = [list(dummy.classes_).index(name) for name in classes]
        proba = proba[:, order]
        return dummy.predict(np.zeros((n, 1))), proba[:, 1] if binary else proba
    assert kind == "noise"
    if binary:
        logit = np.log(np.clip(scores, 1e-9, 1 - 1e-9) / np.clip(1 - scores, 1e-9, 1))
        scores = 1.0 / (1.0 + np.exp(-(logit + rng.normal(0, 4.0, n))))
        return np.where(scores > 0.5, classes[1], classes[0]), scores
    logits = np.log(np.clip(scores, 1e-9, 1)) + rng.normal(0, 4.0, scores.shape)
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return classes[scores.argmax(axis=1)], scores


def _compare(
    holdout: Holdout,
    metric: str,
    worse: tuple[np.ndarray, np.ndarray],
    *,
    challenger_is_worse: bool,
    seed: int,
    **options: Any,
) -> Comparison:
    champion = (holdout.predictions, holdout.scores)
    first, second = (champion, worse) if challenger_is_worse else (worse, champion)
    return compare_models(
        y_true=holdout.y,
        champion=first[0],
        challenger=second[0],
        champion_scores=first[1],
        challenger_scores=second[1],
        task="classification",
        metric=metric,
        classes=holdout.classes,
        seed=seed,
        **options,
    )


WORSE_CLASSIFIERS = ("flip10", "flip30", "dummy", "noise")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", WORSE_CLASSIFIERS)
@pytest.mark.parametrize("metric", CLASSIFICATION)
def test_a_worse_binary_classifier_never_passes(metric: str, kind: str, seed: int) -> None:
    holdout = _cancer(seed)
    worse = _worsen_classifier(holdout, kind, seed)
    result = _compare(holdout, metric, worse, challenger_is_worse=True, seed=seed)
    assert not result.passed, result.reasons
    assert result.reasons and all(isinstance(reason, str) for reason in result.reasons)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["flip30", "dummy"])
@pytest.mark.parametrize("metric", CLASSIFICATION)
def test_a_better_binary_classifier_passes(metric: str, kind: str, seed: int) -> None:
    holdout = _cancer(seed)
    worse = _worsen_classifier(holdout, kind, seed)
    result = _compare(holdout, metric, worse, challenger_is_worse=False, seed=seed)
    assert result.passed, result.reasons
    assert result.improvement > 0 and result.p_value < 0.05
    assert result.interval[0] < result.improvement < result.interval[1]


MULTICLASS = tuple(name for name in CLASSIFICATION if name != "roc_auc")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", WORSE_CLASSIFIERS)
@pytest.mark.parametrize("metric", MULTICLASS)
def test_a_worse_multiclass_classifier_never_passes(metric: str, kind: str, seed: int) -> None:
    holdout = _wine(seed)
    worse = _worsen_classifier(holdout, kind, seed)
    assert not _compare(holdout, metric, worse, challenger_is_worse=True, seed=seed).passed
    if kind in ("flip30", "dummy"):
        better = _compare(holdout, metric, worse, challenger_is_worse=False, seed=seed)
        assert better.passed, better.reasons


@functools.cache
def _diabetes(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = load_diabetes()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.4, random_state=seed
    )
    model = LinearRegression().fit(x_train, y_train)
    return y_test, model.predict(x_test), y_train


def _worsen_regressor(seed: int, kind: str) -> np.ndarray:
    y, predictions, y_train = _diabetes(seed)
    residual_sd = float(np.std(predictions - y))
    rng = np.random.default_rng(2000 + seed)
    if kind == "noise":
        return predictions + rng.normal(0.0, residual_sd, len(y))
    if kind == "dummy":
        dummy = DummyRegressor().fit(np.zeros((len(y_train), 1)), y_train)
        return np.asarray(dummy.predict(np.zeros((len(y), 1))))
    assert kind == "shift"
    shift = 0.5 * residual_sd
    # Upwards, by more than twice the model's own bias: worse on every metric, bias included.
    assert abs(np.mean(predictions - y)) < shift / 2
    return predictions + shift


# Zero-mean noise and the mean predictor do not move the bias (the mean error) on purpose;
# only a shift makes a challenger worse on it.
WORSE_REGRESSORS = [
    (metric, kind)
    for metric in REGRESSION
    for kind in ("noise", "dummy", "shift")
    if metric != "bias" or kind == "shift"
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("metric", "kind"), WORSE_REGRESSORS)
def test_a_worse_regressor_never_passes_and_a_better_one_does(
    metric: str, kind: str, seed: int
) -> None:
    y, predictions, _ = _diabetes(seed)
    worse = _worsen_regressor(seed, kind)
    arguments: dict[str, Any] = {"y_true": y, "task": "regression", "metric": metric, "seed": seed}
    result = compare_models(champion=predictions, challenger=worse, **arguments)
    assert not result.passed, result.reasons
    assert result.improvement < 0
    better = compare_models(champion=worse, challenger=predictions, **arguments)
    assert better.passed, better.reasons


@pytest.mark.parametrize("metric", CLASSIFICATION + REGRESSION)
def test_a_challenger_equal_to_the_champion_never_passes(metric: str) -> None:
    if metric in REGRESSION:
        y, predictions, _ = _diabetes(0)
        result = compare_models(
            y_true=y,
            champion=predictions,
            challenger=predictions.copy(),
            task="regression",
            metric=metric,
        )
    else:
        holdout = _cancer(0)
        result = _compare(
            holdout,
            metric,
            (holdout.predictions.copy(), holdout.scores.copy()),
            challenger_is_worse=True,
            seed=0,
        )
    assert result.improvement == 0.0
    assert result.p_value >= 0.05 and not result.passed
    assert any("p = 1 >= alpha" in reason for reason in result.reasons), result.reasons


def test_the_margin_is_required_of_the_point_improvement() -> None:
    holdout = _cancer(0)
    worse = _worsen_classifier(holdout, "flip10", 0)
    result = _compare(holdout, "accuracy", worse, challenger_is_worse=False, seed=0)
    assert result.passed and result.test == "mcnemar"
    strict = _compare(
        holdout,
        "accuracy",
        worse,
        challenger_is_worse=False,
        seed=0,
        margin=result.improvement + 0.01,
    )
    assert not strict.passed
    assert strict.reasons == (
        f"challenger accuracy {strict.challenger:.4g} vs champion {strict.champion:.4g}: "
        f"improvement {strict.improvement:+.4g} < margin {strict.margin:g}",
    )


# ----------------------------------------------------------------------------- real flights


@functools.cache
def _flights() -> dict[str, Any]:
    from seismo.examples.flights import flights

    table = flights(6, 7).to_pandas().dropna(subset=["arr_delay", "dep_delay"])
    train, holdout = table[table["month"] == 6], table[table["month"] == 7]  # time-based
    weak, strong = ["distance", "hour"], ["distance", "hour", "dep_delay"]
    late_train = np.where(train["arr_delay"] > 15, "late", "on_time")
    out: dict[str, Any] = {
        "late": np.where(holdout["arr_delay"] > 15, "late", "on_time"),
        "arr_delay": holdout["arr_delay"].to_numpy(),
        "origin": holdout["origin"].to_numpy(),
    }
    for name, features in (("champion", weak), ("challenger", strong)):
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        classifier.fit(train[features], late_train)
        late_column = list(classifier.classes_).index("late")
        out[f"{name}_label"] = classifier.predict(holdout[features])
        out[f"{name}_score"] = classifier.predict_proba(holdout[features])[:, late_column]
        regressor = LinearRegression().fit(train[features], train["arr_delay"])
        out[f"{name}_delay"] = regressor.predict(holdout[features])
    return out


@pytest.mark.parametrize("metric", (*CLASSIFICATION, "mae", "rmse", "r2"))
def test_a_better_flight_delay_model_passes_on_next_month(metric: str) -> None:
    # June-trained models judged on July: knowing the departure delay is genuinely better.
    data = _flights()
    if metric in REGRESSION:
        result = compare_models(
            y_true=data["arr_delay"],
            champion=data["champion_delay"],
            challenger=data["challenger_delay"],
            task="regression",
            metric=metric,
            segments={"origin": data["origin"]},
        )
    else:
        result = compare_models(
            y_true=data["late"],
            champion=data["champion_label"],
            challenger=data["challenger_label"],
            champion_scores=data["champion_score"],
            challenger_scores=data["challenger_score"],
            task="classification",
            metric=metric,
            classes=("on_time", "late"),
            segments={"origin": data["origin"]},
        )
    assert result.passed, result.reasons
    assert [(s.value, s.judged) for s in result.segments] == [
        ("EWR", True),
        ("JFK", True),
        ("LGA", True),
    ]
    assert sum(s.rows for s in result.segments) == result.rows
    assert "segment values with at least 50 rows are within the tolerance" in result.reasons[-1]


def test_a_flight_model_that_swaps_one_airport_for_a_worse_one_fails_on_that_segment() -> None:
    data = _flights()
    at_jfk = data["origin"] == "JFK"
    challenger = np.where(at_jfk, data["champion_delay"] + 40.0, data["challenger_delay"])
    result = compare_models(
        y_true=data["arr_delay"],
        champion=data["champion_delay"],
        challenger=challenger,
        task="regression",
        metric="mae",
        segments={"origin": data["origin"]},
    )
    assert result.improvement > 0 and result.p_value < 0.05  # better overall ...
    assert not result.passed  # ... but not at JFK
    (reason,) = result.reasons
    assert reason.startswith(f"segment origin=JFK ({int(at_jfk.sum())} rows): challenger mae")
    assert "worse by more than the tolerance 0.02" in reason
    judged = {s.value: s.within_tolerance for s in result.segments}
    assert judged == {"EWR": True, "JFK": False, "LGA": True}


# ----------------------------------------------------------------------------- segments


def test_segments_better_overall_but_worse_on_one_value_fail() -> None:
    rng = np.random.default_rng(14)
    n = 6000
    truth = rng.random(n) < 0.5
    region = rng.choice(np.array(["north", "south", "east", "west"]), n, p=[0.4, 0.3, 0.2, 0.1])
    champion = np.where(rng.random(n) < 0.80, truth, ~truth)
    challenger = np.where(rng.random(n) < 0.90, truth, ~truth)
    west = region == "west"
    challenger[west] = np.where(rng.random(int(west.sum())) < 0.70, truth[west], ~truth[west])
    result = compare_models(
        y_true=truth,
        champion=champion,
        challenger=challenger,
        task="classification",
        metric="accuracy",
        segments={"region": region, "tiny": np.where(west, "w", None)},
    )
    assert result.improvement > 0 and result.p_value < 0.05
    assert not result.passed
    failing = [s for s in result.segments if not s.within_tolerance]
    assert [(s.column, s.value) for s in failing] == [("region", "west"), ("tiny", "w")]
    assert len(result.reasons) == 2
    assert result.reasons[0].startswith("segment region=west (")
    values = [(s.column, s.value) for s in result.segments]
    assert values == [
        ("region", "east"),
        ("region", "north"),
        ("region", "south"),
        ("region", "west"),
        ("tiny", "(missing)"),
        ("tiny", "w"),
    ]


def test_small_segments_and_undefined_values_are_reported_not_judged() -> None:
    rng = np.random.default_rng(15)
    n = 2000
    positive = rng.random(n) < 0.4
    group = np.where(rng.random(n) < 0.01, "rare", "common").astype("<U9")
    group[:300] = "one_class"
    positive[:300] = False  # ROC AUC undefined there
    a = positive + rng.normal(0, 1.0, n)
    b = positive + rng.normal(0, 0.7, n)
    b[group == "rare"] = -positive[group == "rare"].astype(float)  # terrible, on few rows
    result = compare_models(
        y_true=positive.astype(int),
        champion=positive.astype(int),
        challenger=positive.astype(int),
        champion_scores=a,
        challenger_scores=b,
        task="classification",
        metric="roc_auc",
        segments={"group": group},
    )
    by_value = {s.value: s for s in result.segments}
    assert by_value["rare"].rows < 50 and not by_value["rare"].judged
    assert by_value["rare"].within_tolerance
    assert math.isnan(by_value["one_class"].champion) and not by_value["one_class"].judged
    assert by_value["common"].judged
    assert result.passed, result.reasons
    assert "2 not judged" in result.reasons[-1]
    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert document["test"] == "delong"
    one_class = next(s for s in document["segments"] if s["value"] == "one_class")
    assert one_class["champion"] is None and one_class["judged"] is False


def test_to_dict_is_json_safe_and_complete() -> None:
    case = _binary_case(16)
    result = compare_models(
        y_true=case["y"],
        champion=case["a"],
        challenger=case["b"],
        task="classification",
        metric="f1",
        classes=("ok", "fraud"),
        segments={"half": np.arange(600) % 2},
        resamples=300,
    )
    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert set(document) == {
        "metric",
        "test",
        "rows",
        "champion",
        "challenger",
        "improvement",
        "interval",
        "p_value",
        "margin",
        "alpha",
        "segments",
        "passed",
        "reasons",
    }
    assert document["test"] == "paired_bootstrap" and len(document["interval"]) == 2
    assert [s["value"] for s in document["segments"]] == ["0", "1"]


def test_labels_match_as_classification_summary_does() -> None:
    # Integers, whole floats and their text are the same class; object arrays with strings.
    y = np.array([0, 1, 1, 0, 1] * 20)
    as_float = y.astype(float)
    as_text = np.array([str(v) for v in y], dtype=object)
    result = compare_models(
        y_true=y, champion=as_float, challenger=as_text, task="classification", metric="f1"
    )
    assert result.champion == result.challenger == 1.0


# ----------------------------------------------------------------------------- bad inputs


def _good() -> dict[str, Any]:
    case = _binary_case(17, n=100)
    return {
        "y_true": case["y"],
        "champion": case["a"],
        "challenger": case["b"],
        "task": "classification",
        "metric": "accuracy",
        "classes": ("ok", "fraud"),
    }


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown metric",
        {"metric": "auc"},
        "unknown metric 'auc'; classification metrics are "
        "accuracy, precision, recall, f1, roc_auc, log_loss",
    ),
    ("metric of the other task", {"metric": "rmse"}, "metric 'rmse' is a regression metric"),
    ("bad task", {"task": "ranking"}, "task must be 'classification' or 'regression'"),
    ("empty", {"y_true": [], "champion": [], "challenger": []}, "y_true is empty"),
    ("lengths", {"champion": ["ok"] * 99}, "y_true has 100 rows, champion has shape (99,)"),
    ("2-D labels", {"y_true": np.zeros((100, 2))}, "y_true must be a 1-D sequence"),
    ("missing label", {"y_true": ["ok", None] * 50}, "y_true has 50 missing labels"),
    (
        "NaN label",
        {"y_true": [0.0, np.nan] * 50, "classes": ("0.0", "1")},
        "y_true has 50 missing labels (None or NaN), the first at row 1; drop those rows",
    ),
    (
        "missing prediction",
        {"challenger": ["ok"] * 99 + [None]},
        "challenger has 1 missing predictions",
    ),
    (
        "unknown label",
        {"y_true": ["ok", "maybe"] * 50},
        "y_true has 50 labels not in classes ['ok', 'fraud']: ['maybe']",
    ),
    (
        "one class",
        {
            "classes": None,
            "y_true": ["ok"] * 100,
            "champion": ["ok"] * 100,
            "challenger": ["ok"] * 100,
        },
        "hold a single class ('ok')",
    ),
    (
        "ambiguous positive",
        {"classes": None, "metric": "f1"},
        "pass classes=(negative, positive), e.g. classes=('fraud', 'ok')",
    ),
    ("duplicate classes", {"classes": ("ok", "ok")}, "classes must be two or more distinct"),
    ("scores missing", {"metric": "roc_auc"}, "pass champion_scores and challenger_scores"),
    (
        "scores length",
        {"metric": "roc_auc", "champion_scores": np.zeros(99), "challenger_scores": np.zeros(100)},
        "champion_scores must hold one",
    ),
    (
        "scores NaN",
        {
            "metric": "roc_auc",
            "champion_scores": [np.nan] * 100,
            "challenger_scores": np.zeros(100),
        },
        "champion_scores has 100 NaN",
    ),
    (
        "probabilities",
        {
            "metric": "log_loss",
            "champion_scores": np.full(100, 1.5),
            "challenger_scores": np.zeros(100),
        },
        "probabilities in [0, 1]",
    ),
    (
        "multiclass auc",
        {
            "classes": ("ok", "fraud", "other"),
            "metric": "roc_auc",
            "champion_scores": np.zeros(100),
            "challenger_scores": np.zeros(100),
        },
        "roc_auc compares binary classifiers",
    ),
    (
        "probability rows",
        {
            "classes": ("ok", "fraud", "other"),
            "metric": "log_loss",
            "champion_scores": np.full((100, 3), 0.5),
            "challenger_scores": np.full((100, 3), 1 / 3),
        },
        "champion_scores rows must sum to 1",
    ),
    (
        "multiclass log loss order",
        {"classes": None, "metric": "log_loss", "y_true": ["a", "b", "c", "a"] * 25},
        "log_loss on more than two classes needs classes",
    ),
    ("alpha", {"alpha": 0.7}, "alpha must lie strictly between 0 and 0.5"),
    ("margin", {"margin": -0.01}, "margin must be a finite number >= 0"),
    ("tolerance", {"segment_tolerance": math.nan}, "segment_tolerance must be a finite number"),
    ("min rows", {"min_segment_rows": 0}, "min_segment_rows must be at least 1"),
    ("resamples", {"metric": "f1", "resamples": 10}, "use at least 20 resamples"),
    ("seed", {"metric": "f1", "seed": -1}, "seed must be a whole number >= 0"),
    (
        "segment length",
        {"segments": {"region": ["a"] * 99}},
        "segment column 'region' must hold one value per holdout row (100)",
    ),
    (
        "segment values",
        {"segments": {"id": np.arange(100) % 100}, "metric": "accuracy"},
        "segment column 'id' has 100 distinct values",
    ),
    (
        "classes for regression",
        {
            "task": "regression",
            "metric": "mae",
            "y_true": np.zeros(100),
            "champion": np.zeros(100),
            "challenger": np.zeros(100),
        },
        "classes is for classification",
    ),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [pytest.param(changes, message, id=name) for name, changes, message in BAD_INPUTS],
)
def test_bad_input_is_refused_with_a_message_that_says_what_to_do(
    changes: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validation, "MAX_SEGMENT_VALUES", 50)
    arguments = {**_good(), **changes}
    with pytest.raises(InputError) as raised:
        compare_models(**arguments)
    assert message in str(raised.value)


REGRESSION_BAD: list[tuple[str, dict[str, Any], str]] = [
    ("NaN label", {"y_true": [1.0, np.nan] * 50}, "y_true has 50 NaN or infinite values"),
    ("inf prediction", {"champion": [1.0, np.inf] * 50}, "champion has 50 NaN or infinite"),
    ("text", {"challenger": ["a"] * 100}, "challenger must be numbers"),
    (
        "scores",
        {"champion_scores": np.zeros(100), "challenger_scores": np.zeros(100)},
        "challenger_scores are for classification",
    ),
    ("mape of zeros", {"metric": "mape", "y_true": np.zeros(100)}, "all 100 labels are 0"),
    ("r2 of a constant", {"metric": "r2", "y_true": np.full(100, 3.0)}, "all 100 labels equal 3"),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [pytest.param(changes, message, id=name) for name, changes, message in REGRESSION_BAD],
)
def test_bad_regression_input_is_refused(changes: dict[str, Any], message: str) -> None:
    rng = np.random.default_rng(18)
    arguments: dict[str, Any] = {
        "y_true": rng.normal(5, 1, 100),
        "champion": rng.normal(5, 1, 100),
        "challenger": rng.normal(5, 1, 100),
        "task": "regression",
        "metric": "mae",
        **changes,
    }
    with pytest.raises(InputError, match=None) as raised:
        compare_models(**arguments)
    assert message in str(raised.value)


def test_the_tests_refuse_what_they_cannot_use() -> None:
    with pytest.raises(InputError, match="at least two rows of each class"):
        delong([True, False, False, False], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(InputError, match="2 x 2 counts"):
        mcnemar_table([[1, 2, 3]])
    with pytest.raises(InputError, match="whole numbers"):
        mcnemar_table([[1, -2], [3, 4]])
    with pytest.raises(InputError, match="same rows"):
        mcnemar([True, False], [True])
    with pytest.raises(InputError, match="compare ROC AUCs with delong"):
        paired_bootstrap(
            y_true=[0, 1] * 10,
            champion=[0, 1] * 10,
            challenger=[0, 1] * 10,
            champion_scores=[0.2, 0.8] * 10,
            challenger_scores=[0.3, 0.7] * 10,
            task="classification",
            metric="roc_auc",
        )

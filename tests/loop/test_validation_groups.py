"""compare_groups: a canary's versions answered different requests, so they are compared as
two independent samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import log_loss, roc_auc_score

from seismo.errors import InputError
from seismo.loop.validation import compare_groups


def _group(rng: np.random.Generator, n: int, accuracy: float) -> tuple[list[str], list[str], None]:
    labels = rng.choice(["no", "yes"], n)
    right = rng.random(n) < accuracy
    outputs = np.where(right, labels, np.where(labels == "yes", "no", "yes"))
    return list(labels), list(outputs), None


def test_accuracy_interval_matches_the_two_proportion_normal_interval() -> None:
    rng = np.random.default_rng(1)
    ours, theirs = _group(rng, 4000, 0.80), _group(rng, 3000, 0.77)
    result = compare_groups(
        champion=ours,
        challenger=theirs,
        task="classification",
        metric="accuracy",
        classes=["no", "yes"],
        alpha=0.05,
        resamples=2000,
    )
    a = np.mean(np.array(ours[0]) == np.array(ours[1]))
    b = np.mean(np.array(theirs[0]) == np.array(theirs[1]))
    assert result.champion == pytest.approx(a) and result.challenger == pytest.approx(b)
    assert result.improvement == pytest.approx(b - a)
    se = math.sqrt(a * (1 - a) / 4000 + b * (1 - b) / 3000)
    z = stats.norm.ppf(0.95)
    assert result.interval[0] == pytest.approx(b - a - z * se, abs=0.004)
    assert result.interval[1] == pytest.approx(b - a + z * se, abs=0.004)
    assert result.interval[1] < 0  # worse beyond doubt


def test_auc_and_log_loss_are_sklearns_and_the_interval_covers_the_truth() -> None:
    rng = np.random.default_rng(2)
    covered = 0
    trials = 40
    for trial in range(trials):
        groups = []
        for signal in (1.0, 1.0):  # equally good: the true improvement is 0
            labels = rng.integers(0, 2, 1500)
            scores = 1 / (1 + np.exp(-(signal * (labels - 0.5) * 2 + rng.normal(0, 1.5, 1500))))
            groups.append((labels, (scores > 0.5).astype(int), scores))
        result = compare_groups(
            champion=groups[0],
            challenger=groups[1],
            task="classification",
            metric="roc_auc",
            alpha=0.05,
            resamples=300,
            seed=trial,
        )
        assert result.champion == pytest.approx(roc_auc_score(groups[0][0], groups[0][2]))
        covered += result.interval[0] <= 0 <= result.interval[1]
    assert covered >= trials * 0.8  # nominal 90 %
    loss = compare_groups(
        champion=groups[0],
        challenger=groups[1],
        task="classification",
        metric="log_loss",
        resamples=200,
    )
    assert loss.champion == pytest.approx(log_loss(groups[0][0], groups[0][2]), rel=1e-6)


def test_refusals() -> None:
    rng = np.random.default_rng(0)
    group = _group(rng, 50, 0.8)
    with pytest.raises(InputError, match="resamples"):
        compare_groups(
            champion=group, challenger=group, task="classification", metric="accuracy", resamples=5
        )
    with pytest.raises(InputError, match="unknown metric"):
        compare_groups(champion=group, challenger=group, task="classification", metric="auc")

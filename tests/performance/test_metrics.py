"""The metric registry names exactly the metrics the summaries compute."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from seismo.errors import InputError
from seismo.performance import ClassificationSummary, Estimate, RegressionSummary
from seismo.performance.metrics import METRICS, metric, metric_names, metrics


def computed(result: object) -> set[str]:
    """The fields of a metrics result that hold an estimate (in this run, or ``None``)."""
    return {
        field.name
        for field in dataclasses.fields(result)  # type: ignore[arg-type]
        if "Estimate" in str(field.type)
    }


def test_classification_summaries_compute_exactly_the_registered_metrics() -> None:
    rng = np.random.default_rng(0)
    labels = rng.choice(["no", "yes"], 200)
    outputs = np.where(rng.random(200) < 0.8, labels, rng.choice(["no", "yes"], 200))
    scores = rng.random(200)
    result = ClassificationSummary.from_batch(("no", "yes"), labels, outputs, scores).metrics()
    assert computed(result) == set(metric_names("classification"))
    for name in metric_names("classification"):
        assert isinstance(getattr(result, name), Estimate), name
        assert name in result.to_dict()


def test_regression_summaries_compute_exactly_the_registered_metrics() -> None:
    rng = np.random.default_rng(1)
    labels = rng.normal(10.0, 2.0, 200)
    result = RegressionSummary.from_batch(labels, labels + rng.normal(0, 1, 200)).metrics()
    assert computed(result) == set(metric_names("regression"))
    for name in metric_names("regression"):
        assert isinstance(getattr(result, name), Estimate), name
        assert name in result.to_dict()


def test_every_metric_is_described_once_with_its_better_side() -> None:
    names = [m.name for m in METRICS]
    assert len(names) == len(set(names))
    assert set(metrics()) == set(metrics("classification")) | set(metrics("regression"))
    for entry in METRICS:
        assert entry.description and entry.better in ("higher", "lower", "zero")
    assert [m.name for m in METRICS if m.better == "zero"] == ["bias"]
    assert metric("rmse").lower_is_better and not metric("rmse").higher_is_better


def test_an_unknown_metric_names_the_known_ones() -> None:
    with pytest.raises(InputError, match="unknown metric 'f2'; metrics are accuracy, "):
        metric("f2")

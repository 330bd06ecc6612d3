"""Generic contract every statistic in ``seismo.stats.REGISTRY`` must satisfy."""

from __future__ import annotations

import dataclasses
import inspect
import math
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from seismo import stats
from seismo.stats import COUNTS_REGISTRY, REGISTRY, get

NAMES = sorted(REGISTRY)
COUNT_NAMES = sorted(COUNTS_REGISTRY)
TESTS = {"ks", "chi2", "ztest"}  # statistics that also return a p-value
SYMMETRIC = {"psi", "jensen_shannon", "hellinger", "ks", "chi2", "wasserstein", "total_variation"}
BOOLEAN = {"ztest"}  # statistics defined on boolean samples only
NUMERIC_ONLY = {"ks", "wasserstein"}

rng = np.random.default_rng(2024)
NUMERIC = (rng.normal(size=400), rng.normal(0.3, 1.2, size=300))
BOOLEANS = (rng.random(400) < 0.3, rng.random(300) < 0.4)
CATEGORIES = (
    rng.choice(np.array(["a", "b", "c", "d"]), size=400, p=[0.4, 0.3, 0.2, 0.1]),
    rng.choice(np.array(["a", "b", "c", "e"]), size=300),
)


def inputs(name: str) -> tuple[np.ndarray, np.ndarray]:
    return BOOLEANS if name in BOOLEAN else NUMERIC


def degenerate_inputs(name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    if name in BOOLEAN:
        return [
            (np.ones(10, dtype=bool), np.ones(5, dtype=bool)),
            (np.zeros(10, dtype=bool), np.ones(5, dtype=bool)),
            (BOOLEANS[0], np.array([True])),
            (np.array([False]), np.array([True])),
        ]
    return [
        (np.full(20, 3.0), np.full(10, 3.0)),  # both constant, equal
        (np.full(20, 3.0), np.full(10, 4.0)),  # both constant, different
        (np.full(20, 3.0), NUMERIC[1]),  # constant reference
        (NUMERIC[0], np.array([0.1])),  # a single value in current
        (np.array([1.0]), np.array([1.0])),  # one value each
        (np.array([1.0]), np.array([2.0])),
    ]


def count_inputs(name: str) -> tuple[list[int], list[int]]:
    return ([70, 30], [55, 45]) if name == "ztest" else ([50, 30, 0, 20], [30, 30, 5, 35])


def check_result(result: Any) -> None:
    cls = type(result)
    assert dataclasses.is_dataclass(result) and not isinstance(result, type)
    assert cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert hasattr(cls, "__slots__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.statistic = 1.0
    # plain Python scalars only: nothing numpy-typed leaks into results
    for field in dataclasses.fields(result):
        assert type(getattr(result, field.name)) in (float, int), field.name
    assert type(result.statistic) is float
    assert not math.isnan(result.statistic)
    assert cls.__name__ in repr(result)
    assert pickle.loads(pickle.dumps(result)) == result


# --- registry -------------------------------------------------------------------------------


def test_registry_contents() -> None:
    assert NAMES == [
        "chi2",
        "hellinger",
        "jensen_shannon",
        "kl",
        "ks",
        "psi",
        "total_variation",
        "wasserstein",
        "ztest",
    ]
    assert set(COUNT_NAMES) == set(NAMES) - {"wasserstein"}
    for name in COUNT_NAMES:
        assert COUNTS_REGISTRY[name].__name__ == f"{REGISTRY[name].__name__}_counts"
        assert get(name, counts=True) is COUNTS_REGISTRY[name]
    for name in NAMES:
        assert get(name) is REGISTRY[name]
        assert getattr(stats, REGISTRY[name].__name__) is REGISTRY[name]


def test_get_unknown_name_lists_valid_names() -> None:
    with pytest.raises(KeyError) as info:
        get("entropy")
    message = str(info.value)
    assert "entropy" in message
    for name in NAMES:
        assert name in message
    with pytest.raises(KeyError, match="ztest"):
        get("wasserstein", counts=True)


@pytest.mark.parametrize(
    "function", [*REGISTRY.values(), *COUNTS_REGISTRY.values(), stats.wasserstein_grid]
)
def test_documented_with_examples(function: Callable[..., Any]) -> None:
    doc = inspect.getdoc(function) or ""
    for section in ("Parameters", "Returns", "Examples"):
        assert f"{section}\n--------" in doc or f"{section}\n-------" in doc, section
    assert ">>> " in doc


# --- raw entry points -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_result_contract(name: str) -> None:
    function = REGISTRY[name]
    result = function(*inputs(name))
    check_result(result)
    assert math.isfinite(result.statistic)
    if name in TESTS:
        assert type(result.pvalue) is float
        assert 0.0 <= result.pvalue <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_deterministic(name: str) -> None:
    function = REGISTRY[name]
    assert function(*inputs(name)) == function(*inputs(name))


@pytest.mark.parametrize("name", NAMES)
def test_identical_inputs(name: str) -> None:
    sample = inputs(name)[0]
    result = REGISTRY[name](sample, sample.copy())
    assert result.statistic == pytest.approx(0.0, abs=1e-7)
    if name in TESTS:
        assert result.pvalue == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
def test_symmetric(name: str) -> None:
    # Binned statistics are symmetric on categories (numeric bins come from the reference).
    a, b = NUMERIC if name in NUMERIC_ONLY else CATEGORIES
    forward, backward = REGISTRY[name](a, b), REGISTRY[name](b, a)
    assert forward.statistic == pytest.approx(backward.statistic, rel=1e-12, abs=1e-15)
    if name in TESTS:
        assert forward.pvalue == pytest.approx(backward.pvalue, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_finite_on_degenerate_inputs(name: str) -> None:
    for reference, current in degenerate_inputs(name):
        result = REGISTRY[name](reference, current)
        check_result(result)
        assert math.isfinite(result.statistic), (reference, current)
        if name in TESTS:
            assert 0.0 <= result.pvalue <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_missing_values_dropped_and_empty_rejected(name: str) -> None:
    reference, current = inputs(name)
    padded = np.concatenate([reference.astype(object), [None]])
    assert REGISTRY[name](padded, current) == REGISTRY[name](reference, current)
    with pytest.raises(ValueError, match="reference is empty"):
        REGISTRY[name](np.array([]), current)
    with pytest.raises(ValueError, match="current is empty"):
        REGISTRY[name](reference, [None, None])


@pytest.mark.parametrize("name", sorted(set(NAMES) - BOOLEAN))
def test_categorical_input(name: str) -> None:
    if name in NUMERIC_ONLY:
        with pytest.raises(ValueError, match="must be numeric"):
            REGISTRY[name](*CATEGORIES)
    else:
        check_result(REGISTRY[name](*CATEGORIES))


# --- counts entry points ----------------------------------------------------------------------


@pytest.mark.parametrize("name", COUNT_NAMES)
def test_counts_contract(name: str) -> None:
    function = COUNTS_REGISTRY[name]
    reference, current = count_inputs(name)
    result = function(reference, current)
    check_result(result)
    assert result == function(np.array(reference), np.array(current, dtype=float))
    identical = function(reference, reference)
    assert identical.statistic == pytest.approx(0.0, abs=1e-7)
    if name in SYMMETRIC:
        assert function(current, reference).statistic == pytest.approx(
            result.statistic, rel=1e-12, abs=1e-15
        )
    with pytest.raises(ValueError, match="same bins"):
        function(reference, [*current, 1])
    with pytest.raises(ValueError, match="non-negative"):
        function([-1, *reference[1:]], current)
    with pytest.raises(ValueError, match="sum to zero"):
        function([0] * len(reference), current)

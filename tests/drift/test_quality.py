from __future__ import annotations

import numpy as np
import pandas as pd

import seismo
from seismo.drift.quality import Level


def _checks(report: seismo.DriftReport) -> dict[tuple[str, str | None], Level]:
    return {(a.check, a.column): a.level for a in report.anomalies}


def test_same_distribution_has_no_warnings() -> None:
    rng = np.random.default_rng(0)
    make = lambda: pd.DataFrame(  # noqa: E731
        {"x": rng.normal(size=5000), "c": rng.choice(["a", "b", "c"], 5000)}
    )
    report = seismo.compare(make(), make())
    assert all(a.level is Level.INFO for a in report.anomalies), report.anomalies


def test_quality_problems_are_reported() -> None:
    rng = np.random.default_rng(1)
    n = 4000
    reference = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.normal(50, 5, n),
            "city": rng.choice(["paris", "lyon"], n),
            "score": rng.uniform(0, 1, n),
            "gone": rng.normal(size=n),
            "plan": rng.choice(["free", "pro"], n),
            "steady": rng.normal(size=n),
        }
    )
    age = rng.normal(40, 10, n)
    age[: n // 3] = np.nan  # null-rate jump 0% -> 33%
    income = rng.normal(50, 5, n)
    income[:400] = 500.0  # 10% out of range
    score = rng.uniform(0, 1, n)
    score[:5] = np.inf
    current = pd.DataFrame(
        {
            "age": age,
            "income": income,
            "city": rng.choice(["paris", "lyon", "berlin"], n),  # unseen category
            "score": score,
            "plan": ["free"] * n,  # constant
            "steady": rng.normal(size=n),
            "added": rng.normal(size=n),
        }
    )
    checks = _checks(seismo.compare(reference, current))
    assert checks[("null_rate_jump", "age")] is Level.ERROR
    assert checks[("out_of_range", "income")] is Level.ERROR
    assert checks[("unseen_categories", "city")] is Level.ERROR
    assert checks[("infinite_values", "score")] is Level.WARNING
    assert checks[("constant_column", "plan")] is Level.WARNING
    assert checks[("missing_column", "gone")] is Level.ERROR
    assert checks[("new_column", "added")] is Level.WARNING
    assert not any(column == "steady" for _, column in checks)


def test_type_change_is_an_error() -> None:
    reference = pd.DataFrame({"x": np.arange(100, dtype=float)})
    current = pd.DataFrame({"x": [f"v{i}" for i in range(100)]})
    report = seismo.compare(reference, current)
    checks = _checks(report)
    assert checks[("type_change", "x")] is Level.ERROR
    assert checks[("invalid_numbers", "x")] is Level.WARNING
    assert not report["x"].tested

"""Seeded synthetic data sets with known, injected shifts."""

from __future__ import annotations

import numpy as np

NUMERIC = ("normal", "lognormal", "uniform", "poisson", "student_t")
CATEGORICAL = ("city", "plan")
BOOLEAN = ("churned",)


def dataset(rows: int, rng: np.random.Generator, shift: bool = False) -> dict[str, np.ndarray]:
    """Same distribution every call unless ``shift``; with it, four columns change:

    normal: mean +0.5 std; lognormal: scale x1.6; city: one category's share 10% -> 25%;
    churned: rate 30% -> 50%. uniform, poisson, student_t and plan never change.
    """
    city_p = np.array([0.4, 0.3, 0.2, 0.1])
    if shift:
        city_p = np.array([0.3, 0.25, 0.2, 0.25])
    return {
        "normal": rng.normal(0.5 if shift else 0.0, 1.0, rows),
        "lognormal": rng.lognormal(0.0, 0.75, rows) * (1.6 if shift else 1.0),
        "uniform": rng.uniform(-1, 1, rows),
        "poisson": rng.poisson(3.0, rows).astype(np.float64),
        "student_t": rng.standard_t(4, rows),
        "city": rng.choice(np.array(["paris", "lyon", "nice", "lille"]), rows, p=city_p),
        "plan": rng.choice(np.array(["free", "pro", "team"]), rows, p=[0.7, 0.2, 0.1]),
        "churned": rng.random(rows) < (0.5 if shift else 0.3),
    }


SHIFTED = ("normal", "lognormal", "city", "churned")

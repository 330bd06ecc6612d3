"""The classic beginner scenario: a scikit-learn data set split into training and production.

Production receives injected problems of known size, so a report's findings can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Scenario:
    training: Any  # pandas DataFrame
    production: Any  # pandas DataFrame
    shifted: tuple[str, ...]  # features whose distribution was changed on purpose
    noisy: tuple[str, ...]  # features that got measurement noise
    schema: dict[str, Any]


def breast_cancer_scenario(seed: int = 0, shift_std: float = 1.0) -> Scenario:
    """Breast-cancer data (569 rows, 30 features) with a model, split in half.

    Production gets ``mean radius`` and ``mean texture`` shifted by ``shift_std`` reference
    standard deviations and ``worst area`` multiplied by noise; a logistic-regression model
    trained on the training half adds ``prediction`` and ``score`` columns to both halves, so the
    shift shows up as prediction drift too.

    Examples
    --------
    >>> scenario = breast_cancer_scenario()
    >>> len(scenario.training), len(scenario.production), scenario.shifted
    (285, 284, ('mean radius', 'mean texture'))
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_breast_cancer(as_frame=True).frame
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(frame))
    training = frame.iloc[order[: (len(frame) + 1) // 2]].reset_index(drop=True)
    production = frame.iloc[order[(len(frame) + 1) // 2 :]].reset_index(drop=True).copy()
    shifted = ("mean radius", "mean texture")
    for column in shifted:
        production[column] = production[column] + shift_std * training[column].std()
    noisy = ("worst area",)
    production["worst area"] = production["worst area"] * rng.lognormal(0, 0.3, len(production))

    features = [c for c in frame.columns if c != "target"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(training[features], training["target"])
    for part in (training, production):
        part["score"] = model.predict_proba(part[features])[:, 1]
        part["prediction"] = (part["score"] >= 0.5).astype(int)
    schema = {
        "columns": {
            "target": {"kind": "boolean", "role": "target"},
            "prediction": {"kind": "boolean", "role": "prediction"},
            "score": {"kind": "numeric", "role": "score"},
        }
    }
    return Scenario(training, production, shifted, noisy, schema)

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

import seismo
from seismo.loop.models import register_model
from seismo.service.app import create_app
from seismo.service.config import ServiceSettings
from seismo.store import Store, open_store

FEATURES = ["mean radius", "mean texture", "mean smoothness", "worst area", "tumor site"]


def training_frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A small, seeded binary problem with a categorical feature and unicode-free names."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "mean radius": rng.normal(14, 3, rows),
            "mean texture": rng.normal(19, 4, rows),
            "mean smoothness": rng.normal(0.1, 0.01, rows),
            "worst area": rng.lognormal(6.5, 0.5, rows),
            "tumor site": rng.choice(["left", "right"], rows),
        }
    )
    logit = (frame["mean radius"] - 14) / 3 + (frame["mean texture"] - 19) / 4
    frame["malignant"] = np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


def fit_pipeline(frame: pd.DataFrame) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = FEATURES[:4]
    transform = ColumnTransformer(
        [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), ["tumor site"])]
    )
    model = make_pipeline(transform, LogisticRegression(max_iter=500))
    model.fit(frame[FEATURES], frame["malignant"])
    return model


@cache
def fitted_pipeline() -> Any:
    """``fit_pipeline(training_frame())``, fitted once per session: the fit is deterministic,
    and each test gets its own copy through the joblib file it is saved to."""
    return fit_pipeline(training_frame())


@cache
def cancer_reference(rows: int = 600) -> seismo.Reference:
    """The reference of ``training_frame(rows)`` with its target, fitted once per session (a
    frozen value, stored by each test in its own store)."""
    return seismo.fit_reference(
        training_frame(rows), {"columns": {"malignant": {"role": "target"}}}
    )


def create_store_with_model(url: str, name: str = "m", training_rows: int = 600) -> None:
    """Migrate the store at ``url`` and register ``name``, a classifier served elsewhere."""
    store = open_store(url, upgrade=True)
    try:
        register_model(
            store,
            name,
            reference=cancer_reference(training_rows),
            task="classification",
            classes=["no", "yes"],
        )
    finally:
        store.close()


@dataclass
class Service:
    client: TestClient
    store: Store
    store_url: str


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.joblib"
    joblib.dump(fitted_pipeline(), path)
    return path


@pytest.fixture
def service(tmp_path: Path, model_file: Path) -> Iterator[Service]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    reference = cancer_reference()
    register_model(
        store,
        "cancer",
        reference=reference,
        model_file=model_file,
        models_dir=tmp_path / "models",
    )
    register_model(
        store, "elsewhere", reference=reference, task="classification", classes=["no", "yes"]
    )
    settings = ServiceSettings(store=url, max_body_bytes=200_000, max_batch_rows=500)
    with TestClient(create_app(settings, store=store)) as client:
        yield Service(client, store, url)
    store.close()

"""Training a challenger: the data it learns from, and the default trainer.

A trainer is any function ``trainer(champion, data, context) -> estimator`` named in
seismo.yaml as ``module:function`` (``loop.trainer``). It gets the champion's fitted
estimator, a :class:`TrainingSet` (recent labelled predictions, plus a sample of the
champion's training data when one was kept) and a :class:`TrainingContext`; it returns a
fitted estimator with ``predict`` (and ``predict_proba`` for a classifier) that takes the
same feature columns. The default, :func:`refit`, refits a clone of the champion's
scikit-learn pipeline.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from seismo.errors import InputError

SAMPLE_FILE = "training-sample.parquet"
LABEL_COLUMN = "__label__"  # the target's column in a kept training sample


@dataclass(frozen=True)
class TrainingSet:
    """What a challenger learns from: ``features`` (a pandas DataFrame with the champion's
    feature columns, in order), ``labels`` (one per row, in the champion's class values for a
    classifier) and where the rows came from."""

    features: Any
    labels: np.ndarray[Any, Any]
    sources: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class TrainingContext:
    model: str
    champion_version: int
    task: str
    classes: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    seed: int = 0


Trainer = Callable[[Any, TrainingSet, TrainingContext], Any]


def refit(champion: Any, data: TrainingSet, context: TrainingContext) -> Any:
    """The default trainer: a clone of the champion (same pipeline, same hyper-parameters,
    unfitted) fitted on the training set."""
    try:
        from sklearn.base import clone
    except ImportError:
        raise InputError("retraining needs scikit-learn: pip install 'seismo[sklearn]'") from None
    try:
        estimator = clone(champion)
    except TypeError as error:
        raise InputError(
            f"model {context.model!r}: the champion is not a scikit-learn estimator that can "
            f"be cloned ({error}); name a trainer of your own in seismo.yaml (loop.trainer)"
        ) from None
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=context.seed)
    return estimator.fit(data.features, data.labels)


def load_trainer(entry_point: str) -> Trainer:
    """The function named ``module:function``, with an error that says what is wrong."""
    module_name, _, function = entry_point.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(
            f"trainer {entry_point!r}: cannot import {module_name} ({error})"
        ) from None
    trainer = getattr(module, function, None)
    if not callable(trainer):
        raise InputError(f"trainer {entry_point!r}: {module_name} has no function {function}")
    return trainer  # type: ignore[no-any-return]


def save_sample(frame: Any, features: list[str], target: str, path: Path, rows: int) -> int:
    """Keep up to ``rows`` random rows of the training data (features and target) beside a
    registered artifact, for later retrains. Returns the rows kept."""
    if target not in frame.columns:
        return 0
    kept = frame[[*features, target]].rename(columns={target: LABEL_COLUMN})
    kept = kept[kept[LABEL_COLUMN].notna()]
    if len(kept) > rows:
        kept = kept.sample(n=rows, random_state=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    kept.reset_index(drop=True).to_parquet(path, index=False)
    return len(kept)


def load_sample(path: Path, rows: int, seed: int) -> Any | None:
    """The kept training sample (at most ``rows`` rows), or None when there is none."""
    if rows <= 0 or not path.is_file():
        return None
    import pandas as pd

    frame = pd.read_parquet(path)
    if len(frame) > rows:
        frame = frame.sample(n=rows, random_state=seed)
    return frame

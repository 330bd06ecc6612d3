"""Labelled predictions read back from the store: what a retrain learns from, what a holdout
validates on, and what a canary is judged by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from seismo.store.base import Store


@dataclass(frozen=True)
class Labelled:
    """Labelled predictions of one model, oldest first, one entry per row."""

    ids: list[str]
    versions: np.ndarray[Any, np.dtype[np.int64]]
    timestamps: np.ndarray[Any, np.dtype[np.datetime64]]
    features: list[dict[str, Any]]
    outputs: list[Any]
    scores: list[Any]
    labels: list[Any]

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask: np.ndarray[Any, np.dtype[np.bool_]]) -> Labelled:
        index = np.flatnonzero(mask)
        return Labelled(
            [self.ids[i] for i in index],
            self.versions[index],
            self.timestamps[index],
            [self.features[i] for i in index],
            [self.outputs[i] for i in index],
            [self.scores[i] for i in index],
            [self.labels[i] for i in index],
        )

    def frame(self, columns: list[str]) -> Any:
        """The features as a pandas DataFrame with ``columns`` in order."""
        import pandas as pd

        return pd.DataFrame(self.features, columns=columns)


def labelled(
    store: Store,
    model: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    version: int | None = None,
) -> Labelled:
    """The model's labelled predictions with ``start <= timestamp < end`` (of one version,
    or of all), sorted by timestamp."""
    rows = [
        stored
        for batch in store.iter_predictions(model, version=version, start=start, end=end)
        for stored in batch
        if stored.label is not None
    ]
    rows.sort(key=lambda stored: (stored.prediction.timestamp, stored.seq))
    return Labelled(
        [r.prediction.id for r in rows],
        np.array([r.prediction.version for r in rows], dtype=np.int64),
        np.array(
            [np.datetime64(r.prediction.timestamp.replace(tzinfo=None), "us") for r in rows],
            dtype="datetime64[us]",
        ),
        [r.prediction.features for r in rows],
        [r.prediction.output for r in rows],
        [r.prediction.score for r in rows],
        [r.label for r in rows],
    )


def unique_requests(rows: Labelled) -> Labelled:
    """One row per request id (a shadow logs the champion's ids again): the first logged."""
    seen: set[str] = set()
    keep = np.zeros(len(rows), dtype=bool)
    for i, prediction_id in enumerate(rows.ids):
        if prediction_id not in seen:
            seen.add(prediction_id)
            keep[i] = True
    return rows.take(keep)

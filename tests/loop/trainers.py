"""Trainers for the loop's tests, named in seismo.yaml as ``tests.loop.trainers:NAME``."""

from __future__ import annotations

from typing import Any

import numpy as np

from seismo.loop.train import TrainingContext, TrainingSet, refit


def shuffled(champion: Any, data: TrainingSet, context: TrainingContext) -> Any:
    """A deliberately worse challenger: the champion's pipeline fitted on shuffled labels."""
    labels = np.random.default_rng(0).permutation(data.labels)
    return refit(champion, TrainingSet(data.features, labels, data.sources), context)

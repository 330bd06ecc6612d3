"""The history the UI benchmarks render: one classifier with 100 features and a year of daily
windows, generated (seeded) so that seismo and its peer are given the same rows.

70 numeric features (normal, log-normal and count-like) and 30 categorical ones; a few drift
slowly over the year, some follow a weekly or yearly cycle, a handful jump for a couple of
weeks (as an upstream change would), the rest stay put. The label depends on a few features
through a logistic model whose relation changes in the second half of the year, and the
model's score is that of the first half: performance falls when the world changes.

Only numpy and pandas: it runs in the project's venv and in the peer's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd

FEATURES = 100
NUMERIC = 70
DAYS = 365
ROWS_PER_DAY = 200
START = dt.date(2025, 1, 1)
CATEGORIES = [f"c{k}" for k in range(8)]


def feature_names(features: int = FEATURES) -> list[str]:
    return [f"f{i:03d}" for i in range(features)]


def _frame(rng: np.random.Generator, rows: int, day: int, features: int) -> pd.DataFrame:
    """``rows`` rows as on day ``day`` of the year (day < 0: the training period)."""
    t = max(day, 0) / DAYS
    week = np.sin(2 * np.pi * max(day, 0) / 7)
    columns: dict[str, object] = {}
    numeric = min(NUMERIC, int(features * 0.7))
    for i, name in enumerate(feature_names(features)):
        if i < numeric:
            shift = 0.0
            if i % 10 == 0:  # slow drift over the year
                shift = 1.5 * t
            elif i % 10 == 1:  # weekly cycle
                shift = 0.4 * week
            elif i % 10 == 2 and 150 <= day < 164:  # an upstream change for two weeks
                shift = 3.0
            kind = i % 3
            if kind == 0:
                values = rng.normal(shift, 1.0, rows)
            elif kind == 1:
                values = rng.lognormal(1.0 + 0.3 * shift, 0.6, rows)
            else:
                values = rng.poisson(4.0 + 2.0 * abs(shift), rows).astype(np.float64)
            columns[name] = values
        else:
            weights = np.linspace(1.0, 2.0, len(CATEGORIES))
            if i % 7 == 0:  # the mix moves over the year
                weights = weights * (1 + 2.0 * t * (np.arange(len(CATEGORIES)) == 0))
            weights /= weights.sum()
            columns[name] = rng.choice(CATEGORIES, rows, p=weights)
    frame = pd.DataFrame(columns)
    x = frame[feature_names(features)[0]].to_numpy() + 0.5 * frame[feature_names(features)[3]]
    logit = 0.8 * x - 1.0
    score = 1 / (1 + np.exp(-logit))
    relation = logit if day < DAYS // 2 else 0.3 * x - 0.5  # the concept changes mid-year
    truth = rng.random(rows) < 1 / (1 + np.exp(-relation))
    frame["score"] = score
    frame["prediction"] = np.where(score >= 0.5, "yes", "no")
    frame["label"] = np.where(truth, "yes", "no")
    return frame


def reference(rows: int = 20_000, *, features: int = FEATURES, seed: int = 0) -> pd.DataFrame:
    """The training data (before the year starts)."""
    return _frame(np.random.default_rng(seed), rows, -1, features)


def days(
    n_days: int = DAYS, *, rows: int = ROWS_PER_DAY, features: int = FEATURES, seed: int = 1
) -> Iterator[tuple[dt.datetime, pd.DataFrame]]:
    """Each day's rows, with a ``timestamp`` column spread over the day (UTC)."""
    rng = np.random.default_rng(seed)
    for day in range(n_days):
        start = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(), dt.UTC)
        frame = _frame(rng, rows, day, features)
        seconds = np.sort(rng.integers(0, 86_400, rows))
        frame["timestamp"] = [start + dt.timedelta(seconds=int(s)) for s in seconds]
        yield start, frame

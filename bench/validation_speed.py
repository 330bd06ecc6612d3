"""Wall time of ``seismo.loop.compare_models`` on large synthetic holdouts.

Run by hand from the repository root with the project's virtualenv::

    .venv/bin/python bench/validation_speed.py                 # 1e5 and 1e6 rows, 3 runs each
    .venv/bin/python bench/validation_speed.py --rows 1e7 --runs 1

For each size it times one comparison per test family -- McNemar (accuracy), DeLong (roc_auc),
the paired bootstrap of a count metric (f1, resampled through its 8 cells) and of a mean
(rmse, log_loss: resampled through groups of similar rows) with 2,000 resamples -- and f1 with
a 20-value segment column. It prints the minimum and the median of ``--runs`` runs (the
minimum is the least disturbed by other work on the machine) and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from seismo.loop import compare_models


def _cases(n: int) -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    truth = rng.random(n) < 0.3
    score_a = np.clip(0.3 + 0.4 * truth + rng.normal(0, 0.25, n), 0.001, 0.999)
    score_b = np.clip(0.3 + 0.42 * truth + rng.normal(0, 0.25, n), 0.001, 0.999)
    labels = truth.astype(np.int64)
    label_a, label_b = (score_a > 0.5).astype(np.int64), (score_b > 0.5).astype(np.int64)
    segment = rng.integers(0, 20, n)
    y = rng.normal(0.0, 1.0, n)
    prediction_a, prediction_b = y + rng.normal(0, 1.0, n), y + rng.normal(0, 0.99, n)
    common: dict[str, Any] = {"y_true": labels, "champion": label_a, "challenger": label_b}
    scores: dict[str, Any] = {"champion_scores": score_a, "challenger_scores": score_b}

    def classification(metric: str, **extra: Any) -> Callable[[], object]:
        def run() -> object:
            return compare_models(task="classification", metric=metric, **common, **extra)

        return run

    return {
        "accuracy (McNemar)": classification("accuracy"),
        "roc_auc (DeLong)": classification("roc_auc", **scores),
        "f1 (bootstrap)": classification("f1"),
        "f1 + 20 segments": classification("f1", segments={"segment": segment}),
        "log_loss (bootstrap)": classification("log_loss", **scores),
        "rmse (bootstrap)": lambda: compare_models(
            y_true=y,
            champion=prediction_a,
            challenger=prediction_b,
            task="regression",
            metric="rmse",
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, nargs="+", default=[1e5, 1e6])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'rows':>10}  {'comparison':<22} {'min s':>7} {'median s':>9}")
    for rows in options.rows:
        for name, run in _cases(int(rows)).items():
            times = []
            for _ in range(options.runs):
                start = time.perf_counter()
                run()
                times.append(time.perf_counter() - start)
            print(
                f"{int(rows):>10}  {name:<22} {min(times):>7.3f} {statistics.median(times):>9.3f}"
            )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

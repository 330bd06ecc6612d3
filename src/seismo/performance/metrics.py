"""The one registry of performance metrics: name, task, which side is better, what it means.

Everything that lists metrics reads it: the summaries' ``metrics()`` results
(:mod:`seismo.performance.classification`, :mod:`seismo.performance.regression`), the alert
series (``performance.<name>``), the Prometheus collector (``seismo_performance{metric}``), the
generated Prometheus rules and the Grafana dashboard.

>>> [m.name for m in metrics("regression")]
['mae', 'rmse', 'mape', 'r2', 'bias']
>>> metric("log_loss").better, metric("f1").higher_is_better
('lower', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from seismo.errors import InputError

Task = Literal["classification", "regression"]
Better = Literal["higher", "lower", "zero"]  # "zero": best at 0, a problem on either side


@dataclass(frozen=True, slots=True)
class Metric:
    """One performance metric.

    ``better`` is the side a good model is on: ``"higher"`` (accuracy), ``"lower"`` (RMSE) or
    ``"zero"`` (bias: a problem whichever way it moves).
    """

    name: str
    task: Task
    better: Better
    description: str

    @property
    def higher_is_better(self) -> bool:
        return self.better == "higher"

    @property
    def lower_is_better(self) -> bool:
        return self.better == "lower"


METRICS: Final = (
    Metric("accuracy", "classification", "higher", "share of rows predicted right"),
    Metric(
        "precision",
        "classification",
        "higher",
        "share of positive predictions that are right (macro mean over classes if multiclass)",
    ),
    Metric(
        "recall",
        "classification",
        "higher",
        "share of positive rows predicted positive (macro mean over classes if multiclass)",
    ),
    Metric("f1", "classification", "higher", "harmonic mean of precision and recall"),
    Metric("roc_auc", "classification", "higher", "area under the ROC curve of the scores"),
    Metric("log_loss", "classification", "lower", "mean negative log probability of the label"),
    Metric("mae", "regression", "lower", "mean absolute error"),
    Metric("rmse", "regression", "lower", "root mean squared error"),
    Metric("mape", "regression", "lower", "mean absolute percentage error, as a fraction"),
    Metric("r2", "regression", "higher", "coefficient of determination"),
    Metric("bias", "regression", "zero", "mean error (prediction - label); > 0 over-predicts"),
)
_BY_NAME: Final = {m.name: m for m in METRICS}


def metrics(task: Task | None = None) -> tuple[Metric, ...]:
    """The metrics of ``task`` (all when None), in registry order."""
    return tuple(m for m in METRICS if task is None or m.task == task)


def metric_names(task: Task | None = None) -> tuple[str, ...]:
    return tuple(m.name for m in metrics(task))


def metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name is an :class:`InputError` listing them."""
    found = _BY_NAME.get(name)
    if found is None:
        raise InputError(f"unknown metric {name!r}; metrics are {', '.join(_BY_NAME)}")
    return found

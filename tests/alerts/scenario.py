"""A model in production day by day: predictions, labels, monitor runs, alert evaluations.

Days draw features from the training distribution unless told to shift one; outputs are the
labels with a chosen share of errors, so accuracy is controlled exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

import seismo
from seismo.alerts import AlertConfig, Alerting, Outcome, Rule
from seismo.alerts.delivery import DeliveryResult
from seismo.alerts.model import Notification
from seismo.alerts.sinks import Sink
from seismo.loop.models import register_model
from seismo.monitor import Monitor, MonitorSettings, WindowHistory
from seismo.store import Label, Prediction, Store
from tests.service.conftest import FEATURES, training_frame

DAY0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


class RecordingSink(Sink):
    """A sink that keeps what it was sent."""

    kind = "webhook"
    target = "memory"

    def __init__(self, name: str = "memory") -> None:
        super().__init__(name)
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


@dataclass
class Production:
    store: Store
    rules: Sequence[Rule]
    sinks: Sequence[Sink] = ()
    cooldown: timedelta = timedelta(hours=1)
    segments: tuple[str, ...] = ()
    day: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        reference = seismo.fit_reference(
            training_frame(2000), {"columns": {"malignant": {"role": "target"}}}
        )
        if self.store.get_model_version("m") is None:
            register_model(
                self.store, "m", reference=reference, task="classification", classes=["no", "yes"]
            )
        self.monitor = Monitor(
            self.store, MonitorSettings(window=timedelta(days=1), segments=self.segments)
        )
        config = AlertConfig(tuple(self.rules), self.cooldown, None, tuple(self.sinks))
        self.history = WindowHistory(self.store, self.monitor.settings.window)
        self.alerting = Alerting(self.history, config)

    def live(
        self,
        rows: int = 400,
        *,
        error_rate: float = 0.1,
        shift: dict[str, float] | None = None,
        label: bool = True,
    ) -> Outcome:
        """Log one day of predictions (and their labels), run the monitor, then the rules
        as of the end of the day."""
        start = DAY0 + timedelta(days=self.day)
        frame = training_frame(rows, seed=1000 + self.day)
        for column, amount in (shift or {}).items():
            frame[column] = frame[column] + amount
        rng = np.random.default_rng(self.day)
        wrong = rng.random(rows) < error_rate
        truth = frame["malignant"].to_numpy()
        outputs = np.where(wrong, np.where(truth == "yes", "no", "yes"), truth)
        records = frame[FEATURES].to_dict(orient="records")
        step = 86_400 / rows
        predictions = [
            Prediction(
                f"d{self.day}-{i}",
                "m",
                1,
                start + timedelta(seconds=i * step),
                _plain(records[i]),
                str(outputs[i]),
                0.8 if outputs[i] == "yes" else 0.2,
            )
            for i in range(rows)
        ]
        self.store.add_predictions(predictions)
        if label:
            at = start + timedelta(days=1)
            self.store.add_labels(
                [Label(p.id, str(truth[i]), at) for i, p in enumerate(predictions)]
            )
        self.monitor.run()
        self.day += 1
        outcome = self.alerting.run(now=start + timedelta(days=1, minutes=5))
        self.outcomes.append(outcome)
        return outcome

    def stable(self, days: int, **kwargs: Any) -> list[Outcome]:
        return [self.live(**kwargs) for _ in range(days)]


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()}


def delivered(results: Sequence[DeliveryResult]) -> list[tuple[str, str, bool]]:
    return [(r.sink, r.event, r.ok) for r in results]

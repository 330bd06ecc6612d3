"""The monitor moves rows of closed windows that were written a few at a time into columnar
batches before it rebuilds their windows; nothing it reports changes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from seismo.monitor import Monitor, MonitorSettings, WindowState
from seismo.store import Prediction, open_store
from tests.alerts.scenario import DAY0, Production
from tests.service.conftest import FEATURES, training_frame


def _log_small_writes(production: Production, rows: int, day: int) -> list[Prediction]:
    frame = training_frame(rows, seed=day)
    records = frame[FEATURES].to_dict(orient="records")
    sent = [
        Prediction(
            f"s{day}-{i}",
            "m",
            1,
            DAY0 + timedelta(days=day, seconds=60 * i),
            {k: (v.item() if hasattr(v, "item") else v) for k, v in records[i].items()},
            "yes" if i % 2 else "no",
            0.6 if i % 2 else 0.3,
        )
        for i in range(rows)
    ]
    for first in range(0, rows, 5):
        production.store.add_predictions(sent[first : first + 5])
    return sent


def test_compaction_leaves_summaries_and_predictions_as_they_were(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'seismo.db'}", upgrade=True)
    try:
        production = Production(store, [])
        sent = _log_small_writes(production, 300, 0)
        plain = Monitor(store, MonitorSettings(window=timedelta(days=1), compact=False))
        plain.run()
        [before] = store.get_windows("m")
        report = production.monitor.run()  # compacts, then finds nothing new to rebuild
        assert report.compacted == 300 and report.windows == []
        production.monitor.rebuild("m", 1, DAY0)  # rebuilt from the batches now
        [after] = store.get_windows("m")
        old, new = WindowState.from_bytes(before.payload), WindowState.from_bytes(after.payload)
        assert new.rows == old.rows == 300
        assert new.profile.to_dict() == old.profile.to_dict()
        for prediction in sent[:20]:
            stored = store.get_prediction(prediction.id)
            assert stored is not None and stored.prediction == prediction
    finally:
        store.close()

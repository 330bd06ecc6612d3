"""One bad window or model never stops the monitor for the others; segments are capped; one
run at a time per store."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seismo
from seismo.cli import EXIT_DRIFT, app
from seismo.monitor import Monitor, MonitorSettings, WindowState
from seismo.monitor.job import LEASE, OTHER
from seismo.store import Prediction, Store, open_store
from seismo.store.base import Label
from tests.service.conftest import FEATURES, training_frame

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)


def _store(tmp_path: Path, models: tuple[str, ...] = ("alpha", "beta")) -> tuple[str, Store]:
    from seismo.loop.models import register_model

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url, upgrade=True)
    reference = seismo.fit_reference(
        training_frame(500), {"columns": {"malignant": {"role": "target"}}}
    )
    for name in models:
        register_model(
            store, name, reference=reference, task="classification", classes=["no", "yes"]
        )
    return url, store


LAST_DAY = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)  # its window's end overflows


def _rows(
    model: str, day: int, count: int, *, at: datetime | None = None, site: str | None = None
) -> list[Prediction]:
    frame = training_frame(count, seed=day)
    rows = []
    for i, row in enumerate(frame.to_dict(orient="records")):
        features = {k: row[k] for k in FEATURES}
        if site is not None:
            features["tumor site"] = site
        moment = (at or DAY0 + timedelta(days=day)) + timedelta(minutes=i % 20)
        rows.append(Prediction(f"{model}-{day}-{i}", model, 1, moment, features, "yes", 0.7))
    return rows


def test_a_poisoned_window_is_recorded_and_every_other_window_and_model_is_built(
    tmp_path: Path,
) -> None:
    """Rows the service once accepted (stamped 9999-12-31T23:30Z) made every run fail, for
    every model, forever. Now the window is recorded as failed, retried by every run, and the
    rest is built; the watermarks move."""
    _url, store = _store(tmp_path)
    store.add_predictions(_rows("alpha", 0, 80))
    store.add_predictions(_rows("alpha", 1, 5, at=LAST_DAY))  # poison, written past the door
    store.add_predictions(_rows("beta", 0, 80))
    monitor = Monitor(store, MonitorSettings(window=timedelta(days=1)))
    report = monitor.run()
    built = sorted((model, start.day) for model, _, start in report.windows)
    assert built == [("alpha", 1), ("beta", 1)]  # alpha's day 0 and beta: built
    [error] = report.errors
    assert (error.model, error.version) == ("alpha", 1)
    assert error.start == datetime(9999, 12, 31, tzinfo=UTC)
    assert "OverflowError" in error.message  # says what failed
    assert store.list_monitor_errors() == [
        type(error)(error.model, error.version, error.start, error.message, error.at)
    ]
    assert store.get_windows("beta") and len(store.get_windows("alpha")) == 1
    # Watermarks moved: a second run reads nothing new, but retries the failed window.
    again = monitor.run()
    assert again.predictions_read == 0 and len(again.errors) == 1
    # The rows go (here: a prune): the next run finds the window empty and the error goes.
    store.delete_predictions("alpha", datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    fixed = monitor.run()
    assert fixed.errors == [] and store.list_monitor_errors() == []
    store.close()


def test_the_cli_lists_failed_windows_and_exits_1(tmp_path: Path) -> None:
    url, store = _store(tmp_path, ("alpha",))
    store.add_predictions(_rows("alpha", 0, 5, at=LAST_DAY))
    store.close()
    result = CliRunner().invoke(app, ["monitor", "run", "--store", url])
    assert result.exit_code == EXIT_DRIFT, result.output
    assert "1 windows failed" in result.stdout
    assert "monitor: window 9999-12-31T00:00:00+00:00 of alpha v1 failed:" in result.stderr


def test_segment_values_beyond_the_cap_share_one_segment(tmp_path: Path) -> None:
    """10,000 distinct segment values made 10,001 summaries per window and a 50 s run."""
    _url, store = _store(tmp_path, ("alpha",))
    rows = _rows("alpha", 0, 300)
    # 3 frequent values (100, 60, 40 rows) and 100 rare ones (1 row each).
    sites = ["a"] * 100 + ["b"] * 60 + ["c"] * 40 + [f"rare{i}" for i in range(100)]
    rows = [
        Prediction(r.id, r.model, r.version, r.timestamp, {**r.features, "tumor site": s}, "yes")
        for r, s in zip(rows, sites, strict=True)
    ]
    store.add_predictions(rows)
    settings = MonitorSettings(
        window=timedelta(days=1), segments=("tumor site",), max_segment_values=3
    )
    Monitor(store, settings).run()
    by_segment = {
        w.segment: WindowState.from_bytes(w.payload).rows for w in store.get_windows("alpha")
    }
    assert by_segment == {
        "": 300,
        "tumor site=a": 100,
        "tumor site=b": 60,
        "tumor site=c": 40,
        f"tumor site={OTHER}": 100,
    }
    store.close()


def test_one_monitor_run_at_a_time(tmp_path: Path) -> None:
    url, store = _store(tmp_path, ("alpha",))
    store.add_predictions(_rows("alpha", 0, 80))
    # Another process holds the lease: this run does nothing and says so.
    now = datetime.now(UTC)
    assert store.acquire_lease(LEASE, "elsewhere", until=now + timedelta(minutes=5), now=now)
    report = Monitor(store).run()
    assert report.busy and report.windows == [] and report.predictions_read == 0
    result = CliRunner().invoke(app, ["monitor", "run", "--store", url])
    assert result.exit_code == 0 and "in progress" in result.stdout
    store.release_lease(LEASE, "elsewhere")
    # Free again: two runs at once, one does the work, the other finds it busy.
    reports = []

    def run() -> None:
        reports.append(Monitor(store).run())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(len(r.windows) for r in reports) == 1
    # A run gives the lease back: the next one is not busy.
    assert not Monitor(store).run().busy
    store.close()


def test_an_expired_lease_is_taken_over(tmp_path: Path) -> None:
    _url, store = _store(tmp_path, ("alpha",))
    store.add_predictions(_rows("alpha", 0, 80))
    past = datetime.now(UTC) - timedelta(hours=1)
    assert store.acquire_lease(LEASE, "crashed", until=past + timedelta(minutes=1), now=past)
    report = Monitor(store).run()
    assert not report.busy and len(report.windows) == 1
    store.close()


@pytest.mark.parametrize("label", ["yes", "no"])
def test_late_labels_still_rebuild_after_an_error(tmp_path: Path, label: str) -> None:
    _url, store = _store(tmp_path, ("alpha",))
    rows = _rows("alpha", 0, 80)
    store.add_predictions(rows)
    store.add_predictions(_rows("alpha", 1, 3, at=LAST_DAY))
    monitor = Monitor(store, MonitorSettings(window=timedelta(days=1)))
    monitor.run()
    store.add_labels([Label(rows[0].id, label, DAY0 + timedelta(days=3))])
    report = monitor.run()
    assert [start for _, _, start in report.windows] == [DAY0]
    [window] = store.get_windows("alpha", start=DAY0, end=DAY0 + timedelta(days=1))
    assert WindowState.from_bytes(window.payload).labelled == 1
    store.close()

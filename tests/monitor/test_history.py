"""WindowHistory: the one read path over stored windows — decoded once, invalidated by
``updated_at``, bounded, thread-safe — and what its readers read through it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import seismo
from seismo.loop.models import register_model
from seismo.monitor import Monitor, MonitorSettings, WindowHistory
from seismo.monitor.prometheus import MonitorCollector
from seismo.monitor.results import drift_series, performance_series
from seismo.monitor.windows import WindowState
from seismo.store import Label, Prediction, Store, open_store
from seismo.store.base import WindowSummary
from tests.service.conftest import FEATURES, training_frame

DAY = timedelta(days=1)
T0 = datetime(2025, 1, 6, tzinfo=UTC)


class CountingStore:
    """A store that counts the window summaries it hands out."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.summaries_read = 0

    def get_windows(self, *args: Any, **kwargs: Any) -> list[WindowSummary]:
        found = self.store.get_windows(*args, **kwargs)
        self.summaries_read += len(found)
        return found

    def latest_windows(self, *args: Any, **kwargs: Any) -> list[WindowSummary]:
        found = self.store.latest_windows(*args, **kwargs)
        self.summaries_read += len(found)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def log_day(
    store: Store,
    start: datetime,
    rows: int,
    *,
    seed: int,
    labelled: bool = True,
    model: str = "m",
) -> None:
    frame = training_frame(rows, seed=seed)
    records = frame[FEATURES].to_dict(orient="records")
    predictions = [
        Prediction(
            f"{start:%Y%m%d}-{i}",
            model,
            1,
            start + timedelta(seconds=i),
            {k: (v.item() if hasattr(v, "item") else v) for k, v in records[i].items()},
            str(frame["malignant"].iloc[i]),
            0.7,
        )
        for i in range(rows)
    ]
    store.add_predictions(predictions)
    if labelled:
        store.add_labels([Label(p.id, "yes", start + DAY) for p in predictions])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'seismo.db'}", upgrade=True)
    reference = seismo.fit_reference(
        training_frame(1000), {"columns": {"malignant": {"role": "target"}}}
    )
    register_model(opened, "m", reference=reference, task="classification", classes=["no", "yes"])
    yield opened
    opened.close()


def copies(store: Store, days: int, source: datetime = T0) -> None:
    """``days`` daily windows from T0 on, each a copy of the window that starts at ``source``
    (summaries written directly: a long history without logging it)."""
    (window,) = store.get_windows("m", start=source, end=source + DAY, segment="")
    store.put_windows(
        [replace(window, start=T0 + i * DAY, end=T0 + (i + 1) * DAY) for i in range(days)]
    )


@pytest.fixture
def hundred(store: Store) -> Store:
    """100 daily windows of 50 rows each (and the monitor's watermarks past them)."""
    log_day(store, T0, 50, seed=1)
    Monitor(store, MonitorSettings(window=DAY, compact=False)).run()
    copies(store, 100)
    return store


def test_windows_are_decoded_once_and_again_only_when_rewritten(store: Store) -> None:
    for day in range(3):
        log_day(store, T0 + day * DAY, 40, seed=day)
    monitor = Monitor(store, MonitorSettings(window=DAY, compact=False))
    monitor.run()
    history = WindowHistory(store, DAY)

    first = history.windows("m", segment="")
    again = history.windows("m", segment="")
    assert history.decoded == 3
    assert [a is b for a, b in zip(first, again, strict=True)] == [True] * 3
    assert first[0].report is again[0].report  # computed once
    assert first[0].metrics is again[0].metrics

    # A late label rewrites day 1's window: only that one is decoded again.
    store.add_labels([Label(f"{T0 + DAY:%Y%m%d}-0", "no", T0 + 3 * DAY)])
    monitor.run()
    rewritten = history.windows("m", segment="")
    assert history.decoded == 4
    assert [a is b for a, b in zip(first, rewritten, strict=True)] == [True, False, True]
    assert rewritten[1].summary.updated_at > first[1].summary.updated_at
    assert rewritten[1].metrics is not None and first[1].metrics is not None
    assert rewritten[1].metrics.accuracy != first[1].metrics.accuracy


def test_the_cache_is_bounded_least_recently_used_out(hundred: Store) -> None:
    history = WindowHistory(hundred, DAY, max_windows=10)
    history.windows("m", segment="")
    assert (history.decoded, len(history)) == (100, 10)
    newest = history.windows("m", start=T0 + 95 * DAY, segment="")
    assert history.decoded == 100  # still cached
    history.windows("m", end=T0 + 5 * DAY, segment="")
    assert history.decoded == 105  # evicted long ago
    assert len(history) == 10
    assert history.windows("m", start=T0 + 95 * DAY, segment="") == newest  # kept: recently used


def test_latest_reads_only_the_latest_windows(hundred: Store) -> None:
    counting = CountingStore(hundred)
    history = WindowHistory(counting, DAY)  # type: ignore[arg-type]
    (latest,) = history.latest("m", segment="")
    assert latest.summary.start == T0 + 99 * DAY
    assert counting.summaries_read == 1
    ended = history.latest("m", limit=3, end=T0 + 50 * DAY, segment="")
    assert [w.summary.start for w in ended] == [T0 + d * DAY for d in (47, 48, 49)]
    assert counting.summaries_read == 4


def test_rolling_merges_each_window_with_the_ones_before_it(hundred: Store) -> None:
    history = WindowHistory(hundred, DAY)
    single = {w.summary.start: w for w in history.windows("m", end=T0 + 10 * DAY, segment="")}
    rolled = history.rolling("m", 3, start=T0 + 2 * DAY, end=T0 + 4 * DAY)
    assert [w.summary.start for w in rolled] == [T0 + 2 * DAY, T0 + 3 * DAY]
    assert [w.merged for w in rolled] == [3, 3]
    assert rolled[0].state.rows == 3 * single[T0].state.rows
    assert rolled[0].newest is single[T0 + 2 * DAY]
    merged = single[T0].state.merge(single[T0 + DAY].state).merge(single[T0 + 2 * DAY].state)
    assert rolled[0].state.labelled == merged.labelled
    assert rolled[0].metrics is not None and merged.performance is not None
    assert rolled[0].metrics.to_dict() == merged.performance.metrics().to_dict()
    # From the start of the history a rolling window holds what there is.
    assert [w.merged for w in history.rolling("m", 3, end=T0 + 2 * DAY)] == [1, 2]
    # Cached as a window of its own, valid while its parts are unchanged.
    again = history.rolling("m", 3, start=T0 + 2 * DAY, end=T0 + 4 * DAY)
    assert again[0] is rolled[0]
    assert history.rolling("m", 1, end=T0 + 2 * DAY) == [single[T0], single[T0 + DAY]]


def test_a_rolling_window_merges_its_own_segment_across_gaps(store: Store) -> None:
    log_day(store, T0, 30, seed=1)
    Monitor(store, MonitorSettings(window=DAY, compact=False)).run()
    (window,) = store.get_windows("m", segment="")
    store.put_windows(
        [
            replace(window, start=T0 + 2 * DAY, end=T0 + 3 * DAY),  # day 1 missing
            replace(window, start=T0 + DAY, end=T0 + 2 * DAY, segment="tumor site=left"),
        ]
    )
    history = WindowHistory(store, DAY)
    rolled = history.rolling("m", 3, start=T0 + DAY, segment=None)
    assert [(w.summary.segment, w.merged, w.state.rows) for w in rolled] == [
        ("tumor site=left", 1, 30),
        ("", 2, 60),
    ]


def test_the_single_window_lookup(hundred: Store) -> None:
    history = WindowHistory(hundred, DAY)
    found = history.window("m", T0 + 7 * DAY)
    assert found is not None and found.summary.start == T0 + 7 * DAY
    assert history.window("m", T0 + 7 * DAY + timedelta(hours=1)) is None
    assert history.window("m", T0 + 7 * DAY, segment="tumor site=left") is None
    assert found.report.current_name == "m 2025-01-13 00:00 window"


def test_threads_share_one_decoding_and_one_report(hundred: Store) -> None:
    history = WindowHistory(hundred, DAY)
    results: list[list[Any]] = []

    def read() -> None:
        windows = history.latest("m", limit=5, segment="")
        results.append([(w, w.report, w.metrics) for w in windows])

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    for seen in results[1:]:
        for (window, report, metrics), (window0, report0, metrics0) in zip(
            seen, results[0], strict=True
        ):
            assert window is window0 and report is report0 and metrics is metrics0
    assert history.decoded <= 8 * 5  # a race may decode twice, but keeps one


def test_series_read_through_the_history(hundred: Store) -> None:
    history = WindowHistory(hundred, DAY)
    windows = drift_series(history, "m", start=T0 + 98 * DAY)
    assert [w["start"] for w in windows] == [(T0 + d * DAY).isoformat() for d in (98, 99)]
    feature = windows[0]["features"]["mean radius"]
    assert feature["leading_effect"] in {e["name"] for e in feature["effects"]}
    leading = next(e for e in feature["effects"] if e["name"] == feature["leading_effect"])
    assert feature["effect_ratio"] == pytest.approx(leading["value"] / leading["threshold"])
    rolled = performance_series(history, "m", start=T0 + 99 * DAY, rolling=7)
    assert rolled[0]["labelled"] == 7 * 50
    assert history.decoded == 7  # days 93 to 99, each once


# -- /metrics -----------------------------------------------------------------------------------


def scrape(collector: MonitorCollector) -> dict[str, list[Any]]:
    return {family.name: family.samples for family in collector.collect()}


@pytest.mark.parametrize("rolling", [1, 7])
def test_a_scrape_reads_the_latest_windows_only(hundred: Store, rolling: int) -> None:
    counting = CountingStore(hundred)
    history = WindowHistory(counting, DAY)  # type: ignore[arg-type]
    collector = MonitorCollector(history, rolling=rolling)

    families = scrape(collector)

    # One (version, segment) with 100 windows: the latest `rolling` are read, no more.
    assert counting.summaries_read == rolling
    assert history.decoded == rolling
    (start,) = families["seismo_window_start_timestamp_seconds"]
    assert start.value == (T0 + 99 * DAY).timestamp()
    (rows,) = families["seismo_rolling_window_rows"]
    assert rows.value == 50 * rolling
    f1 = [s for s in families["seismo_performance_rolling"] if s.labels["metric"] == "f1"]
    assert len(f1) == 1
    # A second scrape reads the same few summaries and decodes nothing.
    scrape(collector)
    assert counting.summaries_read == 2 * rolling
    assert history.decoded == rolling


def test_the_scrape_exposes_the_drift_decision_and_leading_effect(hundred: Store) -> None:
    history = WindowHistory(hundred, DAY)
    families = scrape(MonitorCollector(history, rolling=3))
    (latest,) = history.latest("m", segment="")
    by_feature = {
        name: {s.labels["feature"]: s.value for s in families[name]}
        for name in (
            "seismo_feature_drifted",
            "seismo_feature_drift_effect_ratio",
            "seismo_feature_drift_severity",
        )
    }
    for column in latest.report.columns:
        if not column.tested:
            continue
        assert by_feature["seismo_feature_drifted"][column.column] == float(column.drifted)
        assert by_feature["seismo_feature_drift_severity"][column.column] == column.severity.rank
        ratio = max(e.value / e.threshold for e in column.effects)
        assert by_feature["seismo_feature_drift_effect_ratio"][column.column] == pytest.approx(
            ratio
        )
    assert [s.value for s in families["seismo_rolling_windows"]] == [3]


def test_a_bad_window_does_not_fail_the_scrape(store: Store) -> None:
    log_day(store, T0, 30, seed=1)
    Monitor(store, MonitorSettings(window=DAY, compact=False)).run()
    (window,) = store.get_windows("m", segment="")
    assert WindowState.from_bytes(window.payload).rows == 30
    store.put_windows([replace(window, start=T0 + DAY, end=T0 + 2 * DAY, payload=b"broken")])
    families = scrape(MonitorCollector(WindowHistory(store, DAY)))
    assert families["seismo_window_rows"] == []  # the model's gauges are left out, logged
    assert "seismo_performance_rolling" in families

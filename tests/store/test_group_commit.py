"""Group commit: concurrent callers share transactions, yet each gets its own outcome."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import event

from seismo.store import (
    DuplicatePrediction,
    GroupCommitWriter,
    Prediction,
    Store,
    StoreError,
    StoreUnavailable,
)
from seismo.store.sql import SQLStore

AT = datetime(2024, 3, 1, tzinfo=UTC)


def rows(prefix: str, count: int = 1, *, at: datetime = AT) -> list[Prediction]:
    return [Prediction(f"{prefix}-{i}", "churn", 1, at, {"i": i}, 0) for i in range(count)]


def count_commits(store: Store) -> list[int]:
    """A one-element list counting the store's committed transactions that wrote rows."""
    assert isinstance(store, SQLStore)
    commits = [0]

    def on_execute(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # SQLite inserts rows with INSERT; PostgreSQL COPYs them (unseen by SQLAlchemy) after
        # taking the predictions writers' advisory lock.
        if statement.lstrip().upper().startswith("INSERT") or "pg_advisory_xact_lock" in statement:
            connection.info["inserted"] = True

    def on_commit(connection: Any) -> None:
        commits[0] += connection.info.pop("inserted", False)

    def on_rollback(connection: Any) -> None:
        connection.info.pop("inserted", None)

    event.listen(store.engine, "before_cursor_execute", on_execute)
    event.listen(store.engine, "commit", on_commit)
    event.listen(store.engine, "rollback", on_rollback)
    return commits


def run_threads(count: int, target: Any) -> None:
    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class RecordingStore:
    """Stands in for a store: records the size of each write, fails when told to."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.writes: list[int] = []

    def add_predictions(self, predictions: Sequence[Prediction]) -> None:
        self.writes.append(len(predictions))
        if self.error is not None:
            raise self.error


def test_concurrent_submits_are_stored_once_in_few_commits(store: Store) -> None:
    threads, submits = 8, 500
    commits = count_commits(store)
    errors: list[BaseException] = []
    # A group closes when every thread's row is in, or after 50 ms: the grouping does not
    # depend on how busy the machine is (with the service's 2 ms a loaded CI machine once
    # made 1,003 commits of 4,000 rows).
    with GroupCommitWriter(store, max_batch=threads, max_delay=0.05) as writer:

        def submit_many(thread: int) -> None:
            try:
                for submit in range(submits):
                    writer.submit(rows(f"t{thread}-s{submit}"))
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        run_threads(threads, submit_many)
    assert errors == []
    assert store.count_predictions("churn") == threads * submits
    stored = [row.prediction.id for batch in store.iter_predictions("churn") for row in batch]
    assert len(set(stored)) == threads * submits
    # Callers wait for their commit, so at most `threads` requests can be queued at once:
    # fewer than one commit per four submits shows they were grouped.
    assert commits[0] == writer.transactions
    assert commits[0] <= threads * submits / 4


def test_a_duplicate_fails_only_its_own_submitter(store: Store) -> None:
    store.add_predictions(rows("taken"))
    callers, per_caller = 6, 3
    commits = count_commits(store)
    outcomes: dict[int, BaseException | None] = {}
    # The group closes exactly when every caller's rows are in: one group, then retries.
    with GroupCommitWriter(store, max_batch=callers * per_caller, max_delay=30) as writer:
        start = threading.Barrier(callers)

        def submit(caller: int) -> None:
            batch = rows(f"c{caller}", per_caller)
            if caller == 2:
                batch[1] = rows("taken")[0]
            if caller == 4:
                batch[0] = Prediction("naive", "churn", 1, datetime(2024, 3, 1), {}, 0)
            start.wait()
            try:
                writer.submit(batch)
                outcomes[caller] = None
            except Exception as error:
                outcomes[caller] = error

        run_threads(callers, submit)
    assert isinstance(outcomes.pop(2), DuplicatePrediction)
    assert isinstance(outcomes.pop(4), ValueError)
    assert outcomes == {caller: None for caller in (0, 1, 3, 5)}
    assert writer.transactions == 1 + callers  # the failed group, then one per caller
    assert commits[0] == 4
    assert store.count_predictions("churn") == 1 + 4 * per_caller
    assert store.get_prediction("c2-0") is None and store.get_prediction("c4-1") is None


def test_close_drains_what_was_submitted(store: Store) -> None:
    writer = GroupCommitWriter(store, max_batch=10_000, max_delay=60)

    async def main() -> None:
        submits = [asyncio.ensure_future(writer.submit_async(rows(f"a{i}", 2))) for i in range(50)]
        await asyncio.sleep(0)  # each task runs up to its await: all 50 are queued
        started = time.monotonic()
        writer.close()  # does not wait out max_delay
        assert time.monotonic() - started < 10
        await asyncio.gather(*submits)

    asyncio.run(main())
    assert store.count_predictions("churn") == 100
    with pytest.raises(StoreError, match="closed"):
        writer.submit(rows("late"))


def test_submit_async_leaves_the_event_loop_running(store: Store) -> None:
    async def main() -> int:
        ticks = 0
        done = asyncio.Event()

        async def heartbeat() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        beating = asyncio.ensure_future(heartbeat())
        with GroupCommitWriter(store) as writer:
            await asyncio.gather(*(writer.submit_async(rows(f"e{i}")) for i in range(200)))
        done.set()
        await beating
        return ticks

    ticks = asyncio.run(main())
    assert store.count_predictions("churn") == 200
    assert ticks > 10  # the loop kept turning while the commits were awaited


def test_an_unreachable_store_fails_the_whole_group_at_once() -> None:
    failing = RecordingStore(StoreUnavailable("database down"))
    outcomes: list[BaseException] = []
    with GroupCommitWriter(cast(Store, failing), max_batch=3, max_delay=30) as writer:

        def submit(caller: int) -> None:
            try:
                writer.submit(rows(f"u{caller}"))
            except StoreUnavailable as error:
                outcomes.append(error)

        run_threads(3, submit)
    assert failing.writes == [3]  # no per-caller retries against a database that is down
    assert len(outcomes) == 3 and len({id(error) for error in outcomes}) == 3
    assert all(str(error) == "database down" for error in outcomes)


def test_groups_respect_max_batch() -> None:
    recording = RecordingStore()
    with GroupCommitWriter(cast(Store, recording), max_batch=7, max_delay=0.05) as writer:
        run_threads(10, lambda caller: writer.submit(rows(f"m{caller}", 3)))
        writer.submit(rows("big", 12))  # larger than max_batch: committed on its own
    assert sum(recording.writes) == 42
    assert max(recording.writes[:-1]) <= 7 and recording.writes[-1] == 12


def test_an_empty_submit_needs_no_transaction() -> None:
    recording = RecordingStore()
    with GroupCommitWriter(cast(Store, recording)) as writer:
        writer.submit([])
        asyncio.run(writer.submit_async([]))
    assert recording.writes == []


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        GroupCommitWriter(cast(Store, RecordingStore()), max_batch=0)
    with pytest.raises(ValueError, match="max_delay"):
        GroupCommitWriter(cast(Store, RecordingStore()), max_delay=-1)

"""Group commit: many concurrent small prediction writes, few durable transactions.

A durable commit costs an fsync (SQLite with ``synchronous=FULL``, PostgreSQL's WAL flush), so
a service that committed each request on its own would be bound by the disk's fsync rate. Here
callers hand their rows to one writer thread and wait; the writer commits everything that has
queued up (up to ``max_batch`` rows) in one transaction, then wakes every caller whose rows it
contained. Requests that arrive while a commit is running form the next group, so under load
groups grow by themselves, and an idle writer adds at most ``max_delay`` of latency.

Each caller still gets its own outcome: when a group fails, each caller's rows are retried in
a transaction of their own, so a duplicate id fails only the request that sent it. Only an
unreachable database (:class:`~seismo.store.base.StoreUnavailable`) fails the whole group at
once, as retrying could not help.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType

from seismo.store.base import Prediction, Store, StoreError, StoreUnavailable


@dataclass(slots=True)
class _Request:
    predictions: Sequence[Prediction]
    future: Future[None]
    enqueued_at: float


class GroupCommitWriter:
    """Commit the predictions of concurrent callers together, in one background thread.

    Parameters
    ----------
    store
        Where :meth:`~seismo.store.base.Store.add_predictions` writes the groups.
    max_batch
        Rows per transaction at most (a single larger request is committed on its own).
    max_delay
        Seconds the writer waits after the first queued request for others to join it.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> from seismo.store import open_store
    >>> store = open_store(f"sqlite:///{tempfile.mkdtemp()}/seismo.db", upgrade=True)
    >>> writer = GroupCommitWriter(store)
    >>> at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    >>> writer.submit([Prediction("p-1", "churn", 1, at, {"tenure": 7}, output=1, score=0.8)])
    >>> store.count_predictions("churn")
    1
    >>> writer.close()
    >>> store.close()
    """

    def __init__(self, store: Store, *, max_batch: int = 5000, max_delay: float = 0.002):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if max_delay < 0:
            raise ValueError(f"max_delay must not be negative, not {max_delay}")
        self._store = store
        self._max_batch = max_batch
        self._max_delay = max_delay
        self._pending: deque[_Request] = deque()
        self._pending_rows = 0
        self._condition = threading.Condition()
        self._closed = False
        self._transactions = 0
        self._thread = threading.Thread(target=self._run, name="seismo-group-commit", daemon=True)
        self._thread.start()

    @property
    def transactions(self) -> int:
        """Transactions started by the writer so far (groups plus per-caller retries)."""
        return self._transactions

    # -- callers -----------------------------------------------------------------------------
    def submit(self, predictions: Sequence[Prediction]) -> None:
        """Store ``predictions`` in one of the writer's transactions; return once durable.

        Raises
        ------
        DuplicatePrediction
            An id of ``predictions`` already exists (or repeats); none of them were stored.
        StoreUnavailable
            The database cannot be reached; none of them were stored.
        StoreError
            Any other failure of the store, or the writer is closed.
        """
        self._enqueue(predictions).result()

    async def submit_async(self, predictions: Sequence[Prediction]) -> None:
        """:meth:`submit` for an event loop: waits for the commit without blocking the loop.

        If the awaiting task is cancelled before the writer picked the rows up, they are not
        stored; once the writer has them they are committed regardless.
        """
        await asyncio.wrap_future(self._enqueue(predictions))

    def _enqueue(self, predictions: Sequence[Prediction]) -> Future[None]:
        future: Future[None] = Future()
        if not predictions:
            future.set_result(None)
            return future
        request = _Request(list(predictions), future, time.monotonic())
        with self._condition:
            if self._closed:
                raise StoreError("the prediction writer is closed; nothing more can be submitted")
            self._pending.append(request)
            self._pending_rows += len(request.predictions)
            self._condition.notify()
        return future

    def close(self) -> None:
        """Commit everything already submitted, then stop the writer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join()

    def __enter__(self) -> GroupCommitWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while (group := self._next_group()) is not None:
                self._commit(group)
        except BaseException as error:  # never leave a caller waiting for a dead thread
            with self._condition:
                self._closed = True
                orphans = list(self._pending)
                self._pending.clear()
            failure = StoreError(f"the prediction writer stopped: {error!r}")
            for request in orphans:
                if request.future.set_running_or_notify_cancel():
                    request.future.set_exception(failure)
            raise

    def _next_group(self) -> list[_Request] | None:
        """Wait for requests, linger up to ``max_delay`` for more, take up to ``max_batch``."""
        with self._condition:
            while not self._pending:
                if self._closed:
                    return None
                self._condition.wait()
            deadline = self._pending[0].enqueued_at + self._max_delay
            while self._pending_rows < self._max_batch and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            group: list[_Request] = []
            rows = 0
            while self._pending:
                size = len(self._pending[0].predictions)
                if group and rows + size > self._max_batch:
                    break
                request = self._pending.popleft()
                self._pending_rows -= size
                # A caller that gave up (cancelled) before this point stores nothing.
                if request.future.set_running_or_notify_cancel():
                    group.append(request)
                    rows += size
            return group

    def _commit(self, group: list[_Request]) -> None:
        if not group:
            return
        try:
            self._transactions += 1
            self._store.add_predictions([row for request in group for row in request.predictions])
        except StoreUnavailable as error:
            for request in group:
                request.future.set_exception(_copy(error))
            return
        except Exception as error:
            if len(group) == 1:
                group[0].future.set_exception(error)
                return
        else:
            for request in group:
                request.future.set_result(None)
            return
        # The group failed because of someone's rows: give each caller its own transaction.
        for request in group:
            try:
                self._transactions += 1
                self._store.add_predictions(request.predictions)
            except Exception as error:
                request.future.set_exception(error)
            else:
                request.future.set_result(None)


def _copy(error: StoreError) -> StoreError:
    """A separate exception per caller: one instance raised in many threads mixes tracebacks."""
    try:
        copy = type(error)(*error.args)
    except Exception:
        return error
    copy.__cause__ = error.__cause__
    return copy

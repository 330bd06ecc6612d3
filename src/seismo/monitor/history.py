"""The read side of the monitor: one way to read stored windows, decoded once.

Everything that reads the monitor's windows — the series API, the HTML window report,
Prometheus's ``/metrics`` and the alert rules — goes through one :class:`WindowHistory`. It
hands out :class:`Window` objects: a window summary decoded once, with its drift report and its
performance metrics each computed on first use and then kept. Windows are cached by
(model, version, segment, start, end) and stay valid while the stored summary's ``updated_at``
is unchanged (the monitor rewrites a window when late rows or labels arrive); rolling windows
(a window merged with the ones before it) are cached the same way, valid while none of their
parts changed. The cache holds at most ``max_windows`` windows, least recently used out first.

It is safe to share between threads (the service calls it from its thread pool): the cache is
locked, and each window computes its report and metrics once even when asked concurrently.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from seismo.drift.engine import compare_profiles
from seismo.errors import InputError
from seismo.monitor.digest import Digest, digest_of
from seismo.monitor.windows import WindowState
from seismo.profile.dataset import Reference
from seismo.store.base import Store, WindowDigest, WindowSummary

if TYPE_CHECKING:
    from seismo.drift.result import DriftReport
    from seismo.performance import ClassificationMetrics, RegressionMetrics

    Metrics = ClassificationMetrics | RegressionMetrics

DEFAULT_CONFIDENCE = 0.95


class Window:
    """One window summary (or a rolling merge of several), decoded.

    ``summary`` is the stored summary of the (newest) window: its model, version, segment,
    start, end and ``updated_at``. ``state`` is its decoded payload — for a rolling window the
    merge of the ``merged`` windows' states, and ``newest`` the newest of them alone (a plain
    window is its own ``newest``). ``report`` and ``metrics`` are computed on first use and
    kept.
    """

    __slots__ = (
        "_lock",
        "_metrics",
        "_reference",
        "_report",
        "merged",
        "newest",
        "state",
        "summary",
    )

    def __init__(
        self,
        summary: WindowSummary,
        state: WindowState,
        reference: Any,  # () -> Reference, called at most once
        merged: int = 1,
        newest: Window | None = None,
    ) -> None:
        self.summary = summary
        self.state = state
        self.merged = merged
        self.newest: Window = newest or self
        self._reference = reference
        self._report: DriftReport | None = None
        self._metrics: dict[float, Metrics | None] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        s = self.summary
        where = f" {s.segment}" if s.segment else ""
        rolling = f" (rolling, {self.merged} windows)" if self.merged > 1 else ""
        return f"<Window {s.model} v{s.version}{where} {s.start.isoformat()}{rolling}>"

    def reference(self) -> Reference:
        """The reference of this window's model version."""
        reference: Reference = self._reference()
        return reference

    @property
    def report(self) -> DriftReport:
        """The drift report of this window against its version's reference."""
        with self._lock:
            if self._report is None:
                s = self.summary
                self._report = compare_profiles(
                    self._reference(),
                    self.state.profile,
                    reference_name=f"{s.model} v{s.version} reference",
                    current_name=f"{s.model} {s.start:%Y-%m-%d %H:%M} window"
                    + (f" ({s.segment})" if s.segment else ""),
                )
            return self._report

    @property
    def metrics(self) -> Metrics | None:
        """Performance metrics at 95 % confidence; ``None`` without labelled rows."""
        return self.metrics_at(DEFAULT_CONFIDENCE)

    def metrics_at(self, confidence: float) -> Metrics | None:
        """Performance metrics with intervals at ``confidence`` (each level computed once: the
        intervals of some metrics cost a bootstrap)."""
        with self._lock:
            if confidence not in self._metrics:
                performance = self.state.performance
                self._metrics[confidence] = (
                    performance.metrics(confidence)
                    if performance is not None and self.state.labelled
                    else None
                )
            return self._metrics[confidence]


class WindowHistory:
    """The monitor's stored windows, read and decoded through one cache.

    ``window`` is the monitor's window length (``length``; rolling windows reach back ``n - 1``
    of them).
    ``max_windows`` bounds the cache (decoded windows and rolling merges together).
    """

    def __init__(self, store: Store, window: timedelta, *, max_windows: int = 1024) -> None:
        if max_windows < 1:
            raise ValueError("max_windows must be at least 1")
        self.store = store
        self.length = window
        self.max_windows = max_windows
        self._cache: OrderedDict[Hashable, tuple[Hashable, Window]] = OrderedDict()
        self._references: dict[tuple[str, int], Reference] = {}
        self._lock = threading.Lock()
        #: Payloads decoded so far (a rolling merge decodes nothing of its own).
        self.decoded = 0

    # -- reading ----------------------------------------------------------------------------

    def models(self) -> list[str]:
        """Names of the registered models."""
        return sorted({v.model for v in self.store.list_model_versions()})

    def windows(
        self,
        model: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = None,
        version: int | None = None,
    ) -> list[Window]:
        """Windows starting in [start, end), ordered by start then segment (``segment``: one
        segment, ``""`` for the whole windows; None for all)."""
        found = self.store.get_windows(
            model, version=version, start=start, end=end, segment=segment
        )
        return [self._decoded(summary) for summary in found]

    def latest(
        self,
        model: str,
        *,
        limit: int = 1,
        end: datetime | None = None,
        segment: str | None = None,
    ) -> list[Window]:
        """The ``limit`` most recent windows of each (version, segment) that ended by ``end``,
        ordered by start then segment. Reads no more than that from the store, whatever the
        length of the history."""
        found = self.store.latest_windows(model, limit=limit, end=end, segment=segment)
        return [self._decoded(summary) for summary in found]

    def window(
        self, model: str, start: datetime, *, segment: str = "", version: int | None = None
    ) -> Window | None:
        """The window of ``model`` starting at ``start`` (of the newest version that has one),
        or None."""
        found = [
            summary
            for summary in self.store.get_windows(
                model, version=version, start=start, end=start + self.length, segment=segment
            )
            if summary.start == start
        ]
        if not found:
            return None
        return self._decoded(max(found, key=lambda s: s.version))

    def rolling(
        self,
        model: str,
        n: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = "",
    ) -> list[Window]:
        """Windows starting in [start, end), each merged with the windows of the same version
        and segment that started within the ``n - 1`` window lengths before it (``n`` = 1:
        the windows themselves)."""
        _check_rolling(n)
        reach = None if start is None else start - self.length * (n - 1)
        windows = self.windows(model, start=reach, end=end, segment=segment)
        chosen = [w for w in windows if start is None or w.summary.start >= start]
        return self._roll(chosen, windows, n)

    def latest_rolling(
        self, model: str, n: int, *, end: datetime | None = None, segment: str | None = None
    ) -> list[Window]:
        """The latest window of each (version, segment) that ended by ``end``, merged as in
        :meth:`rolling` (its ``newest`` is the latest window alone); reads at most ``n``
        windows of each from the store."""
        _check_rolling(n)
        windows = self.latest(model, limit=n, end=end, segment=segment)
        newest: dict[tuple[int, str], Window] = {}
        for window in windows:
            newest[(window.summary.version, window.summary.segment)] = window
        chosen = sorted(newest.values(), key=lambda w: (w.summary.start, w.summary.segment))
        return self._roll(chosen, windows, n)

    def digests(
        self,
        model: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = "",
        version: int | None = None,
        latest: int | None = None,
    ) -> list[tuple[WindowDigest, Digest]]:
        """The digests of the windows starting in [start, end) (``latest``: of the ``latest``
        most recent windows of each version and segment), ordered as :meth:`windows`, read
        without their payloads. A window stored without a digest (or with one of an older
        format) is decoded once, its digest computed and stored for the next reader."""
        found = self.store.window_digests(
            model, version=version, start=start, end=end, segment=segment, latest=latest
        )
        out: list[tuple[WindowDigest, Digest]] = []
        computed: list[WindowDigest] = []
        for item in found:
            digest = Digest.from_json(item.digest)
            if digest is None:
                summary = self._summary_of(item)
                if summary is None:  # gone meanwhile
                    continue
                digest = digest_of(self._decoded(summary))
                item = replace(item, updated_at=summary.updated_at, digest=digest.to_json())
                computed.append(item)
            out.append((item, digest))
        if computed:
            self.store.put_window_digests(computed)
        return out

    def _summary_of(self, item: WindowDigest) -> WindowSummary | None:
        for summary in self.store.get_windows(
            item.model,
            version=item.version,
            start=item.start,
            end=item.start + timedelta(microseconds=1),
            segment=item.segment,
        ):
            if summary.end == item.end:
                return summary
        return None

    def reference(self, model: str, version: int) -> Reference:
        """The reference of a model version (read and decoded once)."""
        key = (model, version)
        with self._lock:
            cached = self._references.get(key)
        if cached is not None:
            return cached
        found = self.store.get_model_version(model, version)
        if found is None:
            raise InputError(f"model {model!r} has no version {version}")
        reference = Reference.from_bytes(found.reference)
        with self._lock:
            return self._references.setdefault(key, reference)

    def clear(self) -> None:
        """Forget every cached window (references stay: a version's reference never changes)."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        """Windows in the cache."""
        return len(self._cache)

    # -- caching ----------------------------------------------------------------------------

    def _decoded(self, summary: WindowSummary) -> Window:
        key = (summary.model, summary.version, summary.segment, summary.start, summary.end)
        found = self._cached(key, summary.updated_at)
        if found is not None:
            return found
        state = WindowState.from_bytes(summary.payload)  # outside the lock: it takes a while
        window = Window(summary, state, self._reference_of(summary))
        with self._lock:
            self.decoded += 1
        return self._keep(key, summary.updated_at, window)

    def _roll(self, chosen: Iterable[Window], windows: list[Window], n: int) -> list[Window]:
        if n == 1:
            return list(chosen)
        out = []
        for window in chosen:
            s = window.summary
            earliest = s.start - self.length * (n - 1)
            parts = [
                other
                for other in windows
                if other.summary.version == s.version
                and other.summary.segment == s.segment
                and earliest <= other.summary.start <= s.start
            ]
            key = ("rolling", n, s.model, s.version, s.segment, s.start, s.end)
            token = tuple((p.summary.start, p.summary.updated_at) for p in parts)
            found = self._cached(key, token)
            if found is None:
                state = window.state
                for other in parts:
                    if other is not window:
                        state = state.merge(other.state)
                merged = Window(s, state, self._reference_of(s), len(parts), window)
                found = self._keep(key, token, merged)
            out.append(found)
        return out

    def _cached(self, key: Hashable, token: Hashable) -> Window | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None or entry[0] != token:
                return None
            self._cache.move_to_end(key)
            return entry[1]

    def _keep(self, key: Hashable, token: Hashable, window: Window) -> Window:
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry[0] == token:  # another thread was first
                self._cache.move_to_end(key)
                return entry[1]
            self._cache[key] = (token, window)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_windows:
                self._cache.popitem(last=False)
        return window

    def _reference_of(self, summary: WindowSummary) -> Any:
        model, version = summary.model, summary.version
        return lambda: self.reference(model, version)


def _check_rolling(n: int) -> None:
    if n < 1:
        raise InputError(f"rolling: a positive number of windows, not {n}")

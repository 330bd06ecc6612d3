"""Window summaries and the monitor's watermarks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from seismo.store.base import (
    MonitorError,
    WindowDigest,
    WindowSummary,
)
from seismo.store.sql.engine import (
    SQLBase,
)
from seismo.store.sql.tables import (
    _Row,
    _utc,
    monitor_errors,
    watermarks_table,
    window_digests,
    window_summaries,
)


def _window_summary(row: _Row) -> WindowSummary:
    return WindowSummary(
        model=row.model,
        version=row.version,
        start=row.window_start,
        end=row.window_end,
        segment=row.segment,
        payload=bytes(row.payload),
        updated_at=row.updated_at,
    )


_WINDOW_KEY: Final = ("model", "version", "window_start", "window_end", "segment")


def _key_is(key: tuple[Any, ...], table: sa.Table = window_digests) -> list[Any]:
    return [table.c[name] == value for name, value in zip(_WINDOW_KEY, key, strict=True)]


def _in_range(
    query: sa.Select[Any],
    model: str,
    *,
    version: int | None,
    start: datetime | None,
    end: datetime | None,
    segment: str | None,
) -> sa.Select[Any]:
    table = window_summaries
    query = query.where(table.c.model == model)
    if version is not None:
        query = query.where(table.c.version == version)
    if start is not None:
        query = query.where(table.c.window_start >= _utc(start, "start"))
    if end is not None:
        query = query.where(table.c.window_start < _utc(end, "end"))
    if segment is not None:
        query = query.where(table.c.segment == segment)
    return query


def _ordered(query: sa.Select[Any], c: Any) -> sa.Select[Any]:
    return query.order_by(c.window_start, c.segment, c.version, c.window_end)


def _latest(
    columns: Any,
    model: str,
    *,
    limit: int,
    end: datetime | None,
    segment: str | None,
    version: int | None = None,
    start: datetime | None = None,
) -> sa.Select[Any]:
    """The ``limit`` most recent windows of each (version, segment) that ended by ``end``."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    table = window_summaries
    conditions = [table.c.model == model]
    if end is not None:
        conditions.append(table.c.window_end <= _utc(end, "end"))
    if segment is not None:
        conditions.append(table.c.segment == segment)
    if version is not None:
        conditions.append(table.c.version == version)
    if start is not None:
        conditions.append(table.c.window_start >= _utc(start, "start"))
    rank = (
        sa.func.row_number()
        .over(
            partition_by=(table.c.version, table.c.segment),
            order_by=(table.c.window_start.desc(), table.c.window_end.desc()),
        )
        .label("rank")
    )
    ranked = sa.select(*columns, rank).where(*conditions).subquery()
    return _ordered(
        sa.select(*(ranked.c[column.name] for column in columns)).where(ranked.c.rank <= limit),
        ranked.c,
    )


class Windows(SQLBase):
    # -- monitor state -----------------------------------------------------------------------
    def put_window(self, summary: WindowSummary) -> None:
        self.put_windows([summary])

    def put_windows(
        self,
        summaries: Sequence[WindowSummary],
        *,
        watermarks: Sequence[tuple[str, str, int]] = (),
        errors: Sequence[MonitorError] = (),
        cleared: Sequence[tuple[str, int, datetime]] = (),
    ) -> None:
        now = datetime.now(UTC)
        windows: dict[tuple[Any, ...], dict[str, Any]] = {}
        digests: dict[tuple[Any, ...], str | None] = {}
        for summary in summaries:
            row = {
                "model": summary.model,
                "version": summary.version,
                "window_start": _utc(summary.start, "window start"),
                "window_end": _utc(summary.end, "window end"),
                "segment": summary.segment,
                "payload": bytes(summary.payload),
                "updated_at": now,
            }
            # The last summary of a key wins, as if they had been put one after another.
            key = tuple(row[name] for name in _WINDOW_KEY)
            windows[key] = row
            digests[key] = summary.digest
        marks: dict[tuple[str, str], dict[str, Any]] = {}
        for job, model, seq in watermarks:
            if not isinstance(seq, int) or seq < 0:
                raise ValueError(f"watermark of {job!r} for {model!r} must be an int >= 0: {seq!r}")
            marks[job, model] = {"job": job, "model": model, "seq": seq, "updated_at": now}
        failed = {
            (error.model, error.version, _utc(error.start, "window start")): {
                "model": error.model,
                "version": error.version,
                "window_start": _utc(error.start, "window start"),
                "message": error.message,
                "at": _utc(error.at, "at"),
            }
            for error in errors
        }
        built = [(model, version, _utc(start, "window start")) for model, version, start in cleared]
        if not windows and not marks and not failed and not built:
            return
        with self.transaction(write=True) as connection:
            if windows:
                connection.execute(
                    self._upsert(window_summaries, _WINDOW_KEY), list(windows.values())
                )
                # Each window's digest goes with it; a window written without one loses the
                # digest of what it replaced (computed again when read).
                fresh = [
                    {**dict(zip(_WINDOW_KEY, key, strict=True)), "updated_at": now, "digest": text}
                    for key, text in digests.items()
                    if text is not None
                ]
                if fresh:
                    connection.execute(self._upsert(window_digests, _WINDOW_KEY), fresh)
                for key, text in digests.items():
                    if text is None:
                        connection.execute(window_digests.delete().where(*_key_is(key)))
            if marks:
                connection.execute(
                    self._upsert(watermarks_table, ("job", "model")), list(marks.values())
                )
            table = monitor_errors
            for model, version, start in built:
                connection.execute(
                    table.delete().where(
                        table.c.model == model,
                        table.c.version == version,
                        table.c.window_start == start,
                    )
                )
            if failed:
                connection.execute(
                    self._upsert(table, ("model", "version", "window_start")),
                    list(failed.values()),
                )

    def list_monitor_errors(self, model: str | None = None) -> list[MonitorError]:
        table = monitor_errors
        query = sa.select(table).order_by(table.c.model, table.c.window_start, table.c.version)
        if model is not None:
            query = query.where(table.c.model == model)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [
            MonitorError(row.model, row.version, row.window_start, row.message, row.at)
            for row in rows
        ]

    def get_windows(
        self,
        model: str,
        *,
        version: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = None,
    ) -> list[WindowSummary]:
        query = _in_range(
            sa.select(window_summaries),
            model,
            version=version,
            start=start,
            end=end,
            segment=segment,
        )
        with self.transaction() as connection:
            rows = connection.execute(_ordered(query, window_summaries.c)).all()
        return [_window_summary(row) for row in rows]

    def latest_windows(
        self,
        model: str,
        *,
        limit: int = 1,
        end: datetime | None = None,
        segment: str | None = None,
    ) -> list[WindowSummary]:
        query = _latest(window_summaries.columns, model, limit=limit, end=end, segment=segment)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [_window_summary(row) for row in rows]

    def window_digests(
        self,
        model: str,
        *,
        version: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        segment: str | None = None,
        latest: int | None = None,
    ) -> list[WindowDigest]:
        # The windows' keys come from the summaries' primary key alone (an index-only read,
        # no payload), their digests from their own table.
        table = window_summaries
        keys = [table.c[name] for name in _WINDOW_KEY]
        if latest is None:
            found = _ordered(
                _in_range(
                    sa.select(*keys),
                    model,
                    version=version,
                    start=start,
                    end=end,
                    segment=segment,
                ),
                table.c,
            ).subquery()
        else:
            found = _latest(
                keys,
                model,
                limit=latest,
                end=end,
                segment=segment,
                version=version,
                start=start,
            ).subquery()
        digests = window_digests
        query = _ordered(
            sa.select(*found.c, digests.c.updated_at, digests.c.digest).select_from(
                found.outerjoin(
                    digests, sa.and_(*(found.c[name] == digests.c[name] for name in _WINDOW_KEY))
                )
            ),
            found.c,
        )
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [
            WindowDigest(
                row.model,
                row.version,
                row.window_start,
                row.window_end,
                row.segment,
                row.updated_at,
                row.digest,
            )
            for row in rows
        ]

    def window_extent(self, model: str) -> dict[str, tuple[datetime, datetime]]:
        table = window_summaries
        query = (
            sa.select(
                table.c.segment,
                sa.func.min(table.c.window_start),
                sa.func.max(table.c.window_start),
            )
            .where(table.c.model == model)
            .group_by(table.c.segment)
        )
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return {row[0]: (row[1], row[2]) for row in rows}

    def put_window_digests(self, digests: Sequence[WindowDigest]) -> int:
        stored = 0
        with self.transaction(write=True) as connection:
            for item in digests:
                if item.digest is None or item.updated_at is None:
                    continue
                key = (
                    item.model,
                    item.version,
                    _utc(item.start, "window start"),
                    _utc(item.end, "window end"),
                    item.segment,
                )
                current = connection.execute(
                    sa.select(window_summaries.c.updated_at).where(*_key_is(key, window_summaries))
                ).scalar_one_or_none()
                if current is None or current != _utc(item.updated_at, "updated_at"):
                    continue  # rewritten since: its writer stored its own digest
                connection.execute(
                    self._upsert(window_digests, _WINDOW_KEY),
                    [
                        {
                            **dict(zip(_WINDOW_KEY, key, strict=True)),
                            "updated_at": current,
                            "digest": item.digest,
                        }
                    ],
                )
                stored += 1
        return stored

    def get_watermark(self, job: str, model: str) -> int:
        table = watermarks_table
        query = sa.select(table.c.seq).where(table.c.job == job, table.c.model == model)
        with self.transaction() as connection:
            seq = connection.execute(query).scalar_one_or_none()
        return 0 if seq is None else int(seq)

    def set_watermark(self, job: str, model: str, seq: int) -> None:
        self.put_windows((), watermarks=[(job, model, seq)])

"""Alerts, their events, and silences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from seismo.store.base import (
    AlertEvent,
    Silence,
    StoredAlert,
)
from seismo.store.sql.engine import (
    SQLBase,
)
from seismo.store.sql.tables import (
    _decode,
    _encode,
    _Row,
    _utc,
    alert_events,
    alerts_table,
    silences_table,
)


def _event_row(event: AlertEvent) -> dict[str, Any]:
    return {
        "alert_id": event.alert_id,
        "kind": event.kind,
        "at": _utc(event.at, "event at"),
        "details": _encode(event.details),
    }


def _stored_alert(row: _Row) -> StoredAlert:
    return StoredAlert(
        id=row.id,
        rule=row.rule,
        model=row.model,
        segment=row.segment,
        state=row.state,
        severity=row.severity,
        started_at=row.started_at,
        updated_at=row.updated_at,
        alert=_decode(row.alert),
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        notified_at=row.notified_at,
        notified_severity=row.notified_severity,
    )


class Alerts(SQLBase):
    # -- alerts ------------------------------------------------------------------------------
    def put_alert(self, alert: StoredAlert, events: Sequence[AlertEvent] = ()) -> None:
        row = {
            "id": alert.id,
            "rule": alert.rule,
            "model": alert.model,
            "segment": alert.segment,
            "state": alert.state,
            "severity": alert.severity,
            "started_at": _utc(alert.started_at, "started_at"),
            "updated_at": _utc(alert.updated_at, "updated_at"),
            "alert": _encode(alert.alert),
            "acknowledged_at": alert.acknowledged_at,
            "acknowledged_by": alert.acknowledged_by,
            "notified_at": alert.notified_at,
            "notified_severity": alert.notified_severity,
        }
        with self.transaction(write=True) as connection:
            connection.execute(self._upsert(alerts_table, ("id",)), [row])
            if events:
                connection.execute(alert_events.insert(), [_event_row(e) for e in events])

    def add_alert_events(self, events: Sequence[AlertEvent]) -> None:
        if events:
            with self.transaction(write=True) as connection:
                connection.execute(alert_events.insert(), [_event_row(e) for e in events])

    def get_alert(self, alert_id: str) -> StoredAlert | None:
        query = sa.select(alerts_table).where(alerts_table.c.id == alert_id)
        with self.transaction() as connection:
            row = connection.execute(query).first()
        return None if row is None else _stored_alert(row)

    def list_alerts(
        self, *, state: str | None = None, model: str | None = None, limit: int = 1000
    ) -> list[StoredAlert]:
        query = sa.select(alerts_table)
        if state is not None:
            query = query.where(alerts_table.c.state == state)
        if model is not None:
            query = query.where(alerts_table.c.model == model)
        query = query.order_by(alerts_table.c.updated_at.desc(), alerts_table.c.id).limit(limit)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [_stored_alert(row) for row in rows]

    def list_alert_events(
        self, *, alert_id: str | None = None, kind: str | None = None, limit: int = 1000
    ) -> list[AlertEvent]:
        query = sa.select(alert_events)
        if alert_id is not None:
            query = query.where(alert_events.c.alert_id == alert_id)
        if kind is not None:
            query = query.where(alert_events.c.kind == kind)
        query = query.order_by(alert_events.c.seq.desc()).limit(limit)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [
            AlertEvent(row.alert_id, row.kind, row.at, _decode(row.details), row.seq)
            for row in rows
        ]

    def count_alert_events(self, kind: str) -> dict[tuple[str, str], int]:
        query = sa.select(alert_events.c.details).where(alert_events.c.kind == kind)
        counts: dict[tuple[str, str], int] = {}
        with self.transaction() as connection:
            for (text,) in connection.execute(query):
                details = _decode(text)
                key = (str(details.get("sink", "")), str(details.get("event", "")))
                counts[key] = counts.get(key, 0) + 1
        return counts

    def add_silence(self, silence: Silence) -> None:
        with self.transaction(write=True) as connection:
            connection.execute(
                silences_table.insert().values(
                    id=silence.id,
                    matchers=_encode(silence.matchers),
                    starts_at=silence.starts_at,
                    ends_at=silence.ends_at,
                    created_by=silence.created_by,
                    comment=silence.comment,
                    created_at=silence.created_at,
                )
            )

    def list_silences(self, *, active_at: datetime | None = None) -> list[Silence]:
        table = silences_table
        query = sa.select(table)
        if active_at is not None:
            at = _utc(active_at, "active_at")
            query = query.where(table.c.starts_at <= at, table.c.ends_at > at)
        query = query.order_by(table.c.created_at.desc(), table.c.id)
        with self.transaction() as connection:
            rows = connection.execute(query).all()
        return [
            Silence(
                row.id,
                _decode(row.matchers),
                row.starts_at,
                row.ends_at,
                row.created_by,
                row.comment,
                row.created_at,
            )
            for row in rows
        ]

    def end_silence(self, silence_id: str, at: datetime) -> bool:
        table = silences_table
        moment = _utc(at, "at")
        with self.transaction(write=True) as connection:
            found = connection.execute(
                sa.select(table.c.ends_at).where(table.c.id == silence_id)
            ).first()
            if found is None:
                return False
            if found.ends_at > moment:
                connection.execute(
                    table.update().where(table.c.id == silence_id).values(ends_at=moment)
                )
        return True

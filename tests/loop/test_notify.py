"""The loop's decisions reach people through the alert sinks: an event that opens and
resolves at once, with the decision's summary and evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from seismo.alerts import Alerting
from seismo.config import alerts_config
from seismo.loop.notify import notifier
from seismo.monitor import WindowHistory
from seismo.store import Decision, open_store
from tests.alerts.receivers import HttpReceiver


def test_a_promotion_is_sent_and_resolved_and_a_wait_is_not(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}", upgrade=True)
    try:
        with HttpReceiver() as receiver:
            config = alerts_config(
                {
                    "sinks": [{"type": "webhook", "url": receiver.url, "secret": "s" * 32}],
                    "delivery": {"attempts": 1},
                }
            )
            alerting = Alerting(WindowHistory(store, timedelta(days=1)), config)
            notify = notifier(alerting)
            at = datetime(2026, 12, 4, tzinfo=UTC)
            promoted = store.add_decision(
                Decision(
                    "flights",
                    "promotion",
                    "promoted",
                    "version 4 promoted to champion (was v1): canary not worse",
                    at,
                    version=4,
                    evidence={"improvement": 0.0022},
                )
            )
            notify(promoted)
            notify(Decision("flights", "rollout", "waiting", "waiting for labels", at))
            bodies = [json.loads(r.body) for r in receiver.requests]
    finally:
        store.close()
    assert [b["event"] for b in bodies] == ["trigger", "resolve"]
    alert = bodies[0]["alert"]
    assert alert["rule"] == "loop.promotion" and alert["model"] == "flights"
    assert "version 4 promoted to champion" in alert["summary"]
    assert alert["values"]["evidence"] == {"improvement": 0.0022}
    assert alert["id"] == f"seismo-loop-flights-{promoted.seq}"

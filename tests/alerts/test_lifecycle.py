"""Rules decided on real monitor windows, and the alert lifecycle in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from seismo.alerts import Rule, Severity, alert_id
from seismo.store import Store, open_store
from tests.alerts.scenario import DAY0, Production, RecordingSink

DRIFT = Rule("feature-drift", "drift.psi", kind="sigma", threshold=0.1)
ACCURACY = Rule(
    "accuracy-drop",
    "performance.accuracy",
    kind="sigma",
    tolerance=0.02,
    severity=Severity.CRITICAL,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = open_store(f"sqlite:///{tmp_path / 'seismo.db'}", upgrade=True)
    yield opened  # type: ignore[misc]
    opened.close()


def test_a_drift_fires_once_listing_every_drifted_feature_then_resolves(store: Store) -> None:
    sink = RecordingSink()
    production = Production(store, [DRIFT], [sink])
    quiet = production.stable(7)
    assert all(not outcome.notifications for outcome in quiet)
    # Two features shift on day 8: one alert naming both, not two alerts.
    shifted = production.live(shift={"mean radius": 4.0, "mean texture": 5.0})
    assert [n.event for n in shifted.notifications] == ["trigger"]
    alert = shifted.notifications[0].alert
    assert alert.id == alert_id("feature-drift", "m", "")
    assert alert.values["features"] == ["mean radius", "mean texture"]
    assert "2 features drifted" in alert.summary
    assert alert.window_start == DAY0 + timedelta(days=7)
    # Still drifted the next day: the alert is updated, nobody is told again.
    again = production.live(shift={"mean radius": 4.0, "mean texture": 5.0})
    assert again.notifications == [] and again.opened == []
    # Back to normal: resolved, and the resolve goes out.
    recovered = production.live()
    assert [n.event for n in recovered.notifications] == ["resolve"]
    assert recovered.resolved == [alert.id]
    assert [n.event for n in sink.sent] == ["trigger", "resolve"]
    stored = store.get_alert(alert.id)
    assert stored is not None and stored.state == "resolved"
    history = [event.kind for event in reversed(store.list_alert_events(alert_id=alert.id))]
    assert history == ["fired", "delivered", "updated", "resolved", "delivered"]


def test_evaluating_the_same_windows_again_changes_nothing(store: Store) -> None:
    sink = RecordingSink()
    production = Production(store, [DRIFT], [sink])
    production.stable(6)
    production.live(shift={"mean radius": 4.0})
    now = DAY0 + timedelta(days=7, minutes=5)
    again = production.alerting.run(now=now)
    assert again.notifications == [] and again.opened == []
    assert len(sink.sent) == 1
    events = store.list_alert_events(alert_id=alert_id("feature-drift", "m", ""))
    assert [e.kind for e in events].count("fired") == 1


def test_an_accuracy_drop_fires_on_the_interval_and_waits_for_labels(store: Store) -> None:
    sink = RecordingSink()
    production = Production(store, [ACCURACY], [sink])
    production.stable(7, error_rate=0.1)
    # A day without labels yet: nothing can be said about its accuracy.
    unlabelled = production.live(error_rate=0.4, label=False)
    assert unlabelled.notifications == []
    dropped = production.live(error_rate=0.2)  # accuracy 0.9 -> 0.8
    assert [n.event for n in dropped.notifications] == ["trigger"]
    alert = dropped.notifications[0].alert
    assert alert.severity is Severity.CRITICAL
    [finding] = alert.values["findings"]
    # The value is below the bound; the bound is at least the tolerance (2 %) below the usual
    # level and further than the window's own sampling error allows.
    assert finding["value"] < finding["bound"] < finding["baseline"] * 0.98
    sampling = (finding["high"] - finding["low"]) / (2 * 1.96)
    assert finding["baseline"] - finding["bound"] >= 3 * sampling
    assert finding["value"] == pytest.approx(0.8, abs=0.05)
    assert "accuracy" in alert.summary and "below" in alert.summary


def test_a_small_window_decides_nothing(store: Store) -> None:
    production = Production(store, [DRIFT, ACCURACY], [RecordingSink()])
    production.stable(6)
    tiny = production.live(rows=40, shift={"mean radius": 6.0}, error_rate=0.6)
    assert tiny.opened == [] and tiny.notifications == []
    assert store.list_alerts() == []


def test_a_flapping_alert_is_not_notified_again_within_the_cooldown(store: Store) -> None:
    sink = RecordingSink()
    production = Production(store, [DRIFT], [sink], cooldown=timedelta(days=3))
    production.stable(6)
    shift = {"mean radius": 4.0}
    production.live(shift=shift)
    production.live()  # resolved
    reopened = production.live(shift=shift)
    assert reopened.opened == [alert_id("feature-drift", "m", "")]
    assert reopened.notifications == []
    assert [n.event for n in sink.sent] == ["trigger", "resolve"]
    kinds = [e.kind for e in store.list_alert_events(alert_id=reopened.opened[0])]
    assert kinds[0] == "cooldown"
    # Its resolution is not notified either: its trigger never went out.
    assert production.live().notifications == []


def test_silenced_alerts_are_recorded_not_notified(store: Store) -> None:
    sink = RecordingSink()
    production = Production(store, [DRIFT], [sink])
    production.stable(6)
    silence = production.alerting.book.silence(
        {"model": "m", "rule": "feature-drift"},
        starts_at=DAY0,
        ends_at=datetime.now(UTC) + timedelta(days=3650),
        created_by="ops",
        comment="planned migration",
    )
    outcome = production.live(shift={"mean radius": 4.0})
    assert outcome.opened and outcome.notifications == []
    events = store.list_alert_events(alert_id=outcome.opened[0])
    assert events[0].kind == "silenced" and events[0].details == {"silence": silence.id}
    assert sink.sent == []


def test_an_acknowledged_alert_is_not_notified_when_it_escalates(store: Store) -> None:
    sink = RecordingSink()
    warning = Rule("accuracy-drop", "performance.accuracy", kind="static", threshold=0.85)
    production = Production(store, [warning], [sink])
    production.live(error_rate=0.3)
    key = alert_id("accuracy-drop", "m", "")
    assert [n.event for n in sink.sent] == ["trigger"]
    production.alerting.book.acknowledge(key, "alice", "looking")
    # Same alert, now critical: acknowledged, so no second page.
    critical = Rule(
        "accuracy-drop",
        "performance.accuracy",
        kind="static",
        threshold=0.85,
        severity=Severity.CRITICAL,
    )
    production.alerting.evaluator.rules = [critical]
    production.live(error_rate=0.3)
    assert len(sink.sent) == 1
    stored = store.get_alert(key)
    assert stored is not None and stored.acknowledged_by == "alice"
    assert stored.severity == "critical"


def test_an_escalation_is_notified_when_nobody_acknowledged(store: Store) -> None:
    sink = RecordingSink()
    warning = Rule("accuracy-drop", "performance.accuracy", kind="static", threshold=0.85)
    production = Production(store, [warning], [sink])
    production.live(error_rate=0.3)
    production.alerting.evaluator.rules = [
        Rule(
            "accuracy-drop",
            "performance.accuracy",
            kind="static",
            threshold=0.85,
            severity=Severity.CRITICAL,
        )
    ]
    production.live(error_rate=0.3)
    assert [(n.event, n.alert.severity) for n in sink.sent] == [
        ("trigger", Severity.WARNING),
        ("trigger", Severity.CRITICAL),
    ]


def test_a_failed_delivery_is_recorded_and_visible(store: Store) -> None:
    class Broken(RecordingSink):
        def send(self, notification: object) -> None:
            from seismo.alerts.sinks import DeliveryError

            raise DeliveryError("HTTP 400 bad request", retryable=False)

    low = Rule("low", "performance.accuracy", kind="static", threshold=0.95)
    production = Production(store, [low], [Broken("broken")])
    outcome = production.live(error_rate=0.2)
    [result] = outcome.deliveries
    assert not result.ok and result.attempts == 1 and "400" in (result.error or "")
    [event] = [e for e in store.list_alert_events() if e.kind == "delivery_failed"]
    assert event.details["sink"] == "broken" and event.details["event"] == "trigger"
    assert store.count_alert_events("delivery_failed") == {("broken", "trigger"): 1}


def test_segment_rules_alert_per_segment(store: Store) -> None:
    rule = Rule("feature-drift", "drift.psi", kind="sigma", threshold=0.1, segments=True)
    production = Production(store, [rule], [RecordingSink()], segments=("tumor site",))
    production.stable(6)
    outcome = production.live(shift={"mean radius": 4.0})
    alerted = {store.get_alert(key).segment for key in outcome.opened}  # type: ignore[union-attr]
    assert alerted == {"", "tumor site=left", "tumor site=right"}

"""The web UI's records in the store (every backend): window digests (read without
payloads, written with the window, stored afterwards only while the window is unchanged) and
sessions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from seismo.store import Store, UiSession, WindowSummary

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def window(
    hour: int, *, segment: str = "", version: int = 1, digest: str | None = None
) -> WindowSummary:
    start = T0 + timedelta(hours=hour)
    return WindowSummary(
        "churn", version, start, start + timedelta(hours=1), segment, b"payload", digest=digest
    )


def test_digests_come_with_the_window_and_match_get_windows(store: Store) -> None:
    for hour in (2, 0, 1):
        for segment in ("", "plan=pro"):
            store.put_window(window(hour, segment=segment, digest=f'{{"h":{hour}}}'))
    store.put_window(window(1, version=2))  # no digest
    summaries = store.get_windows("churn", segment="")
    digests = store.window_digests("churn", segment="")
    assert [(d.version, d.start, d.end, d.segment) for d in digests] == [
        (s.version, s.start, s.end, s.segment) for s in summaries
    ]
    # A digest carries the updated_at of the summary it came with; none without a digest.
    assert [d.updated_at for d in digests] == [
        None if d.digest is None else s.updated_at for d, s in zip(digests, summaries, strict=True)
    ]
    assert [d.digest for d in digests] == ['{"h":0}', '{"h":1}', None, '{"h":2}']
    # Rewriting a window without a digest drops the one it had (it is computed again).
    store.put_window(window(0))
    assert store.window_digests("churn", segment="")[0].digest is None
    ranged = store.window_digests(
        "churn", start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2), segment="plan=pro"
    )
    assert [(d.start, d.segment) for d in ranged] == [(T0 + timedelta(hours=1), "plan=pro")]
    assert [d.version for d in store.window_digests("churn", version=2)] == [2]


def test_latest_digests_are_those_of_latest_windows(store: Store) -> None:
    for hour in range(6):
        store.put_window(window(hour, digest=str(hour)))
        store.put_window(window(hour, segment="plan=pro", digest=str(hour)))
    latest = store.window_digests("churn", latest=2, segment="")
    assert [d.digest for d in latest] == ["4", "5"]
    expected = store.latest_windows("churn", limit=3)
    got = store.window_digests("churn", latest=3)
    assert [(d.start, d.segment) for d in got] == [(s.start, s.segment) for s in expected]


def test_window_extent_is_the_first_and_last_start_of_each_segment(store: Store) -> None:
    assert store.window_extent("churn") == {}
    for hour in (3, 1, 2):
        store.put_window(window(hour))
    store.put_window(window(2, segment="plan=pro"))
    store.put_window(window(5, version=2))
    extent = store.window_extent("churn")
    assert extent == {
        "": (T0 + timedelta(hours=1), T0 + timedelta(hours=5)),
        "plan=pro": (T0 + timedelta(hours=2), T0 + timedelta(hours=2)),
    }
    assert all(moment.utcoffset() == timedelta(0) for pair in extent.values() for moment in pair)


def test_a_digest_is_stored_only_while_its_window_is_unchanged(store: Store) -> None:
    store.put_window(window(0))
    (found,) = store.window_digests("churn")
    assert found.digest is None and found.updated_at is None
    (summary,) = store.get_windows("churn")
    found = replace(found, updated_at=summary.updated_at)
    assert store.put_window_digests([replace(found, digest="computed")]) == 1
    assert store.window_digests("churn")[0].digest == "computed"
    # The monitor rewrites the window (late labels) with its own digest: a digest computed
    # from the old payload must not replace it.
    store.put_window(window(0, digest="fresh"))
    assert store.put_window_digests([replace(found, digest="stale")]) == 0
    assert store.window_digests("churn")[0].digest == "fresh"
    assert store.put_window_digests([]) == 0


def test_ui_sessions_are_kept_ended_and_purged_when_expired(store: Store) -> None:
    old = UiSession("a" * 64, None, "csrf-a", T0, T0 + timedelta(hours=1))
    store.add_ui_session(old, purge_before=T0)
    assert store.get_ui_session(old.id_hash) == old
    signed_in = UiSession("b" * 64, "c" * 64, "csrf-b", T0, T0 + timedelta(hours=12))
    # Adding a session drops those expired before the purge time, and only those.
    store.add_ui_session(signed_in, purge_before=T0 + timedelta(hours=2))
    assert store.get_ui_session(old.id_hash) is None
    assert store.get_ui_session(signed_in.id_hash) == signed_in
    assert store.end_ui_session(signed_in.id_hash) is True
    assert store.end_ui_session(signed_in.id_hash) is False
    assert store.get_ui_session(signed_in.id_hash) is None

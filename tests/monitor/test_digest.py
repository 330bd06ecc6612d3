"""Window digests: written by the monitor with each window, equal to what the series API
computes from the payload, computed and stored for windows written without one."""

from __future__ import annotations

import math
from dataclasses import replace

from seismo.monitor import Monitor, MonitorSettings, WindowHistory
from seismo.monitor.digest import FORMAT, Digest
from seismo.monitor.results import drift_series, performance_series, quality_series
from seismo.store import Store
from tests.monitor.test_history import DAY, T0, CountingStore, log_day


def _monitored(store: Store, days: int = 3) -> None:
    for day in range(days):
        log_day(store, T0 + day * DAY, 60, seed=day, labelled=day != 1)
    Monitor(store, MonitorSettings(window=DAY, compact=False, segments=("tumor site",))).run()


def test_the_monitor_writes_a_digest_equal_to_the_series(store: Store) -> None:
    _monitored(store)
    history = WindowHistory(store, DAY)
    stored = store.window_digests("m", segment=None)
    assert stored and all(Digest.from_json(item.digest) is not None for item in stored)
    for segment in {item.segment for item in stored}:
        digests = history.digests("m", segment=segment)
        drift = drift_series(history, "m", segment=segment)
        performance = performance_series(history, "m", segment=segment)
        quality = quality_series(history, "m", segment=segment)
        assert [item.start.isoformat() for item, _ in digests] == [w["start"] for w in drift]
        for (_, digest), d, p, q in zip(digests, drift, performance, quality, strict=True):
            assert digest.rows == d["rows"] and digest.labelled == p["labelled"]
            assert digest.mean_label_delay == p["mean_label_delay_seconds"]
            dataset = d["dataset"]
            assert (digest.features_tested, digest.features_drifted) == (
                dataset["features_tested"],
                dataset["features_drifted"],
            )
            assert digest.dataset_drifted == dataset["drifted"]
            assert [f.name for f in digest.features] == list(d["features"])
            for feature in digest.features:
                expected = d["features"][feature.name]
                assert feature.ratio == expected["effect_ratio"]
                assert feature.effect == expected["leading_effect"]
                assert feature.drifted == expected["drifted"]
            assert list(digest.anomalies) == [
                {k: a[k] for k in ("check", "column", "level", "message")} for a in q["anomalies"]
            ]
            metrics = p["metrics"]
            if metrics is None:
                assert digest.metrics == {} and digest.metrics_n == 0
                continue
            assert digest.metrics_n == metrics["n"]
            named = {k: v for k, v in metrics.items() if isinstance(v, dict) and "value" in v}
            for name, estimate in named.items():
                if estimate["value"] is None or not math.isfinite(estimate["value"]):
                    assert name not in digest.metrics
                    continue
                got = digest.metrics[name]
                assert got.value == estimate["value"]
                if estimate["interval"] is not None:
                    assert (got.low, got.high) == (
                        estimate["interval"]["low"],
                        estimate["interval"]["high"],
                    )


def test_windows_without_a_digest_get_one_computed_once_and_stored(store: Store) -> None:
    _monitored(store, days=2)
    written = {(i.start, i.segment): i.digest for i in store.window_digests("m", segment=None)}
    # As a store upgraded from before digests: payloads only.
    store.put_windows(
        [replace(s, digest=None) for s in store.get_windows("m")],
    )
    assert all(i.digest is None for i in store.window_digests("m", segment=None))
    counting = CountingStore(store)
    history = WindowHistory(counting, DAY)  # type: ignore[arg-type]
    digests = history.digests("m", segment="")
    assert counting.summaries_read == 2  # the two windows without a digest, nothing else
    assert [digest.to_json() for _, digest in digests] == [
        written[(item.start, "")] for item, _ in digests
    ]
    assert [i.digest for i in store.window_digests("m", segment="")] == [
        written[(item.start, "")] for item, _ in digests
    ]
    history.digests("m", segment="")
    assert counting.summaries_read == 2  # stored: not computed again


def test_a_digest_of_another_format_is_recomputed(store: Store) -> None:
    _monitored(store, days=1)
    (summary,) = store.get_windows("m", segment="")
    (item,) = store.window_digests("m", segment="")
    assert item.digest is not None and item.updated_at == summary.updated_at
    old = item.digest.replace(f'"format":{FORMAT}', '"format":0')
    store.put_windows([replace(summary, digest=old)])
    assert Digest.from_json(old) is None
    history = WindowHistory(store, DAY)
    ((_, digest),) = history.digests("m", segment="")
    assert digest.to_json() == item.digest
    assert store.window_digests("m", segment="")[0].digest == item.digest  # stored again

"""The store contract (the docstrings of :class:`seismo.store.base.Store`), on every backend."""

from __future__ import annotations

import itertools
import math
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seismo.store import (
    SCHEMES,
    ApiToken,
    Decision,
    DuplicatePrediction,
    Label,
    LabelChange,
    MonitorError,
    Prediction,
    Rollout,
    Store,
    StoredPrediction,
    StoreError,
    StoreUnavailable,
    WindowSummary,
    open_store,
)
from seismo.store.columnar import to_list
from seismo.store.sql import COLUMNAR_MIN_ROWS, SQLStore
from tests.store.conftest import postgres_base_url

T0 = datetime(2024, 3, 1, tzinfo=UTC)
_ids = itertools.count()


def prediction(
    prediction_id: str | None = None,
    *,
    model: str = "churn",
    version: int = 1,
    at: datetime = T0,
    features: dict[str, Any] | None = None,
    output: Any = 1,
    score: Any = 0.75,
) -> Prediction:
    return Prediction(
        id=prediction_id or f"p{next(_ids)}",
        model=model,
        version=version,
        timestamp=at,
        features={"tenure": 3, "plan": "basic"} if features is None else features,
        output=output,
        score=score,
    )


def all_predictions(store: Store, model: str, **kwargs: Any) -> list[Any]:
    return [row for batch in store.iter_predictions(model, **kwargs) for row in batch]


def window(
    start_hour: int, *, segment: str = "", version: int = 1, payload: bytes = b"p"
) -> WindowSummary:
    start = T0 + timedelta(hours=start_hour)
    return WindowSummary("churn", version, start, start + timedelta(hours=1), segment, payload)


# -- models ---------------------------------------------------------------------------------


def test_versions_are_numbered_per_model_from_1(store: Store) -> None:
    numbers = [
        store.add_model_version(name, task="regression", reference=b"r").version
        for name in ("churn", "churn", "fraud", "churn")
    ]
    assert numbers == [1, 2, 1, 3]


def test_model_version_round_trips_every_field(store: Store) -> None:
    before = datetime.now(UTC)
    added = store.add_model_version(
        "churn",
        task="classification",
        reference=b"\x00\xffprofile",
        artifact="/models/churn/1/model.joblib",
        classes=["stays", "leaves"],
        features=["tenure", "plan", "größe"],
        description="gradient boosting, weekly data",
    )
    read = store.get_model_version("churn", 1)
    assert read == added
    assert read.classes == ("stays", "leaves")
    assert read.features == ("tenure", "plan", "größe")
    assert read.reference == b"\x00\xffprofile"
    assert read.created_at.tzinfo is not None and read.created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= read.created_at <= datetime.now(UTC)


def test_get_model_version_latest_given_and_missing(store: Store) -> None:
    for description in ("first", "second"):
        store.add_model_version("churn", task="regression", reference=b"r", description=description)
    latest = store.get_model_version("churn")
    assert latest is not None and (latest.version, latest.description) == (2, "second")
    first = store.get_model_version("churn", 1)
    assert first is not None and first.description == "first"
    assert store.get_model_version("churn", 3) is None
    assert store.get_model_version("unknown") is None
    assert store.get_model_version("unknown", 1) is None


def test_list_model_versions_by_model_then_version(store: Store) -> None:
    for name in ("zeta", "alpha", "zeta", "alpha", "alpha"):
        store.add_model_version(name, task="regression", reference=b"r")
    listed = [(v.model, v.version) for v in store.list_model_versions()]
    assert listed == [("alpha", 1), ("alpha", 2), ("alpha", 3), ("zeta", 1), ("zeta", 2)]
    assert [v.version for v in store.list_model_versions("zeta")] == [1, 2]
    assert store.list_model_versions("none") == []


def test_add_model_version_refuses_unknown_task(store: Store) -> None:
    with pytest.raises(ValueError, match="clustering"):
        store.add_model_version("churn", task="clustering", reference=b"r")
    assert store.list_model_versions() == []


def test_lineage_status_and_parent_round_trip_and_update(store: Store) -> None:
    store.add_model_version("churn", task="regression", reference=b"r")
    child = store.add_model_version(
        "churn",
        task="regression",
        reference=b"r2",
        parent_version=1,
        status="candidate",
        lineage={"training": {"rows": 1200, "start": "2013-05-01T00:00:00+00:00"}},
    )
    assert store.get_model_version("churn", 2) == child
    assert store.get_model_version("churn", 1).status == "registered"  # type: ignore[union-attr]
    updated = store.update_model_version(
        "churn", 2, status="challenger", lineage={"validation": {"passed": True}}
    )
    assert updated.status == "challenger"
    assert updated.lineage == {
        "training": {"rows": 1200, "start": "2013-05-01T00:00:00+00:00"},
        "validation": {"passed": True},
    }
    assert store.get_model_version("churn", 2) == updated
    with pytest.raises(ValueError, match="status"):
        store.update_model_version("churn", 2, status="golden")
    with pytest.raises(KeyError, match="no version 9"):
        store.update_model_version("churn", 9, status="retired")


def test_rollout_set_get_and_compare_and_set(store: Store) -> None:
    assert store.get_rollout("churn") is None
    assert store.set_rollout(Rollout("churn", champion=1))
    first = store.get_rollout("churn")
    assert first is not None and (first.champion, first.challenger, first.mode) == (1, None, None)
    canary = Rollout("churn", champion=1, challenger=2, mode="canary", share=0.2, started_at=T0)
    assert store.set_rollout(canary, expected=first)
    # A second writer that read the first state loses: the canary is not overwritten.
    assert not store.set_rollout(Rollout("churn", champion=3), expected=first)
    read = store.get_rollout("churn")
    assert read is not None
    assert (read.champion, read.challenger, read.mode, read.share) == (1, 2, "canary", 0.2)
    assert read.started_at == T0
    for broken in (
        Rollout("churn", champion=1, challenger=2, mode="blue-green"),
        Rollout("churn", champion=1, challenger=2),
        Rollout("churn", champion=1, challenger=2, mode="canary", share=1.5),
    ):
        with pytest.raises(ValueError):
            store.set_rollout(broken)


def test_decisions_are_appended_and_listed_newest_first(store: Store) -> None:
    made = [
        store.add_decision(
            Decision("churn", kind, outcome, f"{kind} {outcome}", T0, evidence={"n": i})
        )
        for i, (kind, outcome) in enumerate(
            [("retrain", "skipped"), ("retrain", "fired"), ("validation", "passed")]
        )
    ]
    store.add_decision(Decision("fraud", "rollback", "rolled_back", "worse", T0, actor="ops"))
    assert [d.seq for d in made] == sorted(d.seq for d in made) and made[0].seq > 0
    listed = store.list_decisions("churn")
    assert [(d.kind, d.outcome) for d in listed] == [
        ("validation", "passed"),
        ("retrain", "fired"),
        ("retrain", "skipped"),
    ]
    assert listed[0] == made[2] and listed[2].evidence == {"n": 0}
    assert [d.outcome for d in store.list_decisions("churn", kind="retrain", limit=1)] == ["fired"]
    assert [d.actor for d in store.list_decisions(kind="rollback")] == ["ops"]


# -- predictions ----------------------------------------------------------------------------


# Rows written a few at a time keep JSON text; from COLUMNAR_MIN_ROWS rows of one model
# version on they go to a columnar batch: typed columns when every row has the same feature
# names ("batch"), one JSON object per row otherwise ("mixed").
LAYOUTS = ("row", "batch", "mixed")


def add_and_get(store: Store, sent: Prediction, layout: str) -> StoredPrediction:
    others: list[Prediction] = []
    if layout != "row":
        for index in range(COLUMNAR_MIN_ROWS):
            features = dict(sent.features) if layout == "batch" else {f"other{index}": index}
            others.append(prediction(features=features, output=sent.output, score=sent.score))
    store.add_predictions([*others[:3], sent, *others[3:]])
    stored = store.get_prediction(sent.id)
    assert stored is not None
    return stored


@pytest.mark.parametrize("layout", LAYOUTS)
def test_prediction_round_trips(store: Store, layout: str) -> None:
    features = {
        "größe": 1.5,
        "城市": "東京",
        "emoji 🚀": None,
        "tiny": 5e-324,
        "huge": 1.7976931348623157e308,
        "third": 1 / 3,
        "negative zero": -0.0,
        "big int": 2**70,
        "nested": {"list": [1, 2.5, None, "x", {"deep": True}], "empty": {}},
        'quote"and\\backslash': "line\nbreak\ttab\x00nul",
        "lone surrogate \udc80": "value \ud800",
    }
    sent = prediction("ünïcödé-id", features=features, output={"class": "leaves"}, score=[0.2, 0.8])
    stored = add_and_get(store, sent, layout)
    assert stored.prediction == sent
    assert math.copysign(1.0, stored.prediction.features["negative zero"]) == -1.0
    assert stored.label is None and stored.labelled_at is None
    assert stored.seq > 0


@pytest.mark.parametrize("layout", LAYOUTS)
def test_typed_columns_round_trip(store: Store, layout: str) -> None:
    features = {"flag": True, "count": -(2**63), "ratio": 0.25, "name": "a\x00b", "none": None}
    sent = prediction(features=features, output="yes", score=0.625)
    stored = add_and_get(store, sent, layout)
    assert stored.prediction == sent
    assert type(stored.prediction.features["count"]) is int
    assert type(stored.prediction.features["flag"]) is bool


@pytest.mark.parametrize("layout", LAYOUTS)
def test_non_finite_floats_round_trip(store: Store, layout: str) -> None:
    sent = prediction(features={"a": math.nan, "b": math.inf, "c": -math.inf})
    features = add_and_get(store, sent, layout).prediction.features
    assert math.isnan(features["a"]) and features["b"] == math.inf and features["c"] == -math.inf


@pytest.mark.parametrize("layout", LAYOUTS)
def test_missing_score_and_null_output(store: Store, layout: str) -> None:
    stored = add_and_get(store, prediction("none", output=None, score=None), layout)
    assert stored.prediction.output is None and stored.prediction.score is None


def test_a_value_json_cannot_hold_is_refused_naming_the_prediction(store: Store) -> None:
    rows = [prediction(f"ok{i}", features={"x": i}) for i in range(COLUMNAR_MIN_ROWS)]
    rows.append(prediction("bad", features={"x": object()}))
    with pytest.raises(TypeError, match=r"prediction 'bad'.*object"):
        store.add_predictions(rows)
    assert store.count_predictions("churn") == 0


_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    features=st.dictionaries(st.text(max_size=12), _json, max_size=6),
    output=_json,
    score=_json,
    layout=st.sampled_from(LAYOUTS),
)
def test_any_json_round_trips(
    store: Store, features: dict[str, Any], output: Any, score: Any, layout: str
) -> None:
    sent = prediction(features=features, output=output, score=score)
    assert add_and_get(store, sent, layout).prediction == sent


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(
        st.tuples(_json_leaf, _json_leaf, st.none() | st.floats(0, 1) | st.lists(st.floats(0, 1))),
        min_size=COLUMNAR_MIN_ROWS,
        max_size=COLUMNAR_MIN_ROWS + 8,
    )
)
def test_columns_of_any_json_values_round_trip(
    store: Store, values: list[tuple[Any, Any, Any]]
) -> None:
    sent = [prediction(features={"x": x}, output=y, score=s) for x, y, s in values]
    store.add_predictions(sent)
    stored = [store.get_prediction(p.id) for p in sent]
    assert [s.prediction if s else None for s in stored] == sent
    [read] = [row for row in all_predictions(store, "churn") if row.prediction.id == sent[0].id]
    assert read.prediction == sent[0]


def test_timestamps_come_back_as_aware_utc(store: Store) -> None:
    tokyo = timezone(timedelta(hours=9))
    local = datetime(2024, 3, 1, 18, 30, 15, 123456, tzinfo=tokyo)
    store.add_predictions([prediction("tz", at=local)])
    stored = store.get_prediction("tz")
    assert stored is not None
    timestamp = stored.prediction.timestamp
    assert timestamp == local
    assert timestamp.tzinfo is not None and timestamp.utcoffset() == timedelta(0)
    assert timestamp == datetime(2024, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_naive_timestamp_is_refused_and_nothing_stored(store: Store) -> None:
    batch = [prediction("fine"), prediction("naive", at=datetime(2024, 3, 1, 12))]
    with pytest.raises(ValueError, match=r"'naive'.*no time zone"):
        store.add_predictions(batch)
    assert store.count_predictions("churn") == 0


def test_get_unknown_prediction_is_none(store: Store) -> None:
    assert store.get_prediction("nope") is None


def test_duplicate_of_a_stored_id_stores_none_of_the_batch(store: Store) -> None:
    store.add_predictions([prediction("a"), prediction("b")])
    with pytest.raises(DuplicatePrediction, match="'b'"):
        store.add_predictions([prediction("c"), prediction("b"), prediction("d")])
    assert store.count_predictions("churn") == 2
    assert store.get_prediction("c") is None and store.get_prediction("d") is None
    store.add_predictions([prediction("c")])  # the store is usable after the failure
    assert store.count_predictions("churn") == 3


def test_duplicate_inside_one_batch_stores_none_of_it(store: Store) -> None:
    with pytest.raises(DuplicatePrediction, match="'twice'"):
        store.add_predictions([prediction("twice"), prediction("other"), prediction("twice")])
    assert store.count_predictions("churn") == 0


def test_empty_batch_is_a_no_op(store: Store) -> None:
    store.add_predictions([])
    assert store.count_predictions("churn") == 0


def test_seq_increases_in_ingestion_order(store: Store) -> None:
    # Timestamps out of order on purpose: seq follows ingestion, not prediction time.
    store.add_predictions([prediction("x1", at=T0 + timedelta(hours=5)), prediction("x2", at=T0)])
    store.add_predictions([prediction("x3", at=T0 - timedelta(days=1))])
    rows = all_predictions(store, "churn")
    assert [row.prediction.id for row in rows] == ["x1", "x2", "x3"]
    seqs = [row.seq for row in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


def test_count_predictions_by_model_and_version(store: Store) -> None:
    store.add_predictions(
        [prediction(version=1) for _ in range(3)]
        + [prediction(version=2) for _ in range(2)]
        + [prediction(model="fraud")]
    )
    assert store.count_predictions("churn") == 5
    assert store.count_predictions("churn", 1) == 3
    assert store.count_predictions("churn", 2) == 2
    assert store.count_predictions("churn", 3) == 0
    assert store.count_predictions("fraud") == 1
    assert store.count_predictions("none") == 0


def test_iter_predictions_filters_model_version_and_time(store: Store) -> None:
    hours = [0, 1, 2, 3, 4]
    store.add_predictions(
        [prediction(f"v1h{h}", at=T0 + timedelta(hours=h)) for h in hours]
        + [prediction(f"v2h{h}", version=2, at=T0 + timedelta(hours=h)) for h in hours]
        + [prediction("other-model", model="fraud", at=T0)]
    )

    def ids(**kwargs: Any) -> list[str]:
        return [row.prediction.id for row in all_predictions(store, "churn", **kwargs)]

    assert len(ids()) == 10
    assert ids(version=2) == [f"v2h{h}" for h in hours]
    # start inclusive, end exclusive; an aware non-UTC bound means the same instant.
    start = (T0 + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-5)))
    assert ids(version=1, start=start, end=T0 + timedelta(hours=3)) == ["v1h1", "v1h2"]
    assert ids(version=1, start=T0 + timedelta(hours=4)) == ["v1h4"]
    assert ids(version=1, end=T0 + timedelta(hours=1)) == ["v1h0"]
    assert ids(start=T0 + timedelta(hours=9)) == []
    assert [row.prediction.id for row in all_predictions(store, "fraud")] == ["other-model"]
    assert all_predictions(store, "none") == []


def test_iter_predictions_batches_and_resumes_after_seq(store: Store) -> None:
    store.add_predictions([prediction(f"b{i:02d}") for i in range(23)])
    batches = list(store.iter_predictions("churn", batch_size=5))
    assert [len(batch) for batch in batches] == [5, 5, 5, 5, 3]
    rows = [row for batch in batches for row in batch]
    assert [row.prediction.id for row in rows] == [f"b{i:02d}" for i in range(23)]
    watermark = rows[9].seq
    resumed = all_predictions(store, "churn", after_seq=watermark, batch_size=4)
    assert [row.prediction.id for row in resumed] == [f"b{i:02d}" for i in range(10, 23)]
    assert all_predictions(store, "churn", after_seq=rows[-1].seq) == []
    assert list(store.iter_predictions("churn", batch_size=23)) == [rows]


def test_iter_predictions_sees_rows_added_while_iterating(store: Store) -> None:
    store.add_predictions([prediction(f"first{i}") for i in range(4)])
    seen: list[str] = []
    for batch in store.iter_predictions("churn", batch_size=2):
        seen.extend(row.prediction.id for row in batch)
        if len(seen) == 2:
            store.add_predictions([prediction("late")])
    assert seen == ["first0", "first1", "first2", "first3", "late"]


def test_iter_predictions_refuses_a_batch_size_below_1(store: Store) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        store.iter_predictions("churn", batch_size=0)


def test_iter_predictions_carries_current_labels(store: Store) -> None:
    store.add_predictions([prediction("l1"), prediction("l2")])
    store.add_labels([Label("l2", "leaves", T0 + timedelta(days=2))])
    rows = {row.prediction.id: row for row in all_predictions(store, "churn")}
    assert rows["l1"].label is None and rows["l1"].labelled_at is None
    assert rows["l2"].label == "leaves"
    assert rows["l2"].labelled_at == T0 + timedelta(days=2)


def test_a_watermark_never_skips_rows_of_concurrent_writers(store: Store) -> None:
    """Rows become visible in seq order: a reader that resumes after the highest seq it has
    seen never misses a row that was committed later with a lower seq."""
    writers, batches, rows_per_batch = 4, 40, 10
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for batch in range(batches):
                store.add_predictions(
                    [prediction(f"w{writer}-{batch}-{i}") for i in range(rows_per_batch)]
                )
        except BaseException as error:  # pragma: no cover - reported below
            import traceback

            traceback.print_exception(error.__cause__ or error)
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    seen: list[str] = []
    watermark = 0
    finished = False
    while not finished:
        finished = not any(thread.is_alive() for thread in threads)  # then one last pass
        for batch in store.iter_predictions("churn", after_seq=watermark, batch_size=37):
            seen.extend(row.prediction.id for row in batch)
            watermark = batch[-1].seq
        # A monitor polls; a reader spinning flat out would mostly measure the GIL.
        time.sleep(0.001)
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(seen) == len(set(seen)) == writers * batches * rows_per_batch


# -- labels ---------------------------------------------------------------------------------


def test_labels_inserted_updated_unchanged_and_unknown(store: Store) -> None:
    store.add_predictions([prediction("a"), prediction("b"), prediction("c")])
    first = store.add_labels(
        [Label("a", 1, T0), Label("b", {"class": "x", "weight": 2}, T0), Label("ghost", 0, T0)]
    )
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert first.unknown_ids == ("ghost",)
    again = store.add_labels(
        [
            Label("a", 1, T0 + timedelta(hours=1)),  # the same: a re-send
            Label("b", {"weight": 2, "class": "x"}, T0 + timedelta(hours=1)),  # same, reordered
            Label("c", 0, T0 + timedelta(hours=1)),
        ]
    )
    assert (again.inserted, again.updated, again.unchanged, again.unknown_ids) == (1, 0, 2, ())
    corrected = store.add_labels([Label("a", 0, T0 + timedelta(hours=2))])
    assert (corrected.inserted, corrected.updated, corrected.unchanged) == (0, 1, 0)
    a = store.get_prediction("a")
    assert a is not None and a.label == 0 and a.labelled_at == T0 + timedelta(hours=2)
    b = store.get_prediction("b")
    # An unchanged re-send keeps the time the label was first received.
    assert b is not None and b.label == {"class": "x", "weight": 2} and b.labelled_at == T0
    assert store.get_prediction("ghost") is None


def test_labels_are_scoped_to_their_model(store: Store) -> None:
    """A label sent for model churn with the id of a fraud prediction is unknown to churn and
    leaves the fraud prediction alone."""
    store.add_predictions([prediction("c1"), prediction("f1", model="fraud")])
    outcome = store.add_labels(
        [Label("c1", "yes", T0), Label("f1", "yes", T0), Label("zz", "yes", T0)], model="churn"
    )
    assert (outcome.inserted, outcome.unknown_ids) == (1, ("f1", "zz"))
    fraud = store.get_prediction("f1")
    assert fraud is not None and fraud.label is None
    assert [c.prediction_id for c in store.iter_label_changes("fraud")] == []
    assert store.add_labels([Label("f1", "no", T0)], model="fraud").inserted == 1


def test_a_label_labels_every_version_that_answered_the_request(store: Store) -> None:
    """A champion and its shadow log the same request id; one label joins both, and is
    counted once."""
    store.add_predictions([prediction("r1", version=1), prediction("r2", version=1)])
    store.add_predictions([prediction("r1", version=2)])
    outcome = store.add_labels([Label("r1", 1, T0)], model="churn")
    assert (outcome.inserted, outcome.updated, outcome.unknown_ids) == (1, 0, ())
    labelled = {
        (row.prediction.version, row.prediction.id): row.label
        for row in all_predictions(store, "churn")
    }
    assert labelled == {(1, "r1"): 1, (1, "r2"): None, (2, "r1"): 1}
    assert sorted(c.version for c in store.iter_label_changes("churn")) == [1, 2]


def test_label_change_log(store: Store) -> None:
    store.add_predictions(
        [
            prediction("a", at=T0 + timedelta(hours=1)),
            prediction("b", version=2, at=T0 + timedelta(hours=2)),
            prediction("f", model="fraud"),
        ]
    )
    store.add_labels([Label("b", "x", T0), Label("a", "x", T0), Label("f", "x", T0)])
    store.add_labels([Label("a", "x", T0), Label("b", "y", T0)])  # a unchanged, b corrected
    changes = list(store.iter_label_changes("churn"))
    assert [(c.prediction_id, c.model, c.version, c.timestamp) for c in changes] == [
        ("b", "churn", 2, T0 + timedelta(hours=2)),
        ("a", "churn", 1, T0 + timedelta(hours=1)),
        ("b", "churn", 2, T0 + timedelta(hours=2)),
    ]
    seqs = [c.seq for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert list(store.iter_label_changes("churn", after_seq=seqs[1])) == changes[2:]
    assert list(store.iter_label_changes("churn", after_seq=seqs[2])) == []
    assert [c.prediction_id for c in store.iter_label_changes("fraud")] == ["f"]
    assert list(store.iter_label_changes("none")) == []
    assert all(isinstance(c, LabelChange) for c in changes)


def test_labels_of_one_batch_apply_in_order(store: Store) -> None:
    store.add_predictions([prediction("a")])
    outcome = store.add_labels(
        [
            Label("a", 1, T0),
            Label("a", 1, T0),
            Label("a", 0, T0 + timedelta(1)),
            Label("z", 1, T0),
            Label("z", 1, T0),
        ]
    )
    assert (outcome.inserted, outcome.updated, outcome.unchanged) == (1, 1, 1)
    assert outcome.unknown_ids == ("z",)
    stored = store.get_prediction("a")
    assert stored is not None and stored.label == 0
    assert len(list(store.iter_label_changes("churn"))) == 2


def test_thousands_of_labels_in_one_call(store: Store) -> None:
    store.add_predictions([prediction(f"n{i}") for i in range(2_500)])
    labels = [Label(f"n{i}", i % 2, T0) for i in range(2_500)] + [Label("nowhere", 1, T0)]
    outcome = store.add_labels(labels)
    assert (outcome.inserted, outcome.unknown_ids) == (2_500, ("nowhere",))
    outcome = store.add_labels([Label(f"n{i}", 1, T0) for i in range(2_500)])
    assert (outcome.updated, outcome.unchanged) == (1_250, 1_250)
    assert len(list(store.iter_label_changes("churn"))) == 3_750


def test_label_change_log_pages(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("seismo.store.sql.labels._LABEL_PAGE", 3)
    store.add_predictions([prediction(f"q{i}") for i in range(8)])
    store.add_labels([Label(f"q{i}", 1, T0) for i in range(8)])
    assert [c.prediction_id for c in store.iter_label_changes("churn")] == [
        f"q{i}" for i in range(8)
    ]


def test_labels_refuse_null_and_naive_times(store: Store) -> None:
    store.add_predictions([prediction("a")])
    with pytest.raises(ValueError, match="'a'"):
        store.add_labels([Label("a", None, T0)])
    with pytest.raises(ValueError, match="no time zone"):
        store.add_labels([Label("a", 1, datetime(2024, 1, 1))])
    assert list(store.iter_label_changes("churn")) == []


def test_no_labels_is_a_no_op(store: Store) -> None:
    outcome = store.add_labels([])
    assert (outcome.inserted, outcome.updated, outcome.unchanged, outcome.unknown_ids) == (
        0,
        0,
        0,
        (),
    )


# -- windows and watermarks -----------------------------------------------------------------


def test_put_window_inserts_then_replaces(store: Store) -> None:
    store.put_window(window(0, payload=b"first"))
    first = store.get_windows("churn")
    assert [w.payload for w in first] == [b"first"]
    store.put_window(window(0, payload=b"\x00second"))
    replaced = store.get_windows("churn")
    assert len(replaced) == 1 and replaced[0].payload == b"\x00second"
    assert replaced[0] == window(0, payload=b"\x00second")
    assert replaced[0].updated_at >= first[0].updated_at
    assert replaced[0].updated_at.utcoffset() == timedelta(0)
    assert replaced[0].start.utcoffset() == timedelta(0)


def test_windows_differ_by_every_key_part(store: Store) -> None:
    base = window(0)
    store.put_window(base)
    store.put_window(WindowSummary("churn", 2, base.start, base.end, "", b"v2"))
    store.put_window(WindowSummary("churn", 1, base.start, base.end + timedelta(days=1), "", b"d"))
    store.put_window(WindowSummary("churn", 1, base.start, base.end, "plan=basic", b"s"))
    store.put_window(WindowSummary("fraud", 1, base.start, base.end, "", b"f"))
    assert len(store.get_windows("churn")) == 4
    assert len(store.get_windows("fraud")) == 1


def test_get_windows_selects_starts_in_range_ordered(store: Store) -> None:
    for hour in (3, 0, 2, 1):
        for segment in ("plan=pro", "", "plan=basic"):
            store.put_window(window(hour, segment=segment))
    store.put_window(window(1, version=2, payload=b"v2"))

    def keys(**kwargs: Any) -> list[tuple[int, str, int]]:
        return [
            (int((w.start - T0).total_seconds() // 3600), w.segment, w.version)
            for w in store.get_windows("churn", **kwargs)
        ]

    everything = keys()
    assert everything[:4] == [(0, "", 1), (0, "plan=basic", 1), (0, "plan=pro", 1), (1, "", 1)]
    assert everything[4] == (1, "", 2)
    assert len(everything) == 13
    # start inclusive, end exclusive, on the window start.
    assert {k[0] for k in keys(start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=3))} == {
        1,
        2,
    }
    assert keys(version=2) == [(1, "", 2)]
    assert keys(segment="") == [(0, "", 1), (1, "", 1), (1, "", 2), (2, "", 1), (3, "", 1)]
    assert keys(segment="plan=pro", start=T0 + timedelta(hours=3)) == [(3, "plan=pro", 1)]
    assert store.get_windows("none") == []


def test_latest_windows_are_the_most_recent_of_each_version_and_segment(store: Store) -> None:
    for hour in (3, 0, 2, 1):
        for segment in ("plan=pro", "", "plan=basic"):
            store.put_window(window(hour, segment=segment))
    store.put_window(window(1, version=2, payload=b"v2"))
    store.put_window(window(0, segment="plan=old"))

    def keys(**kwargs: Any) -> list[tuple[int, str, int]]:
        return [
            (int((w.start - T0).total_seconds() // 3600), w.segment, w.version)
            for w in store.latest_windows("churn", **kwargs)
        ]

    # The same as get_windows filtered by hand: an independent reading of the contract.
    def expected(limit: int, end: datetime | None = None) -> list[tuple[int, str, int]]:
        everything = [w for w in store.get_windows("churn") if end is None or w.end <= end]
        kept = []
        for w in everything:
            later = [
                o
                for o in everything
                if (o.version, o.segment) == (w.version, w.segment) and o.start > w.start
            ]
            if len(later) < limit:
                kept.append((int((w.start - T0).total_seconds() // 3600), w.segment, w.version))
        return kept

    assert keys() == [
        (0, "plan=old", 1),
        (1, "", 2),
        (3, "", 1),
        (3, "plan=basic", 1),
        (3, "plan=pro", 1),
    ]
    for limit in (1, 2, 3, 10):
        assert keys(limit=limit) == expected(limit)
    cutoff = window(2).end  # windows ending by the end of hour 2
    assert keys(limit=2, end=cutoff) == expected(2, cutoff)
    assert keys(segment="", limit=2) == [(1, "", 2), (2, "", 1), (3, "", 1)]
    assert store.latest_windows("none") == []
    with pytest.raises(ValueError, match="limit"):
        store.latest_windows("churn", limit=0)


def test_monitor_errors_are_kept_until_their_window_is_built(store: Store) -> None:
    first = MonitorError("churn", 1, T0, "boom", T0)
    other = MonitorError("fraud", 2, T0 + timedelta(hours=1), "bad", T0)
    store.put_windows([], errors=[first, other], watermarks=[("monitor", "churn", 5)])
    assert store.list_monitor_errors() == [first, other]
    assert store.list_monitor_errors("fraud") == [other]
    assert store.get_watermark("monitor", "churn") == 5
    again = MonitorError("churn", 1, T0, "boom again", T0 + timedelta(hours=2))
    store.put_windows([], errors=[again])  # the same window: replaced, not added
    assert store.list_monitor_errors("churn") == [again]
    store.put_windows([window(0)], cleared=[("churn", 1, T0)])
    assert store.list_monitor_errors() == [other]
    assert [w.payload for w in store.get_windows("churn")] == [b"p"]


def test_put_windows_and_watermark_in_one_transaction(store: Store) -> None:
    store.put_windows([window(0, payload=b"a"), window(1), window(0, payload=b"b")])
    assert [w.payload for w in store.get_windows("churn")] == [b"b", b"p"]  # last of a key wins
    store.put_windows([window(2)], watermarks=[("monitor", "churn", 42), ("labels", "churn", 7)])
    assert store.get_watermark("monitor", "churn") == 42
    assert store.get_watermark("labels", "churn") == 7
    # A bad summary in the batch: neither the windows nor the watermark are stored.
    bad = WindowSummary("churn", 1, datetime(2024, 1, 1), datetime(2024, 1, 2), "", b"x")
    with pytest.raises(ValueError, match="no time zone"):
        store.put_windows([window(5), bad], watermarks=[("monitor", "churn", 99)])
    assert store.get_watermark("monitor", "churn") == 42
    assert len(store.get_windows("churn")) == 3


def test_watermarks(store: Store) -> None:
    assert store.get_watermark("monitor", "churn") == 0
    store.set_watermark("monitor", "churn", 17)
    store.set_watermark("monitor", "fraud", 5)
    store.set_watermark("labels", "churn", 3)
    assert store.get_watermark("monitor", "churn") == 17
    store.set_watermark("monitor", "churn", 2**40)
    assert store.get_watermark("monitor", "churn") == 2**40
    assert store.get_watermark("monitor", "fraud") == 5
    assert store.get_watermark("labels", "churn") == 3
    assert store.get_watermark("labels", "fraud") == 0


# -- lifecycle ------------------------------------------------------------------------------


def test_check_passes_on_a_current_schema(store: Store) -> None:
    store.check()


def test_open_store_names_the_valid_schemes() -> None:
    with pytest.raises(ValueError, match="'mysql'") as caught:
        open_store("mysql://localhost/seismo")
    for example in SCHEMES.values():
        assert example in str(caught.value)
    with pytest.raises(ValueError, match=r"postgresql\+psycopg://u@h/db"):
        open_store("postgresql://u@h/db")


def test_sqlite_store_needs_a_file() -> None:
    with pytest.raises(ValueError, match="in-memory"):
        open_store("sqlite://")
    with pytest.raises(ValueError, match="in-memory"):
        open_store("sqlite:///:memory:")


def test_sqlite_store_creates_missing_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "seismo.db"
    store = open_store(f"sqlite:///{path}", upgrade=True)
    try:
        store.add_predictions([prediction()])
    finally:
        store.close()
    assert path.is_file()


def test_sqlite_connections_are_durable_and_checked(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite:///{tmp_path / 's.db'}", busy_timeout_ms=1234)
    try:
        with store.engine.connect() as connection:

            def pragma(name: str) -> Any:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("synchronous") == 2  # FULL
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 1234
    finally:
        store.close()


def test_locked_sqlite_database_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_store(url, upgrade=True).close()
    store = SQLStore(url, busy_timeout_ms=50)
    other = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with pytest.raises(StoreUnavailable, match="locked"):
            store.add_predictions([prediction()])
        other.execute("ROLLBACK")
        store.add_predictions([prediction()])
    finally:
        other.close()
        store.close()


def test_unreachable_postgres_is_unavailable_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1"):
        open_store("postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=3")
    with pytest.raises(StoreUnavailable):
        open_store("postgresql+psycopg://postgres@127.0.0.1:1/test")  # default timeout
    assert time.monotonic() - started < 10


def test_password_is_not_shown_in_errors() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        open_store("postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test")
    assert "s3cret" not in str(caught.value)


def test_writes_after_the_database_went_away_are_unavailable(
    postgres_admin: sa.Engine,
) -> None:
    name = f"seismo_gone_{int(time.time() * 1000) % 10**9}_{next(_ids)}"
    with postgres_admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(postgres_base_url()).set(database=name)
    store = open_store(url.render_as_string(hide_password=False), upgrade=True)
    try:
        store.add_predictions([prediction()])
        with postgres_admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        with pytest.raises(StoreUnavailable, match="unavailable"):
            store.add_predictions([prediction()])
        with pytest.raises(StoreUnavailable):
            store.check()
    finally:
        store.close()
        with postgres_admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_store_errors_are_store_errors(store: Store) -> None:
    assert issubclass(StoreUnavailable, StoreError)
    assert issubclass(DuplicatePrediction, StoreError)
    with pytest.raises(StoreError):
        store.add_predictions([prediction("x"), prediction("x")])


_WRITER = """
import sys
from datetime import UTC, datetime
from seismo.store import Prediction, open_store

store = open_store(sys.argv[1])
for batch in range(100_000):
    store.add_predictions(
        [Prediction(f"k{batch}-{i}", "killed", 1, datetime.now(UTC), {"i": i}, 0) for i in range(5)]
    )
    print(batch, flush=True)
"""


def test_acknowledged_predictions_survive_sigkill(store: Store, store_url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _WRITER, store_url], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    acknowledged = []
    try:
        for line in process.stdout:
            acknowledged.append(int(line))
            if len(acknowledged) == 30:
                process.kill()  # SIGKILL, mid-stream
                break
        acknowledged.extend(int(line) for line in process.stdout)
    finally:
        process.kill()
        process.wait()
    assert len(acknowledged) >= 30
    stored = {row.prediction.id for row in all_predictions(store, "killed")}
    for batch in acknowledged:
        assert {f"k{batch}-{i}" for i in range(5)} <= stored


def test_prediction_windows_are_computed_in_the_database(store: Store) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    times = [day + timedelta(hours=h, minutes=7) for h in (0, 5, 6, 23, 24, 49)]
    store.add_predictions([prediction(at=t) for t in times])
    store.add_predictions([prediction(at=day, version=2)])
    windows, last, rows = store.prediction_windows("churn", after_seq=0, window_seconds=6 * 3600)
    expected = {
        (1, day),
        (1, day + timedelta(hours=6)),
        (1, day + timedelta(hours=18)),
        (1, day + timedelta(hours=24)),
        (1, day + timedelta(hours=48)),
        (2, day),
    }
    assert windows == expected and rows == 7
    assert store.prediction_windows("churn", after_seq=last, window_seconds=3600) == (
        set(),
        last,
        0,
    )
    first_six = store.prediction_windows("churn", after_seq=0, window_seconds=86_400)
    assert first_six[0] == {
        (1, day),
        (1, day + timedelta(days=1)),
        (1, day + timedelta(days=2)),
        (2, day),
    }


@pytest.mark.parametrize("bulk", [0, COLUMNAR_MIN_ROWS])
def test_a_window_is_read_as_columns_with_labels_and_delays(store: Store, bulk: int) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    # `bulk` more rows of the window in the same write put them all in a columnar batch.
    filler = [
        prediction(f"bulk-{i}", at=day + timedelta(hours=5), features={"a": 0.5, "b": "y"})
        for i in range(bulk)
    ]
    store.add_predictions(
        [
            prediction("in-1", at=day, features={"a": 1.5, "b": "x"}, output="yes", score=0.9),
            *filler,
            prediction("other-version", at=day, version=2),
            prediction("next-day", at=day + timedelta(days=1)),
        ]
    )
    store.add_predictions(
        [prediction("in-2", at=day + timedelta(hours=3), features={"a": None}, score=None)]
    )
    store.add_labels([Label("in-1", "no", day + timedelta(minutes=90))])
    data = store.read_window("churn", version=1, start=day, end=day + timedelta(days=1))
    assert len(data) == 2 + bulk
    columns = data.columns
    rows = list(
        zip(
            to_list(columns.feature("a")),
            to_list(columns.feature("b")),
            to_list(columns.outputs),
            to_list(columns.scores),
            data.labels,
            data.label_delays.tolist(),
            strict=True,
        )
    )
    assert sorted(columns.feature_names) == ["a", "b"]
    assert to_list(columns.feature("missing")) == [None] * (2 + bulk)
    first = next(row for row in rows if row[2] == "yes")
    assert first[:5] == (1.5, "x", "yes", 0.9, "no")
    assert first[5] == pytest.approx(5400.0, abs=1e-3)
    second = next(row for row in rows if row[0] is None)
    assert second[1:5] == (None, 1, None, None) and math.isnan(second[5])
    assert sum(row[:2] == (0.5, "y") for row in rows) == bulk


# -- retention ------------------------------------------------------------------------------


def test_deleting_old_predictions_takes_their_labels_and_batches_with_them(store: Store) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    old_bulk = [
        prediction(f"old-{i}", at=day + timedelta(minutes=i)) for i in range(COLUMNAR_MIN_ROWS)
    ]
    store.add_predictions(old_bulk)  # one columnar batch, entirely old
    mixed = [prediction("old-own", at=day), prediction("new-own", at=day + timedelta(days=2))]
    store.add_predictions(mixed)
    straddling = [
        prediction(f"s-{i}", at=day + timedelta(days=i % 3)) for i in range(COLUMNAR_MIN_ROWS)
    ]
    store.add_predictions(straddling)  # one batch, partly old
    store.add_predictions([prediction("other-model", model="fraud", at=day)])
    store.add_labels([Label("old-own", 1, day), Label("new-own", 0, day), Label("s-2", 1, day)])
    assert isinstance(store, SQLStore)

    cutoff = day + timedelta(days=1)
    expected = COLUMNAR_MIN_ROWS + 1 + sum(1 for p in straddling if p.timestamp < cutoff)
    assert store.delete_predictions("churn", cutoff) == expected
    assert store.get_prediction("old-own") is None and store.get_prediction("old-3") is None
    kept = store.get_prediction("new-own")
    assert kept is not None and kept.label == 0
    kept_in_batch = store.get_prediction("s-2")  # its batch still serves the surviving rows
    assert kept_in_batch is not None and kept_in_batch.label == 1
    assert store.get_prediction("other-model") is not None
    remaining = [p.prediction.id for p in all_predictions(store, "churn")]
    assert sorted(remaining) == sorted(
        ["new-own", *(p.id for p in straddling if p.timestamp >= cutoff)]
    )
    with store.transaction() as connection:
        batches = connection.execute(sa.text("SELECT count(*) FROM prediction_batches")).scalar()
        changes = connection.execute(sa.text("SELECT count(*) FROM label_changes")).scalar()
    assert batches == 1  # the fully old batch went; the straddling one stays
    assert changes == 2  # the label change of the deleted prediction went with it
    assert store.get_watermark("retention", "churn") == int(cutoff.timestamp())
    # The horizon only moves forward.
    assert store.delete_predictions("churn", day) == 0
    assert store.get_watermark("retention", "churn") == int(cutoff.timestamp())


@pytest.mark.parametrize("chunk", [3, 64])
def test_a_prune_deletes_in_bounded_write_transactions(
    store: Store, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prune of many rows must not hold the write lock for all of them: each write
    transaction deletes at most a chunk, and the result is the same as one big delete."""
    monkeypatch.setattr("seismo.store.sql.predictions._DELETE_ROWS", chunk)
    day = datetime(2026, 3, 1, tzinfo=UTC)
    rows = [prediction(f"r{i}", at=day + timedelta(minutes=i)) for i in range(150)]
    store.add_predictions(rows[:COLUMNAR_MIN_ROWS])  # a batch ...
    store.add_predictions(rows[COLUMNAR_MIN_ROWS:])  # ... and another (86 rows)
    store.add_labels([Label("r5", 1, day), Label("r130", 0, day)])
    assert isinstance(store, SQLStore)
    writes: list[bool] = []
    transaction = store.transaction

    def counted(*, write: bool = False) -> Any:
        writes.append(write)
        return transaction(write=write)

    monkeypatch.setattr(store, "transaction", counted)
    cutoff = day + timedelta(minutes=120)
    assert store.delete_predictions("churn", cutoff) == 120
    assert sum(writes) == 1 + 120 // chunk + 1  # the horizon, full chunks, the last (short) one
    monkeypatch.undo()
    left = sorted(int(p.prediction.id[1:]) for p in all_predictions(store, "churn"))
    assert left == list(range(120, 150))
    with store.transaction() as connection:
        batches = connection.execute(sa.text("SELECT count(*) FROM prediction_batches")).scalar()
        changes = connection.execute(sa.text("SELECT count(*) FROM label_changes")).scalar()
    assert batches == 1 and changes == 1


def test_compacting_moves_json_rows_into_batches_without_changing_them(store: Store) -> None:
    day = datetime(2026, 3, 1, tzinfo=UTC)
    small = [
        prediction(
            f"c-{i}",
            at=day + timedelta(minutes=i),
            features={"a": i * 0.5, "b": "x" if i % 2 else "y", "big": 2**70, "n": None},
            output="yes" if i % 3 else "no",
            score=[0.25, 0.75],
        )
        for i in range(COLUMNAR_MIN_ROWS + 6)
    ]
    for first in range(0, len(small), 7):  # written a few at a time: JSON text per row
        store.add_predictions(small[first : first + 7])
    late = prediction("after-cutoff", at=day + timedelta(days=2))
    store.add_predictions([late])
    store.add_labels([Label("c-3", "no", day + timedelta(hours=5))])
    window = {"version": 1, "start": day, "end": day + timedelta(days=1)}
    before = store.read_window("churn", **window)

    assert store.compact_predictions("churn", day + timedelta(days=1)) == len(small)
    assert store.compact_predictions("churn", day + timedelta(days=1)) == 0  # nothing left
    for sent in small:
        stored = store.get_prediction(sent.id)
        assert stored is not None and stored.prediction == sent
    assert store.get_prediction("c-3").label == "no"  # type: ignore[union-attr]
    after = store.read_window("churn", **window)
    for name in ("a", "b", "big", "n"):
        assert sorted(map(repr, to_list(after.columns.feature(name)))) == sorted(
            map(repr, to_list(before.columns.feature(name)))
        )
    assert sorted(map(repr, after.labels)) == sorted(map(repr, before.labels))
    assert [p.prediction.id for p in all_predictions(store, "churn")] == [
        *(p.id for p in small),
        "after-cutoff",
    ]
    with store.transaction() as connection:
        own = connection.execute(
            sa.text("SELECT count(*) FROM predictions WHERE batch_seq IS NULL")
        ).scalar()
    assert own == 1  # only the row after the cutoff keeps its own JSON


def test_compaction_resumes_after_its_watermark(store: Store) -> None:
    open_window = T0 + timedelta(days=1)
    store.add_predictions([prediction(at=T0) for _ in range(3)])
    store.add_predictions([prediction("still-open", at=open_window)])
    assert store.compact_predictions("churn", open_window) == 3
    mark = store.get_watermark("compaction", "churn")
    assert mark == store.get_prediction("still-open").seq - 1  # type: ignore[union-attr]
    # A late row for the closed window arrives after the mark: the next call finds it.
    store.add_predictions([prediction("late", at=T0 + timedelta(hours=1))])
    assert store.compact_predictions("churn", open_window) == 1
    # Once the open window closes, its row moves too and the mark passes every row.
    assert store.compact_predictions("churn", open_window + timedelta(days=1)) == 1
    last = store.get_prediction("late")
    assert last is not None and store.get_watermark("compaction", "churn") == last.seq
    assert store.compact_predictions("churn", open_window + timedelta(days=1)) == 0


# -- ids per model --------------------------------------------------------------------------


@pytest.mark.parametrize("bulk", [1, COLUMNAR_MIN_ROWS])
def test_prediction_ids_are_unique_per_model_not_across_models(store: Store, bulk: int) -> None:
    ids = [f"req-{i}" for i in range(bulk)]
    store.add_predictions([prediction(i, model="champion", output=1) for i in ids])
    store.add_predictions([prediction(i, model="shadow", output=0) for i in ids])  # allowed
    with pytest.raises(DuplicatePrediction, match="'req-0' of model 'shadow'"):
        store.add_predictions([prediction("req-0", model="shadow")])
    with pytest.raises(DuplicatePrediction, match="appears twice"):
        store.add_predictions([prediction("x", model="a"), prediction("x", model="a")])
    store.add_predictions([prediction("y", model="a"), prediction("y", model="b")])  # one batch
    champion = store.get_prediction("req-0", model="champion")
    shadow = store.get_prediction("req-0", model="shadow")
    assert champion is not None and champion.prediction.output == 1
    assert shadow is not None and shadow.prediction.output == 0
    assert store.get_prediction("req-0", model="nobody") is None
    # Labels go to the model named; an id two models share needs the model.
    outcome = store.add_labels([Label("req-0", 1, T0)], model="shadow")
    assert outcome.inserted == 1
    labelled = store.get_prediction("req-0", model="shadow")
    assert labelled is not None and labelled.label == 1
    unlabelled = store.get_prediction("req-0", model="champion")
    assert unlabelled is not None and unlabelled.label is None
    with pytest.raises(ValueError, match="more than one model"):
        store.add_labels([Label("req-0", 1, T0)])


# -- tokens and leases ----------------------------------------------------------------------


def test_tokens_are_kept_by_digest_listed_and_revoked(store: Store) -> None:
    assert store.list_tokens() == []
    made = store.add_token("ci", "a" * 64, ["ingest", "read"], at=T0)
    assert made == ApiToken("ci", ("ingest", "read"), T0)
    store.add_token("ops", "b" * 64, ["admin"], at=T0)
    assert [t.name for t in store.list_tokens()] == ["ci", "ops"]
    found = store.find_token("a" * 64)
    assert found is not None and found.name == "ci" and found.active
    assert found.created_at.utcoffset() == timedelta(0)
    assert store.find_token("c" * 64) is None
    with pytest.raises(ValueError, match="'ci' exists"):
        store.add_token("ci", "d" * 64, ["read"], at=T0)
    assert store.revoke_token("ci", at=T0 + timedelta(hours=1))
    assert not store.revoke_token("ci", at=T0 + timedelta(hours=2))  # already revoked
    assert not store.revoke_token("nobody", at=T0)
    revoked = store.find_token("a" * 64)
    assert revoked is not None and not revoked.active
    assert revoked.revoked_at == T0 + timedelta(hours=1)
    # A revoked name can be used again, with a new token; the old one is gone.
    store.add_token("ci", "e" * 64, ["read"], at=T0 + timedelta(days=1))
    assert store.find_token("a" * 64) is None
    again = store.find_token("e" * 64)
    assert again is not None and again.active and again.scopes == ("read",)


def test_a_lease_has_one_holder_until_it_expires_or_is_released(store: Store) -> None:
    later = T0 + timedelta(minutes=5)
    assert store.acquire_lease("monitor", "a", until=later, now=T0)
    assert not store.acquire_lease("monitor", "b", until=later, now=T0 + timedelta(minutes=1))
    assert store.acquire_lease("monitor", "a", until=later + timedelta(minutes=5), now=T0)  # renew
    assert store.acquire_lease("other", "b", until=later, now=T0)  # leases are by name
    # Expired: another holder takes it.
    assert store.acquire_lease(
        "monitor", "b", until=later + timedelta(hours=1), now=later + timedelta(minutes=6)
    )
    store.release_lease("monitor", "a")  # not the holder: nothing happens
    assert not store.acquire_lease("monitor", "a", until=later, now=later)
    store.release_lease("monitor", "b")
    assert store.acquire_lease("monitor", "a", until=later, now=later)


def test_racing_for_a_free_lease_exactly_one_wins(store: Store) -> None:
    won: list[str] = []
    barrier = threading.Barrier(4)

    def race(holder: str) -> None:
        barrier.wait()
        if store.acquire_lease("race", holder, until=T0 + timedelta(hours=1), now=T0):
            won.append(holder)

    threads = [threading.Thread(target=race, args=(f"h{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1

"""The monitor over a data lake, on real Spark (local[2]): predictions and labels written as
Parquet (hive-partitioned by day) are summarised per window and segment into seismo's store,
and the summaries are those the single-process monitor writes for the same predictions and
labels logged through the store. A re-run writes the same summaries; late labels rebuild only
the windows they touch."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import seismo
from seismo.loop.models import register_model
from seismo.monitor import Monitor, MonitorSettings
from seismo.monitor.windows import WindowState
from seismo.spark.lake import LakeColumns, monitor_lake
from seismo.store import Label, Prediction, open_store
from seismo.store.base import Store
from tests.profile.same import assert_same_profile

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.xdist_group("spark")

MODEL = "churn"
SPEND = "spend.eur `net`"  # a feature name Spark's column API would misread
START = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
DAYS = 6
SETTINGS = MonitorSettings(
    window=dt.timedelta(days=1), segments=("region",), compact=False, max_segment_values=2
)


def _reference() -> Any:
    rng = np.random.default_rng(0)
    rows = 5_000
    score = rng.random(rows)
    return seismo.fit_reference(
        {
            "tenure": rng.gamma(2, 12, rows),
            SPEND: rng.lognormal(3, 1, rows),
            "plan": rng.choice(["basic", "pro", "team"], rows),
            "region": rng.choice(["eu", "us", "apac"], rows, p=[0.5, 0.3, 0.2]),
            "label": np.where(rng.random(rows) < score, "yes", "no"),
            "prediction": np.where(score > 0.5, "yes", "no"),
            "score": score,
        },
        {
            "columns": {
                "label": {"role": "target"},
                "prediction": {"role": "prediction"},
                "score": {"role": "score"},
            }
        },
    )


def _store(path: Path) -> Store:
    store = open_store(f"sqlite:///{path}", upgrade=True)
    register_model(
        store,
        MODEL,
        reference=_reference(),
        task="classification",
        classes=["no", "yes"],
        models_dir=path.parent / "models",
    )
    return store


def _predictions(seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    rows = 400 * DAYS
    seconds = np.sort(rng.integers(0, DAYS * 86_400, rows))
    drift = seconds / (DAYS * 86_400)
    score = np.clip(rng.random(rows) + 0.2 * drift, 0, 1)
    return pa.table(
        {
            "id": [f"p{i}" for i in range(rows)],
            "timestamp": pa.array(
                [START + dt.timedelta(seconds=int(s)) for s in seconds], pa.timestamp("us", "UTC")
            ),
            "version": pa.array(np.ones(rows, dtype=np.int64)),
            "tenure": rng.gamma(2, 12 + 6 * drift, rows),
            SPEND: rng.lognormal(3, 1, rows),
            "plan": rng.choice(["basic", "pro", "team"], rows),
            "region": rng.choice(["eu", "us", "apac"], rows, p=[0.45, 0.35, 0.2]),
            "prediction": np.where(score > 0.5, "yes", "no"),
            "score": score,
        }
    )


def _labels(predictions: pa.Table, share: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    chosen = np.flatnonzero(rng.random(predictions.num_rows) < share)
    stamps = predictions.column("timestamp").to_pylist()
    scores = predictions.column("score").to_numpy()
    return pa.table(
        {
            "id": [predictions.column("id")[int(i)].as_py() for i in chosen],
            "label": ["yes" if rng.random() < scores[i] else "no" for i in chosen],
            "received_at": pa.array(
                [stamps[i] + dt.timedelta(days=2, minutes=int(i % 90)) for i in chosen],
                pa.timestamp("us", "UTC"),
            ),
        }
    )


def _write_lake(folder: Path, predictions: pa.Table) -> Path:
    """Predictions partitioned by day (date=YYYY-MM-DD), as a streaming job writes them."""
    days = [t.date().isoformat() for t in predictions.column("timestamp").to_pylist()]
    for day in sorted(set(days)):
        rows = [i for i, d in enumerate(days) if d == day]
        where = folder / f"date={day}"
        where.mkdir(parents=True)
        pq.write_table(predictions.take(pa.array(rows)), where / "part-0.parquet")
    return folder


def _log(store: Store, predictions: pa.Table, labels: list[pa.Table]) -> None:
    """The same predictions and labels, logged through the store as the service logs them."""
    features = ["tenure", SPEND, "plan", "region"]
    rows = predictions.to_pylist()
    store.add_predictions(
        [
            Prediction(
                r["id"],
                MODEL,
                1,
                r["timestamp"],
                {f: r[f] for f in features},
                r["prediction"],
                r["score"],
            )
            for r in rows
        ]
    )
    for table in labels:
        store.add_labels([Label(r["id"], r["label"], r["received_at"]) for r in table.to_pylist()])


def _states(store: Store) -> dict[tuple[int, dt.datetime, str], WindowState]:
    return {
        (w.version, w.start, w.segment): WindowState.from_bytes(w.payload)
        for w in store.get_windows(MODEL)
    }


def _assert_same_states(
    lake: dict[tuple[int, dt.datetime, str], WindowState],
    single: dict[tuple[int, dt.datetime, str], WindowState],
) -> None:
    assert sorted(lake) == sorted(single)
    for key, state in single.items():
        other = lake[key]
        assert (other.rows, other.labelled) == (state.rows, state.labelled), key
        assert other.label_delay_seconds == pytest.approx(state.label_delay_seconds), key
        assert_same_profile(other.profile, state.profile)
        assert other.performance is not None and state.performance is not None
        left, right = other.performance.to_dict(), state.performance.to_dict()
        assert left.keys() == right.keys(), key
        for name, value in right.items():
            if isinstance(value, float):  # sums: equal up to the order of addition
                assert left[name] == pytest.approx(value, rel=1e-9), (key, name)
            else:
                assert left[name] == value, (key, name)


def test_the_lake_monitor_writes_the_single_process_summaries(
    spark: SparkSession, tmp_path: Path
) -> None:
    predictions = _predictions()
    first_labels = _labels(predictions, 0.6, seed=2)
    lake = _write_lake(tmp_path / "predictions", predictions)
    (tmp_path / "labels").mkdir()
    pq.write_table(first_labels, tmp_path / "labels" / "batch-1.parquet")

    single = _store(tmp_path / "single.db")
    _log(single, predictions, [first_labels])
    Monitor(single, SETTINGS).run()

    store = _store(tmp_path / "lake.db")
    run = monitor_lake(
        store, MODEL, str(lake), str(tmp_path / "labels"), settings=SETTINGS, spark=spark
    )
    assert run.full and len(run.touched) == DAYS
    assert run.predictions_read == predictions.num_rows
    states = _states(store)
    assert {k[2] for k in states} == {"", "region=eu", "region=us", "region=(other)"}
    _assert_same_states(states, _states(single))

    # Nothing new: nothing rebuilt, the summaries stay; a full re-run writes the same ones.
    again = monitor_lake(
        store, MODEL, str(lake), str(tmp_path / "labels"), settings=SETTINGS, spark=spark
    )
    assert again.touched == [] and again.windows == []
    full = monitor_lake(
        store,
        MODEL,
        str(lake),
        str(tmp_path / "labels"),
        settings=SETTINGS,
        spark=spark,
        full=True,
    )
    assert len(full.touched) == DAYS
    _assert_same_states(_states(store), _states(single))

    # Late labels for the predictions of days 2 and 4 only (some relabel): those windows alone
    # are rebuilt, and the result is the single-process monitor's with the same labels.
    days = [t.date() for t in predictions.column("timestamp").to_pylist()]
    late_days = {(START + dt.timedelta(days=d)).date() for d in (2, 4)}
    rows = pa.array([i for i, d in enumerate(days) if d in late_days])
    late = _labels(predictions.take(rows), 0.9, seed=3)
    late = late.set_column(
        2,
        "received_at",
        pa.array(
            [t + dt.timedelta(days=3) for t in late.column("received_at").to_pylist()],
            pa.timestamp("us", "UTC"),
        ),
    )
    pq.write_table(late, tmp_path / "labels" / "batch-2.parquet")
    later = monitor_lake(
        store, MODEL, str(lake), str(tmp_path / "labels"), settings=SETTINGS, spark=spark
    )
    assert not later.full
    assert [start.date() for _, start in later.touched] == sorted(late_days)
    _log(single, predictions.slice(0, 0), [late])
    Monitor(single, SETTINGS).run()
    _assert_same_states(_states(store), _states(single))


def test_wrong_lake_inputs_are_named(spark: SparkSession, tmp_path: Path) -> None:
    store = _store(tmp_path / "lake.db")
    with pytest.raises(seismo.InputError, match=r"nowhere: no such file or directory"):
        monitor_lake(store, MODEL, str(tmp_path / "nowhere"), spark=spark, settings=SETTINGS)
    predictions = _predictions().drop_columns([SPEND])
    lake = _write_lake(tmp_path / "predictions", predictions)
    with pytest.raises(
        seismo.InputError, match=r"the predictions have no column\(s\) \['spend\.eur `net`'\]"
    ):
        monitor_lake(store, MODEL, str(lake), spark=spark, settings=SETTINGS)
    with pytest.raises(seismo.InputError, match=r"model 'other' is not registered"):
        monitor_lake(
            store,
            "other",
            str(lake),
            spark=spark,
            settings=SETTINGS,
            columns=LakeColumns(version="no such column"),
        )


def test_monitor_run_with_the_spark_engine(spark: SparkSession, tmp_path: Path) -> None:
    """``seismo monitor run --engine spark`` summarises the lake into the store, then the alert
    rules read the summaries as they read the service's."""
    from typer.testing import CliRunner

    from seismo.cli import app

    predictions = _predictions()
    lake = _write_lake(tmp_path / "predictions", predictions)
    labels = tmp_path / "labels.parquet"
    pq.write_table(_labels(predictions, 0.5, seed=4), labels)
    _store(tmp_path / "lake.db").close()
    store = f"sqlite:///{tmp_path / 'lake.db'}"
    config = tmp_path / "seismo.yaml"
    config.write_text(f"store: {store}\nmonitor:\n  window: 1d\n  segments: [region]\n")
    command = ["monitor", "run", "--config", str(config), "--engine", "spark", "--model", MODEL]
    lake_flags = ["--predictions", str(lake), "--labels", str(labels), "--column", "partition=date"]
    done = CliRunner().invoke(app, [*command, *lake_flags])
    assert done.exit_code == 0, done.output
    assert done.output.startswith(
        f"monitor: {predictions.num_rows} predictions summarised (every window), 6 windows updated"
    ), done.output
    windows = open_store(store).get_windows(MODEL)
    assert {w.segment for w in windows} == {"", "region=eu", "region=us", "region=apac"}
    assert sum(WindowState.from_bytes(w.payload).rows for w in windows if not w.segment) == (
        predictions.num_rows
    )

    done = CliRunner().invoke(app, ["monitor", "run", "--config", str(config), "--labels", "x"])
    assert (done.exit_code, done.output.strip()) == (2, "error: --labels: only with --engine spark")
    done = CliRunner().invoke(app, [*command, *lake_flags, "--column", "when=ts"])
    assert done.exit_code == 2
    assert done.output.startswith("error: --column 'when=ts': expected FIELD=COLUMN with FIELD")
    done = CliRunner().invoke(app, command)
    assert done.exit_code == 2
    assert (
        done.output.strip() == "error: --engine spark: give --predictions (the lake's predictions)"
    )


def test_late_labels_read_only_their_days_when_the_lake_says_where_they_are(
    spark: SparkSession, tmp_path: Path
) -> None:
    """With a hive partition column of the prediction's day and labels that carry their
    prediction's timestamp, a run for late labels opens only the files of the days they
    label: the other days' files are not read at all (here one is made unreadable)."""
    predictions = _predictions()
    lake = _write_lake(tmp_path / "predictions", predictions)
    labels = tmp_path / "labels"
    labels.mkdir()
    columns = LakeColumns(partition="date")
    store = _store(tmp_path / "lake.db")
    run = monitor_lake(
        store, MODEL, str(lake), str(labels), settings=SETTINGS, spark=spark, columns=columns
    )
    assert run.full and len(run.touched) == DAYS
    before = _states(store)

    # Days 1 and 2 are more than a day (the margin for the writer's time zone) from the late
    # labels' days 4 and 5. (Spark reads the first file's footer for the schema: not day 0.)
    for day in (1, 2):
        other = lake / f"date={(START + dt.timedelta(days=day)).date().isoformat()}"
        broken = other / "part-0.parquet"
        times = (broken.stat().st_atime, broken.stat().st_mtime)
        broken.write_bytes(b"PAR1 not a parquet file any more PAR1")
        os.utime(broken, times)  # not a new file: the run must not look at it
    days = [t.date() for t in predictions.column("timestamp").to_pylist()]
    late_days = {(START + dt.timedelta(days=d)).date() for d in (4, 5)}
    rows = pa.array([i for i, d in enumerate(days) if d in late_days])
    late = _labels(predictions.take(rows), 0.9, seed=5)
    stamps = predictions.take(rows).column("timestamp")
    by_id = dict(
        zip(predictions.take(rows).column("id").to_pylist(), stamps.to_pylist(), strict=True)
    )
    late = late.append_column(
        "timestamp", pa.array([by_id[i] for i in late.column("id").to_pylist()], stamps.type)
    )
    pq.write_table(late, labels / "late.parquet")
    later = monitor_lake(
        store, MODEL, str(lake), str(labels), settings=SETTINGS, spark=spark, columns=columns
    )
    assert [start.date() for _, start in later.touched] == sorted(late_days)
    after = _states(store)
    for key, state in after.items():
        if key[1].date() in late_days:
            assert state.labelled > before[key].labelled
        else:
            assert (state.rows, state.labelled) == (before[key].rows, before[key].labelled)


def test_a_lake_run_waits_its_turn(spark: SparkSession, tmp_path: Path) -> None:
    """The lake monitor takes the monitor's lease: while another run (the service's monitor,
    another lake run) holds it, this one does nothing and says so."""
    from seismo.monitor.job import LEASE

    store = _store(tmp_path / "lake.db")
    lake = _write_lake(tmp_path / "predictions", _predictions())
    now = dt.datetime.now(dt.UTC)
    assert store.acquire_lease(LEASE, "service", until=now + dt.timedelta(minutes=5), now=now)
    run = monitor_lake(store, MODEL, str(lake), settings=SETTINGS, spark=spark)
    assert run.busy == "another monitor run" and run.windows == []
    assert store.get_windows(MODEL) == []
    store.release_lease(LEASE, "service")
    run = monitor_lake(store, MODEL, str(lake), settings=SETTINGS, spark=spark)
    assert run.busy is None and len(run.windows) == DAYS


@pytest.mark.parametrize(
    "values",
    [
        pa.array(["b", None, "a", "None", "b", None]),
        pa.array([3, 1, None, 3, 2]),
        pa.array([1.5, float("nan"), -0.0, 0.0, None, 1.5]),
        pa.array([True, None, False, True]),
        pa.array(["x", "y"]).dictionary_encode(),
        pa.array([[1, 2], None, [1, 2], []]),
        pa.array([{"a": 1}, {"a": 2}, {"a": 1}]),
        pa.array([], pa.string()),
    ],
    ids=["text", "int", "float", "bool", "dictionary", "list", "struct", "empty"],
)
def test_segment_values_are_coded_as_one_pass_over_the_rows_names_them(values: pa.Array) -> None:
    """The lake counts and splits segments per distinct value (not per row): every row's code
    names the value text a pass over the rows gives it, whatever the column's type."""
    from seismo.monitor.job import _hashable
    from seismo.spark.lake import _distinct

    codes, distinct = _distinct(values)
    assert len(codes) == len(values)
    got = [str(_hashable(distinct[code])) for code in codes]
    assert got == [str(_hashable(value)) for value in values.to_pylist()]

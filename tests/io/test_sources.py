"""Every adapter (pandas, polars, pyarrow, mappings, CSV, Parquet) gives the same profiles."""

from __future__ import annotations

import gzip
import math
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import seismo
from seismo.errors import InputError
from seismo.io.sources import CsvSource, ParquetSource, open_source
from seismo.profile import build
from seismo.profile._codec import decode_array
from seismo.profile.batch import NumericBatch
from seismo.profile.build import ProfileOptions
from seismo.profile.categorical import CategoricalProfile
from seismo.profile.dataset import DatasetProfile, Reference
from seismo.profile.grid import CategoricalGrid
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import Kind, Physical, SchemaOverrides
from tests.profile.same import assert_same_profile

ROWS = 3000


def _frame(seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, ROWS)
    x[::17] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 100, ROWS),
            "city": rng.choice(["paris", "lyon", "nice", "lille"], ROWS),
            "flag": rng.random(ROWS) < 0.3 + shift / 10,
            "when": pd.date_range("2024-01-01", periods=ROWS, freq="h", tz="Europe/Paris"),
        }
    )


def _csv(frame: pd.DataFrame, tmp_path: Path) -> str:
    path = tmp_path / f"data{len(list(tmp_path.iterdir()))}.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _parquet(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / f"data{len(list(tmp_path.iterdir()))}.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=500)
    return path


def _mapping(frame: pd.DataFrame, tmp_path: Path) -> dict[str, np.ndarray]:
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    columns["when"] = frame["when"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
    return columns


ADAPTERS: dict[str, Callable[[pd.DataFrame, Path], Any]] = {
    "pandas-numpy": lambda frame, _: frame,
    "pandas-nullable": lambda frame, _: frame.astype(
        {"x": "Float64", "n": "Int64", "flag": "boolean", "city": "category"}
    ),
    "pandas-pyarrow-strings": lambda frame, _: frame.astype({"city": "string[pyarrow]"}),
    "pandas-arrow-dtypes": lambda frame, _: frame.convert_dtypes(dtype_backend="pyarrow"),
    "polars": lambda frame, _: pl.from_pandas(frame),
    "polars-categorical": lambda frame, _: pl.from_pandas(frame).with_columns(
        pl.col("city").cast(pl.Categorical)
    ),
    "pyarrow-table": lambda frame, _: pa.Table.from_pandas(frame, preserve_index=False),
    "pyarrow-record-batch": lambda frame, _: pa.RecordBatch.from_pandas(
        frame, preserve_index=False
    ),
    "mapping-of-numpy": _mapping,
    "csv-file": _csv,
    "parquet-file": _parquet,
    "parquet-dictionary-columns": lambda frame, tmp_path: _parquet(
        frame.astype({"city": "category"}), tmp_path
    ),
}


def assert_same(left: Any, right: Any, path: str = "") -> None:
    """Recursive equality; floats to 1e-9 relative (batch merges may round differently)."""
    if isinstance(left, dict) and isinstance(right, dict):
        assert set(left) == set(right), f"{path}: keys {set(left) ^ set(right)}"
        for key in left:
            assert_same(left[key], right[key], f"{path}/{key}")
    elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
        assert len(left) == len(right), f"{path}: lengths {len(left)} != {len(right)}"
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(left, float) and isinstance(right, float):
        assert left == pytest.approx(right, rel=1e-9, abs=1e-12, nan_ok=True), path
    else:
        assert left == right, f"{path}: {left!r} != {right!r}"


def _reference_dict(reference: Reference) -> dict[str, Any]:
    return _decoded(reference.to_dict())


def _decoded(value: Any) -> Any:
    """Encoded arrays as lists, so float arrays (per-bin sums) compare to a tolerance too."""
    if isinstance(value, dict):
        if set(value) == {"dtype", "data"}:
            return decode_array(value, np.float64).tolist()
        return {key: _decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    return value


def _report_dict(report: seismo.DriftReport) -> dict[str, Any]:
    data = report.to_dict()
    del data["reference"], data["current"]  # the display names differ by adapter
    return data


@pytest.fixture(scope="module")
def baseline() -> tuple[dict[str, Any], dict[str, Any]]:
    reference = _frame(0)
    report = seismo.compare(reference, _frame(1, shift=0.3))
    return _reference_dict(seismo.fit_reference(reference)), _report_dict(report)


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_every_adapter_gives_the_same_reference_and_report(
    adapter: str, baseline: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    make = ADAPTERS[adapter]
    reference, current = make(_frame(0), tmp_path), make(_frame(1, shift=0.3), tmp_path)
    expected_reference, expected_report = baseline
    assert_same(_reference_dict(seismo.fit_reference(reference)), expected_reference)
    assert_same(_report_dict(seismo.compare(reference, current)), expected_report)


def test_the_baseline_itself_is_sensible(baseline: tuple[dict[str, Any], dict[str, Any]]) -> None:
    reference, report = baseline
    kinds = {name: c["kind"] for name, c in reference["schema"]["columns"].items()}
    assert kinds == {
        "x": "numeric",
        "n": "numeric",
        "city": "categorical",
        "flag": "boolean",
        "when": "datetime",
    }
    x = reference["profile"]["columns"]["x"]
    # pandas NaN in a float column is a missing value, as in Arrow, polars and CSV.
    assert x["null_count"] == math.ceil(ROWS / 17) and x["nan_count"] == 0
    assert {c["column"]: c["drifted"] for c in report["columns"]}["x"] is True


# Parquet read in batches.


def _numbers_table(rows: int, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0.0, 1.0, rows)
    values[::101] = np.nan
    return pa.table(
        {
            "value": pa.array(values, from_pandas=True),
            "count": rng.poisson(4.0, rows),
            "code": pa.array(rng.choice(["a", "b", "c", "d", "e"], rows)),
        }
    )


def _assert_same_profiles(batched: DatasetProfile, whole: DatasetProfile) -> None:
    assert batched.row_count == whole.row_count
    assert batched.physical == whole.physical
    for name, expected in whole.columns.items():
        got = batched.columns[name]
        assert type(got) is type(expected)
        np.testing.assert_array_equal(got.bin_counts, expected.bin_counts)
        assert (got.count, got.null_count) == (expected.count, expected.null_count)
        if isinstance(got, NumericProfile) and isinstance(expected, NumericProfile):
            assert got.grid.same_as(expected.grid)
            assert (got.nan_count, got.invalid_count) == (expected.nan_count, 0)
            assert (got.minimum, got.maximum) == (expected.minimum, expected.maximum)
            assert got.mean == pytest.approx(expected.mean, rel=1e-9)
            assert got.variance == pytest.approx(expected.variance, rel=1e-9)
        else:
            assert isinstance(got, CategoricalProfile)
            assert isinstance(expected, CategoricalProfile)
            assert got.grid.same_as(expected.grid)


def test_parquet_is_read_in_several_batches_with_the_same_profile(tmp_path: Path) -> None:
    rows = 20_000
    path = tmp_path / "numbers.parquet"
    table = _numbers_table(rows)
    pq.write_table(table, path, row_group_size=700)
    source = ParquetSource(path, batch_rows=1000)
    sizes = [batch.rows for batch in source.batches()]
    assert len(sizes) >= 15 and max(sizes) <= 1000 and sum(sizes) == rows
    assert source.total_rows == rows

    # A sample smaller than the data exercises the reservoir across batches too.
    options = ProfileOptions(sample_rows=5000)
    batched = build.fit_reference(ParquetSource(path, batch_rows=1000), options=options)
    whole = build.fit_reference(ParquetSource(path, batch_rows=10**9), options=options)
    in_memory = seismo.fit_reference(table, options=options)
    assert batched.schema == whole.schema == in_memory.schema
    _assert_same_profiles(batched.profile, whole.profile)
    _assert_same_profiles(in_memory.profile, whole.profile)
    current = build.profile_current(whole, ParquetSource(path, batch_rows=1000))
    _assert_same_profiles(current, whole.profile)


_MEMORY_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    import seismo

    def status(field):
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])  # KiB

    seismo.fit_reference({"a": np.arange(100.0), "b": np.array(["x", "y"] * 50)})  # warm up
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # reset the peak (VmHWM) to the current RSS
    except OSError:
        print("unsupported 0")
        sys.exit(0)
    before = status("VmRSS")
    reference = seismo.fit_reference(sys.argv[1])
    current = seismo.profile(reference, sys.argv[1])
    print(status("VmHWM") - before, current.row_count)
    """
)


def _write_rows(path: Path, rows: int) -> None:
    chunk = 100_000
    with pq.ParquetWriter(path, _numbers_table(10).schema) as writer:
        for start in range(0, rows, chunk):
            writer.write_table(_numbers_table(min(chunk, rows - start), seed=start), 50_000)


def _peak_growth_kib(path: Path) -> tuple[int, int]:
    """Peak RSS growth of fitting and profiling ``path`` in a fresh process (Linux)."""
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    growth, rows = done.stdout.split()
    if growth == "unsupported":
        reason = "cannot reset the peak RSS (/proc/self/clear_refs): memory test not run"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: CI must run it")
        pytest.skip(reason)
    return int(growth), int(rows)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_parquet_memory_does_not_grow_with_the_row_count(tmp_path: Path) -> None:
    # Both files span several 262,144-row batches, so both reach the steady state of batch
    # reading; the big one has ten times the rows and must not need much more memory.
    small, big = tmp_path / "small.parquet", tmp_path / "big.parquet"
    _write_rows(small, 600_000)
    _write_rows(big, 6_000_000)
    small_growth, small_rows = _peak_growth_kib(small)
    big_growth, big_rows = _peak_growth_kib(big)
    assert (small_rows, big_rows) == (600_000, 6_000_000)
    assert big_growth <= 1.5 * small_growth, (small_growth, big_growth)


# CSV: a column that turns out to hold text, or another type, in a later block.


def _write_lines(path: Path, header: str, lines: list[str]) -> None:
    path.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def _clean_reference(rows: int = 4000) -> Reference:
    rng = np.random.default_rng(11)
    return seismo.fit_reference({"x": rng.normal(size=rows), "k": rng.integers(0, 10, rows)})


def test_csv_column_turning_to_text_in_a_later_block_loses_no_row(tmp_path: Path) -> None:
    rows = 10_000
    rng = np.random.default_rng(5)
    x = [f"{value:.4f}" for value in rng.normal(size=rows)]
    bad_rows = [6000, 7500, 9999]
    for row in bad_rows:
        x[row] = "oops"
    path = tmp_path / "late_text.csv"
    _write_lines(
        path, "x,k", [f"{a},{b}" for a, b in zip(x, rng.integers(0, 10, rows), strict=True)]
    )
    line_count = len(path.read_text().splitlines()) - 1  # minus the header

    source = CsvSource(path, block_bytes=2048)
    assert source.physical["x"] is Physical.FLOAT  # what the first block showed
    sizes = [batch.rows for batch in source.batches()]
    assert len(sizes) > 20 and sum(sizes) == line_count == rows
    assert source.physical == {"x": Physical.MIXED, "k": Physical.INT}

    reference = _clean_reference()
    current = build.profile_current(reference, CsvSource(path, block_bytes=2048))
    assert current.row_count == rows
    profile = current.columns["x"]
    assert isinstance(profile, NumericProfile)
    assert profile.count == rows
    assert profile.invalid_count == len(bad_rows)
    assert profile.finite_count == rows - len(bad_rows)
    expected = np.array([float(v) for v in x if v != "oops"])
    assert profile.mean == pytest.approx(expected.mean(), rel=1e-9)

    report = seismo.compare(reference, current)
    checks = {(a.check, a.column) for a in report.anomalies}
    assert ("invalid_numbers", "x") in checks
    assert ("mixed_types", "x") in checks
    assert not report["k"].drifted


def test_csv_reference_with_late_text_counts_it_invalid(tmp_path: Path) -> None:
    rows = 5000
    values = [str(i % 97) for i in range(rows)]
    values[4321] = "n.a."
    path = tmp_path / "reference.csv"
    _write_lines(path, "x", values)
    schema = SchemaOverrides.from_dict({"columns": {"x": "numeric"}})
    reference = build.fit_reference(CsvSource(path, block_bytes=1024), schema)
    profile = reference.profile.columns["x"]
    assert isinstance(profile, NumericProfile)
    assert (profile.count, profile.invalid_count, profile.finite_count) == (rows, 1, rows - 1)


def _late_change(kind: str) -> list[str]:
    rng = np.random.default_rng(9)
    if kind == "float-then-text":
        values = [f"{v:.4f}" for v in rng.normal(size=5000)]
        values[4500] = "oops"
    elif kind == "empty-then-text":
        values = [""] * 2500 + [str(v) for v in rng.choice(["a", "b", "c"], 2500)]
    else:
        values = [str(i % 97) for i in range(5000)]
        values[4500] = "2.5" if kind == "int-then-decimal" else "n.a."
    return values


@pytest.mark.parametrize(
    "change", ["float-then-text", "int-then-decimal", "int-then-text", "empty-then-text"]
)
def test_csv_reference_does_not_depend_on_the_block_size(change: str, tmp_path: Path) -> None:
    # A value that does not fit, late in a big file (16 MiB blocks), must not change how the
    # column is fitted: read in one block, the first three are numeric features and the last
    # is categorical with categories a, b, c.
    # The first three currently fail, in src/seismo/profile/build.py: _ColumnScan.physical
    # makes int+float batches "mixed", and _ColumnScan.evidence gives a mixed column parsed as
    # numbers share_numeric_text=0, so infer_kind calls it categorical or id.
    path = tmp_path / "late.csv"
    _write_lines(path, "i,x", [f"{i},{v}" for i, v in enumerate(_late_change(change))])
    one_block = build.fit_reference(CsvSource(path))
    many_blocks = build.fit_reference(CsvSource(path, block_bytes=1024))
    expected = Kind.CATEGORICAL if change == "empty-then-text" else Kind.NUMERIC
    assert one_block.schema["x"].kind is expected
    got, want = many_blocks.schema["x"], one_block.schema["x"]
    assert (got.kind, got.role) == (want.kind, want.role)
    if expected is Kind.CATEGORICAL:
        grid = many_blocks.profile.columns["x"].grid
        assert isinstance(grid, CategoricalGrid)
        assert sorted(grid.categories) == ["a", "b", "c"]


def test_csv_integers_that_turn_to_decimals_are_widened_not_text(tmp_path: Path) -> None:
    rows = 6000
    values = [str(i % 10) for i in range(rows)]
    values[5000] = "2.5"
    path = tmp_path / "widen.csv"
    _write_lines(path, "x,k", [f"{v},{i % 10}" for i, v in enumerate(values)])
    source = CsvSource(path, block_bytes=1024)
    assert sum(batch.rows for batch in source.batches()) == rows
    assert source.physical["x"] is Physical.FLOAT

    reference = _clean_reference()
    current = build.profile_current(reference, CsvSource(path, block_bytes=1024))
    profile = current.columns["x"]
    assert isinstance(profile, NumericProfile)
    assert profile.invalid_count == 0 and profile.finite_count == rows
    assert profile.mean == pytest.approx(sum(float(v) for v in values) / rows, rel=1e-12)
    checks = {a.check for a in seismo.compare(reference, current).anomalies}
    assert "mixed_types" not in checks and "invalid_numbers" not in checks


def test_csv_datetimes_that_turn_to_text_keep_their_values(tmp_path: Path) -> None:
    rows = 4000
    stamps = pd.date_range("2024-01-01", periods=rows, freq="min")
    texts = [str(stamp) for stamp in stamps]
    texts[3500] = "not a date"
    path = tmp_path / "dates.csv"
    _write_lines(path, "t", texts)
    clean = tmp_path / "clean_dates.csv"
    _write_lines(clean, "t", [str(stamp) for stamp in stamps[:1000]])
    reference = seismo.fit_reference(str(clean))
    assert reference.schema["t"].kind is Kind.DATETIME

    current = build.profile_current(reference, CsvSource(path, block_bytes=1024))
    profile = current.columns["t"]
    assert isinstance(profile, NumericProfile)
    assert (profile.count, profile.invalid_count, profile.null_count) == (rows, 1, 0)
    seconds = np.delete(stamps.as_unit("s").asi8.astype(np.float64), 3500)
    assert profile.mean == pytest.approx(seconds.mean(), rel=1e-12)
    assert profile.maximum == seconds.max()


@pytest.mark.parametrize(
    ("first", "late"),
    [
        ("2024-01-{day:02d} 00:00:{second:02d}", "2024-01-05 00:00:00.500"),  # s -> ns
        ("2024-01-{day:02d}", "2024-01-05 10:30:00"),  # dates -> timestamps
    ],
)
def test_csv_datetimes_widen_before_turning_to_text(first: str, late: str, tmp_path: Path) -> None:
    texts = [first.format(day=1 + i % 28, second=i % 60) for i in range(3000)]
    texts[2500] = late
    path = tmp_path / "stamps.csv"
    _write_lines(path, "t", texts)
    source = CsvSource(path, block_bytes=1024)
    columns = [batch["t"] for batch in source.batches()]
    assert source.physical["t"] is Physical.DATETIME
    assert all(isinstance(c, NumericBatch) and c.invalid_count == 0 for c in columns)
    seconds = np.concatenate([c.values for c in columns if isinstance(c, NumericBatch)])
    expected = pd.to_datetime(pd.Series(texts), format="ISO8601").astype("datetime64[ns]")
    np.testing.assert_allclose(seconds, expected.to_numpy().astype(np.int64) / 1e9, atol=1e-6)


def test_csv_booleans_that_turn_to_text_keep_false_and_true(tmp_path: Path) -> None:
    rows = 4000
    flags = ["True" if i % 3 == 0 else "False" for i in range(rows)]
    flags[3900] = "maybe"
    path = tmp_path / "flags.csv"
    _write_lines(path, "b", flags)
    clean = tmp_path / "clean_flags.csv"
    _write_lines(clean, "b", flags[:1500])
    reference = seismo.fit_reference(str(clean))
    assert reference.schema["b"].kind is Kind.BOOLEAN

    current = build.profile_current(reference, CsvSource(path, block_bytes=1024))
    profile = current.columns["b"]
    assert isinstance(profile, CategoricalProfile)
    assert profile.grid.categories == ("false", "true")
    assert profile.bin_counts.tolist() == [flags.count("False"), flags.count("True"), 1]
    report = seismo.compare(reference, current)
    assert not report["b"].drifted
    assert ("unseen_categories", "b") in {(a.check, a.column) for a in report.anomalies}


def test_csv_column_empty_in_the_first_block_is_typed_by_later_values(tmp_path: Path) -> None:
    rows = 4000
    path = tmp_path / "late_values.csv"
    _write_lines(path, "x,y", [f"{i},{'' if i < 2000 else i / 4}" for i in range(rows)])
    source = CsvSource(path, block_bytes=1024)
    assert source.physical["y"] is Physical.FLOAT  # known before profiling: it read ahead
    assert sum(batch.rows for batch in source.batches()) == rows
    assert source.physical["y"] is Physical.FLOAT

    reference = seismo.fit_reference({"x": np.arange(100.0), "y": np.arange(100.0)})
    current = build.profile_current(reference, CsvSource(path, block_bytes=1024))
    profile = current.columns["y"]
    assert isinstance(profile, NumericProfile)
    assert (profile.null_count, profile.finite_count, profile.invalid_count) == (2000, 2000, 0)
    assert "mixed_types" not in {a.check for a in seismo.compare(reference, current).anomalies}


def test_csv_rereading_after_a_widening_repeats_no_row_despite_blank_lines(
    tmp_path: Path,
) -> None:
    lines = []
    for i in range(3000):
        lines.append(f"{i},{i % 7}" if i != 2500 else "oops,1")
        if i % 100 == 0:
            lines.append("")  # blank lines are skipped, not rows
    path = tmp_path / "blank_lines.csv"
    _write_lines(path, "a,b", lines)
    source = CsvSource(path, block_bytes=1024)
    seen: list[str] = []  # every row's value of "a", in file order
    for batch in source.batches():
        column = batch["a"]
        if isinstance(column, NumericBatch):
            seen.extend(str(int(value)) for value in column.values)
        else:
            seen.extend(column.categories[code] for code in column.codes.tolist())
    assert seen == [str(i) if i != 2500 else "oops" for i in range(3000)]
    assert source.physical["a"] is Physical.MIXED


def test_csv_column_with_values_only_past_the_read_ahead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("seismo.io.sources.LOOKAHEAD_BYTES", 1024)
    path = tmp_path / "very_late.csv"
    _write_lines(path, "x,y", [f"{i},{'' if i < 2000 else i}" for i in range(3000)])
    source = CsvSource(path, block_bytes=1024)
    assert source.physical["y"] is Physical.NULL  # nothing within the read-ahead
    assert sum(batch.rows for batch in source.batches()) == 3000
    assert source.physical.get("y") is Physical.STRING  # read as text from there on
    reference = seismo.fit_reference({"x": np.arange(10.0), "y": np.arange(10.0)})
    profile = build.profile_current(reference, CsvSource(path, block_bytes=1024)).columns["y"]
    assert isinstance(profile, NumericProfile)
    assert (profile.null_count, profile.finite_count, profile.invalid_count) == (2000, 1000, 0)


def test_csv_column_that_stays_empty(tmp_path: Path) -> None:
    path = tmp_path / "never.csv"
    _write_lines(path, "x,y", [f"{i}," for i in range(3000)])
    source = CsvSource(path, block_bytes=1024)
    assert source.physical["y"] is Physical.NULL
    report = seismo.compare(str(path), str(path))
    assert report["y"].reason == "no finite values in the reference"
    assert sum(batch.rows for batch in source.batches()) == 3000


def test_csv_quoted_values_may_span_lines_across_blocks(tmp_path: Path) -> None:
    rows = 2000
    path = tmp_path / "notes.csv"
    _write_lines(path, "id,note", [f'{i},"line one\nline two {i % 7}"' for i in range(rows)])
    source = CsvSource(path, block_bytes=1024)
    assert sum(batch.rows for batch in source.batches()) == rows
    reference = seismo.fit_reference(str(path))
    assert reference.profile.row_count == rows
    note = reference.profile.columns["note"]
    assert isinstance(note, CategoricalProfile)
    assert note.valid_count == rows


def test_tab_separated_and_compressed_csv(tmp_path: Path) -> None:
    frame = _frame(0)
    tsv = tmp_path / "data.tsv"
    frame.to_csv(tsv, sep="\t", index=False)
    packed = tmp_path / "data.csv.gz"
    with gzip.open(packed, "wt", encoding="utf-8") as handle:
        frame.to_csv(handle, index=False)
    expected = _reference_dict(seismo.fit_reference(frame))
    assert_same(_reference_dict(seismo.fit_reference(str(tsv))), expected)
    assert_same(_reference_dict(seismo.fit_reference(packed)), expected)


def test_csv_with_a_ragged_row_in_a_later_block_names_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    _write_lines(path, "a,b", [f"{i},{i}" for i in range(3000)] + ["1,2,3"])
    with pytest.raises(InputError, match=r"ragged\.csv: cannot read past row [\d,]+"):
        list(CsvSource(path, block_bytes=1024).batches())


# In-memory adapters: details.


def test_pandas_object_column_mixed_after_the_first_rows_is_reported_mixed() -> None:
    values: list[object] = list(range(1500)) + ["seven"] * 10
    frame = pd.DataFrame({"m": values})
    source = open_source(frame, "frame")
    assert source.physical["m"] is Physical.INT  # the first rows are integers
    batch = next(iter(source.batches()))["m"]
    assert batch.physical is Physical.MIXED
    assert source.physical.get("m") is Physical.MIXED
    reference = seismo.fit_reference(pd.DataFrame({"m": list(range(1510))}))
    report = seismo.compare(reference, frame)
    checks = {(a.check, a.column) for a in report.anomalies}
    assert ("mixed_types", "m") in checks and ("invalid_numbers", "m") in checks


def test_pandas_missing_markers_in_object_columns_are_missing_not_text() -> None:
    frame = pd.DataFrame({"m": [1, "a", None, np.nan, pd.NA, pd.NaT, "b"] * 20})
    reference = seismo.fit_reference(frame)
    profile = reference.profile.columns["m"]
    assert isinstance(profile, CategoricalProfile)
    assert profile.null_count == 4 * 20
    assert set(profile.grid.categories) == {"1", "a", "b"}


def test_polars_enum_and_categorical_columns() -> None:
    values = ["low", "high", None, "mid"] * 100
    enum = pl.Enum(["low", "mid", "high"])
    frame = pl.DataFrame(
        {"e": pl.Series(values, dtype=enum), "c": pl.Series(values).cast(pl.Categorical)}
    )
    reference = seismo.fit_reference(frame)
    for name in ("e", "c"):
        assert reference.schema[name].kind is Kind.CATEGORICAL
        profile = reference.profile.columns[name]
        assert isinstance(profile, CategoricalProfile)
        assert profile.null_count == 100
        assert sorted(profile.grid.categories) == ["high", "low", "mid"]


def test_pandas_timedelta_and_polars_duration_are_numeric_seconds() -> None:
    seconds = np.arange(500, dtype=np.float64)
    frames = [
        pd.DataFrame({"wait": pd.to_timedelta(seconds, unit="s")}),
        pl.DataFrame(
            {"wait": pl.Series((seconds * 1000).astype(np.int64)).cast(pl.Duration("ms"))}
        ),
    ]
    for frame in frames:
        reference = seismo.fit_reference(frame)
        assert reference.schema["wait"].kind is Kind.NUMERIC
        profile = reference.profile.columns["wait"]
        assert isinstance(profile, NumericProfile)
        assert (profile.minimum, profile.maximum, profile.mean) == (0.0, 499.0, 249.5)


def test_mapping_variants() -> None:
    mixed = seismo.fit_reference({"m": np.array([1, "x", 2.5, None] * 10, dtype=object)})
    assert mixed.schema["m"].physical is Physical.MIXED
    assert mixed.profile.columns["m"].null_count == 10
    from_lists = seismo.fit_reference({"a": [1.0, float("nan"), 3.0], "b": ["x", None, "y"]})
    assert from_lists.profile.columns["a"].null_count == 1
    arrays = seismo.fit_reference({"a": pa.array([1, 2, None]), "b": pa.chunked_array([["x"] * 3])})
    assert arrays.profile.row_count == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": np.ones((3, 2))}, r"mine: column 'a' is not one-dimensional"),
        ({"a": [1, 2, 3], "b": [1, 2]}, r"mine: the columns have different lengths"),
        ({"a": np.ones(3, dtype=complex)}, r"mine: column 'a' has dtype complex128"),
        ([1, 2, 3], r"mine: expected a pandas, polars or pyarrow table.*got list"),
        (pd.DataFrame({"z": np.ones(3, dtype=complex)}), r"mine: column 'z' has dtype complex"),
        (pa.table({"n": [[1], [2]]}), r"mine: column 'n' has type list<"),
    ],
)
def test_unusable_in_memory_data_is_an_input_error(data: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        seismo.fit_reference(data, name="mine")


def test_parquet_column_of_unsupported_type_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "tags": [["a"], ["b"], []]}), path)
    with pytest.raises(InputError, match=r"nested\.parquet: column 'tags' has type list"):
        seismo.fit_reference(path)
    # Ignoring the column is the way out the message suggests.
    reference = seismo.fit_reference(path, {"columns": {"tags": {"role": "ignore"}}})
    assert reference.profile.row_count == 3 and "tags" not in reference.profile.columns


def test_truncated_parquet_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    pq.write_table(_numbers_table(1000), path)
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(InputError, match=r"cut\.parquet: not a readable Parquet file"):
        seismo.fit_reference(path)


def test_integers_beyond_float_precision_are_numeric_not_an_error() -> None:
    # 64-bit hashes and ids do not fit a float64 exactly; they are rounded, not refused.
    values = [2**60 + 1, 3, 2**62 + 7, None] * 10
    frames: list[Any] = [
        pa.table({"h": pa.array(values, pa.int64())}),
        pl.DataFrame({"h": values}),
        pd.DataFrame({"h": pd.array(values, dtype="Int64")}),
    ]
    for frame in frames:
        reference = seismo.fit_reference(frame)
        assert reference.schema["h"].kind is Kind.NUMERIC
        profile = reference.profile.columns["h"]
        assert isinstance(profile, NumericProfile)
        assert (profile.null_count, profile.maximum) == (10, float(2**62 + 7))


def test_object_column_whose_first_rows_are_missing() -> None:
    values = [None] * 1500 + ["a", "b", "c"] * 500
    frame = pd.DataFrame({"c": pd.Series(values, dtype=object)})
    source = open_source(frame, "frame")
    assert source.physical["c"] is Physical.STRING
    next(iter(source.batches()))["c"]
    assert source.physical.get("c") is Physical.STRING
    report = seismo.compare(frame, frame)
    assert report.schema["c"].kind is Kind.CATEGORICAL
    assert not report.anomalies and not report["c"].drifted


def test_parquet_written_by_pandas_with_an_index_has_the_frame_columns(tmp_path: Path) -> None:
    frame = _frame(0)
    filtered = frame[frame["x"] > 0]  # not a RangeIndex: pandas stores __index_level_0__
    path = tmp_path / "indexed.parquet"
    filtered.to_parquet(path)
    assert "__index_level_0__" in pq.ParquetFile(path).schema_arrow.names
    reference = seismo.fit_reference(path)
    assert reference.schema.names == tuple(frame.columns)
    assert_same(_reference_dict(reference), _reference_dict(seismo.fit_reference(filtered)))


def _open_files() -> set[str]:
    """The files this process holds open (sockets and pipes left out)."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed while listed (the listing's own descriptor)
            continue
        if target.startswith("/"):
            found.add(target)
    return found


def _closed_again(before: set[str]) -> bool:
    """Whether the process holds only the files it held before, waiting up to 5 s: Arrow's CSV
    reader reads ahead on a thread of its own, which lets go of the file when its read ends."""
    deadline = time.monotonic() + 5
    while _open_files() != before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _many_files(folder: Path, files: int) -> Path:
    rng = np.random.default_rng(4)
    for k in range(files):
        where = folder / f"day=2024-01-{k % 28 + 1:02d}"
        where.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"x": rng.normal(size=50), "k": [k] * 50}), where / f"{k}.parquet")
    return folder


@pytest.mark.parametrize("kind", ["parquet", "dataset", "csv", "csv.gz"])
def test_file_sources_hold_no_file_open_between_reads(kind: str, tmp_path: Path) -> None:
    """A source keeps what it learnt of its files, not the files: a dataset of thousands of
    files must not run out of file descriptors (a dataset's files were all held open)."""
    if not Path("/proc/self/fd").exists():  # open files are listed from Linux's /proc
        if os.environ.get("CI"):
            pytest.fail("/proc/self/fd is missing: CI runs on Linux")
        pytest.skip("needs /proc/self/fd (Linux) to list open files: not run")
    table = _numbers_table(3000)
    if kind == "parquet":
        path = tmp_path / "one.parquet"
        pq.write_table(table, path, row_group_size=500)
    elif kind == "dataset":
        path = _many_files(tmp_path / "lake", 40)
    else:
        path = tmp_path / f"one.{kind}"
        text = table.to_pandas().to_csv(index=False).encode()
        path.write_bytes(gzip.compress(text) if kind.endswith("gz") else text)
    before = _open_files()
    source = open_source(str(path), str(path))
    assert _closed_again(before), _open_files() - before
    assert sum(batch.rows for batch in source.batches()) in (3000, 2000)
    assert _closed_again(before), _open_files() - before
    seismo.fit_reference(str(path))
    assert _closed_again(before), _open_files() - before


def test_a_dataset_of_more_files_than_the_descriptor_limit(tmp_path: Path) -> None:
    lake = _many_files(tmp_path / "lake", 300)
    script = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
        import seismo
        reference = seismo.fit_reference({str(lake)!r})
        print(reference.profile.row_count, seismo.profile(reference, {str(lake)!r}).row_count)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["15000", "15000"]


def test_dataset_pieces_read_as_the_whole_dataset_in_any_grouping(tmp_path: Path) -> None:
    """A distributed job reads a Parquet dataset as pieces (runs of row groups), spread over
    tasks: each row group once, numbered as the whole dataset's reading numbers it, and the
    tasks' scans and profiles merge into the single-process reference and profile."""
    from seismo.io.sources import ParquetDatasetSource, ParquetPiecesSource

    rng = np.random.default_rng(9)
    folder = tmp_path / "train"
    for k, rows in enumerate([5_000, 1, 12_345, 800]):
        where = folder / f"region={'eu' if k % 2 else 'us'}" / f"k={k}"
        where.mkdir(parents=True)
        part = pa.table(
            {
                "amount": rng.lognormal(2, 1, rows),
                "plan": rng.choice(["a", "b", "c"], rows),
                "n": rng.integers(0, 50, rows),
            }
        )
        pq.write_table(part, where / "part.parquet", row_group_size=1_000)
    dataset = ParquetDatasetSource(str(folder))
    options = ProfileOptions(sample_rows=2_000, bins=40)
    single = build.fit_reference(dataset, options=options)
    grids = {name: column.grid for name, column in single.profile.columns.items()}
    kinds = {column.name: column.kind for column in single.schema}
    names = build.scanned_columns(dataset, None)
    for most in (1, 30_000, 10**9):
        pieces = dataset.pieces(most)
        covered = [(p.path, g) for p in pieces for g in p.row_groups]
        assert len(covered) == len(set(covered)) == 5 + 1 + 13 + 1  # row groups
        assert [p.first_row for p in pieces] == list(np.cumsum([0] + [p.rows for p in pieces])[:-1])
        if most == 1:
            assert all(len(p.row_groups) == 1 for p in pieces)
        for tasks in (1, 3, len(pieces)):
            cuts = np.array_split(rng.permutation(len(pieces)), tasks)
            sources = [
                ParquetPiecesSource([pieces[i] for i in sorted(cut)], dataset.columns, "x")
                for cut in cuts
            ]
            scan = build.ReferenceScan(names, options.sample_rows)
            profiles = []
            for source in sources:
                part = build.ReferenceScan(names, options.sample_rows)
                with build._pool(options) as pool:
                    for position, batch in source.numbered_batches():
                        part.add(batch, build.sample_keys(options.seed, position, batch.rows), pool)
                scan.merge(part)
                profiles.append(build.profile_batches(source, grids, options, kinds=kinds))
            with build._pool(options) as pool:
                schema, fitted = scan.settle(dataset, None, options, pool)
            assert schema == single.schema
            assert all(fitted[n].same_as(grids[n]) for n in grids)
            merged = build.merge_profiles(profiles)
            assert_same_profile(merged, single.profile)


def test_a_parquet_file_rewritten_after_it_was_opened_is_named(tmp_path: Path) -> None:
    """The footer is read when the source opens and again when it reads: a file rewritten in
    between (other row groups) is an error that says so, never rows counted against a stale
    layout."""
    path = tmp_path / "day.parquet"
    pq.write_table(_numbers_table(3000), path, row_group_size=1000)
    source = ParquetSource(path)
    pq.write_table(_numbers_table(5000), path, row_group_size=2000)
    with pytest.raises(InputError, match=r"day\.parquet: the file changed while it was read"):
        list(source.batches())

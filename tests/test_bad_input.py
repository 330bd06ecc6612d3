"""Bad and awkward input: each gives a clear message or a documented result, never a crash."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import seismo
from seismo.errors import InputError, SchemaError
from seismo.profile.categorical import CategoricalProfile
from seismo.profile.grid import DEFAULT_MAX_CATEGORIES
from seismo.profile.numeric import NumericProfile
from seismo.schema.types import Kind, Physical, Role

ROWS = 2000


def _frame(seed: int = 0, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "k": rng.integers(0, 20, rows),
            "c": rng.choice(["a", "b", "c"], rows),
        }
    )


def _checks(report: seismo.DriftReport) -> dict[tuple[str, str | None], str]:
    """(check, column) -> level of every anomaly."""
    return {(a.check, a.column): a.level.value for a in report.anomalies}


def _json_round_trip(report: seismo.DriftReport) -> dict[str, object]:
    data = json.loads(report.to_json())
    assert isinstance(data, dict) and "dataset" in data and "columns" in data
    return data


# Empty files.


def test_zero_byte_file_as_reference_or_current(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    good = tmp_path / "good.csv"
    _frame().to_csv(good, index=False)
    for reference, current in ((empty, good), (good, empty)):
        with pytest.raises(InputError, match=r"empty\.csv: the file is empty"):
            seismo.compare(reference, current)


def test_zero_byte_parquet_named_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.parquet: the file is empty"):
        seismo.fit_reference(empty)


def test_header_only_csv(tmp_path: Path) -> None:
    header = tmp_path / "header.csv"
    header.write_text("x,k,c\n")
    good = tmp_path / "good.csv"
    _frame().to_csv(good, index=False)
    with pytest.raises(InputError, match=r"header\.csv: no rows; the reference needs data"):
        seismo.compare(str(header), str(good))
    with pytest.raises(InputError, match=r"header\.csv: no rows; there is nothing to compare"):
        seismo.compare(str(good), str(header))


def test_parquet_with_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "none.parquet"
    pq.write_table(pa.Table.from_pandas(_frame().iloc[:0], preserve_index=False), path)
    with pytest.raises(InputError, match=r"none\.parquet: no rows"):
        seismo.compare(_frame(), str(path))


def test_paths_given_as_path_objects_are_named_like_strings(tmp_path: Path) -> None:
    # Currently fails: src/seismo/api.py compare() names only str paths
    # (``isinstance(reference, str)``); a pathlib.Path becomes "reference"/"current" in the
    # report and in the "no rows" message.
    header = tmp_path / "header.csv"
    header.write_text("x,k,c\n")
    good = tmp_path / "good.csv"
    _frame().to_csv(good, index=False)
    with pytest.raises(InputError, match=r"header\.csv: no rows; there is nothing to compare"):
        seismo.compare(good, header)
    report = seismo.compare(good, good)
    assert (report.reference_name, report.current_name) == (str(good), str(good))


def test_data_without_columns() -> None:
    with pytest.raises(InputError, match="no columns"):
        seismo.fit_reference(pd.DataFrame())


# Degenerate columns.


def test_all_nan_column_is_reported_untested_not_a_crash() -> None:
    reference = _frame().assign(empty=np.nan)
    report = seismo.compare(reference, _frame(1).assign(empty=np.nan))
    column = report["empty"]
    assert not column.tested and not column.drifted
    assert column.reason == "no finite values in the reference"
    profile = report.reference.profile.columns["empty"]
    assert isinstance(profile, NumericProfile)
    assert (profile.count, profile.missing_count, profile.finite_count) == (ROWS, ROWS, 0)
    assert _checks(report)[("all_missing_reference", "empty")] == "warning"
    assert not report.drifted
    data = _json_round_trip(report)
    assert any(c["column"] == "empty" and c["tested"] is False for c in data["columns"])  # type: ignore[attr-defined]


def test_column_that_becomes_all_missing_is_an_error_anomaly() -> None:
    current = _frame(1)
    current["x"] = np.nan
    report = seismo.compare(_frame(), current)
    assert report["x"].reason == "no finite values in the current data"
    assert _checks(report)[("all_missing", "x")] == "error"
    _json_round_trip(report)


def test_constant_columns() -> None:
    reference = _frame().assign(flat=7.0)
    same = seismo.compare(reference, _frame(1).assign(flat=7.0))
    assert not same["flat"].drifted
    assert _checks(same)[("constant_reference", "flat")] == "info"
    assert same.reference.profile.columns["flat"].minimum == 7.0  # type: ignore[union-attr]

    current = _frame(1)
    current["x"] = 0.25
    collapsed = seismo.compare(reference, current)
    assert _checks(collapsed)[("constant_column", "x")] == "warning"
    assert collapsed["x"].drifted
    _json_round_trip(collapsed)


def test_infinities_are_counted_apart_and_flagged() -> None:
    reference = _frame()
    current = _frame(1)
    current.loc[:9, "x"] = np.inf
    current.loc[10:14, "x"] = -np.inf
    report = seismo.compare(reference, current)
    profile = report.current.columns["x"]
    assert isinstance(profile, NumericProfile)
    assert (profile.posinf_count, profile.neginf_count) == (10, 5)
    assert profile.finite_count == ROWS - 15
    assert math.isfinite(profile.maximum) and math.isfinite(profile.mean)
    anomaly = next(a for a in report.anomalies if a.check == "infinite_values")
    assert anomaly.column == "x" and anomaly.value == pytest.approx(15 / ROWS)
    data = _json_round_trip(report)  # no Infinity tokens: strict JSON
    assert "Infinity" not in json.dumps(data)


def test_infinities_in_the_reference_too_are_not_flagged() -> None:
    reference = _frame()
    reference.loc[:3, "x"] = np.inf
    current = _frame(1)
    current.loc[:3, "x"] = np.inf
    report = seismo.compare(reference, current)
    assert ("infinite_values", "x") not in _checks(report)
    assert report.reference.profile.columns["x"].posinf_count == 4  # type: ignore[union-attr]


def test_one_row_current_window_gives_a_report_with_nothing_drifted() -> None:
    report = seismo.compare(_frame(), _frame(1).iloc[:1])
    assert report.dataset.current_rows == 1
    assert not report.drifted
    assert not any(column.drifted for column in report.columns)
    assert all(column.tested for column in report.columns)
    _json_round_trip(report)


def test_one_row_reference() -> None:
    report = seismo.compare(_frame().iloc[:1], _frame(1))
    assert report.dataset.reference_rows == 1
    assert not report.drifted
    _json_round_trip(report)


# Types.


def test_pandas_object_column_with_ints_and_strings() -> None:
    mixed = pd.DataFrame({"m": [1, 2, "three", 4.5, None] * 200})
    reference = seismo.fit_reference(mixed)
    assert reference.schema["m"].physical is Physical.MIXED
    assert reference.schema["m"].kind is Kind.CATEGORICAL
    profile = reference.profile.columns["m"]
    assert isinstance(profile, CategoricalProfile)
    assert set(profile.grid.categories) == {"1", "2", "three", "4.5"}
    assert profile.null_count == 200

    # Integers in the reference, a few strings in the current data.
    numbers = pd.DataFrame({"m": np.arange(1000) % 50})
    current = pd.DataFrame({"m": [*list(np.arange(990) % 50), *["oops"] * 10]}, dtype=object)
    report = seismo.compare(numbers, current)
    checks = _checks(report)
    assert ("mixed_types", "m") in checks and ("invalid_numbers", "m") in checks
    assert report.current.columns["m"].invalid_count == 10  # type: ignore[union-attr]
    _json_round_trip(report)


def test_csv_column_with_a_few_texts_among_numbers(tmp_path: Path) -> None:
    values = [str(i % 37) for i in range(1000)]
    values[100] = "unknown"
    path = tmp_path / "mixed.csv"
    path.write_text("v\n" + "\n".join(values) + "\n")
    reference = seismo.fit_reference(path)
    # Read in one block the column is text, of which >= 90% parses as numbers: numeric.
    assert reference.schema["v"].kind is Kind.NUMERIC
    profile = reference.profile.columns["v"]
    assert isinstance(profile, NumericProfile)
    assert (profile.invalid_count, profile.finite_count) == (1, 999)


def test_csv_column_of_mostly_text_is_categorical(tmp_path: Path) -> None:
    path = tmp_path / "mostly_text.csv"
    path.write_text("v\n" + "\n".join(["1", "red", "green", "2", "blue"] * 100) + "\n")
    reference = seismo.fit_reference(path)
    assert reference.schema["v"].kind is Kind.CATEGORICAL
    _json_round_trip(seismo.compare(reference, path))


def test_columns_missing_from_or_added_to_the_current_data() -> None:
    current = _frame(1).drop(columns=["c"]).assign(extra=1.0)
    report = seismo.compare(_frame(), current)
    checks = _checks(report)
    assert checks[("missing_column", "c")] == "error"
    assert checks[("new_column", "extra")] == "warning"
    assert not report["c"].tested
    assert report["c"].reason == "missing from the current data"
    with pytest.raises(KeyError):
        report["extra"]  # not in the reference, so not tested
    _json_round_trip(report)


# Names.

UNICODE_NAMES = ("température °C", "日本語", "🙂 score", "naïve,comma")


def _unicode_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            UNICODE_NAMES[0]: rng.normal(20, 5, ROWS),
            UNICODE_NAMES[1]: rng.choice(["東京", "大阪"], ROWS),
            UNICODE_NAMES[2]: rng.integers(0, 5, ROWS),
            UNICODE_NAMES[3]: rng.random(ROWS),
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_unicode_column_names_through_files_and_json(fmt: str, tmp_path: Path) -> None:
    paths = []
    for seed in (0, 1):
        path = tmp_path / f"données_{seed}.{fmt}"
        frame = _unicode_frame(seed)
        if fmt == "csv":
            frame.to_csv(path, index=False, encoding="utf-8")
        else:
            frame.to_parquet(path, index=False)
        paths.append(path)
    report = seismo.compare(str(paths[0]), str(paths[1]))
    assert [c.column for c in report.columns] == list(UNICODE_NAMES)
    assert report.reference_name.endswith(f"données_0.{fmt}")
    text = report.to_json()
    for name in UNICODE_NAMES:
        assert name in text  # written as is, not \\u-escaped
    data = json.loads(text)
    assert [c["column"] for c in data["columns"]] == list(UNICODE_NAMES)
    out = tmp_path / "rapport é.json"
    report.to_json(out)
    assert json.loads(out.read_text(encoding="utf-8")) == data


def test_duplicate_column_names_are_refused_everywhere(tmp_path: Path) -> None:
    frame = pd.DataFrame([[1, 2, 3], [4, 5, 6]], columns=["a", "b", "a"])
    csv = tmp_path / "dup.csv"
    csv.write_text("a,b,a\n1,2,3\n4,5,6\n")
    parquet = tmp_path / "dup.parquet"
    pq.write_table(pa.table([[1, 4], [2, 5], [3, 6]], names=["a", "b", "a"]), parquet)
    table = pa.table([[1, 4], [2, 5], [3, 6]], names=["a", "b", "a"])
    for data in (frame, csv, parquet, table):
        with pytest.raises(InputError, match=r"duplicate column name\(s\) \['a'\]; rename them"):
            seismo.fit_reference(data)
    with pytest.raises(InputError, match=r"dup\.csv: duplicate"):
        seismo.fit_reference(csv)


def test_column_names_that_only_look_alike_after_str_are_duplicates() -> None:
    frame = pd.DataFrame([[1, 2]], columns=[1, "1"])
    with pytest.raises(InputError, match="duplicate column name"):
        seismo.fit_reference(frame)


# Many categories.


def test_twenty_thousand_categories_are_capped_on_the_grid() -> None:
    rows, distinct = 200_000, 20_000
    rng = np.random.default_rng(3)
    labels = np.array([f"sku-{i:05d}" for i in range(distinct)])
    reference = {"sku": labels[rng.permutation(np.arange(rows) % distinct)], "x": rng.random(rows)}
    current = {"sku": labels[rng.integers(0, distinct, rows)], "x": rng.random(rows)}
    report = seismo.compare(reference, current, {"columns": {"sku": "categorical"}})
    profile = report.reference.profile.columns["sku"]
    assert isinstance(profile, CategoricalProfile)
    assert len(profile.grid.categories) == DEFAULT_MAX_CATEGORIES
    assert profile.grid.complete is False
    assert len(profile.bin_counts) == DEFAULT_MAX_CATEGORIES + 1  # + other
    assert profile.other_count == rows - DEFAULT_MAX_CATEGORIES * (rows // distinct)
    column = report["sku"]
    assert column.tested and column.kind is Kind.CATEGORICAL
    assert column.reference.distinct is None  # unknown past the grid, not a wrong number
    assert ("unseen_categories", "sku") not in _checks(report)  # an incomplete grid says nothing
    text = report.to_json()
    assert len(text) < 100_000
    assert len(report.reference.to_bytes()) < 1_000_000


def test_twenty_thousand_categories_inferred_as_identifiers_are_not_tested() -> None:
    rows = 40_000
    ids = np.array([f"user-{i:06d}" for i in range(rows)])
    report = seismo.compare(
        {"user": ids, "x": np.arange(rows)}, {"user": ids[::-1], "x": np.arange(rows)}
    )
    assert report.schema["user"].kind is Kind.ID and report.schema["user"].role is Role.ID
    assert not report["user"].tested
    _json_round_trip(report)


# Files that are not CSV or Parquet.


def test_random_binary_bytes(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    for name, message in (
        ("noise.bin", r"noise\.bin: neither CSV nor Parquet"),
        ("noise.csv", r"noise\.csv: not CSV text \(binary data\)"),
        ("noise", r"noise: neither CSV nor Parquet"),
    ):
        path = tmp_path / name
        path.write_bytes(noise)
        with pytest.raises(InputError, match=message):
            seismo.fit_reference(path)


def test_csv_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("température,ville\n21.5,Orléans\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.csv: text that is not UTF-8"):
        seismo.fit_reference(path)


def test_binary_bytes_named_parquet(tmp_path: Path) -> None:
    path = tmp_path / "noise.parquet"
    path.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(InputError, match=r"noise\.parquet: not a readable Parquet file"):
        seismo.fit_reference(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("book.xlsx", b"a,b\n1,2\n", r"book\.xlsx: Excel files are not supported"),
        ("book.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), r"book\.xlsx: Excel files"),
        ("rows.json", b'[{"a": 1}]', r"rows\.json: JSON files are not supported"),
    ],
)
def test_other_formats_are_named(name: str, content: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        seismo.fit_reference(path)


def test_directory_and_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r": no Parquet files there"):
        seismo.fit_reference(tmp_path)
    (tmp_path / "data.csv").write_text("a\n1\n")
    with pytest.raises(InputError, match=r"holds data\.csv, which is not a Parquet file"):
        seismo.fit_reference(tmp_path)
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        seismo.fit_reference(tmp_path / "nope.csv")
    with pytest.raises(InputError, match=r"nope\.parquet: no such file"):
        seismo.compare(_frame(), str(tmp_path / "nope.parquet"))


def test_a_python_object_that_is_not_data() -> None:
    with pytest.raises(InputError, match="expected a pandas, polars or pyarrow table"):
        seismo.compare(42, _frame())


# Schema files.


@pytest.fixture
def good_csv(tmp_path: Path) -> Path:
    path = tmp_path / "good.csv"
    _frame().to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns:\n  x: [unclosed\n", r"invalid YAML at line \d+"),
        ("columns:\n  x: {kind: numeric\n", r"invalid YAML at line \d+"),
        ("columns:\n  x: numerc\n", r"column 'x': unknown kind 'numerc'; use one of: numeric"),
        ("columns:\n  c: {role: boss}\n", r"column 'c': unknown role 'boss'; use one of"),
        ("columns:\n  c: {kind: categorical, colour: red}\n", r"column 'c': unknown key"),
        ("colums:\n  c: categorical\n", r"unknown top-level key\(s\) \['colums'\]"),
        ("", r"the schema file is empty"),
    ],
)
def test_bad_schema_file_is_a_schema_error_naming_file_and_field(
    text: str, message: str, good_csv: Path, tmp_path: Path
) -> None:
    schema = tmp_path / "my schema.yaml"
    schema.write_text(text)
    with pytest.raises(SchemaError, match=message) as caught:
        seismo.compare(good_csv, good_csv, schema)
    assert str(schema) in str(caught.value)


def test_schema_naming_a_column_the_data_lacks_names_file_and_column(
    good_csv: Path, tmp_path: Path
) -> None:
    # Currently fails: src/seismo/profile/build.py _fixed_columns raises
    # "schema names column(s) ['ghost'] that ... does not have" without the schema file's name;
    # SchemaOverrides does not remember where it was loaded from.
    schema = tmp_path / "schema.yaml"
    schema.write_text("columns:\n  ghost: numeric\n  x: numeric\n")
    with pytest.raises(SchemaError, match="ghost") as caught:
        seismo.compare(good_csv, good_csv, schema)
    assert str(schema) in str(caught.value)
    assert str(good_csv) in str(caught.value)


def test_missing_schema_file(good_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"nope\.yaml: schema file not found"):
        seismo.compare(good_csv, good_csv, tmp_path / "nope.yaml")

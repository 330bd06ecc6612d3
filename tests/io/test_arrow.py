"""Arrow arrays -> column batches (seismo.io.arrow)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seismo.errors import InputError
from seismo.io.arrow import arrow_to_batch, physical_of, text_to_batch
from seismo.profile.batch import CodesBatch, NumericBatch
from seismo.schema.types import Physical


@pytest.mark.parametrize(
    ("arrow_type", "physical"),
    [
        (pa.bool_(), Physical.BOOL),
        (pa.int8(), Physical.INT),
        (pa.uint64(), Physical.INT),
        (pa.float16(), Physical.FLOAT),
        (pa.float64(), Physical.FLOAT),
        (pa.decimal128(12, 2), Physical.FLOAT),
        (pa.duration("ms"), Physical.FLOAT),
        (pa.timestamp("ns", tz="Asia/Tokyo"), Physical.DATETIME),
        (pa.date32(), Physical.DATETIME),
        (pa.null(), Physical.NULL),
        (pa.string(), Physical.STRING),
        (pa.large_string(), Physical.STRING),
        (pa.dictionary(pa.uint32(), pa.large_string()), Physical.STRING),
        (pa.dictionary(pa.int8(), pa.int64()), Physical.INT),
    ],
)
def test_physical_of(arrow_type: pa.DataType, physical: Physical) -> None:
    assert physical_of(arrow_type) is physical


def test_float64_without_nulls_is_not_copied() -> None:
    values = np.random.default_rng(0).normal(size=1000)
    batch = arrow_to_batch("x", pa.array(values))
    assert isinstance(batch, NumericBatch)
    assert np.shares_memory(batch.values, values)
    assert batch.null_count == 0 and batch.physical is Physical.FLOAT


def test_integers_with_nulls_become_nan_and_are_counted() -> None:
    batch = arrow_to_batch("n", pa.array([1, None, 3, None], pa.int16()))
    assert isinstance(batch, NumericBatch)
    assert batch.physical is Physical.INT and batch.null_count == 2
    np.testing.assert_array_equal(batch.values, [1.0, np.nan, 3.0, np.nan])


def test_decimals_become_floats() -> None:
    array = pa.array([Decimal("1.25"), None, Decimal("-3.50")], pa.decimal128(10, 2))
    batch = arrow_to_batch("d", array)
    assert isinstance(batch, NumericBatch)
    np.testing.assert_array_equal(batch.values, [1.25, np.nan, -3.5])


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("tz", [None, "UTC", "America/New_York"])
def test_timestamps_are_utc_seconds_in_every_unit(unit: str, tz: str | None) -> None:
    moment = dt.datetime(2024, 3, 10, 12, 30, 15, tzinfo=dt.UTC)
    array = pa.array([moment, None], pa.timestamp(unit, tz="UTC")).cast(pa.timestamp(unit, tz))
    batch = arrow_to_batch("t", array)
    assert isinstance(batch, NumericBatch)
    assert batch.physical is Physical.DATETIME and batch.null_count == 1
    assert batch.values[0] == moment.timestamp()
    assert np.isnan(batch.values[1])


def test_dates_are_seconds_since_epoch() -> None:
    batch = arrow_to_batch("d", pa.array([dt.date(1970, 1, 2), None], pa.date32()))
    assert isinstance(batch, NumericBatch)
    np.testing.assert_array_equal(batch.values, [86_400.0, np.nan])
    assert batch.physical is Physical.DATETIME


def test_durations_are_numeric_seconds() -> None:
    batch = arrow_to_batch("wait", pa.array([1500, None, -250], pa.duration("ms")))
    assert isinstance(batch, NumericBatch)
    assert batch.physical is Physical.FLOAT and batch.null_count == 1
    np.testing.assert_array_equal(batch.values, [1.5, np.nan, -0.25])


def test_null_column_is_all_missing() -> None:
    batch = arrow_to_batch("z", pa.nulls(5))
    assert isinstance(batch, NumericBatch)
    assert batch.null_count == 5 and batch.physical is Physical.NULL
    assert np.isnan(batch.values).all()


def test_booleans_are_codes_on_false_true() -> None:
    batch = arrow_to_batch("b", pa.array([True, None, False, True]))
    assert isinstance(batch, CodesBatch)
    assert batch.categories == ("false", "true")
    assert batch.codes.tolist() == [1, -1, 0, 1]
    assert batch.null_count == 1


@pytest.mark.parametrize("string_type", [pa.string(), pa.large_string(), pa.string_view()])
def test_strings_are_dictionary_encoded(string_type: pa.DataType) -> None:
    batch = arrow_to_batch("s", pa.array(["b", None, "a", "b"], string_type))
    assert isinstance(batch, CodesBatch)
    decoded = [None if c < 0 else batch.categories[c] for c in batch.codes.tolist()]
    assert decoded == ["b", None, "a", "b"]
    assert batch.codes.dtype == np.int32


@pytest.mark.parametrize("index_type", [pa.int8(), pa.uint8(), pa.uint32(), pa.int64()])
def test_dictionaries_with_any_index_type(index_type: pa.DataType) -> None:
    # polars Categorical/Enum arrive with uint32 indices: filling nulls with -1 must not overflow.
    indices = pa.array([0, 1, None, 1], index_type)
    array = pa.DictionaryArray.from_arrays(indices, pa.array(["x", "y"], pa.large_string()))
    batch = arrow_to_batch("c", array)
    assert isinstance(batch, CodesBatch)
    assert batch.categories == ("x", "y")
    assert batch.codes.tolist() == [0, 1, -1, 1]


def test_chunks_with_different_dictionaries_are_unified() -> None:
    first = pa.array(["x", "y"]).dictionary_encode()
    second = pa.array(["z", "y"]).dictionary_encode()
    batch = arrow_to_batch("c", pa.chunked_array([first, second]))
    assert isinstance(batch, CodesBatch)
    assert [batch.categories[c] for c in batch.codes.tolist()] == ["x", "y", "z", "y"]


def test_dictionary_of_integers_is_declared_categories() -> None:
    # A pandas category of integers: its type says the numbers are labels.
    array = pa.array([3, 1, None, 3, 2.5]).dictionary_encode()
    batch = arrow_to_batch("k", array)
    assert isinstance(batch, CodesBatch) and batch.declared
    # Integers are written as plain numbers write them, so later plain numbers match.
    assert [batch.categories[c] if c >= 0 else None for c in batch.codes.tolist()] == [
        "3",
        "1",
        None,
        "3",
        "2.5",
    ]


def test_only_dictionaries_are_declared_categories() -> None:
    assert arrow_to_batch("s", pa.array(["a", "b"])).declared is False  # type: ignore[union-attr]
    assert arrow_to_batch("s", pa.array(["a"]).dictionary_encode()).declared  # type: ignore[union-attr]


def test_time_of_day_becomes_text() -> None:
    batch = arrow_to_batch("clock", pa.array([dt.time(8, 30), None], pa.time32("s")))
    assert isinstance(batch, CodesBatch)
    assert batch.categories == ("08:30:00",)
    assert batch.codes.tolist() == [0, -1]


@pytest.mark.parametrize(
    "array",
    [
        pa.array([[1, 2], [3]]),
        pa.array([{"a": 1}]),
        pa.array([b"\x00\xff"], pa.binary()),
    ],
    ids=["list", "struct", "binary"],
)
def test_unsupported_types_name_the_column(array: pa.Array) -> None:
    with pytest.raises(InputError, match=r"column 'payload' has type .*role 'ignore'"):
        arrow_to_batch("payload", array)


# text_to_batch: a CSV column that turned to text in a later block, parsed back.


def test_text_to_timestamps_keeps_valid_values_and_counts_the_rest_invalid() -> None:
    text = pa.array(["2024-01-01 00:00:00", "oops", None, "2024-01-02", "2024-13-45 00:00:00"])
    batch = text_to_batch("t", text, pa.timestamp("s"))
    assert isinstance(batch, NumericBatch)
    assert batch.physical is Physical.MIXED
    assert batch.null_count == 1
    assert batch.invalid_count == 2  # 'oops' and the impossible month
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
    assert batch.values[0] == start
    assert batch.values[3] == start + 86_400
    assert np.isnan(batch.values[[1, 2, 4]]).all()


def test_text_to_timestamps_with_time_zone_offsets() -> None:
    text = pa.array(["2024-01-01 01:00:00+01:00", "n/a?"])
    batch = text_to_batch("t", text, pa.timestamp("s", tz="UTC"))
    assert isinstance(batch, NumericBatch)
    assert batch.values[0] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()
    assert batch.invalid_count == 1


def test_text_to_dates() -> None:
    batch = text_to_batch("d", pa.array(["1970-01-03", "soon"]), pa.date32())
    assert isinstance(batch, NumericBatch)
    assert batch.values[0] == 2 * 86_400.0
    assert batch.invalid_count == 1


def test_text_to_booleans_maps_arrow_spellings_and_keeps_other_text() -> None:
    text = pa.array(["True", "false", "maybe", None, "1", "TRUE", "0"])
    batch = text_to_batch("b", text, pa.bool_())
    assert isinstance(batch, CodesBatch)
    assert batch.physical is Physical.MIXED
    decoded = [None if c < 0 else batch.categories[c] for c in batch.codes.tolist()]
    assert decoded == ["true", "false", "maybe", None, "true", "true", "false"]
    assert len(set(batch.categories)) == len(batch.categories)


_DATES = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))
_JUNK = st.text(alphabet="abcxyz-/: 0123", min_size=1, max_size=12).filter(
    lambda s: not s.lstrip(" +-")[:1].isdigit()
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(_DATES.map(lambda d: d.isoformat()), _JUNK, st.none()), max_size=80))
def test_text_to_timestamps_counts_exactly(values: list[str | None]) -> None:
    batch = text_to_batch("t", pa.array(values, pa.string()), pa.timestamp("s"))
    assert isinstance(batch, NumericBatch)
    good = [v for v in values if v is not None and v[:1].isdigit()]
    assert batch.null_count == values.count(None)
    assert batch.invalid_count == len(values) - len(good) - values.count(None)
    expected = [
        dt.datetime.fromisoformat(v).replace(tzinfo=dt.UTC).timestamp()
        if v is not None and v[:1].isdigit()
        else np.nan
        for v in values
    ]
    np.testing.assert_array_equal(batch.values, np.array(expected, dtype=np.float64))

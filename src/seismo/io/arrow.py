"""Arrow arrays -> column batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from seismo.errors import InputError
from seismo.profile.batch import CodesBatch, ColumnBatch, NumericBatch, numbers_to_codes
from seismo.schema.types import Physical

_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}

# Text that can only be an ISO 8601 date or timestamp starts like this; anything else is invalid
# without trying a cast (see ``text_to_batch``).
_ISO_DATE_START = r"^\s*[+-]?\d{4}-\d{2}-\d{2}"


def physical_of(arrow_type: pa.DataType) -> Physical:
    if pa.types.is_dictionary(arrow_type):
        return physical_of(arrow_type.value_type)
    if pa.types.is_boolean(arrow_type):
        return Physical.BOOL
    if pa.types.is_integer(arrow_type):
        return Physical.INT
    if (
        pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
        or pa.types.is_duration(arrow_type)
    ):
        return Physical.FLOAT
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return Physical.DATETIME
    if pa.types.is_null(arrow_type):
        return Physical.NULL
    return Physical.STRING


def _single(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def _seconds(array: pa.Array) -> NDArray[np.float64]:
    """Timestamps, dates and durations as float seconds (NaN where null)."""
    if pa.types.is_date(array.type):
        array = pc.cast(array, pa.timestamp("s"))
    if pa.types.is_timestamp(array.type) and array.type.tz is not None:
        array = array.cast(pa.timestamp(array.type.unit))
    unit = array.type.unit
    counts = pc.cast(array, pa.int64()).to_numpy(zero_copy_only=False)
    seconds = np.asarray(counts, dtype=np.float64)  # nulls arrive as NaN
    seconds *= _SECONDS_PER_UNIT[unit]
    return seconds


def arrow_to_batch(name: str, array: pa.Array | pa.ChunkedArray) -> ColumnBatch:
    """Convert one Arrow column; numeric data without nulls is not copied."""
    array = _single(array)
    arrow_type = array.type
    physical = physical_of(arrow_type)
    if pa.types.is_dictionary(arrow_type):
        return _declared_categories(array, physical)
    if pa.types.is_duration(arrow_type):
        return NumericBatch(_seconds(array), array.null_count, physical)
    if physical in (Physical.INT, Physical.FLOAT):
        # Unsafe cast: integers beyond 2**53 (hashes, ids) round instead of failing.
        return NumericBatch(_float_values(array), array.null_count, physical)
    if physical is Physical.DATETIME:
        return NumericBatch(_seconds(array), array.null_count, physical)
    if physical is Physical.NULL:
        return NumericBatch(np.full(len(array), np.nan), len(array), physical)
    if physical is Physical.BOOL:
        codes = pc.fill_null(pc.cast(array, pa.int32()), -1).to_numpy(zero_copy_only=False)
        return CodesBatch(codes.astype(np.int32), ("false", "true"), physical)
    return _encode_strings(name, array, physical)


def _indices(array: pa.DictionaryArray) -> NDArray[np.int32]:
    """Dictionary indices as int32 with -1 for null (indices may be unsigned, e.g. polars)."""
    indices = array.indices
    if not pa.types.is_int32(indices.type):
        indices = pc.cast(indices, pa.int32())
    filled = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False)
    return np.asarray(filled, dtype=np.int32)


def _declared_categories(array: pa.DictionaryArray, physical: Physical) -> CodesBatch:
    """A column declared categorical by its type (pandas ``category``, polars ``Categorical``):
    its values are categories whatever they look like; numbers are written as
    :func:`seismo.profile.batch.numbers_to_codes` writes them, so a later batch of plain
    numbers lands on the same categories."""
    dictionary = array.dictionary
    if physical in (Physical.INT, Physical.FLOAT):
        texts = numbers_to_codes(NumericBatch(_float_values(dictionary), 0, physical))
        # numbers_to_codes sorts and de-duplicates; map each dictionary entry to its text.
        order = texts.codes
        categories = tuple(texts.categories[i] if i >= 0 else "nan" for i in order.tolist())
    elif physical is Physical.DATETIME:
        categories = tuple(str(value) for value in pc.cast(dictionary, pa.string()).to_pylist())
    else:
        if not pa.types.is_string(dictionary.type):
            dictionary = pc.cast(dictionary, pa.string())
        categories = tuple(str(value) for value in dictionary.to_pylist())
    if physical is Physical.BOOL:
        physical = Physical.STRING
    return CodesBatch(_indices(array), categories, physical, declared=True)


def _float_values(array: pa.Array) -> NDArray[np.float64]:
    if pa.types.is_decimal(array.type):
        return _decimal_values(array)
    if not pa.types.is_float64(array.type):
        array = pc.cast(array, pa.float64(), safe=False)
    # Straight from the buffers: Arrow's own conversion would import pandas when installed.
    validity, data = array.buffers()[:2]
    start, length = array.offset, len(array)
    values = np.frombuffer(data, dtype=np.float64, count=start + length)[start:]
    if array.null_count:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        values = np.where(bits[start : start + length].astype(bool), values, np.nan)
    return values


def _decimal_values(array: pa.Array) -> NDArray[np.float64]:
    """Decimals as the nearest floats (62.80 -> 62.8; Arrow's own cast can be one ulp off):
    through their text, which Python parses with correct rounding."""
    texts = pc.cast(array, pa.string()).to_pylist()
    return np.array([np.nan if t is None else float(t) for t in texts], dtype=np.float64)


def _encode_strings(name: str, array: pa.Array, physical: Physical) -> CodesBatch:
    if not pa.types.is_dictionary(array.type):
        if not (
            pa.types.is_string(array.type)
            or pa.types.is_large_string(array.type)
            or pa.types.is_string_view(array.type)
        ):
            try:
                array = pc.cast(array, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise InputError(
                    f"column {name!r} has type {array.type}, which seismo cannot profile; drop it "
                    "or give it the role 'ignore' in the schema"
                ) from error
        array = pc.dictionary_encode(array)
    dictionary = array.dictionary
    if not pa.types.is_string(dictionary.type):
        dictionary = pc.cast(dictionary, pa.string())
    categories = tuple(str(value) for value in dictionary.to_pylist())
    return CodesBatch(_indices(array), categories, physical)


def text_to_batch(name: str, array: pa.Array | pa.ChunkedArray, target: pa.DataType) -> ColumnBatch:
    """Text read in place of a ``target`` column (a CSV column that turned out to hold text).

    Values that convert keep their meaning: datetimes become seconds and booleans the
    categories ``false``/``true``. The others are counted as invalid (datetimes, like numbers
    that are text) or kept as text categories (booleans). The batch is ``mixed``.
    """
    array = _single(array)
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array)
    dictionary = array.dictionary
    codes = _indices(array)
    if pa.types.is_boolean(target):
        converted, bad = _cast_each(dictionary, target)
        texts = dictionary.to_pylist()
        labels = [
            str(text) if failed else ("true" if value else "false")
            for text, value, failed in zip(texts, converted.to_pylist(), bad.tolist(), strict=True)
        ]
        unique = list(dict.fromkeys(labels))
        position = {label: i for i, label in enumerate(unique)}
        remap = np.array([position[label] for label in labels] + [-1], dtype=np.int32)
        return CodesBatch(remap[codes], tuple(unique), Physical.MIXED)
    if not (pa.types.is_timestamp(target) or pa.types.is_date(target)):
        raise ValueError(f"text_to_batch: unsupported target type {target}")
    looks_like_date = pc.fill_null(pc.match_substring_regex(dictionary, _ISO_DATE_START), False)
    candidates = np.flatnonzero(looks_like_date.to_numpy(zero_copy_only=False))
    seconds = np.full(len(dictionary) + 1, np.nan)  # the last slot is for code -1 (null)
    bad = np.ones(len(dictionary) + 1, dtype=bool)
    bad[-1] = False
    if len(candidates):
        converted, failed = _cast_each(dictionary.take(pa.array(candidates)), target)
        seconds[candidates] = _seconds(converted)
        bad[candidates] = failed
    invalid = int(np.count_nonzero(bad[codes]))
    nulls = int(np.count_nonzero(codes < 0))
    return NumericBatch(seconds[codes], nulls, Physical.MIXED, invalid)


def _cast_each(values: pa.Array, target: pa.DataType) -> tuple[pa.Array, NDArray[np.bool_]]:
    """Cast what casts; values that do not become null and are flagged in the returned mask.

    Halves the array until the casts succeed, so k bad values among n cost O(k log n) casts.
    """
    failed = np.zeros(len(values), dtype=bool)
    pieces: list[pa.Array] = []

    def visit(start: int, stop: int) -> None:
        try:
            pieces.append(pc.cast(values.slice(start, stop - start), target))
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if stop - start == 1:
                failed[start] = True
                pieces.append(pa.nulls(1, target))
                return
        middle = (start + stop) // 2
        visit(start, middle)
        visit(middle, stop)

    if len(values):
        visit(0, len(values))
    return (pa.concat_arrays(pieces) if pieces else pa.array([], target)), failed

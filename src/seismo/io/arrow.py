"""Arrow arrays -> column batches."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seismo.errors import InputError
from seismo.profile.batch import CodesBatch, ColumnBatch, NumericBatch
from seismo.schema.types import Physical

_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def physical_of(arrow_type: pa.DataType) -> Physical:
    if pa.types.is_dictionary(arrow_type):
        return physical_of(arrow_type.value_type)
    if pa.types.is_boolean(arrow_type):
        return Physical.BOOL
    if pa.types.is_integer(arrow_type):
        return Physical.INT
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
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


def arrow_to_batch(name: str, array: pa.Array | pa.ChunkedArray) -> ColumnBatch:
    """Convert one Arrow column; numeric data without nulls is not copied."""
    array = _single(array)
    arrow_type = array.type
    physical = physical_of(arrow_type)
    if physical in (Physical.INT, Physical.FLOAT):
        if not pa.types.is_float64(arrow_type):
            array = pc.cast(array, pa.float64())
        values = array.to_numpy(zero_copy_only=False)
        return NumericBatch(np.asarray(values, dtype=np.float64), array.null_count, physical)
    if physical is Physical.DATETIME:
        if pa.types.is_date(arrow_type):
            array = pc.cast(array, pa.timestamp("s"))
        unit = array.type.unit
        if array.type.tz is not None:
            array = array.cast(pa.timestamp(unit))
        seconds = pc.cast(array, pa.int64()).to_numpy(zero_copy_only=False).astype(np.float64)
        seconds *= _SECONDS_PER_UNIT[unit]
        return NumericBatch(seconds, array.null_count, physical)
    if physical is Physical.NULL:
        return NumericBatch(np.full(len(array), np.nan), len(array), physical)
    if physical is Physical.BOOL:
        codes = pc.fill_null(pc.cast(array, pa.int32()), -1).to_numpy(zero_copy_only=False)
        return CodesBatch(codes.astype(np.int32), ("false", "true"), physical)
    return _encode_strings(name, array, physical)


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
    codes = pc.fill_null(array.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
    categories = tuple(str(value) for value in dictionary.to_pylist())
    return CodesBatch(codes, categories, physical)

"""Logged predictions column by column: one Arrow IPC blob per batch of rows.

A prediction's features, output and score never change after it is logged, and the monitor
reads them a window at a time, one column after another. So the store keeps them as one
Arrow record batch per written batch (per model version), not as one JSON document per row:
writing costs one ``pa.array`` per column instead of one ``json.dumps`` per row, and reading a
window of a million rows is a few Arrow ``take`` calls instead of a million ``json.loads``.

Each column is typed when its values allow it and JSON text otherwise, so every JSON value
still round-trips exactly:

=================================  ==================  ====================================
values (``None`` allowed in all)   Arrow type          comes back as
=================================  ==================  ====================================
booleans                           bool                the same booleans
integers within 64 bits            int64               the same integers
numbers (floats, or a mix of       float64             floats (a JSON number is a number:
floats and integers of at most                          ``3`` in a column of fractions
53 bits)                                                comes back as ``3.0``)
strings                            string              the same strings
lists of numbers (class scores)    list<float64>       lists of floats
anything else (objects, mixed      string, field       the same values, through ``json``
types, lone surrogates, ...)       metadata json=1
=================================  ==================  ====================================

Features become one column per name when every row of the batch has the same names; a batch
whose rows name different features keeps each row's features as one JSON object instead.

:class:`WindowColumns` gives the monitor the features and outputs as it profiles them, which is
not always the exact stored value (read that with ``Store.get_prediction``): text holds no NUL
or lone surrogate (each becomes U+FFFD: Arrow strings are UTF-8, and segment names must fit a
PostgreSQL text column), integers beyond 64 bits are floats, and a list or object is its JSON
text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeAlias

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

FORMAT: Final = b"seismo.predictions/1"
_PART: Final = b"part"  # field metadata: feature, features (JSON objects), output, score
_JSON: Final = b"json"  # field metadata: b"1" when the column holds JSON text

# Above 2**53 a float64 no longer holds every integer: such numbers keep their JSON text.
_EXACT_INT: Final = 2**53


def json_default(value: object) -> object:
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return tolist()
    raise TypeError(f"a value of type {type(value).__name__} cannot be stored as JSON")


encode_json: Callable[[object], str] = json.JSONEncoder(
    separators=(",", ":"), default=json_default
).encode


_DECODER = msgspec.json.Decoder()


def decode_json_texts(texts: Sequence[str | None]) -> list[Any]:
    """Many JSON texts decoded as one document (``None`` stays ``None``).

    msgspec decodes it (integers of any size stay exact); text it refuses, the NaN and
    infinities :mod:`json` writes and escaped lone surrogates, goes through :mod:`json`.
    """
    if not texts:
        return []
    document = "[" + ",".join("null" if t is None else t for t in texts) + "]"
    try:
        return list(_DECODER.decode(document))
    except msgspec.MsgspecError:
        return list(json.loads(document))


# -- writing --------------------------------------------------------------------------------


def _typed(values: list[Any]) -> pa.Array | None:
    """The values as a typed Arrow array, or None when only JSON text keeps them exactly."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    try:
        if not kinds:
            return pa.nulls(len(values))
        if kinds == {bool}:
            return pa.array(values, pa.bool_())
        if kinds == {int}:
            return pa.array(values, pa.int64())
        if kinds == {float}:
            return pa.array(values, pa.float64())
        if kinds == {int, float}:
            if any(type(v) is int and abs(v) > _EXACT_INT for v in values):
                return None
            return pa.array(values, pa.float64())
        if kinds == {str}:
            return pa.array(values, pa.string())
        if kinds == {list} and all(
            type(item) is float for value in values if value is not None for item in value
        ):
            return pa.array(values, pa.list_(pa.float64()))
    except (OverflowError, UnicodeEncodeError, pa.ArrowException):
        return None  # integers beyond 64 bits, lone surrogates
    return None


def _column(values: list[Any], part: bytes, name: str = "") -> tuple[pa.Field, pa.Array]:
    typed = _typed(values)
    if typed is not None:
        return pa.field(name, typed.type, metadata={_PART: part}), typed
    text = pa.array([encode_json(value) for value in values], pa.string())
    return pa.field(name, pa.string(), metadata={_PART: part, _JSON: b"1"}), text


def _safe_name(name: object) -> bool:
    if not isinstance(name, str):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_rows(features: Sequence[dict[str, Any]], outputs: list[Any], scores: list[Any]) -> bytes:
    """One batch of predictions (features, outputs, scores in row order) as an IPC blob.

    Raises TypeError for a value JSON cannot hold.
    """
    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    names = list(features[0]) if features else []
    if all(f.keys() == features[0].keys() for f in features) and all(map(_safe_name, names)):
        for name in names:
            field, array = _column([f[name] for f in features], b"feature", name)
            fields.append(field)
            arrays.append(array)
    else:
        text = pa.array([encode_json(f) for f in features], pa.string())
        fields.append(pa.field("", pa.string(), metadata={_PART: b"features", _JSON: b"1"}))
        arrays.append(text)
    for values, part in ((outputs, b"output"), (scores, b"score")):
        field, array = _column(values, part)
        fields.append(field)
        arrays.append(array)
    schema = pa.schema(fields, metadata={b"format": FORMAT})
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch)
    blob: bytes = sink.getvalue().to_pybytes()
    return blob


# -- reading --------------------------------------------------------------------------------


def decode(blob: bytes) -> pa.RecordBatch:
    """The record batch of a blob written by :func:`encode_rows`."""
    reader = pa.ipc.open_stream(pa.py_buffer(blob))
    if (reader.schema.metadata or {}).get(b"format") != FORMAT:
        raise ValueError("not a seismo prediction batch (unknown format)")
    return reader.read_next_batch()


def _is_json(field: pa.Field) -> bool:
    return (field.metadata or {}).get(_JSON) == b"1"


def _part(field: pa.Field) -> bytes:
    part: bytes = (field.metadata or {}).get(_PART, b"")
    return part


def _python(field: pa.Field, array: pa.Array) -> list[Any]:
    if _is_json(field):
        return decode_json_texts(array.to_pylist())
    return array.to_pylist()  # type: ignore[no-any-return]


def rows(batch: pa.RecordBatch) -> list[tuple[dict[str, Any], Any, Any]]:
    """Every row of a batch as (features, output, score) Python values."""
    count = batch.num_rows
    features: list[dict[str, Any]] = [{} for _ in range(count)]
    output: list[Any] = [None] * count
    score: list[Any] = [None] * count
    for field, array in zip(batch.schema, batch.columns, strict=True):
        values = _python(field, array)
        part = _part(field)
        if part == b"feature":
            for row, value in zip(features, values, strict=True):
                row[field.name] = value
        elif part == b"features":
            features = values
        elif part == b"output":
            output = values
        elif part == b"score":
            score = values
    return list(zip(features, output, score, strict=True))


Column: TypeAlias = pa.ChunkedArray | list[Any]


class WindowColumns:
    """Rows gathered from many batches, column by column (features by name, outputs, scores).

    Columns that are typed alike in every batch stay Arrow arrays; a column whose type differs
    between batches (or that holds JSON text) becomes a list of Python values.
    """

    def __init__(self) -> None:
        self._features: dict[str, list[pa.Array | list[Any]]] = {}
        self._outputs: list[pa.Array | list[Any]] = []
        self._scores: list[pa.Array | list[Any]] = []
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def add(self, batch: pa.RecordBatch, indices: NDArray[np.int64]) -> None:
        """Append the rows ``indices`` of ``batch``."""
        if not (len(indices) == batch.num_rows and _is_range(indices)):
            batch = batch.take(pa.array(indices, pa.int64()))
        seen: set[str] = set()
        for field, array in zip(batch.schema, batch.columns, strict=True):
            part = _part(field)
            piece: pa.Array | list[Any] = _python(field, array) if _is_json(field) else array
            if part == b"feature":
                self._feature(field.name).append(piece)
                seen.add(field.name)
            elif part == b"features":
                seen |= self._add_features(piece)
            elif part == b"output":
                self._outputs.append(piece)
            elif part == b"score":
                self._scores.append(piece)
        self._finish(batch.num_rows, seen)

    def add_objects(
        self, features: list[dict[str, Any]], outputs: list[Any], scores: list[Any]
    ) -> None:
        """Append rows given as Python values (features one dict per row)."""
        seen = self._add_features(features)
        self._outputs.append(_typed_or_values(outputs))
        self._scores.append(_typed_or_values(scores))
        self._finish(len(features), seen)

    def _add_features(self, objects: list[dict[str, Any]]) -> set[str]:
        first = objects[0].keys() if objects else {}.keys()
        if all(row.keys() == first for row in objects):
            names = dict.fromkeys(first)
        else:
            names = dict.fromkeys(name for row in objects for name in row)
        for name in names:
            self._feature(name).append(_typed_or_values([row.get(name) for row in objects]))
        return set(names)

    def _finish(self, count: int, seen: set[str]) -> None:
        for name, pieces in self._features.items():
            if name not in seen:
                pieces.append(pa.nulls(count))
        self._rows += count

    def _feature(self, name: str) -> list[pa.Array | list[Any]]:
        if name not in self._features:
            pieces = self._features[name] = []
            if self._rows:
                pieces.append(pa.nulls(self._rows))
        return self._features[name]

    def feature(self, name: str) -> Column:
        """A feature column (all None when no row had the feature), as the monitor profiles
        it (see the module's docstring)."""
        pieces = self._features.get(name)
        return _combine(list(map(_profilable, pieces))) if pieces else [None] * self._rows

    @property
    def feature_names(self) -> list[str]:
        return list(self._features)

    @property
    def outputs(self) -> Column:
        """The outputs, as the monitor profiles them (see the module's docstring)."""
        return _combine(list(map(_profilable, self._outputs)))

    @property
    def scores(self) -> Column:
        return _combine(self._scores)


_UNPROFILABLE_TEXT: Final = re.compile("[\x00\ud800-\udfff]")
_INT64: Final = (-(2**63), 2**63 - 1)


def _profilable(piece: pa.Array | list[Any]) -> pa.Array | list[Any]:
    """``piece`` with NUL and lone surrogates in text replaced by U+FFFD, integers beyond 64
    bits as floats and lists and objects as JSON text: values Arrow can hold, and text any
    database can key a segment by."""
    if isinstance(piece, pa.Array):
        if pa.types.is_string(piece.type) and pc.any(pc.match_substring(piece, "\x00")).as_py():
            return pc.replace_substring(piece, "\x00", "\ufffd")
        return piece
    if all(_is_profilable(value) for value in piece):
        return piece
    return [_profilable_value(value) for value in piece]


def _is_profilable(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return _UNPROFILABLE_TEXT.search(value) is None
    if kind is int:
        return bool(_INT64[0] <= value <= _INT64[1])
    return kind is not list and kind is not dict


def _profilable_value(value: Any) -> Any:
    if isinstance(value, str):
        return _UNPROFILABLE_TEXT.sub("\ufffd", value)
    if isinstance(value, list | dict):
        try:
            return _profilable_value(encode_json(value))
        except (RecursionError, TypeError, ValueError):
            return f"<{type(value).__name__}>"
    if type(value) is int and not _INT64[0] <= value <= _INT64[1]:
        try:
            return float(value)
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")
    return value


def _typed_or_values(values: list[Any]) -> pa.Array | list[Any]:
    typed = _typed(values)
    return values if typed is None else typed


def _is_range(indices: NDArray[np.int64]) -> bool:
    return bool(indices[0] == 0 and np.all(np.diff(indices) == 1)) if len(indices) else True


_NUMERIC: Final = (pa.int64(), pa.float64())


def _combine(pieces: list[pa.Array | list[Any]]) -> Column:
    """One column from per-batch pieces: Arrow when the types agree, Python values otherwise."""
    arrays = [piece for piece in pieces if isinstance(piece, pa.Array)]
    if len(arrays) == len(pieces):
        types = {array.type for array in arrays if not pa.types.is_null(array.type)}
        if len(types) <= 1:
            target = types.pop() if types else pa.null()
        elif types <= set(_NUMERIC):
            target = pa.float64()
        else:
            target = None
        if target is not None:
            combined: pa.ChunkedArray = pa.chunked_array(
                [array.cast(target) for array in arrays], type=target
            )
            return combined
    values: list[Any] = []
    for piece in pieces:
        values.extend(piece.to_pylist() if isinstance(piece, pa.Array) else piece)
    return values


def take(column: Column, indices: NDArray[np.intp]) -> Column:
    """The values of ``column`` at ``indices``."""
    if isinstance(column, pa.ChunkedArray):
        taken: pa.ChunkedArray = column.take(pa.array(indices))
        return taken
    return [column[i] for i in indices.tolist()]


def to_list(column: Column) -> list[Any]:
    if isinstance(column, pa.ChunkedArray):
        values: list[Any] = column.to_pylist()
        return values
    return list(column)

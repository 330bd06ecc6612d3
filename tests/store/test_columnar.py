"""The columnar batch format: typed where values allow, exact JSON otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from seismo.store import columnar


def batch_of(features: list[dict[str, Any]], outputs: Any = None, scores: Any = None) -> Any:
    count = len(features)
    blob = columnar.encode_rows(
        features, outputs if outputs is not None else [0] * count, scores or [None] * count
    )
    return columnar.decode(blob)


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        ([True, None, False], pa.bool_()),
        ([1, None, -(2**63)], pa.int64()),
        ([1, 2.5, None], pa.float64()),
        (["a", None, "b"], pa.string()),
        ([[0.1, 0.9], None, []], pa.list_(pa.float64())),
        ([None, None], pa.null()),
    ],
)
def test_columns_are_typed_when_the_values_allow(values: list[Any], arrow_type: Any) -> None:
    batch = batch_of([{"x": v} for v in values])
    assert batch.schema.field("x").type == arrow_type
    assert [row[0]["x"] for row in columnar.rows(batch)] == values


@pytest.mark.parametrize(
    "values",
    [
        [2**64, 1],  # beyond 64 bits
        [2**60, 0.5],  # an integer a float64 would round, beside fractions
        [True, 1],  # booleans are not numbers
        ["a", 1],
        [{"nested": 1}, None],
        ["lone \udc80 surrogate", "x"],
        [[1, 2], [0.5]],  # integers inside lists
    ],
)
def test_other_columns_keep_their_json_text(values: list[Any]) -> None:
    batch = batch_of([{"x": v} for v in values])
    assert batch.schema.field("x").type == pa.string()
    back = [row[0]["x"] for row in columnar.rows(batch)]
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]


def test_rows_naming_different_features_keep_one_json_object_each() -> None:
    features = [{"a": 1}, {"b": "x"}, {}]
    batch = batch_of(features)
    assert [row[0] for row in columnar.rows(batch)] == features


def test_a_foreign_blob_is_refused() -> None:
    sink = pa.BufferOutputStream()
    table = pa.table({"x": [1]})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(ValueError, match="not a seismo prediction batch"):
        columnar.decode(sink.getvalue().to_pybytes())


def test_window_columns_unify_types_across_batches() -> None:
    columns = columnar.WindowColumns()
    columns.add(batch_of([{"n": 1, "s": "a"}, {"n": 2, "s": "b"}]), np.array([0, 1]))
    columns.add(batch_of([{"n": 2.5, "t": True}]), np.array([0]))
    columns.add_objects([{"n": None, "s": 7}], [1], [0.5])
    assert len(columns) == 4
    n = columns.feature("n")
    assert isinstance(n, pa.ChunkedArray) and n.type == pa.float64()
    assert n.to_pylist() == [1.0, 2.0, 2.5, None]
    # strings in two batches, absent in one, an integer in the last: Python values
    assert columns.feature("s") == ["a", "b", None, 7]
    assert columnar.to_list(columns.feature("t")) == [None, None, True, None]
    assert columnar.to_list(columns.feature("never")) == [None] * 4
    assert columnar.to_list(columns.outputs) == [0, 0, 0, 1]


def test_window_columns_take_chosen_rows_only() -> None:
    columns = columnar.WindowColumns()
    columns.add(batch_of([{"n": i} for i in range(10)]), np.array([2, 5, 9]))
    assert columnar.to_list(columns.feature("n")) == [2, 5, 9]
    picked = columnar.take(columns.feature("n"), np.array([2, 0]))
    assert columnar.to_list(picked) == [9, 2]


def test_window_columns_give_the_monitor_values_it_can_profile() -> None:
    """Stored exactly (``rows``), but read for the monitor as Arrow and database keys can hold
    them: NUL and lone surrogates as U+FFFD, integers beyond 64 bits as floats, nested values
    as JSON text."""
    features = [{"s": "a\x00b", "t": "\ud800x", "n": 10**30}, {"s": "c", "t": "d", "n": -(10**400)}]
    outputs = [[1, 2], {"k": "\udfff"}]
    batch = batch_of(features, outputs)
    assert [row[0] for row in columnar.rows(batch)] == features  # exact
    columns = columnar.WindowColumns()
    columns.add(batch, np.array([0, 1]))
    columns.add_objects([{"s": "e\x00", "t": "\udc00", "n": 1}], ["\x00"], [None])
    assert columnar.to_list(columns.feature("s")) == ["a\ufffdb", "c", "e\ufffd"]
    assert columnar.to_list(columns.feature("t")) == ["\ufffdx", "d", "\ufffd"]
    assert columnar.to_list(columns.feature("n")) == [1e30, float("-inf"), 1]
    assert columnar.to_list(columns.outputs) == ["[1,2]", '{"k":"\\udfff"}', "\ufffd"]
    typed = columnar.WindowColumns()
    typed.add(batch_of([{"s": "x\x00"}] * 3), np.arange(3))
    assert columnar.to_list(typed.feature("s")) == ["x\ufffd"] * 3

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from seismo.schema.types import Kind
from seismo.service.errors import RequestError
from seismo.service.payloads import (
    check_features,
    logged_predictions,
    parse_json,
    parse_labels,
    parse_timestamp,
    rows_of,
)

FEATURES = ("age", "city")
KINDS = {"age": Kind.NUMERIC, "city": Kind.CATEGORICAL}
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TARGET: dict[str, Any] = {"task": "classification", "classes": ("0", "1")}
MODEL: dict[str, Any] = {"model": "m", "version": 1, "features": FEATURES, "kinds": KINDS, **TARGET}


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        (b"", "empty_body", "empty"),
        (b'{"instances": [', "invalid_json", "malformed JSON at line 1 column"),
        (b'{"x": NaN}', "invalid_json", "NaN is not valid JSON"),
        (b'{"x": Infinity}', "invalid_json", "Infinity is not valid JSON"),
        (b"\xff\xfe", "invalid_json", "not UTF-8"),
    ],
)
def test_bad_json_is_a_400_that_says_why(body: bytes, code: str, text: str) -> None:
    with pytest.raises(RequestError) as caught:
        parse_json(body)
    assert caught.value.status == 400 and caught.value.code == code
    assert text in caught.value.message


def test_rows_of_checks_shape_and_size() -> None:
    assert rows_of({"instances": [1, 2]}, "instances", 10) == [1, 2]
    assert rows_of([1], "instances", 10) == [1]
    for document, status in [({}, 422), ({"instances": {}}, 422), ({"instances": []}, 422)]:
        with pytest.raises(RequestError) as caught:
            rows_of(document, "instances", 10)
        assert caught.value.status == status
    with pytest.raises(RequestError) as caught:
        rows_of({"instances": list(range(11))}, "instances", 10)
    assert caught.value.status == 413


def test_feature_rows_name_every_problem() -> None:
    row, problems = check_features({"age": 30, "city": "Lyon"}, "instances[0]", FEATURES, KINDS)
    assert row == {"age": 30, "city": "Lyon"} and not problems
    row, problems = check_features([41.5, "Nice"], "instances[1]", FEATURES, KINDS)
    assert row == {"age": 41.5, "city": "Nice"}
    row, problems = check_features({"age": "old", "town": "x"}, "instances[2]", FEATURES, KINDS)
    assert row is None
    text = [f"{p.field}: {p.message}" for p in problems]
    assert "instances[2]: missing feature(s) ['city']" in text
    assert any(t.startswith("instances[2]: unknown feature(s) ['town']") for t in text)
    assert 'instances[2].age: expected a number, got "old"' in text
    _, problems = check_features({"age": True, "city": [1]}, "i", FEATURES, KINDS)
    assert {p.field for p in problems} == {"i.age", "i.city"}
    _, problems = check_features([1.0], "i", FEATURES, KINDS)
    assert "has 1 values; the model takes 2" in problems[0].message


def test_timestamps_are_iso_and_utc() -> None:
    parsed, problem = parse_timestamp("2026-03-01T10:00:00+02:00", "t")
    assert parsed == datetime(2026, 3, 1, 8, tzinfo=UTC) and problem is None
    parsed, _ = parse_timestamp("2026-03-01T10:00:00", "t")
    assert parsed == datetime(2026, 3, 1, 10, tzinfo=UTC)
    _, problem = parse_timestamp("yesterday", "t")
    assert problem is not None and "ISO 8601" in problem.message


def test_a_batch_with_one_bad_row_is_rejected_whole() -> None:
    rows = [
        {"features": {"age": 30, "city": "a"}, "output": 1, "id": "p1"},
        {"features": {"age": 31, "city": "b"}, "output": 0, "score": 1.5},
        {"features": {"age": 32, "city": "c"}, "output": 0, "id": "p1"},
    ]
    with pytest.raises(RequestError) as caught:
        logged_predictions(rows, now=NOW, **MODEL)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["predictions[1].score", "predictions[2].id"]
    good = logged_predictions(rows[:1], now=NOW, **MODEL)
    assert good[0].id == "p1" and good[0].timestamp == NOW


def test_labels_need_an_id_and_a_scalar_label() -> None:
    assert parse_labels([{"prediction_id": "a", "label": 1}], NOW, **TARGET)[0].label == 1
    with pytest.raises(RequestError) as caught:
        parse_labels(
            [{"label": 1}, {"prediction_id": "b"}, {"prediction_id": "c", "label": [1]}],
            NOW,
            **TARGET,
        )
    assert [p.field for p in caught.value.problems] == [
        "labels[0].prediction_id",
        "labels[1].label",
        "labels[2].label",
    ]

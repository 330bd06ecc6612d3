"""Parsing and validation of request bodies (plain functions; the routes stay thin).

Batch policy: a batch with any invalid row is rejected whole (422, every problem listed with its
JSON path, up to 50); nothing from it is stored. A client fixes the rows and sends it again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from seismo.ids import new_id, new_ids
from seismo.schema.types import Kind
from seismo.service.errors import Problem, RequestError, invalid
from seismo.store.base import Label, Prediction

NUMERIC_KINDS = (Kind.NUMERIC,)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON; send null for a missing value")


_DECODER = msgspec.json.Decoder()


def require_json(content_type: str | None) -> None:
    """JSON bodies only: any other Content-Type is 415.

    Browsers send form-encoded and ``text/plain`` bodies from any web page without asking the
    server first (no CORS preflight); refusing them keeps a page open on the host from writing.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    ):
        return
    raise RequestError(
        415,
        "unsupported_media_type",
        f"send the body as JSON with 'Content-Type: application/json' (got {media or 'none'!r})",
    )


def parse_json(body: bytes) -> Any:
    """Strict JSON: NaN and Infinity literals are refused (they are not JSON).

    msgspec parses (five times faster than :mod:`json`, integers of any size kept exact);
    what it refuses goes through :mod:`json`, which either accepts it as before (an escaped
    lone surrogate, a number too large for a float, refused later as not finite) or says
    where the document is malformed.
    """
    if not body.strip():
        raise RequestError(400, "empty_body", "the request body is empty; send a JSON object")
    try:
        return _DECODER.decode(body)
    except msgspec.MsgspecError:
        pass
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise RequestError(400, "invalid_json", "the request body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise RequestError(
            400,
            "invalid_json",
            f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}",
            [Problem("$", error.msg)],
        ) from None
    except ValueError as error:
        raise RequestError(400, "invalid_json", str(error), [Problem("$", str(error))]) from None


def rows_of(document: Any, key: str, max_rows: int) -> list[Any]:
    """The list under ``key`` of a JSON object (a bare list is accepted too)."""
    if isinstance(document, Mapping):
        if key not in document:
            raise RequestError(
                422, "missing_field", f"the body needs a {key!r} list", [Problem(key, "required")]
            )
        rows = document[key]
    else:
        rows = document
    if not isinstance(rows, list):
        raise RequestError(
            422, "invalid_field", f"{key!r} must be a list", [Problem(key, "not a list")]
        )
    if not rows:
        raise RequestError(422, "empty_batch", f"{key!r} is empty", [Problem(key, "empty")])
    if len(rows) > max_rows:
        raise RequestError(
            413,
            "batch_too_large",
            f"{len(rows)} rows in {key!r}; at most {max_rows} per request — split the batch",
        )
    return rows


def check_features(
    instance: Any, where: str, features: Sequence[str], kinds: Mapping[str, Kind]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Validate one feature row (an object keyed by feature name, or a list in feature order)."""
    problems: list[Problem] = []
    if isinstance(instance, list):
        if len(instance) != len(features):
            return None, [
                Problem(
                    where,
                    f"has {len(instance)} values; the model takes {len(features)}: "
                    f"{list(features)}",
                )
            ]
        instance = dict(zip(features, instance, strict=True))
    if not isinstance(instance, Mapping):
        return None, [Problem(where, "must be an object of feature values (or a list)")]
    missing = [name for name in features if name not in instance]
    if missing:
        problems.append(Problem(where, f"missing feature(s) {missing}"))
    unknown = [name for name in instance if name not in kinds]
    if unknown:
        problems.append(
            Problem(
                where, f"unknown feature(s) {unknown}; the model's features are {list(features)}"
            )
        )
    row: dict[str, Any] = {}
    for name in features:
        if name not in instance:
            continue
        value = instance[name]
        field_path = f"{where}.{name}"
        if value is None:
            row[name] = None
        elif kinds.get(name) in NUMERIC_KINDS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(Problem(field_path, f"expected a number, got {_show(value)}"))
            elif not math.isfinite(value):
                problems.append(Problem(field_path, "must be finite"))
            else:
                row[name] = value
        elif isinstance(value, str | int | float | bool):
            row[name] = value
        else:
            problems.append(Problem(field_path, f"expected a scalar, got {_show(value)}"))
    return (row if not problems else None), problems


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_timestamp(value: Any, where: str) -> tuple[datetime | None, Problem | None]:
    """ISO 8601; a timestamp without a UTC offset is taken as UTC."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, Problem(where, "must be an ISO 8601 string, e.g. 2026-01-31T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None, Problem(where, f"not an ISO 8601 timestamp: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC), None
    except OverflowError:
        return None, Problem(where, f"{value!r} lies outside the years 1 to 9999 in UTC")


def feature_rows(
    instances: list[Any], where: str, features: Sequence[str], kinds: Mapping[str, Kind]
) -> list[dict[str, Any]]:
    """Validate a batch of feature rows; raise 422 listing every problem, or return the rows.

    A batch of objects with exactly the model's feature names and valid values (the usual
    case) is checked a column at a time; anything else goes row by row, which names each
    problem's path.
    """
    fast = _feature_columns_valid(instances, features, kinds)
    if fast is not None:
        return fast
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for index, instance in enumerate(instances):
        row, found = check_features(instance, f"{where}[{index}]", features, kinds)
        problems.extend(found)
        if row is not None:
            rows.append(row)
    if problems:
        raise invalid(problems, where)
    return rows


_SCALARS = frozenset({str, int, float, bool, type(None)})
_NUMBERS = frozenset({int, float, type(None)})
_INFINITIES = (math.inf, -math.inf)


def _feature_columns_valid(
    instances: list[Any], features: Sequence[str], kinds: Mapping[str, Kind]
) -> list[dict[str, Any]] | None:
    """The rows when every one is an object of exactly the features with valid values."""
    names = set(features)
    if not all(type(row) is dict and row.keys() == names for row in instances):
        return None
    for name in features:
        values = [row[name] for row in instances]
        types = set(map(type, values))
        if kinds.get(name) in NUMERIC_KINDS:
            # JSON has no NaN (refused when parsed); a number too large for a float is inf.
            if not types <= _NUMBERS or (float in types and any(v in values for v in _INFINITIES)):
                return None
        elif not types <= _SCALARS:
            return None
    return instances


_ROW_FIELDS = frozenset({"id", "features", "output", "score", "timestamp"})


def logged_predictions(
    rows: list[Any],
    *,
    model: str,
    version: int,
    features: Sequence[str],
    kinds: Mapping[str, Kind],
    now: datetime,
) -> list[Prediction]:
    """Validate ``POST /v1/models/{name}/predictions`` rows (predictions made elsewhere)."""
    fast = _predictions_valid(rows, model, version, features, kinds, now)
    if fast is not None:
        return fast
    problems: list[Problem] = []
    out: list[Prediction] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        where = f"predictions[{index}]"
        if not isinstance(row, Mapping):
            problems.append(Problem(where, "must be an object with 'features' and 'output'"))
            continue
        unknown = sorted(set(row) - _ROW_FIELDS)
        if unknown:
            problems.append(Problem(where, f"unknown field(s) {unknown}"))
        if "output" not in row:
            problems.append(Problem(f"{where}.output", "required"))
        if "features" not in row:
            problems.append(Problem(f"{where}.features", "required"))
            continue
        values, found = check_features(row["features"], f"{where}.features", features, kinds)
        problems.extend(found)
        timestamp, problem = parse_timestamp(row.get("timestamp"), f"{where}.timestamp")
        if problem:
            problems.append(problem)
        prediction_id = row.get("id")
        if prediction_id is None:
            prediction_id = new_id()
        elif not isinstance(prediction_id, str | int) or isinstance(prediction_id, bool):
            problems.append(Problem(f"{where}.id", "must be a string"))
            continue
        prediction_id = str(prediction_id)
        if prediction_id in seen:
            problems.append(Problem(f"{where}.id", f"id {prediction_id!r} appears twice"))
        seen.add(prediction_id)
        score = row.get("score")
        if not _valid_score(score):
            problems.append(
                Problem(f"{where}.score", "must be a number in [0, 1] or a list of them")
            )
        if values is not None and not problems:
            out.append(
                Prediction(
                    prediction_id,
                    model,
                    version,
                    timestamp or now,
                    values,
                    row.get("output"),
                    score,
                )
            )
    if problems:
        raise invalid(problems, "predictions")
    return out


def _predictions_valid(
    rows: list[Any],
    model: str,
    version: int,
    features: Sequence[str],
    kinds: Mapping[str, Kind],
    now: datetime,
) -> list[Prediction] | None:
    """The predictions when every row is valid, checked a column at a time; None sends the
    batch through the row-by-row path that names each problem."""
    if not all(type(row) is dict and "output" in row and row.keys() <= _ROW_FIELDS for row in rows):
        return None
    try:
        instances = [row["features"] for row in rows]
    except KeyError:
        return None
    if _feature_columns_valid(instances, features, kinds) is None:
        return None
    ids: list[Any] = [row.get("id") for row in rows]
    if not all(type(i) is str or i is None for i in ids):
        return None
    fresh = iter(new_ids(sum(i is None for i in ids)))
    ids = [next(fresh) if i is None else i for i in ids]
    if len(set(ids)) < len(ids):
        return None
    scores = [row.get("score") for row in rows]
    if not all(map(_valid_score, scores)):
        return None
    timestamps: list[datetime] = [now] * len(rows)
    for index, row in enumerate(rows):
        if row.get("timestamp") is not None:
            parsed, problem = parse_timestamp(row["timestamp"], "")
            if problem is not None or parsed is None:
                return None
            timestamps[index] = parsed
    return [
        Prediction(i, model, version, at, values, row["output"], score)
        for i, at, values, row, score in zip(ids, timestamps, instances, rows, scores, strict=True)
    ]


def _valid_score(score: Any) -> bool:
    if score is None:
        return True
    if type(score) is float:
        return 0.0 <= score <= 1.0
    items = score if isinstance(score, list) else [score]
    return all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in items
    )


def parse_labels(rows: list[Any], now: datetime) -> list[Label]:
    problems: list[Problem] = []
    labels: list[Label] = []
    for index, row in enumerate(rows):
        where = f"labels[{index}]"
        if not isinstance(row, Mapping):
            problems.append(Problem(where, "must be an object with 'prediction_id' and 'label'"))
            continue
        unknown = sorted(set(row) - {"prediction_id", "label"})
        if unknown:
            problems.append(Problem(where, f"unknown field(s) {unknown}"))
        prediction_id = row.get("prediction_id")
        if not isinstance(prediction_id, str) or not prediction_id:
            problems.append(Problem(f"{where}.prediction_id", "required, a string"))
            continue
        if "label" not in row or row["label"] is None:
            problems.append(Problem(f"{where}.label", "required"))
            continue
        label = row["label"]
        if not isinstance(label, str | int | float | bool):
            problems.append(Problem(f"{where}.label", "must be a string, number or boolean"))
            continue
        labels.append(Label(prediction_id, label, now))
    if problems:
        raise invalid(problems, "labels")
    return labels

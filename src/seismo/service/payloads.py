"""Parsing and validation of request bodies (plain functions; the routes stay thin).

Batch policy: a batch with any invalid row is rejected whole (422, every problem listed with its
JSON path, up to 50); nothing from it is stored. A client fixes the rows and sends it again.

What is accepted is what the store keeps and the monitor can process (README, "Bad input"):

- feature values are JSON scalars; a numeric feature's a finite number of magnitude at most
  :data:`MAX_MAGNITUDE` (window sums of larger ones overflow). Text is data and stored exactly,
  NUL and lone surrogates included (the monitor reads them as U+FFFD).
- an output is one of the model's classes (classification; matched by text as the monitor
  matches them: ``1`` is class ``"1"``) or a number like a numeric feature (regression); a
  score is a probability (binary classification, regression) or a list of one per class.
- a label is a class or a number by the same rules.
- ids are 1 to :data:`MAX_ID_CHARS` characters without control characters or lone surrogates.
- timestamps lie between :data:`EARLIEST` and :data:`LATEST`; a logged prediction's at most
  ``max_future_skew`` (default one day) ahead of the server's clock.
- bodies of the other routes (alerts, silences), stored as sent, hold no NUL or lone
  surrogate (PostgreSQL text cannot) and nest at most :data:`MAX_DEPTH` levels.

Nothing nested is accepted as a value, so the accepted values' nesting is capped at one level
(a list of class scores); a body nested beyond the parser's limit (about 1,000 levels) is 400.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from seismo.ids import new_id, new_ids
from seismo.monitor.job import _text as class_text  # how the monitor matches outputs to classes
from seismo.schema.types import Kind
from seismo.service.errors import Problem, RequestError, invalid
from seismo.store.base import Label, Prediction

NUMERIC_KINDS = (Kind.NUMERIC,)

#: Largest magnitude of a number that is summed (numeric features, regression outputs and
#: labels): the monitor's window sums of values near the float maximum (1.8e308) overflow.
MAX_MAGNITUDE = 1e200
#: Ids (prediction ids, label prediction ids): at most this many characters.
MAX_ID_CHARS = 200
#: Nesting of the bodies stored as sent (alerts, silences).
MAX_DEPTH = 32
#: Windows are aligned to the Unix epoch; the store numbers them from it.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: Far enough from the year 9999 that window and rolling-window arithmetic cannot overflow.
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
#: How far ahead of the server's clock a logged prediction's timestamp may be.
DEFAULT_MAX_FUTURE_SKEW = timedelta(days=1)

# Control characters (C0, DEL, C1) and lone surrogates: never in an id.
_ID_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# What PostgreSQL text cannot hold (NUL) and what is not Unicode text (lone surrogates).
_UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


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
    """Strict JSON for bodies that are stored as sent (alert acknowledgements, silences).

    Besides :func:`parse_batch_json`'s rules: no string (key or value) may hold NUL or a lone
    surrogate, and nothing may nest deeper than :data:`MAX_DEPTH` levels (422 naming the
    field).
    """
    document = _decode(body)
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH or b"\\u" in body:
        problem = _stored_text_problem(document)
        if problem is not None:
            raise invalid([problem], "body")
    return document


def parse_batch_json(body: bytes) -> Any:
    """Strict JSON for the batch routes (``:predict``, ``/predictions``, ``/labels``), whose
    rows are then checked field by field (so strings are data here, lone surrogates included).

    NaN and Infinity literals are refused (they are not JSON). msgspec parses (five times
    faster than :mod:`json`, integers of any size kept exact); what it refuses goes through
    :mod:`json`, which either accepts it as before (an escaped lone surrogate, a number too
    large for a float, refused later as not finite) or says where the document is malformed.
    """
    return _decode(body)


_TOO_DEEP = (
    "the JSON nests too deeply to parse (about 1,000 levels); request values are scalars or "
    "flat lists"
)


def _decode(body: bytes) -> Any:
    if not body.strip():
        raise RequestError(400, "empty_body", "the request body is empty; send a JSON object")
    try:
        return _DECODER.decode(body)
    except RecursionError:
        raise RequestError(400, "invalid_json", _TOO_DEEP, [Problem("$", _TOO_DEEP)]) from None
    except msgspec.MsgspecError:
        pass
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise RequestError(400, "invalid_json", "the request body is not UTF-8 text") from None
    except RecursionError:
        raise RequestError(400, "invalid_json", _TOO_DEEP, [Problem("$", _TOO_DEEP)]) from None
    except json.JSONDecodeError as error:
        raise RequestError(
            400,
            "invalid_json",
            f"malformed JSON at line {error.lineno} column {error.colno}: {error.msg}",
            [Problem("$", error.msg)],
        ) from None
    except ValueError as error:
        raise RequestError(400, "invalid_json", str(error), [Problem("$", str(error))]) from None


def _stored_text_problem(document: Any) -> Problem | None:
    """The first string with NUL or a lone surrogate, or nesting beyond :data:`MAX_DEPTH`."""
    for path, value, depth in _walk(document):
        if depth > MAX_DEPTH:
            return Problem(path or "$", f"nests deeper than {MAX_DEPTH} levels")
        if isinstance(value, str) and _UNSTORABLE_TEXT.search(value):
            return Problem(path or "$", _text_message(value))
    return None


def _walk(document: Any) -> Iterator[tuple[str, Any, int]]:
    """(JSON path, value, depth) of every value and every object key, depth first."""
    stack: list[tuple[str, Any, int]] = [("", document, 1)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if depth > MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                where = f"{path}.{key}" if path else str(key)
                yield where, key, depth
                stack.append((where, item, depth + 1))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}[{index}]", item, depth + 1)
                for index, item in reversed(list(enumerate(value)))
            )


def _text_message(text: str) -> str:
    if "\x00" in text:
        return "must not contain NUL (\\u0000): PostgreSQL text cannot hold it"
    return "must be Unicode text: a lone surrogate (\\ud800-\\udfff) is not"


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
                where,
                f"unknown feature(s) {_names(unknown)}; the model's features are {list(features)}",
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
            problem = number_problem(value)
            if problem is not None:
                problems.append(Problem(field_path, problem))
            else:
                row[name] = value
        elif isinstance(value, str | int | float | bool):
            row[name] = value
        else:
            problems.append(Problem(field_path, f"expected a scalar, got {_show(value)}"))
    return (row if not problems else None), problems


def number_problem(value: Any) -> str | None:
    """Why ``value`` is not a number the monitor can sum (None when it is one)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a number, got {_show(value)}"
    # Compared as Python numbers: exact for integers of any size, False for NaN.
    if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
        return f"must be a finite number of magnitude at most {MAX_MAGNITUDE:g}"
    return None


def _show(value: Any) -> str:
    """A short description of a request value for an error message (any size or nesting)."""
    if isinstance(value, dict):
        return f"an object of {len(value)} key(s)"
    if isinstance(value, list):
        return f"a list of {len(value)} value(s)"
    if isinstance(value, str) and len(value) > 40:
        value = value[:40]
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**40:
        return "an integer of more than 40 digits"
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _names(names: Sequence[Any]) -> str:
    """Keys from a request for an error message: at most ten, each at most 40 characters."""
    shown = [repr(text if len(text) <= 40 else text[:37] + "...") for text in map(str, names[:10])]
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return "[" + ", ".join(shown) + "]" + more


def parse_timestamp(value: Any, where: str) -> tuple[datetime | None, Problem | None]:
    """ISO 8601; a timestamp without a UTC offset is taken as UTC. It must lie from
    :data:`EARLIEST` (windows are numbered from the Unix epoch) to before :data:`LATEST`
    (window arithmetic near the year 9999 overflows)."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, Problem(where, "must be an ISO 8601 string, e.g. 2026-01-31T12:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None, Problem(where, f"not an ISO 8601 timestamp: {_show(value)}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        parsed = EARLIEST - timedelta(days=1) if parsed.year == 1 else LATEST
    if not EARLIEST <= parsed < LATEST:
        return None, Problem(
            where,
            f"{_show(value)} lies outside {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} (UTC): "
            "windows are counted from the Unix epoch",
        )
    return parsed, None


def _future_problem(timestamp: datetime, latest: datetime, skew: timedelta) -> str:
    return (
        f"{timestamp.isoformat()} is more than {_duration(skew)} ahead of the server's clock "
        f"({(latest - skew).isoformat(timespec='seconds')}); send the time the prediction was "
        "made"
    )


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


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
            if not types <= _NUMBERS or not _within_magnitude(values, types):
                return None
        elif not types <= _SCALARS:
            return None
    return instances


def _within_magnitude(values: list[Any], types: set[type]) -> bool:
    """Every number of ``values`` (numbers and None) within :data:`MAX_MAGNITUDE`.

    JSON has no NaN (refused when parsed); a number too large for a float is inf, beyond it.
    """
    numbers = values if type(None) not in types else [v for v in values if v is not None]
    return not numbers or (min(numbers) >= -MAX_MAGNITUDE and max(numbers) <= MAX_MAGNITUDE)


_ROW_FIELDS = frozenset({"id", "features", "output", "score", "timestamp"})


def logged_predictions(
    rows: list[Any],
    *,
    model: str,
    version: int,
    features: Sequence[str],
    kinds: Mapping[str, Kind],
    task: str,
    classes: Sequence[str],
    now: datetime,
    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW,
) -> list[Prediction]:
    """Validate ``POST /v1/models/{name}/predictions`` rows (predictions made elsewhere).

    ``task`` and ``classes`` are the model's: they say what an output and a score may be.
    """
    latest = now + max_future_skew
    fast = _predictions_valid(rows, model, version, features, kinds, task, classes, now, latest)
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
        found: list[Problem] = []
        unknown = sorted(map(str, set(row) - _ROW_FIELDS))
        if unknown:
            found.append(Problem(where, f"unknown field(s) {_names(unknown)}"))
        if "output" not in row:
            found.append(Problem(f"{where}.output", "required"))
        else:
            problem = output_problem(row["output"], task, classes)
            if problem is not None:
                found.append(Problem(f"{where}.output", problem))
        if "features" not in row:
            found.append(Problem(f"{where}.features", "required"))
            values = None
        else:
            values, feature_problems = check_features(
                row["features"], f"{where}.features", features, kinds
            )
            found.extend(feature_problems)
        timestamp, invalid_time = parse_timestamp(row.get("timestamp"), f"{where}.timestamp")
        if invalid_time is not None:
            found.append(invalid_time)
        elif timestamp is not None and timestamp > latest:
            found.append(
                Problem(f"{where}.timestamp", _future_problem(timestamp, latest, max_future_skew))
            )
        prediction_id = row.get("id")
        if prediction_id is None:
            prediction_id = new_id()
        else:
            if type(prediction_id) is int and abs(prediction_id) < 10**MAX_ID_CHARS:
                prediction_id = str(prediction_id)
            problem = id_problem(prediction_id)
            if problem is not None:
                found.append(Problem(f"{where}.id", problem))
            elif prediction_id in seen:
                found.append(Problem(f"{where}.id", f"id {prediction_id!r} appears twice"))
            else:
                seen.add(prediction_id)
        score = row.get("score")
        problem = score_problem(score, task, classes)
        if problem is not None:
            found.append(Problem(f"{where}.score", problem))
        problems.extend(found)
        if values is not None and not problems:
            out.append(
                Prediction(
                    prediction_id, model, version, timestamp or now, values, row["output"], score
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
    task: str,
    classes: Sequence[str],
    now: datetime,
    latest: datetime,
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
    outputs = [row["output"] for row in rows]
    if not _outputs_valid(outputs, task, classes):
        return None
    ids: list[Any] = [row.get("id") for row in rows]
    given = [i for i in ids if i is not None]
    if given and not _ids_valid(given):
        return None
    fresh = iter(new_ids(len(ids) - len(given)))
    ids = [next(fresh) if i is None else i for i in ids]
    if len(set(ids)) < len(ids):
        return None
    scores = [row.get("score") for row in rows]
    if any(score_problem(score, task, classes) is not None for score in scores):
        return None
    timestamps: list[datetime] = [now] * len(rows)
    for index, row in enumerate(rows):
        if row.get("timestamp") is not None:
            parsed, problem = parse_timestamp(row["timestamp"], "")
            if problem is not None or parsed is None or parsed > latest:
                return None
            timestamps[index] = parsed
    return [
        Prediction(i, model, version, at, values, output, score)
        for i, at, values, output, score in zip(
            ids, timestamps, instances, outputs, scores, strict=True
        )
    ]


def _outputs_valid(outputs: list[Any], task: str, classes: Sequence[str]) -> bool:
    types = set(map(type, outputs))
    if task == "regression":
        return types <= {int, float} and _within_magnitude(outputs, types)
    if types == {str} and classes:
        return set(outputs) <= set(classes)
    return all(output_problem(output, task, classes) is None for output in outputs)


def _ids_valid(ids: list[Any]) -> bool:
    if not all(type(i) is str for i in ids):
        return False
    lengths = list(map(len, ids))
    if min(lengths) == 0 or max(lengths) > MAX_ID_CHARS:
        return False
    return _ID_FORBIDDEN.search("".join(ids)) is None


def id_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid id (None when it is one)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"at most {MAX_ID_CHARS} characters"
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_CHARS:
        return f"at most {MAX_ID_CHARS} characters (got {len(value)})"
    if _ID_FORBIDDEN.search(value):
        return "must not contain control characters (U+0000-U+001F, U+007F-U+009F) or surrogates"
    return None


def output_problem(value: Any, task: str, classes: Sequence[str]) -> str | None:
    """Why ``value`` is not an output of a model with ``task`` and ``classes`` (or None)."""
    if task == "regression":
        return number_problem(value)
    return class_problem(value, classes)


def class_problem(value: Any, classes: Sequence[str]) -> str | None:
    """Why ``value`` is not one of ``classes`` as the monitor matches them (or None): by text,
    so ``1`` and ``1.0`` are class ``"1"`` and ``true`` is class ``"true"``."""
    if value is None:
        return f"required, one of the model's classes {_names(classes)}"
    if not isinstance(value, str | int | float | bool) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        return f"expected one of the model's classes {_names(classes)}, got {_show(value)}"
    if classes and class_text(value) not in classes:
        return f"{_show(value)} is not one of the model's classes {_names(classes)}"
    return None


def score_problem(score: Any, task: str, classes: Sequence[str]) -> str | None:
    """Why ``score`` is not a score of a model with ``task`` and ``classes`` (or None).

    A probability in [0, 1] (the positive class's for a binary classifier), or for a
    classifier a list of one probability per class, in the order of ``classes``.
    """
    if score is None:
        return None
    multiclass = task == "classification" and len(classes) > 2
    if _is_probability(score) and not multiclass:
        return None
    if (
        task == "classification"
        and isinstance(score, list)
        and len(score) == (len(classes) or len(score))
        and all(map(_is_probability, score))
    ):
        return None
    if task != "classification":
        return "must be a number in [0, 1]"
    per_class = f"a list of {len(classes)} numbers in [0, 1], one per class {_names(classes)}"
    if multiclass:
        return f"must be {per_class}"
    return f"must be a number in [0, 1] (the probability of {_show(classes[-1])}) or {per_class}"


def _is_probability(value: Any) -> bool:
    return type(value) in (int, float) and 0.0 <= value <= 1.0


def parse_labels(
    rows: list[Any],
    now: datetime,
    *,
    task: str,
    classes: Sequence[str],
    max_future_skew: timedelta = timedelta(minutes=5),
) -> list[Label]:
    """Validate ``POST /v1/models/{name}/labels`` rows for a model with ``task`` and
    ``classes``: a label is one of the classes, or a number (regression). ``received_at``
    (optional) is when the label became known, for backfills and replays (default: now);
    it may not lie ahead of the server's clock by more than ``max_future_skew``."""
    problems: list[Problem] = []
    labels: list[Label] = []
    for index, row in enumerate(rows):
        where = f"labels[{index}]"
        if not isinstance(row, Mapping):
            problems.append(Problem(where, "must be an object with 'prediction_id' and 'label'"))
            continue
        unknown = sorted(map(str, set(row) - {"prediction_id", "label", "received_at"}))
        if unknown:
            problems.append(Problem(where, f"unknown field(s) {_names(unknown)}"))
        prediction_id = row.get("prediction_id")
        problem = "required, a string" if prediction_id is None else id_problem(prediction_id)
        if problem is not None:
            problems.append(Problem(f"{where}.prediction_id", problem))
        label = row.get("label")
        if label is None:
            problem = "required"
        elif task == "regression":
            problem = number_problem(label)
        else:
            problem = class_problem(label, classes)
        if problem is not None:
            problems.append(Problem(f"{where}.label", problem))
        received, time_problem = parse_timestamp(row.get("received_at"), f"{where}.received_at")
        if time_problem is not None:
            problems.append(time_problem)
        elif received is not None and received > now + max_future_skew:
            problems.append(
                Problem(
                    f"{where}.received_at",
                    _future_problem(received, now + max_future_skew, max_future_skew).replace(
                        "the prediction was made", "the label became known"
                    ),
                )
            )
        if not problems:
            labels.append(Label(str(prediction_id), label, received or now))
    if problems:
        raise invalid(problems, "labels")
    return labels


def predict_options(
    document: Any, rows: int, *, now: datetime, max_future_skew: timedelta
) -> tuple[list[str], list[str], list[datetime]]:
    """The optional lists of a ``:predict`` body, one entry per instance: ``ids`` (default:
    made by seismo), ``keys`` (what a canary routes by, so the same key always gets the same
    version; default: the id) and ``timestamps`` (when the request happened, for replays and
    backfills; default: now). Every problem is reported at once."""
    found: list[Problem] = []
    given: dict[str, list[Any]] = {}
    if isinstance(document, Mapping):
        for field in ("ids", "keys", "timestamps"):
            value = document.get(field)
            if value is None:
                continue
            if not isinstance(value, list) or len(value) != rows:
                found.append(Problem(field, f"a list of {rows} values, one per instance"))
                continue
            given[field] = value
    ids = new_ids(rows)
    for i, value in enumerate(given.get("ids", ())):
        if type(value) is int and abs(value) < 10**MAX_ID_CHARS:
            value = str(value)
        problem = id_problem(value)
        if problem is not None:
            found.append(Problem(f"ids[{i}]", problem))
        else:
            ids[i] = value
    if "ids" in given and len(set(ids)) != len(ids):
        found.append(Problem("ids", "ids must be unique within a request"))
    keys = list(ids)
    for i, value in enumerate(given.get("keys", ())):
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        problem = id_problem(value)
        if problem is not None:
            found.append(Problem(f"keys[{i}]", problem))
        else:
            keys[i] = value
    timestamps = [now] * rows
    latest = now + max_future_skew
    for i, value in enumerate(given.get("timestamps", ())):
        timestamp, problem_found = parse_timestamp(value, f"timestamps[{i}]")
        if problem_found is not None:
            found.append(problem_found)
        elif timestamp is not None and timestamp > latest:
            found.append(
                Problem(f"timestamps[{i}]", _future_problem(timestamp, latest, max_future_skew))
            )
        elif timestamp is not None:
            timestamps[i] = timestamp
    if found:
        raise invalid(found)
    return ids, keys, timestamps

"""What the OpenAPI document says the routes take and answer, beyond what FastAPI infers.

The hot routes read their JSON bodies themselves (msgspec, with their own limits and error
messages), so FastAPI cannot infer those bodies: they are declared here as JSON Schema. Every
error answer has one shape, :class:`ErrorBody`. ``tests/service/test_openapi.py`` runs
schemathesis against a real server with this document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProblemBody(BaseModel):
    field: str = Field(description="where in the request, e.g. instances[3].age")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, e.g. invalid_body, unauthorized")
    message: str = Field(description="what is wrong and what to do, in one line")
    problems: list[ProblemBody] | None = Field(default=None, description="up to 50")
    more_problems: int | None = Field(default=None, description="problems beyond the 50 listed")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the service."""

    error: ErrorDetail


_WHY = {
    400: "Malformed JSON, a body that is not UTF-8, or nesting too deep",
    401: "No token, or an unknown or revoked one (once any token exists)",
    403: "The token lacks the scope this route needs",
    404: "No such model, window, alert or silence",
    409: "A duplicate prediction id, a model served elsewhere, or a monitor run in progress",
    413: "The body or the batch is too large",
    415: "The body is not sent as application/json",
    422: "A field is invalid: the problems name each one",
    503: "The store cannot be reached or is not ready; nothing was stored, retry",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}


#: Every route behind a token, reading.
READ_ERRORS = errors(401, 403, 404, 413, 422, 503)
#: Every route behind a token that takes a JSON body.
WRITE_ERRORS = errors(400, 401, 403, 404, 409, 413, 415, 422, 503)

_VALUE: dict[str, Any] = {"description": "any JSON value"}
_FEATURES: dict[str, Any] = {
    "type": "object",
    "description": "feature name to value",
    "additionalProperties": _VALUE,
}
_SCORE: dict[str, Any] = {
    "description": "positive-class probability, or one probability per class",
    "anyOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}, {"type": "null"}],
}
_TIMESTAMP: dict[str, Any] = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 with a time zone (default: now)",
}
_PREDICTION: dict[str, Any] = {
    "type": "object",
    "required": ["features", "output"],
    "properties": {
        "id": {"type": "string", "description": "unique per model (default: made by seismo)"},
        "features": _FEATURES,
        "output": {"description": "the model's output: a class, or a number (regression)"},
        "score": _SCORE,
        "timestamp": _TIMESTAMP,
    },
}
_LABEL: dict[str, Any] = {
    "type": "object",
    "required": ["prediction_id", "label"],
    "properties": {
        "prediction_id": {"type": "string"},
        "label": {"description": "the ground truth: a class, or a number (regression)"},
        "received_at": {
            **_TIMESTAMP,
            "description": "when the label became known (backfills, replays); default: now",
        },
    },
}


def _batch(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """``{key: [item, ...]}``, or the bare list."""
    rows = {"type": "array", "items": item}
    return {"anyOf": [{"type": "object", "required": [key], "properties": {key: rows}}, rows]}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` declaring a required JSON request body."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_INSTANCE: dict[str, Any] = {
    "description": "features by name, or their values in the model's feature order",
    "anyOf": [_FEATURES, {"type": "array", "items": _VALUE}],
}
PREDICT_BODY = json_body(
    {
        "anyOf": [
            {
                "type": "object",
                "required": ["instances"],
                "properties": {
                    "instances": {"type": "array", "items": _INSTANCE},
                    "ids": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "one id per instance (default: made by seismo)",
                    },
                    "keys": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "one routing key per instance: a canary sends the same "
                        "key to the same version (default: the id)",
                    },
                    "timestamps": {
                        "type": "array",
                        "items": _TIMESTAMP,
                        "description": "when each request happened, for replays (default: now)",
                    },
                },
            },
            {"type": "array", "items": _INSTANCE},
        ]
    }
)
PREDICTIONS_BODY = json_body(_batch("predictions", _PREDICTION))
LABELS_BODY = json_body(_batch("labels", _LABEL))
ACK_BODY = json_body(
    {
        "type": "object",
        "required": ["by"],
        "properties": {"by": {"type": "string"}, "comment": {"type": "string"}},
    }
)
TRANSITION_BODY = json_body(
    {
        "type": "object",
        "required": ["by"],
        "properties": {
            "by": {"type": "string", "description": "who decides (recorded)"},
            "reason": {"type": "string", "description": "why (recorded)"},
        },
    }
)
ROLLOUT_BODY = json_body(
    {
        "type": "object",
        "required": ["by"],
        "properties": {
            "by": {"type": "string", "description": "who decides (recorded)"},
            "reason": {"type": "string"},
            "mode": {"enum": ["canary", "shadow"], "description": "default: canary"},
            "share": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 1,
                "description": "canary: share of :predict traffic (default 0.2)",
            },
        },
    }
)
SILENCE_BODY = json_body(
    {
        "type": "object",
        "required": ["matchers", "by"],
        "properties": {
            "matchers": {
                "type": "object",
                "description": "model, segment, rule or severity to an exact value",
                "additionalProperties": {"type": "string"},
            },
            "duration": {"type": "string", "description": "how long, e.g. 2h (or ends_at)"},
            "ends_at": _TIMESTAMP,
            "by": {"type": "string"},
            "comment": {"type": "string"},
        },
    }
)

"""pydantic's validation errors as one line for people: the file, then per problem the path in
the file and what is wrong, e.g. ``seismo.yaml: alerts.sinks[2].port: expected a whole number,
got 'abc'``. Values of secret fields are never shown (only their type)."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Union

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from seismo.errors import InputError

MAX_PROBLEMS = 10

_EXPECTED = {
    "int_type": "expected a whole number",
    "float_type": "expected a finite number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "time_delta_type": "expected a duration",
}
_BOUNDS = {
    "greater_than": ("must be more than", "gt"),
    "greater_than_equal": ("must be at least", "ge"),
    "less_than": ("must be less than", "lt"),
    "less_than_equal": ("must be at most", "le"),
}


def input_error(error: ValidationError, source: str, root: Any, prefix: str = "") -> InputError:
    """One :class:`InputError` for every problem in ``error``, raised while validating
    ``root`` (a model class or a type) read from ``source``; ``prefix`` is where in the file
    the validated value sits (``alerts`` when only that section was validated)."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        line = _line(item, root, prefix)
        if line not in lines:
            lines.append(line)
    more = len(lines) - MAX_PROBLEMS
    shown = lines[:MAX_PROBLEMS] + ([f"and {more} more"] if more > 0 else [])
    return InputError(f"{source}: " + "; ".join(shown))


class _Place:
    """What a location in the file is: its path as written, the model holding its last key,
    that key's field, and the type expected there."""

    def __init__(self, root: Any, loc: Sequence[str | int], prefix: str) -> None:
        self.path = prefix
        self.model: type[BaseModel] | None = None
        self.field: FieldInfo | None = None
        expected: Any = root
        for part in loc:
            expected = _unwrap(expected)
            members = _tagged_members(expected)
            if members and isinstance(part, str) and part in members:
                expected = members[part]  # the union's tag: not part of the path in the file
                continue
            self._extend(part)
            if isinstance(expected, type) and issubclass(expected, BaseModel):
                self.model = expected
                self.field = _field(expected, str(part))
                expected = None if self.field is None else self.field.annotation
            elif typing.get_origin(expected) in (list, tuple, Sequence):
                self.model, self.field = None, None
                expected = typing.get_args(expected)[0]
            elif typing.get_origin(expected) in (dict, Mapping):
                self.model, self.field = None, None
                expected = typing.get_args(expected)[1]
            else:
                self.model, self.field, expected = None, None, None
        self.expected = _unwrap(expected)

    def _extend(self, part: str | int) -> None:
        if isinstance(part, int):
            self.path += f"[{part}]"
        else:
            self.path += f".{part}" if self.path else str(part)

    @property
    def secret(self) -> bool:
        return _holds_secret(self.expected)


def _line(item: Mapping[str, Any], root: Any, prefix: str) -> str:
    kind: str = item["type"]
    ctx: Mapping[str, Any] = item.get("ctx") or {}
    place = _Place(root, (*item["loc"], *ctx.get("path", ())), prefix)
    value = item.get("input")
    got = f"got {_shown(value, place.secret)}"
    if kind == "seismo":
        message = str(ctx["message"])
    elif kind in ("missing", "string_too_short", "too_short"):
        advice = place.field.description if place.field is not None else None
        message = "missing" if kind == "missing" else "must not be empty"
        message += f"; set it to {advice}" if advice else ""
    elif kind == "extra_forbidden":
        message = _unknown_key(str(item["loc"][-1]), place.model)
    elif kind in ("model_type", "model_attributes_type"):
        message = f"expected a mapping{_mapping_keys(place.expected)}, {got}"
    elif kind == "union_tag_invalid":
        message = f"unknown type {ctx['tag']!r}; set type to one of {_tags(place)}"
    elif kind == "union_tag_not_found":
        message = f"has no type; set type to one of {_tags(place)}"
    elif kind in _EXPECTED:
        message = f"{_EXPECTED[kind]}, {got}"
    elif kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        bound = ctx[key]
        shown = f"{bound:g}" if isinstance(bound, float) else str(bound)
        message = f"{words} {shown}, {got}"
    else:  # pydantic's own words (never the value)
        message = str(item["msg"])
    return f"{place.path}: {message}" if place.path else message


def _unknown_key(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return "unknown key"
    keys = _keys(model)
    close = difflib.get_close_matches(key, keys, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"unknown key{hint}; valid keys here: {', '.join(keys)}"


def _mapping_keys(expected: Any) -> str:
    """What a mapping expected at some place holds: its required keys, or all its keys when
    they are few."""
    if not _is_model(expected):
        return ""
    fields = expected.model_fields
    required = [info.alias or name for name, info in fields.items() if info.is_required()]
    if required:
        return f" with at least {', '.join(required)}"
    keys = _keys(expected)
    return f" with keys {', '.join(keys)}" if len(keys) <= 8 else ""


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _unwrap(annotation: Any) -> Any:
    """Without ``Annotated`` and without ``| None``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _tagged_members(annotation: Any) -> dict[str, type[BaseModel]]:
    """The models of a union discriminated by ``type``, by tag."""
    if typing.get_origin(annotation) not in (Union, types.UnionType):
        return {}
    members: dict[str, type[BaseModel]] = {}
    for member in typing.get_args(annotation):
        if _is_model(member) and "type" in member.model_fields:
            for tag in typing.get_args(member.model_fields["type"].annotation):
                members[str(tag)] = member
    return members


def _tags(place: _Place) -> str:
    return ", ".join(_tagged_members(place.expected))


def _holds_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_holds_secret(arg) for arg in typing.get_args(annotation))


def _shown(value: Any, secret: bool) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if secret:
        return {str: "text", bool: "true or false"}.get(type(value), type(value).__name__)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

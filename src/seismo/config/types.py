"""Building blocks of the seismo.yaml model: strict models, durations, text, and ``${NAME}``
references to environment variables.

Every model forbids unknown keys and is strict: a port is a whole number (not ``8000.5``,
``"80"`` or ``true``), a flag is ``true`` or ``false``, text is text. Problems found by our own
validators are raised with :func:`problem`, whose message reaches the user as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    SecretStr,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, core_schema

from seismo.errors import InputError
from seismo.monitor.windows import parse_duration


class ConfigModel(BaseModel):
    """A mapping of seismo.yaml: unknown keys refused, no type coercion, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


def problem(message: str, *path: str | int) -> PydanticCustomError:
    """A validation error with our own message; ``path`` continues the error's location
    (the field inside the value being validated that is wrong)."""
    return PydanticCustomError("seismo", "{message}", {"message": message, "path": path})


# -- durations ----------------------------------------------------------------------------------

DURATION_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
DURATION_HELP = "a whole number and a unit m, h, d or w ('30m', '1h', '1d')"


def duration_text(duration: timedelta) -> str:
    """A duration as seismo.yaml writes it: the largest unit that fits, else seconds.

    >>> duration_text(timedelta(days=7)), duration_text(timedelta(minutes=90))
    ('1w', '90m')
    """
    seconds = duration.total_seconds()
    for unit, size in DURATION_UNITS.items():
        if seconds > 0 and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g} seconds"


def _as_written(duration: timedelta) -> str | float:
    """What reads back as ``duration``: '1d', or seconds where no unit fits."""
    text = duration_text(duration)
    return duration.total_seconds() if text.endswith("seconds") else text


def _duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except InputError:
            pass
    raise problem(f"expected a duration, {DURATION_HELP}, got {value!r}")


def _duration_or_seconds(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            if math.isfinite(value) and value > 0:
                return timedelta(seconds=value)
        except OverflowError:
            pass
    elif not isinstance(value, str):
        return _duration(value)
    else:
        try:
            return parse_duration(value)
        except InputError:
            pass
    raise problem(f"expected a duration such as '12h' or '7d', or seconds, got {value!r}")


DURATION_PATTERN = r"^\s*[0-9]+[mhdwMHDW]\s*$"
_DURATION_SCHEMA = {"type": "string", "pattern": DURATION_PATTERN}
_as_text = PlainSerializer(_as_written, return_type=str | float, when_used="json")

#: A positive duration written as '30m', '1h', '1d' or '1w'.
Duration = Annotated[
    timedelta, BeforeValidator(_duration), _as_text, WithJsonSchema(_DURATION_SCHEMA)
]

# -- text -----------------------------------------------------------------------------------------


def _stripped(value: str) -> str:
    if not value.strip():
        raise problem("must not be empty")
    return value.strip()


#: Text with surrounding spaces removed; empty text is refused.
Text = Annotated[str, AfterValidator(_stripped), WithJsonSchema({"type": "string", "minLength": 1})]


def _secret_not_empty(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise problem("must not be empty")
    return value  # kept as given: a password may end with a space


#: A secret (a password, a token, a URL holding a token): never shown in errors or ``repr``.
Secret = Annotated[SecretStr, AfterValidator(_secret_not_empty)]


@dataclass(frozen=True)
class OneOf:
    """``Annotated[str, OneOf(values, "kind")]``: text that must be one of ``values`` (listed in
    the schema, so editors offer them); ``lower``: upper-case letters are accepted too."""

    values: tuple[str, ...]
    what: str
    lower: bool = False

    def _check(self, value: str) -> str:
        value = value.lower() if self.lower else value
        if value not in self.values:
            shown = ", ".join(value for value in self.values if value)
            raise problem(f"unknown {self.what} {value!r}; use one of {shown}")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.values)}


# -- ${NAME} references -------------------------------------------------------------------------

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
REFERENCE_SCHEMA = {"type": "string", "pattern": r"^\s*\$\{[A-Za-z_][A-Za-z0-9_]*\}\s*$"}


def resolve_references(value: Any, info: ValidationInfo) -> Any:
    """Replace every string that is exactly ``${NAME}`` (in lists and mappings too) by the
    environment variable ``NAME``: from ``context["environ"]`` of the validation, else
    ``os.environ``. An unset or empty variable is an error at the place that names it."""
    import os

    context = info.context if isinstance(info.context, Mapping) else {}
    environ: Mapping[str, str] = context.get("environ") or os.environ

    def resolve(item: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(item, str):
            match = REFERENCE.fullmatch(item.strip())
            if match is None:
                return item
            name = match.group(1)
            if not environ.get(name):
                raise problem(
                    f"refers to the environment variable {name}, which is not set or is empty; "
                    f"set {name} in the environment seismo runs in",
                    *path,
                )
            return environ[name]
        if isinstance(item, list):
            return [resolve(element, (*path, index)) for index, element in enumerate(item)]
        if isinstance(item, Mapping):
            return {key: resolve(element, (*path, key)) for key, element in item.items()}
        return item

    return resolve(value, ())


def _number_from_text(value: Any) -> Any:
    """A number written as text (what a ``${NAME}`` reference gives) as a number."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value.strip())
            except ValueError:
                pass
    return value


def _schema_or_reference(schema: dict[str, Any]) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [schema, REFERENCE_SCHEMA]})


#: A TCP port.
Port = Annotated[int, Field(ge=1, le=65535)]

#: Positive seconds; in a sink entry also text holding a number (``timeout: ${TIMEOUT}``).
SinkSeconds = Annotated[
    float,
    BeforeValidator(_number_from_text),
    Field(gt=0),
    _schema_or_reference({"type": "number", "exclusiveMinimum": 0}),
]

#: A TCP port; in a sink entry also text holding one (``port: ${SMTP_PORT}``).
SinkPort = Annotated[
    int,
    BeforeValidator(_number_from_text),
    Field(ge=1, le=65535),
    _schema_or_reference({"type": "integer", "minimum": 1, "maximum": 65535}),
]

#: How long, as a duration ('12h', '7d') or positive seconds.
SinkDuration = Annotated[
    timedelta,
    BeforeValidator(_duration_or_seconds),
    _as_text,
    WithJsonSchema({"anyOf": [_DURATION_SCHEMA, {"type": "number", "exclusiveMinimum": 0}]}),
]

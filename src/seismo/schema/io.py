"""Read a user's schema (kinds and roles) from YAML or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from seismo.errors import SchemaError
from seismo.schema.types import Schema, SchemaOverrides

SchemaLike = Schema | SchemaOverrides | Mapping[str, Any] | str | Path


def load_overrides(path: str | Path) -> SchemaOverrides:
    """Load ``columns: {name: kind | {kind, role}}`` from a .yaml/.yml/.json file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemaError(f"{path}: schema file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaError(f"{path}: cannot read the schema file ({error})") from error
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise SchemaError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SchemaError(f"{path}: invalid YAML{where}: {error}") from None
    if data is None:
        raise SchemaError(f"{path}: the schema file is empty; expected a 'columns' mapping")
    return SchemaOverrides.from_dict(data, source=str(path))


def as_overrides(schema: SchemaLike | None) -> Schema | SchemaOverrides | None:
    """Accept a Schema, overrides, a mapping in the file format, or a file path."""
    if schema is None or isinstance(schema, Schema | SchemaOverrides):
        return schema
    if isinstance(schema, str | Path):
        return load_overrides(schema)
    if isinstance(schema, Mapping):
        return SchemaOverrides.from_dict(schema)
    raise SchemaError(
        f"schema: expected a Schema, a mapping or a path to a YAML/JSON file; got "
        f"{type(schema).__name__}"
    )

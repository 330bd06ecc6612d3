"""Column kinds and roles, and their inference from the reference."""

from seismo.schema.types import (
    ColumnOverride,
    ColumnSchema,
    Kind,
    Physical,
    Role,
    Schema,
    SchemaOverrides,
)

__all__ = [
    "ColumnOverride",
    "ColumnSchema",
    "Kind",
    "Physical",
    "Role",
    "Schema",
    "SchemaOverrides",
]

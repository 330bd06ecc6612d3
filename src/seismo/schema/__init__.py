"""Column kinds and roles, their inference, and data-quality validation."""

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

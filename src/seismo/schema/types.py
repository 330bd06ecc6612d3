"""Column kinds, roles and the schema that ties them to column names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, TypeVar

from seismo.errors import SchemaError


class Kind(StrEnum):
    """What the values of a column are; decides how the column is profiled and tested."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"
    ID = "id"


class Role(StrEnum):
    """What a column means to the model; decides where it appears in a report."""

    FEATURE = "feature"
    TARGET = "target"
    PREDICTION = "prediction"
    SCORE = "score"
    TIMESTAMP = "timestamp"
    ID = "id"
    SEGMENT = "segment"
    IGNORE = "ignore"


class Physical(StrEnum):
    """The storage type a column arrived with (before any interpretation)."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"
    DATETIME = "datetime"
    MIXED = "mixed"
    NULL = "null"


_E = TypeVar("_E", bound=StrEnum)


def combine_physical(seen: set[Physical] | frozenset[Physical]) -> Physical:
    """The storage type of a column whose batches arrived as ``seen``.

    Nulls say nothing; integers and floats together are floats (integers with missing values
    often arrive as floats); any other combination is mixed.

    >>> combine_physical({Physical.INT, Physical.FLOAT, Physical.NULL})
    <Physical.FLOAT: 'float'>
    >>> combine_physical({Physical.INT, Physical.STRING})
    <Physical.MIXED: 'mixed'>
    """
    known = set(seen) - {Physical.NULL}
    if known == {Physical.INT, Physical.FLOAT}:
        return Physical.FLOAT
    if not known:
        return Physical.NULL
    return known.pop() if len(known) == 1 else Physical.MIXED


def _parse_enum(enum: type[_E], value: object, where: str) -> _E:
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        valid = ", ".join(member.value for member in enum)
        raise SchemaError(
            f"{where}: unknown {enum.__name__.lower()} {value!r}; use one of: {valid}"
        ) from None


@dataclass(frozen=True, slots=True)
class ColumnSchema:
    """Kind, role and observed storage type of one column."""

    name: str
    kind: Kind
    role: Role = Role.FEATURE
    physical: Physical = Physical.NULL

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "role": self.role.value, "physical": self.physical.value}


@dataclass(frozen=True, slots=True)
class Schema:
    """The columns of a dataset, in order, with their kinds and roles.

    Examples
    --------
    >>> age = ColumnSchema("age", Kind.NUMERIC)
    >>> schema = Schema((age, ColumnSchema("y", Kind.BOOLEAN, Role.TARGET)))
    >>> schema["y"].role
    <Role.TARGET: 'target'>
    >>> [c.name for c in schema.with_role(Role.FEATURE)]
    ['age']
    """

    columns: tuple[ColumnSchema, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for column in self.columns:
            if column.name in seen:
                raise SchemaError(f"column {column.name!r} appears twice in the schema")
            seen.add(column.name)

    def __iter__(self) -> Iterator[ColumnSchema]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __contains__(self, name: object) -> bool:
        return any(column.name == name for column in self.columns)

    def __getitem__(self, name: str) -> ColumnSchema:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def with_role(self, *roles: Role) -> tuple[ColumnSchema, ...]:
        return tuple(column for column in self.columns if column.role in roles)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": {column.name: column.to_dict() for column in self.columns}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        overrides = SchemaOverrides.from_dict(data, source="schema")
        columns = []
        for name, override in overrides.columns.items():
            if override.kind is None:
                raise SchemaError(f"schema: column {name!r} needs a kind")
            physical = Physical.NULL
            raw = data["columns"][name]
            if isinstance(raw, Mapping) and "physical" in raw:
                physical = _parse_enum(Physical, raw["physical"], f"schema: column {name!r}")
            columns.append(
                ColumnSchema(name, override.kind, override.role or Role.FEATURE, physical)
            )
        return cls(tuple(columns))

    def replace_column(self, column: ColumnSchema) -> Schema:
        return Schema(tuple(column if c.name == column.name else c for c in self.columns))


@dataclass(frozen=True, slots=True)
class ColumnOverride:
    """A user's statement about one column; ``None`` leaves that part to inference."""

    kind: Kind | None = None
    role: Role | None = None


_COLUMN_KEYS = ("kind", "role", "physical")


@dataclass(frozen=True, slots=True)
class SchemaOverrides:
    """Kinds and roles a user fixes by hand; everything else is inferred from the reference.

    The file format (YAML or JSON) is one mapping ``columns`` from column name to either a kind
    (``carrier: categorical``) or a mapping with ``kind`` and/or ``role``::

        columns:
          carrier: categorical
          arr_delay: {kind: numeric, role: target}
          time_hour: {role: timestamp}
    """

    columns: Mapping[str, ColumnOverride]
    source: str = "schema"  # where the overrides came from, for messages (a file path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "schema") -> SchemaOverrides:
        if not isinstance(data, Mapping):
            raise SchemaError(f"{source}: expected a mapping with a 'columns' key")
        unknown = set(data) - {"columns"}
        if unknown:
            raise SchemaError(
                f"{source}: unknown top-level key(s) {sorted(unknown)}; the only key is 'columns'"
            )
        raw_columns = data.get("columns")
        if not isinstance(raw_columns, Mapping) or not raw_columns:
            raise SchemaError(f"{source}: 'columns' must map column names to a kind or a mapping")
        columns: dict[str, ColumnOverride] = {}
        for name, spec in raw_columns.items():
            where = f"{source}: column {name!r}"
            if isinstance(spec, str):
                columns[str(name)] = ColumnOverride(kind=_parse_enum(Kind, spec, where))
                continue
            if not isinstance(spec, Mapping):
                raise SchemaError(f"{where}: expected a kind or a mapping with 'kind'/'role'")
            bad = set(spec) - set(_COLUMN_KEYS)
            if bad:
                raise SchemaError(
                    f"{where}: unknown key(s) {sorted(bad)}; use {', '.join(_COLUMN_KEYS[:2])}"
                )
            kind = _parse_enum(Kind, spec["kind"], where) if spec.get("kind") else None
            role = _parse_enum(Role, spec["role"], where) if spec.get("role") else None
            columns[str(name)] = ColumnOverride(kind=kind, role=role)
        return cls(columns, source)

    def apply(self, column: ColumnSchema) -> ColumnSchema:
        override = self.columns.get(column.name)
        if override is None:
            return column
        return replace(
            column,
            kind=override.kind or column.kind,
            role=override.role or column.role,
        )

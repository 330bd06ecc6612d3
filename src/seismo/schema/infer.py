"""Infer a column's kind from what a scan of the reference saw."""

from __future__ import annotations

import re
from dataclasses import dataclass

from seismo.schema.types import Kind, Physical, Role

_ID_NAME = re.compile(r"(^|_)(id|uuid|guid|key)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ColumnEvidence:
    """What inference needs to know about one reference column."""

    name: str
    physical: Physical
    rows: int
    non_missing: int
    distinct: int | None  # None when there were too many to count
    minimum: float | None = None  # numeric columns
    maximum: float | None = None
    integer_valued: bool = False
    mean_length: float = 0.0  # text columns: characters per value
    share_with_spaces: float = 0.0
    share_numeric_text: float = 0.0  # values that are numbers (leading-zero codes are not)
    share_datetime_text: float = 0.0  # text values that are ISO 8601 dates or datetimes
    declared_categorical: bool = False  # the storage type says categorical (a dictionary)


def infer_kind(evidence: ColumnEvidence) -> Kind:
    """Pick a kind; documented rules, first match wins.

    1. Booleans, and integers whose only values are 0 and 1, are ``boolean``.
    2. A column whose type declares it categorical (pandas ``category``, Arrow ``dictionary``,
       polars ``Categorical``/``Enum``) is ``categorical``, whatever its values look like.
    3. Timestamps and dates are ``datetime``.
    4. Integers named like an identifier (``id``, ``user_id``, ``*_key``) whose values are all
       distinct are ``id``.
    5. Other numbers are ``numeric``.
    6. Text of which at least 90% are numbers is ``numeric`` (the rest are counted invalid).
       Codes with a leading zero (``"02139"``, ``"007"``) are not numbers: they are labels.
    7. Text of which at least 90% are ISO 8601 dates or datetimes (``"2011-01-01"``,
       ``"2011-01-01T08:30:00Z"``) is ``datetime``.
    8. Text with mostly distinct values is ``text`` when values are long or contain spaces,
       else ``id``.
    9. Other text is ``categorical``.

    Examples
    --------
    >>> infer_kind(ColumnEvidence("y", Physical.INT, 10, 10, 2, 0.0, 1.0, True))
    <Kind.BOOLEAN: 'boolean'>
    >>> infer_kind(ColumnEvidence("city", Physical.STRING, 100, 100, 5, mean_length=6.0))
    <Kind.CATEGORICAL: 'categorical'>
    """
    physical = evidence.physical
    if physical is Physical.BOOL:
        return Kind.BOOLEAN
    if evidence.declared_categorical:
        return Kind.CATEGORICAL
    if physical is Physical.DATETIME:
        return Kind.DATETIME
    if physical in (Physical.INT, Physical.FLOAT, Physical.NULL):
        if (
            evidence.integer_valued
            and evidence.minimum is not None
            and evidence.minimum >= 0
            and evidence.maximum is not None
            and evidence.maximum <= 1
            and evidence.distinct == 2
        ):
            return Kind.BOOLEAN
        if (
            physical is Physical.INT
            and _ID_NAME.search(evidence.name)
            and evidence.distinct is not None
            and evidence.distinct == evidence.non_missing
            and evidence.non_missing > 1
        ):
            return Kind.ID
        return Kind.NUMERIC
    if evidence.non_missing and evidence.share_numeric_text >= 0.9:
        return Kind.NUMERIC
    if evidence.non_missing and evidence.share_datetime_text >= 0.9:
        return Kind.DATETIME
    mostly_distinct = evidence.distinct is None or (
        evidence.non_missing >= 20 and evidence.distinct > 0.5 * evidence.non_missing
    )
    if mostly_distinct:
        if evidence.mean_length >= 40 or evidence.share_with_spaces >= 0.5:
            return Kind.TEXT
        return Kind.ID
    return Kind.CATEGORICAL


def default_role(kind: Kind) -> Role:
    """Identifiers are not features; everything else is until the user says otherwise."""
    return Role.ID if kind is Kind.ID else Role.FEATURE

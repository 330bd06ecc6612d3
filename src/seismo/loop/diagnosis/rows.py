"""Raw rows for the checks profiles cannot make (labels, a model, time order, exact values).

A table is read once on the reference's schema into numpy columns: numeric and datetime
columns as float64 (NaN missing, datetimes in seconds), the others as text (None missing).
At most ``cap`` rows are kept, chosen at random but left in their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from seismo.profile.batch import (
    CodesBatch,
    NumericBatch,
    Source,
    codes_to_numbers,
    codes_to_seconds,
    numbers_to_codes,
)
from seismo.schema.types import Kind, Role, Schema

#: Rows read at most from each table (a random subset beyond, kept in order).
ROW_CAP = 200_000
NUMERIC_KINDS = (Kind.NUMERIC, Kind.DATETIME)


@dataclass(frozen=True, eq=False)
class Rows:
    """Columns of one table: float64 for numeric and datetime columns, text for the others."""

    count: int
    numeric: Mapping[str, NDArray[np.float64]]
    text: Mapping[str, NDArray[np.object_]]

    def __contains__(self, name: object) -> bool:
        return name in self.numeric or name in self.text

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Rows:
        numeric = {name: values[index] for name, values in self.numeric.items()}
        text = {name: values[index] for name, values in self.text.items()}
        count = int(index.sum()) if index.dtype == np.bool_ else len(index)
        return Rows(count, numeric, text)

    def missing(self, name: str) -> NDArray[np.bool_]:
        if name in self.numeric:
            return np.isnan(self.numeric[name])
        return np.asarray([value is None for value in self.text[name]], dtype=np.bool_)


def read_rows(
    source: Source, schema: Schema, columns: Iterable[str] | None = None, cap: int = ROW_CAP
) -> Rows:
    """The ``columns`` (default: every column of ``schema`` the source has) of ``source``."""
    wanted = [
        column
        for column in schema
        if column.name in source.columns
        and column.role is not Role.IGNORE
        and (columns is None or column.name in set(columns))
    ]
    total = source.total_rows
    share = 1.0 if not total or total <= cap else cap / total
    rng = np.random.default_rng(0)
    numeric: dict[str, list[NDArray[np.float64]]] = {c.name: [] for c in wanted}
    text: dict[str, list[NDArray[np.object_]]] = {c.name: [] for c in wanted}
    count = 0
    for batch in source.batches():
        keep = rng.random(batch.rows) < share if share < 1 else None
        for column in wanted:
            values = batch[column.name]
            if column.kind in NUMERIC_KINDS:
                if isinstance(values, CodesBatch):
                    parse = codes_to_seconds if column.kind is Kind.DATETIME else codes_to_numbers
                    values = parse(values)[0]
                array = np.asarray(values.values, dtype=np.float64)
                numeric[column.name].append(array if keep is None else array[keep])
            else:
                if isinstance(values, NumericBatch):
                    values = numbers_to_codes(values)
                lookup = np.asarray([*values.categories, None], dtype=object)
                strings = lookup[values.codes]  # code -1 (missing) picks the None at the end
                text[column.name].append(strings if keep is None else strings[keep])
        count += batch.rows if keep is None else int(keep.sum())
    if share == 1.0 and count > cap:  # the row count was not known beforehand
        chosen = np.sort(rng.choice(count, size=cap, replace=False))
        rows = _joined(count, numeric, text)
        return rows.take(chosen)
    return _joined(count, numeric, text)


def _joined(
    count: int,
    numeric: dict[str, list[NDArray[np.float64]]],
    text: dict[str, list[NDArray[np.object_]]],
) -> Rows:
    return Rows(
        count,
        {name: np.concatenate(parts) for name, parts in numeric.items() if parts},
        {name: np.concatenate(parts) for name, parts in text.items() if parts},
    )


def time_column(schema: Schema, rows: Rows) -> str | None:
    """The column that orders the rows in time: the one with role ``timestamp``, else the only
    datetime column (None when there is none, or several and no role says which)."""
    stamps = [c.name for c in schema if c.role is Role.TIMESTAMP and c.name in rows.numeric]
    if stamps:
        return stamps[0]
    datetimes = [
        c.name
        for c in schema
        if c.kind is Kind.DATETIME and c.role is not Role.IGNORE and c.name in rows.numeric
    ]
    return datetimes[0] if len(datetimes) == 1 else None

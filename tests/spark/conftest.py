"""A real Spark (pyspark in local mode on Java 17+) for the tests that need it: one session per
test worker, started on first use. Without pyspark or Java the tests say so and are skipped,
or fail under CI (``.ci/run`` installs both)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: The Spark tests share one session per worker: --dist loadgroup keeps them on one.
pytestmark = pytest.mark.xdist_group("spark")


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}; .ci/run must provide it")
    pytest.skip(f"{what}: the Spark tests were not run")


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark is not installed (pip install -e '.[test]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _missing("Java is not installed (Spark 4 needs Java 17 or newer)")
    from seismo.spark import session

    started = session("local[2]", app="seismo-tests")
    started.sparkContext.setLogLevel("ERROR")
    yield started
    started.stop()


def frame_in_partitions(
    spark: SparkSession, table: pa.Table, sizes: list[int], folder: Path
) -> DataFrame:
    """A Spark DataFrame holding ``table``'s rows in order, partition ``p`` holding the next
    ``sizes[p]`` rows (0 for an empty partition): each partition reads its own Parquet chunk."""
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    assert sum(sizes) == table.num_rows
    spark_schema = from_arrow_schema(table.schema)
    arrow_schema = to_arrow_schema(spark_schema)
    table = table.cast(arrow_schema)
    folder.mkdir(parents=True, exist_ok=True)
    start = 0
    for part, rows in enumerate(sizes):
        pq.write_table(table.slice(start, rows), folder / f"chunk-{part}.parquet")
        start += rows
    where = str(folder)

    def emit(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        for batch in batches:
            for part in batch.column(0).to_pylist():
                chunk = pq.read_table(f"{where}/chunk-{part}.parquet")
                yield from chunk.to_batches(max_chunksize=10_000)

    return spark.range(len(sizes), numPartitions=len(sizes)).mapInArrow(emit, spark_schema)

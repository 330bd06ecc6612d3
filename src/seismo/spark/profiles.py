"""seismo on Apache Spark: the same profiles, computed partition by partition and merged.

A profile is mergeable, so a Spark job is a map and a reduce: every part of the data is counted
on the reference's grids by the same code as the single-process path
(:func:`seismo.profile.build.profile_batches`), and only profiles travel, never rows: they merge
in a tree on the executors (``treeAggregate``: merged profiles go from level to level as Spark
pickles them), so the driver receives a few profiles however many partitions there are. The
result is the profile the single-process path computes on the same rows: every count
identical, sums (means, variances) equal up to the order of addition.

How the rows reach the counting code:

- Parquet paths (a file, a directory, a glob, hive-partitioned or not; local or shared paths),
  by default: Spark schedules one task per run of row groups, cut as Spark's own reader cuts
  files (``spark.sql.files.maxPartitionBytes``, ``openCostInBytes``, the default
  parallelism), and each task reads its row groups with pyarrow in the Python worker, as the
  single-process source reads them. Rows never pass through the JVM, whose row-to-Arrow
  hand-off costs several times a scan of the same columns.
- A DataFrame (or Parquet paths with ``reader="spark"``, the default for URLs such as
  ``s3a://``): every partition is handed to Python as Arrow record batches (``mapInArrow``); a
  partition's profile leaves Python without its grids (which every side knows: about 7 kB per
  numeric column at 1,000 bins).

Fitting a reference scans first (a uniform sample of rows to place the numeric grids, exact text
counts to settle kinds and categories), then counts. The sample follows the single-process rule
exactly: row ``i`` of the data gets the ``i``-th draw of one seeded stream
(:func:`seismo.profile.build.sample_keys`) and the sample is the rows with the smallest draws.
A partition knows which rows it holds, so it draws their keys by jumping the stream ahead:

- for a DataFrame, rows are numbered in partition order, as ``df.toArrow()`` returns them (a
  light first job counts each partition's rows); the DataFrame's plan must give the same
  partitions each time it runs (``cache()`` it otherwise);
- for Parquet paths, rows are numbered file after file in the order of the files' paths and
  within a file by position (from the footers; with Spark's reader, ``_metadata.row_index``),
  as ``seismo.fit_reference(path)`` reads them, however the files are split and ordered.

Each partition keeps only the rows whose key is below a bound that the smallest ``sample_rows``
keys of ``N`` rows stay under with overwhelming probability (if they ever do not, the scan runs
again keeping every candidate): the sample travels once, split across the partitions.

``pyspark`` is an optional dependency: ``pip install 'seismo[spark]'``.
"""

from __future__ import annotations

import math
import os
import pickle
import re
import sys
import tempfile
import urllib.parse
import warnings
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seismo.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from seismo.drift.config import DriftConfig
    from seismo.drift.quality import QualityPolicy
    from seismo.drift.result import DriftReport
    from seismo.profile.build import ProfileOptions, ReferenceScan
    from seismo.profile.dataset import DatasetProfile, Reference
    from seismo.schema.io import SchemaLike

#: Hidden columns the scan adds to number the rows of Parquet files.
_FILE = "__seismo_file"
_ROW = "__seismo_row"
#: How far above the expected ``sample_rows``-th smallest key a partition keeps candidates, in
#: standard deviations of the count of keys under the bound (a binomial count).
_SIGMAS = 10.0


def session(master: str | None = None, app: str = "seismo") -> SparkSession:
    """A Spark session for seismo's jobs: the running one, left as it is, if there is one;
    else a new one on ``master`` (default: ``spark-submit``'s master, else ``local[*]``,
    every core of this machine).

    Python workers run this interpreter unless ``PYSPARK_PYTHON`` says otherwise.
    """
    _pyspark()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # seismo hands partitions over as Arrow, never as pandas: pyspark's pandas notice is noise.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # a running session is the user's
        return SparkSession.builder.getOrCreate()
    builder = SparkSession.builder.appName(app)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # started by spark-submit
    if master is not None or not submitted:
        builder = builder.master(master or "local[*]")
        # A new local JVM logs errors only (Spark's default prints its start-up at WARN).
        builder = builder.config("spark.driver.extraJavaOptions", _quiet_logging())
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    try:
        started = builder.getOrCreate()
    except Exception as error:  # Java missing or the master unreachable: say which, in one line
        raise InputError(
            f"--master {master or 'local[*]'}: cannot start Spark ({_first_line(error)})"
        ) from error
    started.sparkContext.setLogLevel("ERROR")
    return started


def _quiet_logging() -> str:
    """JVM options pointing log4j2 at a configuration that logs errors to stderr."""
    folder = Path(tempfile.gettempdir()) / f"seismo-spark-{os.getuid()}"
    folder.mkdir(exist_ok=True)
    config = folder / "log4j2.properties"
    config.write_text(
        "rootLogger.level = error\n"
        "rootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex\n"
        # pyspark's JVM starts as a shell, whose logger Spark lowers to WARN and announces
        # ("Setting default log level ...") unless it has a level of its own: error, as here.
        "logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer\n"
        "logger.gateway.level = error\n",
        encoding="utf-8",
    )
    return f"-Dlog4j2.configurationFile={config.as_uri()}"


def fit_reference(
    data: DataFrame | str | Path,
    schema: SchemaLike | None = None,
    *,
    options: ProfileOptions | None = None,
    spark: SparkSession | None = None,
    name: str | None = None,
    reader: str | None = None,
) -> Reference:
    """Fit a reference from a Spark DataFrame, or from Parquet files (a file, a directory, a
    glob; hive-partitioned or not).

    The same reference as :func:`seismo.fit_reference` on the same rows in the same order
    (the DataFrame's ``toArrow()``; the files as seismo reads them). ``reader`` says who reads
    files: ``"arrow"`` (the default for local or shared paths), the executors with pyarrow;
    ``"spark"`` (the default for URLs such as ``s3a://``), Spark's Parquet reader.
    """
    from seismo.profile.build import ProfileOptions, ReferenceScan, _pool, scanned_columns
    from seismo.profile.dataset import Reference
    from seismo.schema.io import as_overrides

    options = options or ProfileOptions()
    table = _open(data, spark, name or _name(data, "reference"), reader)
    overrides = as_overrides(schema)
    driver = table.driver_source()
    if not driver.columns:
        raise InputError(f"{table.name}: no columns")
    columns = scanned_columns(driver, overrides)
    ceiling = _ceiling(options.sample_rows, table.total_rows())
    scan = table.scan(columns, options, ceiling)
    if ceiling < 1.0 and (scan is None or len(scan.reservoir.keys) < options.sample_rows):
        scan = table.scan(columns, options, 1.0)  # the bound fell short: keep all
    if scan is None:
        scan = ReferenceScan(columns, options.sample_rows)
    with _pool(options) as pool:
        fitted_schema, grids = scan.settle(driver, overrides, options, pool)
    return Reference(fitted_schema, table.profile(grids, fitted_schema, options))


def profile(
    reference: Reference,
    data: DataFrame | str | Path,
    *,
    options: ProfileOptions | None = None,
    spark: SparkSession | None = None,
    name: str | None = None,
    reader: str | None = None,
) -> DatasetProfile:
    """Profile a Spark DataFrame (or Parquet files, read as ``reader`` says: see
    :func:`fit_reference`) on the reference's grids: the profile :func:`seismo.profile` gives
    on the same rows."""
    from seismo.profile.build import ProfileOptions

    table = _open(data, spark, name or _name(data, "current"), reader)
    grids = {n: p.grid for n, p in reference.profile.columns.items()}
    return table.profile(grids, reference.schema, options or ProfileOptions())


def compare(
    reference: DataFrame | str | Path | Reference,
    current: DataFrame | str | Path,
    schema: SchemaLike | None = None,
    *,
    config: DriftConfig | None = None,
    quality: QualityPolicy | None = None,
    options: ProfileOptions | None = None,
    spark: SparkSession | None = None,
    reader: str | None = None,
) -> DriftReport:
    """:func:`seismo.compare` with both sides profiled on Spark: the same report."""
    from seismo.drift.engine import compare_profiles
    from seismo.profile.dataset import Reference

    reference_name, current_name = _name(reference, "reference"), _name(current, "current")
    if isinstance(reference, Reference):
        if schema is not None:
            raise InputError("schema: the reference is already fitted; its schema is fixed")
        fitted = reference
    else:
        fitted = fit_reference(reference, schema, options=options, spark=spark, reader=reader)
    counted = profile(fitted, current, options=options, spark=spark, reader=reader)
    if counted.row_count == 0:
        raise InputError(f"{current_name}: no rows; there is nothing to compare")
    return compare_profiles(
        fitted,
        counted,
        config,
        quality=quality,
        reference_name=reference_name,
        current_name=current_name,
    )


# --------------------------------------------------------------------------- the jobs


READERS = ("arrow", "spark")


def _open(data: Any, spark: SparkSession | None, name: str, reader: str | None) -> _Table | _Files:
    """What to profile: a DataFrame, or Parquet paths read by ``reader``."""
    _pyspark()
    from pyspark.sql import DataFrame

    if reader is not None and reader not in READERS:
        raise InputError(f"reader: {reader!r} is not one of {', '.join(READERS)}")
    if isinstance(data, DataFrame):
        if reader is not None:
            raise InputError("reader: only for paths; Spark has read a DataFrame already")
        return _Table(data, name, files=False)
    if not isinstance(data, str | Path):
        raise InputError(
            f"{name}: expected a Spark DataFrame or a path of Parquet data; got "
            f"{type(data).__name__}"
        )
    path = str(data)
    local = "://" not in path or path.startswith("file://")
    if (reader or ("arrow" if local else "spark")) == "spark":
        return _read_parquet(spark or session(), path, name)
    if not local:
        raise InputError(
            f"{path}: reader 'arrow' reads local or shared paths; give reader 'spark' for URLs"
        )
    return _Files(spark or session(), _dataset(path.removeprefix("file://")), name)


class _Table:
    """A DataFrame to profile, and how its rows are numbered for the reference's sample."""

    def __init__(
        self,
        frame: DataFrame,
        name: str,
        *,
        files: bool,
        types: dict[str, pa.DataType] | None = None,
    ) -> None:
        self.frame = frame
        self.name = name
        self.files = files  # rows numbered by file path and position, else by partition
        self.types = types or {}
        self.columns = [c for c in frame.columns if c not in (_FILE, _ROW)]

    def stream_source(self, batches: list[pa.RecordBatch]) -> Any:
        from seismo.io.sources import ArrowStreamSource

        return ArrowStreamSource(self.arrow_schema(), batches, self.name, types=self.types)

    def arrow_schema(self) -> pa.Schema:
        if not hasattr(self, "_arrow_schema"):
            table = self.frame.select(*[_column(c) for c in self.columns]).limit(0).toArrow()
            self._arrow_schema = table.schema
        return self._arrow_schema

    def driver_source(self) -> Any:
        """The columns and their types, with no rows."""
        return self.stream_source([])

    def total_rows(self) -> int:
        total, self._offsets = self._row_offsets()
        return total

    def _row_offsets(self) -> tuple[int, dict[Any, int]]:
        """Rows in all, and the number of the first row of each file or partition."""
        from pyspark.sql import functions as F

        if self.files:
            counted = self.frame.groupBy(_FILE).agg(F.count(F.lit(1)).alias("n")).collect()
            sizes = sorted(((row[_FILE], int(row["n"])) for row in counted), key=_file_order)
        else:
            # One literal column: Arrow batches with no column lose their row count.
            marker = self.frame.select(F.lit(True).alias("__seismo_row_marker"))
            counted = marker.mapInArrow(_count_rows, "part long, n long").collect()
            sizes = sorted((int(row["part"]), int(row["n"])) for row in counted)
        offsets: dict[Any, int] = {}
        total = 0
        for key, rows in sizes:
            offsets[key] = total
            total += rows
        return total, offsets

    def scan(
        self, columns: list[str], options: ProfileOptions, ceiling: float
    ) -> ReferenceScan | None:
        """The reference scan of every partition, merged in a tree on the executors."""
        if not hasattr(self, "_offsets"):
            self.total_rows()
        offsets = self._offsets
        task = _ScanTask(
            self.arrow_schema(),
            self.name,
            self.types,
            columns,
            options,
            offsets,
            ceiling,
            self.files,
        )
        extra = [_FILE, _ROW] if self.files else []
        frame = positional(self.frame, self.columns, extra)
        blobs = frame.mapInArrow(task, "blob binary").rdd.map(lambda row: bytes(row[0]))
        merged: ReferenceScan | None = _job(
            lambda: blobs.treeAggregate(
                None, _add_scan, _merge_scans, depth=_depth(blobs.getNumPartitions())
            ),
        )
        return merged

    def profile(
        self, grids: dict[str, Any], schema: Any, options: ProfileOptions
    ) -> DatasetProfile:
        """Every partition counted on ``grids``, merged on the driver."""
        from seismo.profile.build import profile_batches

        kinds = {column.name: column.kind for column in schema}
        task = _ProfileTask(self.arrow_schema(), self.name, self.types, grids, kinds, options)
        frame = positional(self.frame, self.columns)
        blobs = frame.mapInArrow(task, "blob binary").rdd.map(lambda row: bytes(row[0]))
        # Partition profiles merge on the executors, a tree of about sqrt(n) fan-in: the driver
        # receives a few profiles, not one per partition. Each is decoded once; the merged
        # ones travel between levels as Spark pickles them.
        merged: DatasetProfile | None = _job(
            lambda: blobs.treeAggregate(
                None, _ProfileAdd(grids), _merge_profiles, depth=_depth(blobs.getNumPartitions())
            ),
        )
        if merged is None:
            return profile_batches(self.stream_source([]), grids, options, kinds=kinds)
        return merged


class _Files:
    """Parquet files the executors read themselves, with pyarrow: Spark runs one task per run
    of row groups (cut as Spark's own reader cuts files: ``spark.sql.files.maxPartitionBytes``,
    ``openCostInBytes``, the default parallelism), and each task reads its row groups as the
    single-process source does, then counts them. Rows never pass through the JVM: the cost of
    the job is Parquet decoding and counting, as in one process, spread over the cores."""

    def __init__(self, spark: SparkSession, dataset: Any, name: str) -> None:
        self.spark, self.dataset, self.name = spark, dataset, name

    def driver_source(self) -> Any:
        return self.dataset

    def total_rows(self) -> int:
        return int(self.dataset.total_rows)

    def tasks(self) -> list[list[Any]]:
        """The pieces of the dataset, packed into tasks of about one split's bytes."""
        context = self.spark.sparkContext
        size = context._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes  # type: ignore[union-attr]
        conf = self.spark.conf
        most = int(size(conf.get("spark.sql.files.maxPartitionBytes", "128m")))
        opening = int(size(conf.get("spark.sql.files.openCostInBytes", "4m")))
        pieces = self.dataset.pieces(most)
        stored = sum(piece.bytes + opening for piece in pieces)
        split = min(most, max(opening, stored // max(1, context.defaultParallelism)))
        tasks: list[list[Any]] = []
        held = 0
        for piece in pieces:
            if not tasks or held + piece.bytes + opening > split:
                tasks.append([])
                held = 0
            tasks[-1].append(piece)
            held += piece.bytes + opening
        return tasks

    def _run(self, task: Any, merge: Any) -> Any:
        tasks = self.tasks()
        if not tasks:
            return None
        parts = self.spark.sparkContext.parallelize(tasks, len(tasks)).flatMap(task)
        return _job(
            lambda: parts.treeAggregate(None, merge, merge, depth=_depth(len(tasks))),
        )

    def scan(
        self, columns: list[str], options: ProfileOptions, ceiling: float
    ) -> ReferenceScan | None:
        task = _PiecesScan(self.dataset.columns, self.name, columns, options, ceiling)
        scanned: ReferenceScan | None = self._run(task, _merge_scans)
        return scanned

    def profile(
        self, grids: dict[str, Any], schema: Any, options: ProfileOptions
    ) -> DatasetProfile:
        from seismo.profile.build import profile_batches

        kinds = {column.name: column.kind for column in schema}
        task = _PiecesProfile(self.dataset.columns, self.name, grids, kinds, options)
        merged: DatasetProfile | None = self._run(task, _merge_profiles)
        if merged is None:  # no rows at all: the driver reads none either
            return profile_batches(self.dataset, grids, options, kinds=kinds)
        return merged


class _PiecesScan:
    """Scans one task's pieces (runs on an executor): each row keyed by its number in the
    dataset, as in one process."""

    def __init__(
        self,
        dataset_columns: Sequence[str],
        name: str,
        columns: list[str],
        options: ProfileOptions,
        ceiling: float,
    ) -> None:
        self.dataset_columns, self.name, self.columns = list(dataset_columns), name, columns
        self.options, self.ceiling = options, ceiling

    def __call__(self, pieces: list[Any]) -> Iterator[ReferenceScan]:
        from seismo.io.sources import ParquetPiecesSource
        from seismo.profile.build import ReferenceScan, _pool, sample_keys

        source = ParquetPiecesSource(pieces, self.dataset_columns, self.name)
        scan = ReferenceScan(self.columns, self.options.sample_rows, ceiling=self.ceiling)
        with _pool(replace(self.options, threads=1)) as pool:
            for position, batch in source.numbered_batches():
                scan.add(batch, sample_keys(self.options.seed, position, batch.rows), pool)
        if scan.rows:
            yield scan


class _PiecesProfile:
    """Counts one task's pieces on the grids (runs on an executor)."""

    def __init__(
        self,
        dataset_columns: Sequence[str],
        name: str,
        grids: dict[str, Any],
        kinds: dict[str, Any],
        options: ProfileOptions,
    ) -> None:
        self.dataset_columns, self.name = list(dataset_columns), name
        self.grids, self.kinds, self.options = grids, kinds, options

    def __call__(self, pieces: list[Any]) -> Iterator[DatasetProfile]:
        from seismo.io.sources import ParquetPiecesSource
        from seismo.profile.build import profile_batches

        source = ParquetPiecesSource(pieces, self.dataset_columns, self.name)
        counted = profile_batches(
            source, self.grids, replace(self.options, threads=1), kinds=self.kinds
        )
        if counted.row_count:
            yield counted


def _depth(partitions: int) -> int:
    """``treeAggregate``'s depth: a merge level on the executors above 16 partitions."""
    return 2 if partitions > 16 else 1


def _job(run: Any) -> Any:
    """A Spark job whose tasks may fail on the data: seismo's own error, as it was raised."""
    try:
        return run()
    except Exception as error:
        found = re.findall(r"seismo\.errors\.(?:InputError|SchemaError): (.+)", str(error))
        if found:
            raise InputError(found[-1].strip()) from None
        raise


class _ProfileAdd:
    """Adds a partition's profile, sent without its grids, to a merged one (None: none yet)."""

    def __init__(self, grids: dict[str, Any]) -> None:
        self.grids = grids

    def __call__(self, merged: DatasetProfile | None, blob: bytes) -> DatasetProfile:
        from seismo.profile.dataset import DatasetProfile

        part = DatasetProfile.from_bytes(blob, self.grids)
        return part if merged is None else merged.merge(part)


def _merge_profiles(
    left: DatasetProfile | None, right: DatasetProfile | None
) -> DatasetProfile | None:
    if left is None or right is None:
        return left if right is None else right
    return left.merge(right)


def _add_scan(merged: ReferenceScan | None, blob: bytes) -> ReferenceScan:
    # Written by this job's own tasks (compressed pickles), never read from elsewhere.
    part: ReferenceScan = pickle.loads(zlib.decompress(blob))
    return part if merged is None else merged.merge(part)


def _merge_scans(left: ReferenceScan | None, right: ReferenceScan | None) -> ReferenceScan | None:
    """Two partial reference scans merged (None: no rows yet)."""
    if left is None or right is None:
        return left if right is None else right
    return left.merge(right)


class _ScanTask:
    """Scans one partition (runs on an executor)."""

    def __init__(
        self,
        schema: pa.Schema,
        name: str,
        types: dict[str, pa.DataType],
        columns: list[str],
        options: ProfileOptions,
        offsets: dict[Any, int],
        ceiling: float,
        files: bool,
    ) -> None:
        self.schema, self.name, self.types = schema, name, types
        self.columns, self.options, self.offsets = columns, options, offsets
        self.ceiling, self.files = ceiling, files

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import numpy as np
        import pyarrow as pa

        from seismo.io.sources import ArrowStreamSource
        from seismo.profile.build import ReferenceScan, _pool

        part = _partition_id()
        scan = ReferenceScan(self.columns, self.options.sample_rows, ceiling=self.ceiling)
        options = replace(self.options, threads=1)
        start = self.offsets.get(part, 0)
        with _pool(options) as pool:
            for record_batch in map(self._named, batches):
                if self.files:
                    files = record_batch.column(_FILE).to_pylist()
                    rows = record_batch.column(_ROW).to_numpy()
                    positions = np.fromiter(
                        (self.offsets[f] for f in files), dtype=np.int64, count=len(files)
                    ) + rows.astype(np.int64)
                    data = record_batch.select(list(self.schema.names))
                else:
                    positions = np.arange(start, start + record_batch.num_rows, dtype=np.int64)
                    start += record_batch.num_rows
                    data = record_batch
                source = ArrowStreamSource(self.schema, [data], self.name, types=self.types)
                done = 0
                for batch in source.batches():
                    keys = keys_at(self.options.seed, positions[done : done + batch.rows])
                    scan.add(batch, keys, pool)
                    done += batch.rows
        if scan.rows:
            blob = zlib.compress(pickle.dumps(scan, protocol=pickle.HIGHEST_PROTOCOL), 1)
            yield pa.RecordBatch.from_pydict({"blob": pa.array([blob], pa.binary())})

    def _named(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        return named_back(batch, self.schema.names)


class _ProfileTask:
    """Counts one partition on the grids (runs on an executor)."""

    def __init__(
        self,
        schema: pa.Schema,
        name: str,
        types: dict[str, pa.DataType],
        grids: dict[str, Any],
        kinds: dict[str, Any],
        options: ProfileOptions,
    ) -> None:
        self.schema, self.name, self.types = schema, name, types
        self.grids, self.kinds, self.options = grids, kinds, options

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        from seismo.io.sources import ArrowStreamSource
        from seismo.profile.build import profile_batches

        named = (named_back(batch, self.schema.names) for batch in batches)
        source = ArrowStreamSource(self.schema, named, self.name, types=self.types)
        counted = profile_batches(
            source, self.grids, replace(self.options, threads=1), kinds=self.kinds
        )
        if counted.row_count:
            yield pa.RecordBatch.from_pydict(
                {"blob": pa.array([counted.to_bytes(grids=False)], pa.binary())}
            )


def keys_at(seed: int, positions: Any) -> Any:
    """The sample keys of rows at ``positions`` (ascending runs are drawn in one go)."""
    import numpy as np

    from seismo.profile.build import sample_keys

    keys = np.empty(len(positions), dtype=np.float64)
    if not len(positions):
        return keys
    breaks = np.flatnonzero(np.diff(positions) != 1) + 1
    for begin, end in zip(
        np.concatenate([[0], breaks]), np.concatenate([breaks, [len(positions)]]), strict=True
    ):
        keys[begin:end] = sample_keys(seed, int(positions[begin]), int(end - begin))
    return keys


def _count_rows(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    rows = sum(batch.num_rows for batch in batches)
    yield pa.RecordBatch.from_pydict(
        {"part": pa.array([_partition_id()], pa.int64()), "n": pa.array([rows], pa.int64())}
    )


def _partition_id() -> int:
    from pyspark import TaskContext

    context = TaskContext.get()
    return 0 if context is None else int(context.partitionId())


def _ceiling(sample_rows: int, total: int) -> float:
    """A key bound the ``sample_rows`` smallest of ``total`` keys stay under (whp)."""
    if total <= sample_rows or total == 0:
        return 1.0
    expected = sample_rows + _SIGMAS * math.sqrt(sample_rows) + 100
    return min(1.0, expected / total)


# --------------------------------------------------------------------------- reading files


def _read_parquet(spark: SparkSession, path: str, name: str) -> _Table:
    """Parquet files read with Spark, numbered as seismo reads them (file path, row)."""
    from pyspark.sql import functions as F

    from seismo.io.sources import parquet_files

    local = "://" not in path or path.startswith("file://")
    types: dict[str, pa.DataType] = {}
    hidden: set[str] = set()
    reader = spark.read
    targets = [path]
    if local:
        plain = path.removeprefix("file://")
        if not Path(plain).exists() and not _has_glob(plain):
            raise InputError(f"{path}: no such file")
        root, files = parquet_files(plain)
        if not files:
            raise InputError(
                f"{path}: no Parquet files there (names starting with _ or . are skipped)"
            )
        types, hidden = _declared_types(files[0])
        targets = [_literal(str(f)) for f in files]
        if Path(plain).is_dir() or _has_glob(plain):
            reader = reader.option("basePath", str(root))
    settings = {
        # Partition values are text, as seismo reads them.
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        # Spark refuses nanosecond timestamps; read as integers, they are cast back in Python.
        "spark.sql.legacy.parquet.nanosAsLong": "true",
    }
    before: dict[str, str | None] = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        frame = reader.parquet(*targets)
    except Exception as error:
        raise InputError(f"{path}: Spark cannot read it ({_first_line(error)})") from error
    finally:
        for key, old in before.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)
    columns = [c for c in frame.columns if c not in hidden]
    frame = frame.select(
        *map(_column, columns),
        F.col("_metadata.file_path").alias(_FILE),
        F.col("_metadata.row_index").alias(_ROW),
    )
    return _Table(frame, name, files=True, types=types)


def _dataset(path: str) -> Any:
    """Parquet paths as the single-process path reads them (every footer read once here)."""
    from seismo.io.sources import ParquetDatasetSource

    if not Path(path).exists() and not _has_glob(path):
        raise InputError(f"{path}: no such file")
    if Path(path).is_file():
        with open(path, "rb") as handle:
            if handle.read(4) != b"PAR1":
                raise InputError(
                    f"{path}: not a Parquet file; the Spark engine reads Parquet files, "
                    "directories and globs"
                )
    return ParquetDatasetSource(path)


def _declared_types(file: Path) -> tuple[dict[str, pa.DataType], set[str]]:
    """The types Spark does not keep (categorical columns, nanosecond timestamps, unsigned
    integers) as the file declares them, and the pandas index columns seismo does not read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from seismo.io.sources import _pandas_index_columns

    schema = pq.read_schema(file)
    types = {
        f.name: f.type
        for f in schema
        if pa.types.is_dictionary(f.type)
        or pa.types.is_unsigned_integer(f.type)
        or (pa.types.is_timestamp(f.type) and f.type.unit == "ns")
    }
    return types, _pandas_index_columns(schema)


def _file_order(item: tuple[str, int]) -> str:
    return urllib.parse.unquote(urllib.parse.urlparse(item[0]).path)


def _literal(path: str) -> str:
    """A path Spark reads as it is, not as a glob (Hadoop's glob escapes with backslashes)."""
    return "".join("\\" + ch if ch in "*?[]{}\\" else ch for ch in path)


def _has_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def positional(frame: DataFrame, names: list[str], keep: list[str] | None = None) -> DataFrame:
    """``names`` under positional names (``_c0``, ...), then ``keep`` as they are: pyspark's
    ``mapInArrow`` cannot take every column name (a backtick in one breaks it)."""
    return frame.select(
        *[_column(name).alias(f"_c{i}") for i, name in enumerate(names)], *(keep or [])
    )


def named_back(batch: pa.RecordBatch, names: Sequence[str]) -> pa.RecordBatch:
    """A batch of :func:`positional` columns under their own names again."""
    return batch.rename_columns([*names, *batch.schema.names[len(names) :]])


def _column(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col(f"`{name.replace('`', '``')}`")


def _name(data: Any, default: str) -> str:
    return str(data) if isinstance(data, str | Path) else default


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError("the Spark engine needs pyspark: pip install 'seismo[spark]'") from None

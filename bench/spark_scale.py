"""seismo on Spark against single-process seismo and a Spark scan that does nothing.

Run by hand from the repository root with the project's virtualenv (pyspark and Java 17)::

    .venv/bin/python bench/spark_scale.py                           # 10M and 100M rows
    .venv/bin/python bench/spark_scale.py --rows 1_000_000 --runs 1  # a minute or two
    .venv/bin/python bench/spark_scale.py --rows 10_000_000 --runs 5

Data: a seeded reference and current dataset of ``--rows`` rows each, 20 columns (14 numeric:
normal, lognormal and Pareto tails, uniform, exponential, float32, Poisson and other counts,
some with nulls; 6 text: 5 to 1,000 categories, uniform and Zipf, one with nulls), written with
pyarrow as several Parquet files of 1M-row row groups under ``bench/.cache/spark-scale-<rows>/``
and reused when present (the free disk is checked before generating).

Timed, in the same run on the same files, each the median of ``--runs`` runs after one untimed
warm-up (the first run of a Spark job starts the Python workers and imports seismo there; the
Spark session's start-up is timed apart and included in neither):

- single process: ``seismo.fit_reference(reference_dir)`` and ``seismo.profile(reference,
  current_dir)`` in a fresh process of their own;
- Spark ``local[C]``: ``seismo.spark.fit_reference(reference_dir, spark=...)`` and
  ``seismo.spark.profile(reference, current_dir, spark=...)``;
- the floors, on Spark, over the same columns of the current data: ``mapInArrow`` with a
  function that reads every Arrow batch into the Python worker and yields one row count per
  partition (the Python floor: what seismo's jobs pay before counting anything), and
  ``df.select(cols).write.format("noop")`` (the JVM floor: Parquet decoded, nothing sent to
  Python);
- after those, the merge tree: ``seismo.spark.profile`` of the current data (its first
  1,000,000 rows at most) cached as ``--tree-partitions`` partitions, so that the partition
  profiles merge through an intermediate level on the executors (``seismo.spark`` merges with
  ``RDD.treeAggregate``, depth 2 above 16 partitions; at 1M and 10M rows the files are read
  as 2 and 8 partitions, too few for that).

Measured besides the time: peak RSS of the driver's Python process (``VmHWM`` after resetting
it through ``/proc/<pid>/clear_refs``), of the driver JVM (in local mode the executors are
threads of that JVM) and of the Python workers (``pyspark.daemon`` and its forked workers:
``/proc`` sampled every 100 ms, the largest worker's ``VmHWM`` and the peak of their summed RSS
and PSS); and, from Spark's REST status API (``spark.ui.enabled`` on a free port), each job's
stages: tasks, rows read, shuffle bytes written and read (in all and per task), and every
task's ``resultSize`` (the serialized task result the driver receives: the rows collected plus
the task's accumulator updates, which the floors' results show alone). The stages of each
``treeAggregate`` are picked out: the partitions' stage (its shuffle write, or at depth 1 its
results, is what each partition sends), the intermediate merge level (tasks, shuffle read,
time per task) and the results the driver receives. Besides, the driver's and executors' cost
per profile: a profile's bytes with and without its grids, decoding, merging and re-encoding
it. Results: stdout and ``bench/results/spark_scale.{md,json}`` (sizes measured earlier are
kept, each with its date and seismo's commit).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from drift_vs_evidently import git_revision  # the bench's one way to name the commit

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
CACHE = BENCH_DIR / ".cache"
RESULTS = BENCH_DIR / "results"

#: Bumped when the generated data changes; a cache written by another version is rebuilt.
GENERATOR = 1
ROW_GROUP_ROWS = 1_000_000
#: Rows per Parquet file at most (at least 4 files, so Spark has files to split and spread).
FILE_ROWS = 5_000_000
MIN_FILES = 4
#: Disk per row for both datasets (Parquet, snappy; measured: 94 bytes a side), with room.
DISK_BYTES_PER_ROW = 2 * 120
DISK_MARGIN = 5 * 2**30
DEFAULT_SIZES = (10_000_000, 100_000_000)
#: The merge-tree job: at most this many rows of the current data, as this many partitions.
TREE_ROWS = 1_000_000
DEFAULT_TREE_PARTITIONS = 64
SAMPLE_INTERVAL = 0.1


# --------------------------------------------------------------------------- the data

#: (name, kind, parameters); "shift" is applied to the current dataset only.
COLUMNS: list[tuple[str, str, dict[str, Any]]] = [
    ("normal", "normal", {"loc": 0.0, "scale": 1.0, "shift": 0.1}),
    ("normal_wide", "normal", {"loc": 100.0, "scale": 15.0}),
    ("normal_nulls", "normal", {"loc": 5.0, "scale": 2.0, "nulls": 0.05}),
    ("lognormal", "lognormal", {"mean": 0.0, "sigma": 1.0}),
    ("lognormal_heavy", "lognormal", {"mean": 3.0, "sigma": 2.0, "shift": 0.3}),
    ("pareto", "pareto", {"a": 1.5}),
    ("uniform", "uniform", {}),
    ("exponential_nulls", "exponential", {"scale": 2.0, "nulls": 0.01}),
    ("float32", "float32", {"loc": -3.0, "scale": 0.5}),
    ("count_small", "poisson", {"lam": 3.0}),
    ("count_large", "poisson", {"lam": 200.0, "shift": 10.0}),
    ("small_int", "integers", {"high": 10}),
    ("count_nulls", "negative_binomial", {"n": 2, "p": 0.1, "nulls": 0.1}),
    ("big_int", "integers", {"high": 1_000_000_000}),
    ("cat_5", "categories", {"k": 5}),
    ("cat_20_zipf", "categories", {"k": 20, "zipf": 1.2}),
    ("cat_100", "categories", {"k": 100, "shift": True}),
    ("cat_1000", "categories", {"k": 1000}),
    ("cat_1000_zipf", "categories", {"k": 1000, "zipf": 1.1}),
    ("cat_50_nulls", "categories", {"k": 50, "nulls": 0.05}),
]
COLUMN_NAMES = [name for name, _, _ in COLUMNS]


def data_dir(rows: int) -> Path:
    return CACHE / f"spark-scale-{rows}"


def layout(rows: int) -> list[list[int]]:
    """Rows per row group, per file."""
    files = max(MIN_FILES, math.ceil(rows / FILE_ROWS))
    per_file = [rows // files + (1 if i < rows % files else 0) for i in range(files)]
    return [
        [min(ROW_GROUP_ROWS, n - start) for start in range(0, n, ROW_GROUP_ROWS)] for n in per_file
    ]


def _column(rng: Any, kind: str, params: dict[str, Any], rows: int, current: bool) -> Any:
    import numpy as np
    import pyarrow as pa

    shift = params.get("shift") if current else None
    if kind == "normal":
        values = rng.normal(params["loc"] + (shift or 0.0), params["scale"], rows)
    elif kind == "lognormal":
        values = rng.lognormal(params["mean"], params["sigma"] + (shift or 0.0), rows)
    elif kind == "pareto":
        values = rng.pareto(params["a"], rows)
    elif kind == "uniform":
        values = rng.random(rows)
    elif kind == "exponential":
        values = rng.exponential(params["scale"], rows)
    elif kind == "float32":
        values = rng.normal(params["loc"], params["scale"], rows).astype(np.float32)
    elif kind == "poisson":
        values = rng.poisson(params["lam"] + (shift or 0.0), rows).astype(np.int64)
    elif kind == "integers":
        values = rng.integers(0, params["high"], rows, dtype=np.int64)
    elif kind == "negative_binomial":
        values = rng.negative_binomial(params["n"], params["p"], rows).astype(np.int64)
    elif kind == "categories":
        k = params["k"]
        weights = 1.0 / np.arange(1, k + 1) ** params["zipf"] if "zipf" in params else np.ones(k)
        if shift:
            weights = weights * np.linspace(0.5, 1.5, k)
        codes = rng.choice(k, rows, p=weights / weights.sum()).astype(np.int32)
        width = len(str(k - 1))
        labels = pa.array([f"c{k}_{i:0{width}d}" for i in range(k)], pa.string())
        mask = rng.random(rows) < params["nulls"] if "nulls" in params else None
        indices = pa.array(codes, pa.int32(), mask=mask)
        return pa.DictionaryArray.from_arrays(indices, labels).dictionary_decode()
    else:
        raise ValueError(kind)
    mask = rng.random(rows) < params["nulls"] if "nulls" in params else None
    return pa.array(values, mask=mask)


def generate(directory: Path, rows: int, seed: int, current: bool) -> dict[str, Any]:
    """One dataset: several Parquet files of ~1M-row row groups, written with pyarrow."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for f, groups in enumerate(layout(rows)):
        path = directory / f"part-{f:05d}.parquet"
        writer = None
        for g, n in enumerate(groups):
            rng = np.random.default_rng([seed, int(current), f, g])
            arrays = [_column(rng, kind, params, n, current) for _, kind, params in COLUMNS]
            table = pa.table(arrays, names=COLUMN_NAMES)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        assert writer is not None
        writer.close()
        files.append({"name": path.name, "rows": sum(groups), "bytes": path.stat().st_size})
    return {"files": files, "bytes": sum(f["bytes"] for f in files)}


def cached(rows: int, seed: int) -> dict[str, Any] | None:
    """The manifest of the datasets of ``rows`` rows, if they are generated and current."""
    path = data_dir(rows) / "manifest.json"
    if not path.exists():
        return None
    manifest: dict[str, Any] = json.loads(path.read_text())
    wanted = {"generator": GENERATOR, "rows": rows, "seed": seed}
    return manifest if all(manifest.get(k) == v for k, v in wanted.items()) else None


def check_disk(sizes: list[int], seed: int) -> None:
    """Refuse, before anything runs, when the sizes still to generate do not fit on disk."""
    missing = [rows for rows in sizes if cached(rows, seed) is None]
    if not missing:
        return
    need = sum(missing) * DISK_BYTES_PER_ROW + DISK_MARGIN
    CACHE.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(CACHE).free
    if free < need:
        raise SystemExit(
            f"spark_scale: generating {' + '.join(f'{r:,}' for r in missing)} rows needs about "
            f"{need / 2**30:.0f} GiB of free disk under {CACHE} (both datasets, "
            f"{DISK_BYTES_PER_ROW} bytes a row, plus {DISK_MARGIN / 2**30:.0f} GiB to spare); "
            f"{free / 2**30:.0f} GiB are free. Free some space, or run a smaller --rows."
        )


def ensure_data(rows: int, seed: int) -> dict[str, Any]:
    """The reference and current datasets of ``rows`` rows, generated unless cached."""
    manifest = cached(rows, seed)
    if manifest is not None:
        return dict(manifest, reused=True)
    check_disk([rows], seed)
    directory = data_dir(rows)
    if directory.exists():
        shutil.rmtree(directory)  # an older generator's, or an interrupted run's
    print(f"generating {rows:,} rows x {len(COLUMNS)} columns, twice, into {directory}")
    clock = time.perf_counter()
    out = run_worker("generate", {"rows": rows, "seed": seed, "directory": str(directory)})
    manifest = {
        "generator": GENERATOR,
        "rows": rows,
        "seed": seed,
        "columns": [{"name": n, "kind": k, **p} for n, k, p in COLUMNS],
        "row_group_rows": ROW_GROUP_ROWS,
        "generate_seconds": round(time.perf_counter() - clock, 1),
        **out,
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return dict(manifest, reused=False)


def worker_generate(spec: dict[str, Any]) -> dict[str, Any]:
    directory = Path(spec["directory"])
    return {
        side: generate(directory / side, spec["rows"], spec["seed"], side == "current")
        for side in ("reference", "current")
    }


# --------------------------------------------------------------------------- memory (/proc)


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in bytes ({} when the process is gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    return out


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def reset_peak(pid: int) -> None:
    """Set the process's VmHWM back to its current RSS."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    out, todo = [], list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(tree.get(child, []))
    return out


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


class SparkProcesses:
    """The Spark driver's processes, sampled every 100 ms: this Python process, the JVM it
    started, and the Python workers the JVM forks (``pyspark.daemon`` and its children)."""

    def __init__(self) -> None:
        self.driver = os.getpid()
        java = [p for p in _descendants(self.driver, _children()) if _comm(p) == "java"]
        if len(java) != 1:
            raise RuntimeError(f"expected one JVM under the driver, found {java}")
        self.jvm = java[0]
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reset_maxima()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")
        self._thread.start()

    def python(self) -> tuple[list[int], list[int]]:
        """(daemons, workers): the JVM's Python children, and their descendants."""
        tree = _children()
        daemons = [p for p in tree.get(self.jvm, []) if _comm(p).startswith("python")]
        workers = [w for d in daemons for w in _descendants(d, tree)]
        return daemons, workers

    def _reset_maxima(self) -> None:
        self.jvm_rss_max = 0
        self.workers_rss_sum_max = 0
        self.workers_pss_sum_max = 0
        self.worker_hwm: dict[int, int] = {}
        self.daemon_hwm = 0
        self.workers_seen = 0
        self.samples = 0

    def reset(self) -> dict[str, int]:
        """Reset every peak; returns the RSS each part starts from."""
        daemons, workers = self.python()
        with self._lock:
            for pid in [self.driver, self.jvm, *daemons, *workers]:
                reset_peak(pid)
            self._reset_maxima()
        return {
            "driver_python": _status(self.driver).get("VmRSS", 0),
            "jvm": _status(self.jvm).get("VmRSS", 0),
            "workers_sum": sum(_status(p).get("VmRSS", 0) for p in workers),
        }

    def _sample(self) -> None:
        daemons, workers = self.python()
        jvm = _status(self.jvm)
        states = {p: _status(p) for p in workers}
        pss = sum(_pss(p) for p in workers)
        daemon = max((_status(p).get("VmHWM", 0) for p in daemons), default=0)
        with self._lock:
            self.samples += 1
            self.jvm_rss_max = max(self.jvm_rss_max, jvm.get("VmHWM", 0), jvm.get("VmRSS", 0))
            self.workers_rss_sum_max = max(
                self.workers_rss_sum_max, sum(s.get("VmRSS", 0) for s in states.values())
            )
            self.workers_pss_sum_max = max(self.workers_pss_sum_max, pss)
            self.daemon_hwm = max(self.daemon_hwm, daemon)
            for pid, state in states.items():
                if state:
                    self.worker_hwm[pid] = max(self.worker_hwm.get(pid, 0), state["VmHWM"])

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL):
            self._sample()

    def peaks(self) -> dict[str, int]:
        self._sample()
        with self._lock:
            return {
                "driver_python": _status(self.driver).get("VmHWM", 0),
                "jvm": self.jvm_rss_max,
                "worker_max": max(self.worker_hwm.values(), default=0),
                "workers_rss_sum": self.workers_rss_sum_max,
                "workers_pss_sum": self.workers_pss_sum_max,
                "daemon": self.daemon_hwm,
                "workers": len(self.worker_hwm),
                "samples": self.samples,
            }

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# --------------------------------------------------------------------------- single process


def worker_single(spec: dict[str, Any]) -> dict[str, Any]:
    """``seismo.fit_reference`` and ``seismo.profile`` on the Parquet directories, timed."""
    import seismo

    reference_dir, current_dir = spec["reference"], spec["current"]
    me = os.getpid()

    def measure(call: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
        reset_peak(me)
        before = _status(me)["VmRSS"]
        clock = time.perf_counter()
        value = call()
        seconds = time.perf_counter() - clock
        return value, {"seconds": seconds, "rss_before": before, "peak": _status(me)["VmHWM"]}

    warm: dict[str, Any] = {}
    reference, warm["fit_reference"] = measure(lambda: seismo.fit_reference(reference_dir))
    counted, warm["profile"] = measure(lambda: seismo.profile(reference, current_dir))
    runs: dict[str, list[dict[str, Any]]] = {"fit_reference": [], "profile": []}
    for _ in range(spec["runs"]):
        reference, fitted = measure(lambda: seismo.fit_reference(reference_dir))
        runs["fit_reference"].append(fitted)
        counted, profiled = measure(partial(seismo.profile, reference, current_dir))
        runs["profile"].append(profiled)
    out = Path(spec["out_dir"])
    (out / "single-reference.bin").write_bytes(reference.to_bytes())
    (out / "single-profile.bin").write_bytes(counted.to_bytes())
    return {
        "threads": seismo.ProfileOptions().threads or min(8, os.cpu_count() or 1),
        "warmup": warm,
        "runs": runs,
        "reference_bytes": len(reference.to_bytes()),
        "profile_bytes": len(counted.to_bytes()),
        "rows_profiled": counted.row_count,
    }


# --------------------------------------------------------------------------- Spark


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_spark(cores: int, driver_memory: str) -> tuple[Any, float]:
    """A local Spark session with its UI (and REST API) on a free port; seconds to start."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    clock = time.perf_counter()
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("seismo-spark-scale")
        .config("spark.ui.enabled", "true")
        .config("spark.ui.port", str(_free_port()))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", driver_memory)
        .getOrCreate()
    )
    return spark, time.perf_counter() - clock


def _drain(batches: Iterator[Any]) -> Iterator[Any]:
    """The Python floor: every Arrow batch read into the worker, nothing computed."""
    import pyarrow as pa
    from pyspark import TaskContext

    rows = arrow_bytes = 0
    for batch in batches:
        rows += batch.num_rows
        arrow_bytes += batch.nbytes
    context = TaskContext.get()
    yield pa.RecordBatch.from_pydict(
        {
            "part": [context.partitionId() if context else 0],
            "rows": [rows],
            "arrow_bytes": [arrow_bytes],
        }
    )


def _read_pieces(columns: list[str], pieces: list[Any]) -> tuple[int, int]:
    """The Arrow floor: one task's row groups decoded with pyarrow in the Python worker, as
    ``seismo.spark`` reads Parquet paths, nothing computed. Rows and Arrow bytes."""
    import pyarrow.parquet as pq

    from seismo.io.sources import PARQUET_BUFFER_BYTES

    rows = arrow_bytes = 0
    for piece in pieces:
        with pq.ParquetFile(piece.path, pre_buffer=False, buffer_size=PARQUET_BUFFER_BYTES) as f:
            for batch in f.iter_batches(
                batch_size=262_144, row_groups=list(piece.row_groups), columns=columns
            ):
                rows += batch.num_rows
                arrow_bytes += batch.nbytes
    return rows, arrow_bytes


def _spread(values: list[int]) -> dict[str, float]:
    """Min, median and max of the tasks' values (0 without tasks)."""
    ordered = sorted(values)
    if not ordered:
        return {"min": 0, "median": 0, "max": 0}
    return {"min": ordered[0], "median": statistics.median(ordered), "max": ordered[-1]}


class RestApi:
    """Spark's status REST API: the stages of a job group, with their tasks' metrics."""

    def __init__(self, spark: Any) -> None:
        context = spark.sparkContext
        port = context.uiWebUrl.rsplit(":", 1)[1]
        self.base = f"http://127.0.0.1:{port}/api/v1/applications/{context.applicationId}"
        self.tracker = context.statusTracker()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            return json.loads(response.read())

    def group(self, group: str) -> dict[str, Any]:
        jobs = []
        for job_id in sorted(self.tracker.getJobIdsForGroup(group)):
            job = self._finished(f"/jobs/{job_id}", lambda j: j["status"] != "RUNNING")
            stages = [self.stage(s) for s in job["stageIds"]]
            jobs.append({"job": job_id, "status": job["status"], "stages": stages})
        stages = [s for j in jobs for s in j["stages"] if s["status"] == "COMPLETE"]
        return {
            "jobs": jobs,
            "result_bytes": sum(s["result_bytes"] for s in stages),
            "shuffle_write_bytes": sum(s["shuffle_write_bytes"] for s in stages),
            "shuffle_read_bytes": sum(s["shuffle_read_bytes"] for s in stages),
            "tasks": sum(s["tasks"] for s in stages),
        }

    def stage(self, stage_id: int) -> dict[str, Any]:
        attempts = self._finished(
            f"/stages/{stage_id}",
            lambda a: all(x["status"] in ("COMPLETE", "SKIPPED", "FAILED") for x in a),
        )
        stage = max(attempts, key=lambda a: a["attemptId"])
        out: dict[str, Any] = {
            "stage": stage_id,
            "name": stage["name"],
            "status": stage["status"],
            "tasks": stage["numTasks"],
            "input_records": stage["inputRecords"],
            "shuffle_write_bytes": stage["shuffleWriteBytes"],
            "shuffle_read_bytes": stage["shuffleReadBytes"],
            "executor_run_ms": stage["executorRunTime"],
            "jvm_gc_ms": stage["jvmGcTime"],
            "result_bytes": 0,
        }
        if stage["status"] != "COMPLETE":
            return out
        tasks = self.get(f"/stages/{stage_id}/{stage['attemptId']}/taskList?length=1000000")
        metrics = [t["taskMetrics"] for t in tasks if t.get("taskMetrics")]
        sizes = [m["resultSize"] for m in metrics]
        read = [
            m["shuffleReadMetrics"]["localBytesRead"] + m["shuffleReadMetrics"]["remoteBytesRead"]
            for m in metrics
        ]
        out.update(
            result_bytes=sum(sizes),
            result_bytes_per_task=_spread(sizes),
            shuffle_write_per_task=_spread(
                [m["shuffleWriteMetrics"]["bytesWritten"] for m in metrics]
            ),
            shuffle_read_per_task=_spread(read),
            run_ms_per_task=_spread([m["executorRunTime"] for m in metrics]),
            peak_execution_memory_max=max((m["peakExecutionMemory"] for m in metrics), default=0),
        )
        return out

    def _finished(self, path: str, done: Callable[[Any], bool]) -> Any:
        """The REST answer once the listener has caught up with the job's end."""
        for _ in range(200):
            try:
                answer = self.get(path)
            except urllib.error.HTTPError:
                answer = None
            if answer is not None and done(answer):
                return answer
            time.sleep(0.05)
        raise RuntimeError(f"Spark's REST API never finished {path}")


def worker_spark(spec: dict[str, Any]) -> dict[str, Any]:
    """seismo.spark's jobs, the two floors and the merge tree in one local session, timed and
    metered."""
    spark, startup = start_spark(spec["cores"], spec["driver_memory"])
    import seismo.spark
    from seismo.profile.build import SAMPLE_ROWS
    from seismo.profile.dataset import DatasetProfile, Reference
    from seismo.spark.profiles import _ceiling, _open

    reference_dir, current_dir = spec["reference"], spec["current"]
    columns = COLUMN_NAMES
    context = spark.sparkContext
    processes = SparkProcesses()
    rest = RestApi(spark)
    groups = iter(range(1_000_000))

    def floor_python() -> Any:
        frame = spark.read.parquet(current_dir).select(*columns)
        return frame.mapInArrow(_drain, "part long, rows long, arrow_bytes long").collect()

    def floor_jvm() -> None:
        frame = spark.read.parquet(current_dir).select(*columns)
        frame.write.format("noop").mode("overwrite").save()

    pieces = _open(current_dir, spark, "current", None).tasks()  # seismo.spark's own tasks

    def floor_arrow() -> Any:
        tasks = context.parallelize(pieces, len(pieces))
        return tasks.map(partial(_read_pieces, columns)).collect()

    state: dict[str, Any] = {}

    def fit() -> Any:
        state["reference"] = seismo.spark.fit_reference(reference_dir, spark=spark)
        return state["reference"]

    def profile() -> Any:
        state["profile"] = seismo.spark.profile(state["reference"], current_dir, spark=spark)
        return state["profile"]

    def profile_dataframe() -> Any:
        frame = spark.read.parquet(current_dir).select(*columns)
        state["profile_dataframe"] = seismo.spark.profile(state["reference"], frame, spark=spark)
        return state["profile_dataframe"]

    def profile_tree() -> Any:
        frame = state["tree_frame"]
        state["tree"] = seismo.spark.profile(state["reference"], frame, spark=spark)
        return state["tree"]

    jobs: dict[str, Callable[[], Any]] = {
        "fit_reference": fit,
        "profile": profile,
        "profile_dataframe": profile_dataframe,
        "floor_arrow": floor_arrow,
        "floor_python": floor_python,
        "floor_jvm": floor_jvm,
    }

    def measure(name: str) -> dict[str, Any]:
        group = f"{name}-{next(groups)}"
        context.setJobGroup(group, name)
        start = processes.reset()
        clock = time.perf_counter()
        value = jobs[name]()
        seconds = time.perf_counter() - clock
        peaks = processes.peaks()
        if name == "floor_python":
            state["floor_rows"] = sum(r["rows"] for r in value)
            state["floor_arrow_bytes"] = sum(r["arrow_bytes"] for r in value)
            state["floor_partitions"] = len(value)
        if name == "floor_arrow":
            state["floor_arrow_rows"] = sum(rows for rows, _ in value)
        return {"seconds": seconds, "start_rss": start, "peak": peaks, "group": group}

    warm = {name: measure(name) for name in jobs}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs}
    for _ in range(spec["runs"]):
        for name in (
            "floor_jvm",
            "floor_arrow",
            "floor_python",
            "profile",
            "profile_dataframe",
            "fit_reference",
        ):
            runs[name].append(measure(name))
    tree: dict[str, Any] = {}
    if spec["tree_partitions"]:
        # Last, as the cache holds the rows in the JVM: the current data's first rows as many
        # partitions, cached (untimed), so profiling them goes through a merge level.
        context.setJobGroup("tree-cache", "tree-cache")
        frame = spark.read.parquet(current_dir).select(*columns)
        if state["floor_rows"] > TREE_ROWS:
            frame = frame.limit(TREE_ROWS)
        frame = frame.repartition(spec["tree_partitions"]).cache()
        clock = time.perf_counter()
        tree["rows"] = frame.count()
        tree["cache_seconds"] = time.perf_counter() - clock
        tree["partitions"] = frame.rdd.getNumPartitions()
        state["tree_frame"] = frame
        jobs["profile_tree"] = profile_tree
        warm["profile_tree"] = measure("profile_tree")
        runs["profile_tree"] = [measure("profile_tree") for _ in range(spec["runs"])]
        frame.unpersist(blocking=True)
    processes.stop()
    metrics = {name: rest.group(runs[name][-1]["group"]) for name in jobs}
    context.setJobGroup("partitions", "partitions")
    partitions = {
        side: spark.read.parquet(path).rdd.getNumPartitions()
        for side, path in (("reference", reference_dir), ("current", current_dir))
    }
    reference: Reference = state["reference"]
    counted: DatasetProfile = state["profile"]
    seen = (
        state["floor_rows"],
        state["floor_arrow_rows"],
        counted.row_count,
        state["profile_dataframe"].row_count,
        reference.profile.row_count,
    )
    if len(set(seen)) != 1:
        raise RuntimeError(
            "rows differ: the floors read {:,} and {:,}, the profiles counted {:,} and {:,}, "
            "the reference {:,}".format(*seen)
        )
    if tree and state["tree"].row_count != tree["rows"]:
        raise RuntimeError(
            f"rows differ: {tree['rows']:,} cached, {state['tree'].row_count:,} profiled"
        )
    out = Path(spec["out_dir"])
    single_reference = Reference.from_bytes((out / "single-reference.bin").read_bytes())
    single_profile = DatasetProfile.from_bytes((out / "single-profile.bin").read_bytes())
    compared = [
        ("reference", differences(single_reference.to_dict(), reference.to_dict())),
        ("profile", differences(single_profile.to_dict(), counted.to_dict())),
        (
            "profile of the DataFrame",
            differences(single_profile.to_dict(), state["profile_dataframe"].to_dict()),
        ),
    ]
    if tree and tree["rows"] == counted.row_count:  # the same rows: the tree's merge checked
        tree_profile = state["tree"].to_dict()
        compared.append(
            (
                f"profile of the {tree['partitions']} cached partitions",
                differences(single_profile.to_dict(), tree_profile),
            )
        )
    same = {
        name: {k: "differs" if math.isinf(v) else v for k, v in found.items()}
        for name, found in compared
    }
    grids = {name: column.grid for name, column in reference.profile.columns.items()}
    conf = spark.conf
    settings = {
        key: conf.get(key, None)
        for key in (
            "spark.sql.execution.arrow.maxRecordsPerBatch",
            "spark.sql.files.maxPartitionBytes",
            "spark.driver.memory",
            "spark.driver.maxResultSize",
            "spark.python.worker.reuse",
        )
    }
    spark.stop()
    return {
        "startup_seconds": startup,
        "warmup": warm,
        "runs": runs,
        "metrics": metrics,
        "partitions": partitions,
        "floor_rows": state["floor_rows"],
        "floor_arrow_bytes": state["floor_arrow_bytes"],
        "floor_partitions": state["floor_partitions"],
        "arrow_tasks": len(pieces),
        "same_as_single_process": same,
        "reference_bytes": len(reference.to_bytes()),
        "profile_bytes": len(counted.to_bytes()),
        "tree": tree,
        "merge": merge_cost(counted, grids),
        "scan_overhead": scan_overhead(reference_dir),
        "sample_candidates": round(
            min(1.0, _ceiling(SAMPLE_ROWS, reference.profile.row_count))
            * reference.profile.row_count
        ),
        "settings": settings,
        "pyspark": __import__("pyspark").__version__,
    }


def differences(
    a: Any, b: Any, field: str = "", out: dict[str, float] | None = None
) -> dict[str, float]:
    """The largest relative difference per field of two profile dicts, for the fields that
    differ at all (inf: a count, a category or the structure differs)."""
    import numpy as np

    out = {} if out is None else out
    diff = 0.0
    if isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b) == {"dtype", "data"}:
        x, y = (np.frombuffer(base64.b64decode(v["data"]), v["dtype"]) for v in (a, b))
        if x.shape != y.shape:
            diff = math.inf
        elif x.dtype.kind in "iu" or y.dtype.kind in "iu":
            diff = 0.0 if np.array_equal(x.astype(np.int64), y.astype(np.int64)) else math.inf
        else:
            diff = _relative(x.astype(np.float64), y.astype(np.float64))
    elif isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            diff = math.inf
        for key in set(a) & set(b):
            differences(a[key], b[key], key, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diff = math.inf
        for x, y in zip(a, b, strict=False):
            differences(x, y, field, out)
    elif isinstance(a, float) and isinstance(b, float | int):
        diff = _relative(np.array([a]), np.array([float(b)]))
    elif a != b:
        diff = math.inf
    if diff:
        out[field] = max(out.get(field, 0.0), diff)
    return out


def _relative(x: Any, y: Any) -> float:
    import numpy as np

    both_nan = np.isnan(x) & np.isnan(y)
    if np.any(np.isnan(x) != np.isnan(y)):
        return math.inf
    scale = np.maximum(np.maximum(np.abs(x), np.abs(y)), np.finfo(np.float64).tiny)
    gap = np.where(both_nan | (x == y), 0.0, np.abs(x - y) / scale)
    return float(gap.max()) if gap.size else 0.0


def merge_cost(counted: Any, grids: dict[str, Any]) -> dict[str, Any]:
    """What a partition profile costs where it is merged (an executor of the merge level, or
    the driver), on the whole current data's profile: its bytes with and without the grids;
    decoding, encoding and merging it (seconds, without tracemalloc); one step of
    ``seismo.spark``'s merge as ``treeAggregate`` runs it (a partition's grid-less profile
    decoded and merged into the running one; merged profiles travel between levels pickled by
    Spark: their pickled size and the time to pickle and unpickle one); the memory a decoded
    profile holds (tracemalloc, numpy included); and what its bytes are made of (each field of
    every column, zlib-compressed JSON on its own; the grids are not sent)."""
    import pickle
    import tracemalloc
    import zlib

    from seismo.profile.dataset import DatasetProfile
    from seismo.spark.profiles import _ProfileAdd

    full = counted.to_bytes()
    bare = counted.to_bytes(grids=False)
    step = _ProfileAdd(grids)
    pickled = pickle.dumps(counted, protocol=pickle.HIGHEST_PROTOCOL)
    copies = 20

    def seconds(call: Callable[[], Any]) -> float:
        call()
        clock = time.perf_counter()
        for _ in range(copies):
            call()
        return (time.perf_counter() - clock) / copies

    def held(call: Callable[[], Any]) -> float:
        tracemalloc.start()
        kept = [call() for _ in range(copies)]
        size = tracemalloc.get_traced_memory()[0] / len(kept)
        tracemalloc.stop()
        return size

    left = DatasetProfile.from_bytes(bare, grids)
    right = DatasetProfile.from_bytes(bare, grids)
    fields: dict[str, int] = {}
    for column in counted.to_dict()["columns"].values():
        for key, value in column.items():
            text = json.dumps(value, separators=(",", ":")).encode()
            kind = f"{column['type']}.{key}" if isinstance(value, dict) else f"{column['type']}"
            fields[kind] = fields.get(kind, 0) + len(zlib.compress(text, 6))
    return {
        "profile_bytes": len(full),
        "profile_bytes_without_grids": len(bare),
        "decode_seconds": seconds(lambda: DatasetProfile.from_bytes(full)),
        "decode_without_grids_seconds": seconds(lambda: DatasetProfile.from_bytes(bare, grids)),
        "encode_without_grids_seconds": seconds(lambda: counted.to_bytes(grids=False)),
        "merge_seconds": seconds(lambda: left.merge(right)),
        "merge_step_seconds": seconds(lambda: step(left, bare)),
        "pickled_bytes": len(pickled),
        "pickle_seconds": seconds(lambda: pickle.dumps(counted, protocol=pickle.HIGHEST_PROTOCOL)),
        "unpickle_seconds": seconds(lambda: pickle.loads(pickled)),
        "decoded_bytes": held(lambda: DatasetProfile.from_bytes(full)),
        "decoded_without_grids_bytes": held(lambda: DatasetProfile.from_bytes(bare, grids)),
        "field_bytes": dict(sorted(fields.items(), key=lambda kv: -kv[1])),
    }


def scan_overhead(reference_dir: str) -> dict[str, Any]:
    """The part of a partition's reference scan that is not its share of the sample: the
    exact text counts and kind evidence of one 1M-row row group, pickled as a Spark task
    sends it (scanned with the sample bound at 0, so no row is sampled)."""
    import pickle

    import pyarrow.parquet as pq

    from seismo.io.sources import ArrowStreamSource
    from seismo.profile.build import (
        ProfileOptions,
        ReferenceScan,
        _pool,
        sample_keys,
        scanned_columns,
    )

    first = sorted(Path(reference_dir).glob("*.parquet"))[0]
    table = pq.ParquetFile(first).read_row_group(0)
    source = ArrowStreamSource(table.schema, table.to_batches(), "reference")
    options = ProfileOptions(threads=1)
    scan = ReferenceScan(scanned_columns(source, None), options.sample_rows, ceiling=0.0)
    with _pool(options) as pool:
        for batch in source.batches():
            scan.add(batch, sample_keys(0, scan.rows, batch.rows), pool)
    return {
        "rows": table.num_rows,
        "bytes": len(pickle.dumps(scan, protocol=pickle.HIGHEST_PROTOCOL)),
    }


# --------------------------------------------------------------------------- orchestration


def run_worker(mode: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one part in a fresh process of its own (its memory is its own) and read its JSON."""
    with tempfile.TemporaryDirectory(prefix="spark-scale-") as scratch:
        out = Path(scratch) / "out.json"
        command = [sys.executable, __file__, "--worker", mode, "--spec", json.dumps(spec)]
        subprocess.run([*command, "--out", str(out)], check=True, cwd=REPO_DIR)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _median(runs: list[dict[str, Any]], key: str = "seconds") -> float:
    return statistics.median(r[key] for r in runs)


def measure_size(rows: int, args: argparse.Namespace) -> dict[str, Any]:
    manifest = ensure_data(rows, args.seed)
    directory = data_dir(rows)
    with tempfile.TemporaryDirectory(prefix="spark-scale-") as scratch:
        spec = {
            "reference": str(directory / "reference"),
            "current": str(directory / "current"),
            "runs": args.runs,
            "out_dir": scratch,
        }
        print(f"{rows:,} rows: single process ({args.runs} runs after a warm-up)")
        single = run_worker("single", spec)
        print(f"{rows:,} rows: Spark local[{args.cores}] ({args.runs} runs after a warm-up)")
        spark = run_worker(
            "spark",
            dict(
                spec,
                cores=args.cores,
                driver_memory=args.driver_memory,
                tree_partitions=args.tree_partitions,
            ),
        )
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "columns": len(COLUMNS),
        "runs": args.runs,
        "cores": args.cores,
        "data": {
            "reused": manifest["reused"],
            "files": len(manifest["current"]["files"]),
            "row_group_rows": manifest["row_group_rows"],
            "reference_bytes": manifest["reference"]["bytes"],
            "current_bytes": manifest["current"]["bytes"],
            "generate_seconds": manifest.get("generate_seconds"),
        },
        "single": single,
        "spark": spark,
    }
    result["summary"] = summarize(result)
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """Medians, rates, ratios and transfer sizes of one size's raw measurements."""
    rows, cores = result["rows"], result["cores"]
    single, spark = result["single"], result["spark"]
    seconds = {
        "single_fit_reference": _median(single["runs"]["fit_reference"]),
        "single_profile": _median(single["runs"]["profile"]),
        **{f"spark_{name}": _median(runs) for name, runs in spark["runs"].items()},
    }
    floor_py, floor_jvm = seconds["spark_floor_python"], seconds["spark_floor_jvm"]
    floor_arrow = seconds["spark_floor_arrow"]
    frame = seconds["spark_profile_dataframe"]
    ratios = {
        "profile_vs_floor_arrow": seconds["spark_profile"] / floor_arrow,
        "profile_vs_floor_jvm": seconds["spark_profile"] / floor_jvm,
        "profile_vs_single": seconds["spark_profile"] / seconds["single_profile"],
        "profile_dataframe_vs_floor_python": frame / floor_py,
        "profile_dataframe_vs_floor_jvm": frame / floor_jvm,
        "profile_dataframe_vs_single": frame / seconds["single_profile"],
        # Fitting reads the data twice (the sample and text counts, then the counting).
        "fit_vs_two_floors_arrow": seconds["spark_fit_reference"] / (2 * floor_arrow),
        "fit_vs_two_floors_jvm": seconds["spark_fit_reference"] / (2 * floor_jvm),
        "fit_vs_single": seconds["spark_fit_reference"] / seconds["single_fit_reference"],
    }
    per_core = {
        name: rows / (value * cores)
        for name, value in seconds.items()
        if value > 0 and name != "spark_profile_tree"  # the tree job has its own rows
    }
    if spark.get("tree"):
        per_core["spark_profile_tree"] = spark["tree"]["rows"] / (
            seconds["spark_profile_tree"] * cores
        )

    def memory(runs: list[dict[str, Any]]) -> dict[str, int]:
        keys = runs[0]["peak"].keys()
        return {k: max(r["peak"][k] for r in runs) for k in keys}

    metrics = spark["metrics"]
    transfers = {
        name: {
            "tasks": m["tasks"],
            "result_bytes": m["result_bytes"],
            "shuffle_write_bytes": m["shuffle_write_bytes"],
            "shuffle_read_bytes": m["shuffle_read_bytes"],
        }
        for name, m in metrics.items()
    }
    overhead = _main_stage(metrics["floor_python"])["result_bytes_per_task"]["median"]
    return {
        "seconds": seconds,
        "rows_per_second_per_core": per_core,
        "ratios": ratios,
        "memory": {
            "single_fit_reference": max(r["peak"] for r in single["runs"]["fit_reference"]),
            "single_profile": max(r["peak"] for r in single["runs"]["profile"]),
            **{f"spark_{n}": memory(runs) for n, runs in spark["runs"].items()},
        },
        "transfers": transfers,
        "aggregations": {
            name: aggregations(metrics[name])
            for name in ("profile", "profile_dataframe", "fit_reference", "profile_tree")
            if name in metrics
        },
        "task_overhead_bytes": overhead,
        "parquet_bytes_per_row": result["data"]["current_bytes"] / rows,
        "arrow_bytes_per_row": spark["floor_arrow_bytes"] / rows,
    }


def _main_stage(metrics: dict[str, Any]) -> dict[str, Any]:
    """The job's last stage that reads every row: the floors' scan."""
    stages = _stages(metrics)
    most = max(s["input_records"] for s in stages)
    return [s for s in stages if s["input_records"] == most][-1]


def aggregations(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``treeAggregate`` jobs of a job group, in order (``fit_reference``: the reference
    scan, then the profile; ``profile``: the profile), each as its stages show it.

    PySpark's ``treeAggregate`` is a stage over the partitions, then one stage per intermediate
    level (a ``reduceByKey`` into fewer partitions), the last stage's results collected and
    merged on the driver. With an intermediate level, a partition's result is its shuffle
    write; without one (depth 1, or too few partitions for a level), its ``resultSize``.
    """
    out = []
    for job in metrics["jobs"]:
        stages = sorted(
            (
                s
                for s in job["stages"]
                if s["status"] == "COMPLETE" and s["name"].startswith("treeAggregate at")
            ),
            key=lambda s: s["stage"],
        )
        if not stages:
            continue
        first, last = stages[0], stages[-1]
        levels = stages[1:]
        total, per_task = (
            ("shuffle_write_bytes", "shuffle_write_per_task")
            if levels
            else ("result_bytes", "result_bytes_per_task")
        )
        out.append(
            {
                "job": job["job"],
                "stages": [s["stage"] for s in stages],
                "partitions": first["tasks"],
                "partition_run_ms_per_task": first["run_ms_per_task"],
                "from_partitions_bytes": first[total],
                "per_partition_bytes": first[per_task],
                "levels": [
                    {
                        "stage": s["stage"],
                        "tasks": s["tasks"],
                        "fan_in": s_in["tasks"] / s["tasks"],
                        "shuffle_read_bytes": s["shuffle_read_bytes"],
                        "shuffle_read_per_task": s["shuffle_read_per_task"],
                        "run_ms_per_task": s["run_ms_per_task"],
                    }
                    for s, s_in in zip(levels, [first, *levels][:-1], strict=True)
                ],
                "results_to_driver": last["tasks"],
                "driver_bytes": last["result_bytes"],
                "driver_bytes_per_result": last["result_bytes_per_task"],
            }
        )
    return out


# --------------------------------------------------------------------------- on paper


def tree_levels(partitions: int, depth: int) -> tuple[int, list[int]]:
    """PySpark's ``RDD.treeAggregate(depth=...)`` plan for ``partitions`` partitions: its
    scale (the fan-in it aims at) and the partitions of each intermediate level (the same
    loop as ``pyspark.core.rdd.RDD.treeAggregate``; a level is added only while it shortens
    the work)."""
    scale = max(math.ceil(partitions ** (1.0 / depth)), 2)
    levels: list[int] = []
    n: float = partitions
    while n > scale + n / scale:
        n /= scale
        levels.append(int(n))
    return scale, levels


def seismo_depth(partitions: int) -> int:
    """The depth ``seismo.spark`` asks ``treeAggregate`` for (profiles.py: 2 above 16)."""
    return 2 if partitions > 16 else 1


def extrapolate(
    measured: dict[str, Any],
    *,
    nodes: int = 100,
    cores_per_node: int = 16,
    rows: float = 10e9,
    partition_bytes: int = 128 * 2**20,
    max_result_bytes: int = 2**30,
    driver_memory_bytes: int = 2**30,
) -> dict[str, Any]:
    """A day of ``rows`` predictions of the benchmark's 20 columns on a cluster, computed from
    one size's measurements (nothing here is measured on a cluster).

    Assumed: ``nodes`` x ``cores_per_node`` task slots, each as fast as a core of
    ``local[C]`` here (the measured rows per second per core, per-job fixed costs included;
    storage and network keep up); the measured Parquet and Arrow bytes a row; Spark's default
    split of ``partition_bytes`` of Parquet per partition, partitions of equal rows run in
    whole waves; ``seismo.spark``'s merge as the code runs it: ``treeAggregate`` with depth 2
    above 16 partitions, PySpark's plan for it (:func:`tree_levels`: one intermediate level of
    about sqrt(P) tasks, each merging about sqrt(P) partition profiles), every merge step (two
    a partition's grid-less profile decoded and merged; merged ones pickled, unpickled and
    merged at the next level) at the measured cost, the partition
    profiles and the merged ones of the measured grid-less size (grid-sized, not row-sized:
    the whole current data's, an upper bound for a partition's); the driver collects the last
    level's results (each with the measured per-task overhead) and merges them one after
    another, holding the collected blobs and up to three decoded profiles at once, against
    Spark's defaults ``spark.driver.maxResultSize`` = ``max_result_bytes`` and
    ``spark.driver.memory`` = ``driver_memory_bytes``; the reference scan sends, per
    partition, the measured text counts of a row group (the categories saturate) and its share
    of the sample candidates, whose number does not grow with the rows.
    """
    summary, spark = measured["summary"], measured["spark"]
    merge = spark["merge"]
    cores = nodes * cores_per_node
    rate = summary["rows_per_second_per_core"]
    rows_per_core = rows / cores
    partitions = math.ceil(rows * summary["parquet_bytes_per_row"] / partition_bytes)
    rows_per_partition = rows / partitions
    waves = math.ceil(partitions / cores)
    depth = seismo_depth(partitions)
    scale, levels = tree_levels(partitions, depth)
    to_driver = levels[-1] if levels else partitions
    fan_ins = [math.ceil(n_in / n) for n_in, n in zip([partitions, *levels], levels, strict=False)]
    blob = merge["profile_bytes_without_grids"]
    overhead = summary["task_overhead_bytes"]
    step = merge["merge_step_seconds"]
    # A merge task unpickles and merges its fan-in of merged profiles, then pickles its own.
    combine = merge["unpickle_seconds"] + merge["merge_seconds"]
    level_seconds = [f * combine + merge["pickle_seconds"] for f in fan_ins]
    level_waves = [math.ceil(n / cores) for n in levels]
    pickled = merge["pickled_bytes"]
    driver_bytes = to_driver * (pickled + overhead)
    driver_merge = to_driver * merge["unpickle_seconds"] + (to_driver - 1) * merge["merge_seconds"]
    driver_python = to_driver * merge["pickled_bytes"] + 3 * merge["decoded_without_grids_bytes"]
    jobs = {
        "profile": "spark_profile",
        "fit_reference": "spark_fit_reference",
        "profile_dataframe": "spark_profile_dataframe",
        "floor_arrow": "spark_floor_arrow",
        "floor_python": "spark_floor_python",
        "floor_jvm": "spark_floor_jvm",
    }
    seconds = {
        name: {
            "ideal": rows_per_core / rate[key],
            "in_waves": waves * rows_per_partition / rate[key],
        }
        for name, key in jobs.items()
    }
    merging = sum(w * t for w, t in zip(level_waves, level_seconds, strict=True)) + driver_merge
    text_counts = spark["scan_overhead"]["bytes"]
    scan = summary["aggregations"]["fit_reference"][0]
    sample = max(0, scan["driver_bytes"] - scan["results_to_driver"] * (text_counts + overhead))
    # The measured tree job: what one merge task of its level took, against this model.
    tree = summary["aggregations"].get("profile_tree") or [{}]
    tree_level = (tree[0].get("levels") or [None])[0]
    return {
        "assumptions": {
            "nodes": nodes,
            "cores_per_node": cores_per_node,
            "cores": cores,
            "rows_per_day": rows,
            "columns": measured["columns"],
            "parquet_bytes_per_row": summary["parquet_bytes_per_row"],
            "arrow_bytes_per_row": summary["arrow_bytes_per_row"],
            "partition_bytes": partition_bytes,
            "rows_per_second_per_core": {k: rate[v] for k, v in jobs.items()},
            "max_result_bytes": max_result_bytes,
            "driver_memory_bytes": driver_memory_bytes,
            "measured_at_rows": measured["rows"],
            "measured_cores": measured["cores"],
            "profile_bytes": merge["profile_bytes"],
            "profile_bytes_without_grids": blob,
            "task_overhead_bytes": overhead,
            "merge_step_seconds": step,
            "pickled_bytes": merge["pickled_bytes"],
            "decode_seconds": merge["decode_without_grids_seconds"],
            "decoded_bytes_per_profile": merge["decoded_without_grids_bytes"],
            "text_count_bytes_per_partition": text_counts,
            "sample_bytes": sample,
        },
        "rows_per_core": rows_per_core,
        "parquet_bytes_per_core": rows_per_core * summary["parquet_bytes_per_row"],
        "arrow_bytes_per_core": rows_per_core * summary["arrow_bytes_per_row"],
        "partitions": partitions,
        "rows_per_partition": rows_per_partition,
        "waves": waves,
        "seconds": seconds,
        "single_process_seconds": rows / (rate["single_profile"] * measured["cores"]),
        "depth": depth,
        "scale": scale,
        "levels": levels,
        "fan_ins": fan_ins,
        "level_seconds": level_seconds,
        "level_waves": level_waves,
        "shuffle_bytes": [n * pickled for n in [partitions, *levels][: len(levels)]],
        "results_to_driver": to_driver,
        "driver_bytes": driver_bytes,
        "driver_bytes_over_max_result": driver_bytes > max_result_bytes,
        "driver_python_bytes": driver_python,
        "driver_merge_seconds": driver_merge,
        "merge_seconds": merging,
        # Results of (blob + overhead) reach maxResultSize at this many; at depth 2 the
        # driver gets about sqrt(P), so P about its square.
        "results_for_max_result": math.floor(max_result_bytes / (pickled + overhead)),
        "partitions_for_max_result": math.floor(max_result_bytes / (pickled + overhead)) ** 2,
        "depth_1_driver_bytes": partitions * (pickled + overhead),
        "fit_driver_bytes": sample + to_driver * (text_counts + overhead),
        "fit_shuffle_bytes": sample + partitions * text_counts if levels else 0,
        "measured_tree": None
        if tree_level is None
        else {
            "partitions": tree[0]["partitions"],
            "tasks": tree_level["tasks"],
            "fan_in": tree_level["fan_in"],
            "run_ms_per_task": tree_level["run_ms_per_task"]["median"],
            "model_ms_per_task": (
                math.ceil(tree_level["fan_in"]) * combine + merge["pickle_seconds"]
            )
            * 1000,
        },
    }


def _stages(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for j in metrics["jobs"] for s in j["stages"] if s["status"] == "COMPLETE"]


# --------------------------------------------------------------------------- output


def _mib(value: float) -> str:
    return f"{value / 2**20:,.0f} MiB"


def _gib(value: float) -> str:
    return f"{value / 2**30:g} GiB"


def _size(value: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,.0f} B"


def _seconds(value: float) -> str:
    if value >= 7200:
        return f"{value / 3600:,.1f} h"
    if value >= 120:
        return f"{value / 60:,.1f} min"
    return f"{value:,.2f} s"


def table(measured: dict[str, Any]) -> list[str]:
    """Wall times and ratios of one size (markdown)."""
    s = measured["summary"]
    sec, rate, ratio = s["seconds"], s["rows_per_second_per_core"], s["ratios"]
    return [
        "| job | single process | Spark seismo | its floor | Spark / its floor | "
        "floor: JVM (noop write) | Spark / JVM floor | Spark / single |",
        "|---|---|---|---|---|---|---|---|",
        f"| `profile` of Parquet paths (tasks read row groups with pyarrow) | "
        f"{_seconds(sec['single_profile'])} | {_seconds(sec['spark_profile'])} | "
        f"{_seconds(sec['spark_floor_arrow'])} (the same tasks reading, no counting) | "
        f"{ratio['profile_vs_floor_arrow']:.2f}x | {_seconds(sec['spark_floor_jvm'])} | "
        f"{ratio['profile_vs_floor_jvm']:.2f}x | {ratio['profile_vs_single']:.2f}x |",
        f"| `fit_reference` of Parquet paths | {_seconds(sec['single_fit_reference'])} | "
        f"{_seconds(sec['spark_fit_reference'])} | 2 x {_seconds(sec['spark_floor_arrow'])} | "
        f"{ratio['fit_vs_two_floors_arrow']:.2f}x | 2 x {_seconds(sec['spark_floor_jvm'])} | "
        f"{ratio['fit_vs_two_floors_jvm']:.2f}x | {ratio['fit_vs_single']:.2f}x |",
        f"| `profile` of a DataFrame (`mapInArrow`) | {_seconds(sec['single_profile'])} | "
        f"{_seconds(sec['spark_profile_dataframe'])} | "
        f"{_seconds(sec['spark_floor_python'])} (`mapInArrow` drain) | "
        f"{ratio['profile_dataframe_vs_floor_python']:.2f}x | "
        f"{_seconds(sec['spark_floor_jvm'])} | {ratio['profile_dataframe_vs_floor_jvm']:.2f}x | "
        f"{ratio['profile_dataframe_vs_single']:.2f}x |",
        "",
        f"Rows per second per core ({measured['cores']} cores; the single process runs "
        f"{measured['single']['threads']} threads): single-process profile "
        f"{rate['single_profile']:,.0f}, fit {rate['single_fit_reference']:,.0f}; Spark "
        f"profile {rate['spark_profile']:,.0f}, fit {rate['spark_fit_reference']:,.0f}, "
        f"DataFrame profile {rate['spark_profile_dataframe']:,.0f}; Arrow floor "
        f"{rate['spark_floor_arrow']:,.0f}; Python floor {rate['spark_floor_python']:,.0f}; "
        f"JVM floor {rate['spark_floor_jvm']:,.0f}.",
        *_tree_line(measured),
    ]


def _tree_line(measured: dict[str, Any]) -> list[str]:
    """The merge-tree job's time (markdown), when it ran."""
    tree = measured["spark"].get("tree")
    if not tree:
        return []
    s = measured["summary"]
    return [
        "",
        f"The merge tree (`profile_tree`): `seismo.spark.profile` of the current data's first "
        f"{tree['rows']:,} rows cached as {tree['partitions']} partitions (caching them took "
        f"{_seconds(tree['cache_seconds'])}, untimed) took "
        f"{_seconds(s['seconds']['spark_profile_tree'])} "
        f"({s['rows_per_second_per_core']['spark_profile_tree']:,.0f} rows a second per core; "
        f"warm-up {_seconds(measured['spark']['warmup']['profile_tree']['seconds'])}).",
    ]


def memory_table(measured: dict[str, Any]) -> list[str]:
    """Peak RSS of every process of each job (markdown)."""
    m = measured["summary"]["memory"]
    lines = [
        "| job | driver Python | driver JVM (local mode: executors are its threads) | "
        "largest Python worker | Python workers: peak of summed RSS / PSS (count) |",
        "|---|---|---|---|---|",
        f"| single process `fit_reference` | {_mib(m['single_fit_reference'])} | - | - | - |",
        f"| single process `profile` | {_mib(m['single_profile'])} | - | - | - |",
    ]
    for name in (
        "fit_reference",
        "profile",
        "profile_dataframe",
        "floor_arrow",
        "floor_python",
        "floor_jvm",
        "profile_tree",
    ):
        if f"spark_{name}" not in m:
            continue
        p = m[f"spark_{name}"]
        idle = " (idle, left by earlier jobs)" if name == "floor_jvm" else ""
        cached = " (its cached rows included)" if name == "profile_tree" else ""
        lines.append(
            f"| Spark `{name}` | {_mib(p['driver_python'])} | {_mib(p['jvm'])}{cached} | "
            f"{_mib(p['worker_max'])}{idle} | {_mib(p['workers_rss_sum'])} / "
            f"{_mib(p['workers_pss_sum'])} ({p['workers']}) |"
        )
    return lines


def _roles(measured: dict[str, Any]) -> dict[tuple[str, int], str]:
    """(job, stage id) -> what the stage is in a ``treeAggregate``."""
    roles = {}
    for name, found in measured["summary"]["aggregations"].items():
        for i, agg in enumerate(found):
            what = ""
            if name == "fit_reference":
                what = "scan: " if i < len(found) - 1 else "profile: "
            levels = agg["levels"]
            first = "partitions → shuffle" if levels else "partitions → driver"
            roles[name, agg["stages"][0]] = what + first
            for j, level in enumerate(levels):
                to = "driver" if j == len(levels) - 1 else "shuffle"
                roles[name, level["stage"]] = (
                    f"{what}merge level, fan-in {level['fan_in']:.1f} → {to}"
                )
    return roles


def transfer_table(measured: dict[str, Any]) -> list[str]:
    """Every stage of the last timed run of each job: tasks, rows read, what the driver
    received and what was shuffled (markdown)."""
    metrics = measured["spark"]["metrics"]
    roles = _roles(measured)
    lines = [
        "| job | stage | `treeAggregate` role | tasks | rows read | to the driver "
        "(`resultSize`) in all | per task min / median / max | shuffle written / read | "
        "shuffle written per task min / median / max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in (
        "profile",
        "fit_reference",
        "profile_dataframe",
        "floor_arrow",
        "floor_python",
        "floor_jvm",
        "profile_tree",
    ):
        if name not in metrics:
            continue
        for stage in _stages(metrics[name]):
            per = stage.get("result_bytes_per_task", {})
            written = stage.get("shuffle_write_per_task", {})
            lines.append(
                f"| `{name}` | {stage['stage']}: {stage['name'].split(' at ')[0]} "
                f"({_site(stage['name'])}) | {roles.get((name, stage['stage']), '')} | "
                f"{stage['tasks']} | {stage['input_records']:,} | "
                f"{_size(stage['result_bytes'])} | {_size(per.get('min', 0))} / "
                f"{_size(per.get('median', 0))} / {_size(per.get('max', 0))} | "
                f"{_size(stage['shuffle_write_bytes'])} / {_size(stage['shuffle_read_bytes'])} | "
                f"{_size(written.get('min', 0))} / {_size(written.get('median', 0))} / "
                f"{_size(written.get('max', 0))} |"
            )
    return lines


def _site(name: str) -> str:
    """Where a stage was called from, shortened: profiles.py:308, or the Spark reader."""
    where = name.split(" at ", 1)[-1]
    return "Spark" if "NativeMethodAccessorImpl" in where else Path(where).name


def _travel(agg: dict[str, Any]) -> str:
    """How one ``treeAggregate`` moved its results (markdown prose)."""
    per = agg["per_partition_bytes"]
    spread = f"{_size(per['min'])} / {_size(per['median'])} / {_size(per['max'])}"
    if not agg["levels"]:
        return (
            f"{agg['partitions']} partitions, each sending its result straight to the driver "
            f"(min / median / max {spread} a task; {_size(agg['driver_bytes'])} in all)"
        )
    hops = "; then ".join(
        f"{level['tasks']} merge tasks (fan-in {level['fan_in']:.1f}) read "
        f"{_size(level['shuffle_read_bytes'])} and each ran "
        f"{level['run_ms_per_task']['median']:,.0f} ms (median)"
        for level in agg["levels"]
    )
    return (
        f"{agg['partitions']} partitions, each writing its result to the shuffle (min / "
        f"median / max {spread}; {_size(agg['from_partitions_bytes'])} in all); {hops}; the "
        f"driver received {agg['results_to_driver']} results, "
        f"{_size(agg['driver_bytes'])} in all"
    )


def transfer_notes(measured: dict[str, Any]) -> list[str]:
    s, spark = measured["summary"], measured["spark"]
    merge, scan = spark["merge"], spark["scan_overhead"]
    fields = merge["field_bytes"]
    numeric = sum(v for k, v in fields.items() if k.startswith("numeric") and k != "numeric.grid")
    grid = fields.get("numeric.grid", 0) + fields.get("categorical.grid", 0)
    values = sum(fields.get(f"numeric.{k}", 0) for k in ("bin_sums", "bin_minima", "bin_maxima"))
    found = s["aggregations"]
    candidates = spark["sample_candidates"]
    full, bare = merge["profile_bytes"], merge["profile_bytes_without_grids"]
    notes = [
        f"- A task's `resultSize` is the serialized task result: the collected rows and the "
        f"task's accumulator updates. The Python floor's tasks return one row of three numbers, "
        f"so their {_size(s['task_overhead_bytes'])} is that overhead alone.",
        f"- `profile`: {_travel(found['profile'][-1])}. With a DataFrame "
        f"(`profile_dataframe`): {_travel(found['profile_dataframe'][-1])}; there a "
        f"partition's profile leaves `mapInArrow` for the JVM without its grids: the "
        f"current data's profile is {_size(full)} (zlib JSON) with them and "
        f"{_size(bare)} without (`to_bytes(grids=False)`), whatever its rows; grid-sized: the "
        f"numeric columns' bin sums, minima and maxima take {_size(values)} of it (fields "
        f"compressed one by one), bin counts {_size(fields.get('numeric.bin_counts', 0))}, "
        f"numeric columns {_size(numeric)} in all; the grids left home are {_size(grid)}.",
        f"- Cost of one profile where it is merged (one core, this process): decoding "
        f"{merge['decode_seconds'] * 1000:.1f} ms with grids, "
        f"{merge['decode_without_grids_seconds'] * 1000:.1f} ms without (the grids handed "
        f"in); encoding without grids {merge['encode_without_grids_seconds'] * 1000:.1f} ms; "
        f"merging two decoded {merge['merge_seconds'] * 1000:.2f} ms; one step of "
        f"`treeAggregate`'s seqOp (a grid-less blob decoded and merged into the running profile) "
        f"{merge['merge_step_seconds'] * 1000:.1f} ms. Decoded, a profile holds "
        f"{_size(merge['decoded_bytes'])} with its own grids and "
        f"{_size(merge['decoded_without_grids_bytes'])} sharing the reference's (tracemalloc).",
        f"- `fit_reference`: the rows' numbers come from the files' footers (no job), then "
        f"the scan: {_travel(found['fit_reference'][0])} — each partition's share of the "
        f"{candidates:,} sample candidates (rows whose key is under the bound) and its text "
        f"counts ({scan['rows']:,} rows of text counts pickle to {_size(scan['bytes'])}), "
        f"pickled, uncompressed on the way to the driver (a shuffle compresses them); then the "
        f"profile: {_travel(found['fit_reference'][-1])}. The fitted reference is "
        f"{_size(spark['reference_bytes'])}.",
    ]
    tree = spark.get("tree")
    if tree:
        rows = tree["rows"] / tree["partitions"]
        notes.append(
            f"- The merge tree (`profile_tree`): the current data's first {tree['rows']:,} rows "
            f"cached as {tree['partitions']} partitions of about {rows:,.0f} rows (read from "
            f"the cache: the stage's rows read are not its rows); "
            f"{_travel(found['profile_tree'][-1])}. A partition's task ran "
            f"{found['profile_tree'][-1]['partition_run_ms_per_task']['median']:,.0f} ms "
            "(median `executorRunTime`)."
        )
    return notes


def paper(measured: dict[str, Any]) -> list[str]:
    """The extrapolation section (markdown), computed by :func:`extrapolate`."""
    e = extrapolate(measured)
    a = e["assumptions"]
    sec = e["seconds"]
    rate = a["rows_per_second_per_core"]
    limit = _gib(a["max_result_bytes"])
    blob, overhead = a["profile_bytes_without_grids"], a["task_overhead_bytes"]
    step_ms, decode_ms = a["merge_step_seconds"] * 1000, a["decode_seconds"] * 1000
    k, partitions = e["results_to_driver"], e["partitions"]
    over = "**over**" if e["driver_bytes_over_max_result"] else "under"
    depth_1_over = "over" if e["depth_1_driver_bytes"] > a["max_result_bytes"] else "under"
    if e["levels"]:
        tree = (
            f"depth {e['depth']} ({partitions:,} > 16 partitions), PySpark's scale "
            f"{e['scale']:,}: {partitions:,} partition profiles → "
            + " → ".join(
                f"{n:,} merge tasks on the executors (fan-in up to {f:,}, {w} wave(s))"
                for n, f, w in zip(e["levels"], e["fan_ins"], e["level_waves"], strict=True)
            )
            + f" → {k:,} results to the driver"
        )
        shuffle = " then ".join(_size(b) for b in e["shuffle_bytes"])
        levels = " + ".join(
            f"{f:,} profiles unpickled and merged, its own pickled = {_seconds(t)}"
            for f, t in zip(e["fan_ins"], e["level_seconds"], strict=True)
        )
    else:
        tree = f"depth {e['depth']}: {partitions:,} partition profiles straight to the driver"
        shuffle = "none"
        levels = "none"
    check = e["measured_tree"]
    checked = (
        []
        if check is None
        else [
            f"| check, measured here: the tree job's merge level | {check['partitions']:,} "
            f"partitions → {check['tasks']:,} merge tasks of fan-in {check['fan_in']:.0f}: a "
            f"merge task ran {check['run_ms_per_task']:,.0f} ms (median `executorRunTime`, "
            f"shuffle fetch included); the model's {math.ceil(check['fan_in'])} x (unpickle + "
            f"merge) + pickle = {check['model_ms_per_task']:,.0f} ms |"
        ]
    )
    profile_total = sec["profile"]["in_waves"] + e["merge_seconds"]
    return [
        f"## On paper: a day of {a['rows_per_day']:,.0f} predictions x {a['columns']} columns "
        f"on {a['nodes']} nodes",
        "",
        f"Computed by `extrapolate()` from the {a['measured_at_rows']:,}-row measurements "
        "above; nothing here ran on a cluster. Assumptions:",
        "",
        f"- {a['nodes']} nodes x {a['cores_per_node']} cores (assumed) = {a['cores']:,} task "
        "slots, all given to the job;",
        f"- every core as fast as one of `local[{a['measured_cores']}]` here (rows / median "
        f"seconds / {a['measured_cores']}): profile {rate['profile']:,.0f}, fit "
        f"{rate['fit_reference']:,.0f}, DataFrame profile {rate['profile_dataframe']:,.0f}, "
        f"Arrow floor {rate['floor_arrow']:,.0f}, Python floor {rate['floor_python']:,.0f}, "
        f"JVM floor {rate['floor_jvm']:,.0f} rows a second — fixed per-job costs included, "
        "so small measured sizes understate the rate — and storage and network keep up;",
        f"- the benchmark's column mix: {a['parquet_bytes_per_row']:.0f} bytes a row in "
        f"Parquet (snappy), {a['arrow_bytes_per_row']:.0f} as Arrow in the Python worker "
        "(both measured);",
        f"- Spark's default split, {_mib(a['partition_bytes'])} of Parquet a partition "
        "(`spark.sql.files.maxPartitionBytes`), partitions of equal rows run in whole waves;",
        "- the merge as `seismo.spark` runs it: `RDD.treeAggregate` with depth 2 above 16 "
        "partitions (else 1), as PySpark plans it — scale = ceil(sqrt(P)), an intermediate "
        "level of about P / scale tasks (added only while it shortens the work), each merging "
        "about sqrt(P) partition profiles on an executor, in as few waves as the slots allow; "
        "the driver collects the last level's results and merges them one after another;",
        f"- every profile that travels, a partition's or a merged one, is the measured "
        f"grid-less profile of the whole current data: {_size(blob)} "
        f"(`to_bytes(grids=False)`; {_size(a['profile_bytes'])} with its grids) — grid-sized, "
        "not row-sized, and an upper bound for a partition's, which fills fewer bins; each "
        f"result the driver receives carries the measured {_size(overhead)} of task overhead;",
        f"- one merge step — a partition's grid-less profile decoded and merged into the "
        f"running one, what `treeAggregate`'s seqOp does — takes the measured {step_ms:.1f} ms; "
        f"merged profiles travel between levels and to the driver as Spark pickles them "
        f"({_size(a['pickled_bytes'])}, grids included), unpickled and merged by the combOp "
        f"(decoding a grid-less blob alone: {decode_ms:.1f} ms); a decoded profile holds "
        f"{_size(a['decoded_bytes_per_profile'])} (all measured here, one core);",
        f"- Spark's defaults: `spark.driver.maxResultSize` {limit}, `spark.driver.memory` "
        f"{_gib(a['driver_memory_bytes'])} (the driver JVM's heap, which holds the collected "
        "results before the Python driver receives them); the Python driver holds the "
        "collected blobs and up to three decoded profiles (the running merge, the next one, "
        "their merge);",
        f"- the reference scan: each partition sends its text counts, "
        f"{_size(a['text_count_bytes_per_partition'])} whatever its rows (the categories "
        f"saturate; measured on a 1M-row row group), and its share of the sample candidates, "
        f"whose number does not grow with the rows ({_size(a['sample_bytes'])} in all, "
        "measured at the driver here); its merge steps' time is not modelled.",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| rows per core | {e['rows_per_core']:,.0f} |",
        f"| bytes scanned per core: Parquet / Arrow into Python | "
        f"{_size(e['parquet_bytes_per_core'])} / {_size(e['arrow_bytes_per_core'])} |",
        f"| partitions | {partitions:,} of {e['rows_per_partition']:,.0f} rows; "
        f"{e['waves']} wave(s) of {a['cores']:,} tasks |",
        f"| merge tree | {tree} |",
        f"| shuffled into the merge level | {shuffle} (partition profiles x "
        f"{_size(a['pickled_bytes'])}, as Spark pickles them; about "
        f"{_size(sum(e['shuffle_bytes']) / a['nodes'])} a node) |",
        f"| merge level, on the executors | {levels} a task |",
        f"| to the driver | {k:,} results x ({_size(a['pickled_bytes'])} + {_size(overhead)}) = "
        f"{_size(e['driver_bytes'])}, {over} `spark.driver.maxResultSize` ({limit}; reached "
        f"at {e['results_for_max_result']:,} results, about "
        f"{e['partitions_for_max_result'] / 1e6:,.0f} million partitions at depth 2) |",
        f"| for contrast, every partition to the driver (depth 1) | {partitions:,} x "
        f"({_size(a['pickled_bytes'])} + {_size(overhead)}) = "
        f"{_size(e['depth_1_driver_bytes'])}, "
        f"{depth_1_over} `spark.driver.maxResultSize` |",
        f"| driver memory | JVM: {_size(e['driver_bytes'])} of results (heap "
        f"{_gib(a['driver_memory_bytes'])}); Python: {_size(e['driver_python_bytes'])} "
        f"({k:,} results and 3 decoded profiles) |",
        f"| driver merge time | {k:,} x (unpickle + merge), measured = "
        f"{_seconds(e['driver_merge_seconds'])} |",
        f"| `seismo.spark.profile` at the measured rate: all cores busy / whole waves | "
        f"{_seconds(sec['profile']['ideal'])} / {_seconds(sec['profile']['in_waves'])}, "
        f"then the merge level and the driver ({_seconds(e['merge_seconds'])}): "
        f"{_seconds(profile_total)} |",
        f"| Arrow floor (the same tasks reading, no counting) | "
        f"{_seconds(sec['floor_arrow']['ideal'])} / {_seconds(sec['floor_arrow']['in_waves'])} |",
        f"| `seismo.spark.profile` of a DataFrame (`mapInArrow`), without the merge | "
        f"{_seconds(sec['profile_dataframe']['ideal'])} / "
        f"{_seconds(sec['profile_dataframe']['in_waves'])} |",
        f"| Python floor (mapInArrow drain) | {_seconds(sec['floor_python']['ideal'])} / "
        f"{_seconds(sec['floor_python']['in_waves'])} |",
        f"| JVM floor (noop write) | {_seconds(sec['floor_jvm']['ideal'])} / "
        f"{_seconds(sec['floor_jvm']['in_waves'])} |",
        f"| `seismo.spark.fit_reference` on such a day | "
        f"{_seconds(sec['fit_reference']['ideal'])} / "
        f"{_seconds(sec['fit_reference']['in_waves'])}, plus the profile's merge "
        f"({_seconds(e['merge_seconds'])}) and the scan's (not modelled) |",
        f"| `fit_reference`: the scan's bytes | shuffled into the merge level: "
        f"{_size(e['fit_shuffle_bytes'])} (the sample candidates and {partitions:,} x the "
        f"text counts); to the driver: {_size(e['fit_driver_bytes'])} (the sample and "
        f"{k:,} x the text counts); then the profile's, as above |",
        f"| for scale: one single process ({a['measured_cores']} threads) profiling the day | "
        f"{_seconds(e['single_process_seconds'])} |",
        *checked,
    ]


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# seismo on Spark: against a single process and a scan that does nothing",
        "",
        "`.venv/bin/python bench/spark_scale.py` (bench/README.md says what is measured and "
        "how). Times are medians of `--runs` runs after one untimed warm-up; Spark's session "
        "start-up is in none of them and is given apart.",
    ]
    for key in sorted(results["sizes"], key=int):
        m = results["sizes"][key]
        spark, data = m["spark"], m["data"]
        settings = spark["settings"]
        lines += [
            "",
            f"## {m['rows']:,} rows x {m['columns']} columns",
            "",
            f"{m['when']}, {m['machine']}; load average {m['load_average'][0]} at start and "
            f"{m['load_average'][1]} at the end (shared machine); seismo at "
            f"{m.get('revision', 'unknown')}; pyspark {spark['pyspark']}, "
            f"Java {m['java']}, `local[{m['cores']}]`, driver memory "
            f"{settings['spark.driver.memory']}; {m['runs']} timed run(s).",
            "",
            f"Data: {data['files']} Parquet files a side in row groups of up to "
            f"{data['row_group_rows']:,} rows; {_size(data['reference_bytes'])} (reference) "
            f"and {_size(data['current_bytes'])} (current), read by Spark as "
            f"{spark['partitions']['current']} partitions (default 128 MiB splits), in Arrow "
            f"batches of {settings['spark.sql.execution.arrow.maxRecordsPerBatch'] or 10000} "
            f"rows. Spark session start-up {_seconds(spark['startup_seconds'])}; the warm-up "
            f"runs took {_seconds(spark['warmup']['profile']['seconds'])} (`profile`) and "
            f"{_seconds(spark['warmup']['fit_reference']['seconds'])} (`fit_reference`).",
            "",
            *table(m),
            "",
            "Both engines read the reference twice to fit it (sample and text counts, then the "
            "counts on the grids), so the fit's floor is two scans. For Parquet paths the "
            f"executors read the files themselves ({spark['arrow_tasks']} tasks of row groups "
            "here): their floor, the Arrow floor, is the same tasks decoding the row groups "
            "with pyarrow and counting nothing. A DataFrame reaches Python through "
            "`mapInArrow`: its floor, the Python floor, hands every column to a Python worker "
            "as Arrow and counts nothing. The JVM floor only decodes the Parquet in the JVM.",
            "",
            f"Same result as the single process: {_same(spark['same_as_single_process'])}",
            "",
            "### Peak memory (RSS)",
            "",
            *memory_table(m),
            "",
            "Each peak is reset (`/proc/<pid>/clear_refs`) when the job starts, so it includes "
            "what the process already held: the driver's JVM keeps the heap it grew and the "
            "Python workers (forked by `pyspark.daemon`, reused between jobs) keep seismo "
            "imported. Workers are sampled every 100 ms; PSS splits the pages they share with "
            "the daemon. A task of `profile_dataframe` runs two Python workers: one for "
            "`mapInArrow`, one for the RDD functions of `treeAggregate` over its output; a "
            "task of `profile` or `fit_reference` of Parquet paths runs one.",
            "",
            "### What travels to the driver and across shuffles (last timed run)",
            "",
            *transfer_table(m),
            "",
            *transfer_notes(m),
        ]
    largest = results["sizes"][max(results["sizes"], key=int)]
    lines += ["", *paper(largest)]
    return "\n".join(lines) + "\n"


def _same(same: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name, fields in same.items():
        if not fields:
            parts.append(f"the {name} is identical")
        elif any(v == "differs" for v in fields.values()):
            parts.append(f"the {name} differs: {fields}")
        else:
            worst = ", ".join(f"`{k}` {v:.1e}" for k, v in sorted(fields.items()))
            parts.append(
                f"the {name} has the same counts, grids and categories; floating-point sums "
                f"differ in rounding only (largest relative difference: {worst})"
            )
    return "; ".join(parts) + "."


def console(measured: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{measured['rows']:,} rows:",
            *table(measured),
            "",
            "Same result as the single process: "
            + _same(measured["spark"]["same_as_single_process"]),
            "",
            *memory_table(measured),
            "",
            *transfer_table(measured),
            "",
            *transfer_notes(measured),
        ]
    )


# --------------------------------------------------------------------------- main


def _java() -> str:
    done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    first = (done.stderr or done.stdout).splitlines()
    return first[0].split('"')[1] if first and '"' in first[0] else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=list(DEFAULT_SIZES),
        help="dataset sizes, rows per side (default: 10_000_000 100_000_000)",
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs; the median is kept")
    parser.add_argument("--cores", type=int, default=2, help="Spark's local[N]")
    parser.add_argument("--driver-memory", default="1g", help="spark.driver.memory")
    parser.add_argument(
        "--tree-partitions",
        type=int,
        default=DEFAULT_TREE_PARTITIONS,
        help="partitions of the merge-tree job (its first 1M rows of the current data, cached; "
        "0: no such job)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        workers = {"generate": worker_generate, "single": worker_single, "spark": worker_spark}
        result = workers[args.worker](json.loads(args.spec))
        Path(args.out).write_text(json.dumps(result))
        return

    check_disk(args.rows, args.seed)
    path = RESULTS / "spark_scale.json"
    results = json.loads(path.read_text()) if path.exists() else {"sizes": {}}
    java = _java()
    for rows in args.rows:
        load_start = round(os.getloadavg()[0], 2)
        measured = measure_size(rows, args)
        measured.update(
            machine=f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
            f"Python {platform.python_version()}",
            java=java,
            revision=git_revision(),
            load_average=[load_start, round(os.getloadavg()[0], 2)],
        )
        results["sizes"][str(rows)] = measured
        print(console(measured))
        RESULTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(results, indent=1) + "\n")
        (RESULTS / "spark_scale.md").write_text(markdown(results))
    print()
    print("\n".join(paper(results["sizes"][str(max(args.rows))])))


if __name__ == "__main__":
    main()

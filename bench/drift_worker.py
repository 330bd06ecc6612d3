"""One measurement: one tool on one dataset, in a fresh process.

Started by ``drift_vs_evidently.py`` — with the main venv's Python for ``seismo`` and
``floor``, with ``bench/.venv-evidently``'s Python for ``evidently`` — so it imports only the
standard library at module level; everything else is imported inside the tool runners.

Sequence: import the tool, load both Parquet files into pandas (not timed), give freed memory
back to the OS, reset the process's peak-RSS watermark, read the RSS, then time only the compare
call with ``time.perf_counter()`` (``--repeat`` times, best kept) and read the peak RSS again.
The result goes to ``--out`` as JSON; a failure is reported there too, as ``error``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib.metadata
import json
import platform
import resource
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOOLS = ("floor", "seismo", "evidently")

# Evidently drift methods whose score is a p-value (drift when score < threshold); for the
# others the score is a distance (drift when score >= threshold). Used only to list *which*
# columns Evidently flagged; the count comes from its own DriftedColumnsCount metric.
EVIDENTLY_P_VALUE_METHODS = (
    "p_value",
    "Anderson-Darling",
    "Cramer-von Mises",
    "Epps-Singleton",
    "Fisher's Exact",
    "g_test",
    "Mann-Whitney",
    "t_test",
)


class ToolUnavailable(Exception):
    """The tool cannot be run at all (not installed, entry point missing)."""


# --------------------------------------------------------------------------- memory probes


def current_rss_mib() -> float:
    """Resident set size now, from /proc/self/status (VmRSS, KiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def peak_rss_mib() -> float:
    """Peak RSS of this process (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> bool:
    """Reset the peak-RSS watermark to the current RSS (Linux >= 4.0: clear_refs "5")."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def release_free_memory() -> None:
    """Give memory freed after loading back to the OS, so 'RSS before' is the data's own size."""
    gc.collect()
    with contextlib.suppress(ImportError):
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


# --------------------------------------------------------------------------- tools
# Each runner returns the compare callable (already bound to its inputs), the versions to
# record, and a function that reads the flagged columns from the call's result.

DriftReader = Callable[[Any], tuple[int | None, list[str] | None, str | None]]


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def prepare_floor() -> tuple[Callable[[Any, Any], Any], DriftReader]:
    import numpy as np

    def sort_every_column(reference: Any, current: Any) -> None:
        for frame in (reference, current):
            for name in frame.columns:
                np.sort(frame[name].to_numpy(dtype=np.float64))

    def no_drift(_: Any) -> tuple[None, None, str]:
        return None, None, "the floor does not judge drift"

    return sort_every_column, no_drift


def prepare_seismo() -> tuple[Callable[[Any, Any], Any], DriftReader]:
    try:
        import seismo
    except Exception as exc:
        raise ToolUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if not callable(getattr(seismo, "compare", None)):
        raise ToolUnavailable("seismo has no compare() yet")

    def run(reference: Any, current: Any) -> Any:
        return seismo.compare(reference, current)

    return run, read_seismo_drift


def read_seismo_drift(report: Any) -> tuple[int | None, list[str] | None, str | None]:
    """Flagged columns of a DriftReport (``report.columns[i].drifted`` / ``.column``)."""
    try:
        names = sorted(str(result.column) for result in report.columns if result.drifted)
    except (AttributeError, TypeError) as exc:
        public = sorted(name for name in dir(report) if not name.startswith("_"))
        return None, None, f"could not read flagged columns ({exc}); DriftReport has {public}"
    features_drifted = getattr(getattr(report, "dataset", None), "features_drifted", None)
    if features_drifted is not None and features_drifted != len(names):
        return len(names), names, f"report.dataset.features_drifted is {features_drifted}"
    return len(names), names, None


def prepare_evidently() -> tuple[Callable[[Any, Any], Any], DriftReader]:
    try:
        from evidently import Report
        from evidently.presets import DataDriftPreset
    except Exception as exc:
        raise ToolUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def run(reference: Any, current: Any) -> Any:
        # Evidently 0.7: Report(metrics).run(current_data, reference_data) -> Snapshot.
        return Report([DataDriftPreset()]).run(current, reference)

    return run, read_evidently_drift


def read_evidently_drift(snapshot: Any) -> tuple[int | None, list[str] | None, str | None]:
    count: int | None = None
    flagged: list[str] = []
    methods: Counter[str] = Counter()
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        metric_type = str(config.get("type", ""))
        if metric_type.endswith("DriftedColumnsCount"):
            count = int(metric["value"]["count"])
        elif metric_type.endswith("ValueDrift"):
            method = str(config.get("method"))
            methods[method] += 1
            score, threshold = float(metric["value"]), float(config["threshold"])
            p_value = any(marker in method for marker in EVIDENTLY_P_VALUE_METHODS)
            if (score < threshold) if p_value else (score >= threshold):
                flagged.append(str(config["column"]))
    note = "methods: " + ", ".join(f"{name} x{n}" for name, n in sorted(methods.items()))
    if count is None:
        return len(flagged), sorted(flagged), note + "; no DriftedColumnsCount in the snapshot"
    if count != len(flagged):
        return count, None, note + f"; per-column decisions disagree ({len(flagged)} columns)"
    return count, sorted(flagged), note


def safe_read(
    read_drift: DriftReader, output: Any
) -> tuple[int | None, list[str] | None, str | None]:
    """Flagged columns, or why they could not be read (the timing stays valid either way)."""
    try:
        return read_drift(output)
    except Exception as exc:
        return None, None, f"could not read flagged columns: {type(exc).__name__}: {exc}"


PREPARE = {"floor": prepare_floor, "seismo": prepare_seismo, "evidently": prepare_evidently}
TOOL_DISTRIBUTION = {"floor": "numpy", "seismo": "seismo", "evidently": "evidently"}


# --------------------------------------------------------------------------- measurement


def measure(tool: str, data_dir: Path, repeat: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "tool": tool,
        "ok": False,
        "error": None,
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in ("numpy", "pandas", "pyarrow", "scipy", TOOL_DISTRIBUTION[tool])
        },
    }
    try:
        compare, read_drift = PREPARE[tool]()
    except ToolUnavailable as exc:
        result["error"] = str(exc)
        return result

    import pandas as pd

    reference = pd.read_parquet(data_dir / "reference.parquet")
    current = pd.read_parquet(data_dir / "current.parquet")
    result["shape"] = [int(reference.shape[0]), int(reference.shape[1])]
    release_free_memory()
    result["load_peak_rss_mib"] = peak_rss_mib()
    result["peak_reset"] = reset_peak_rss()
    rss_before = current_rss_mib()

    seconds: list[float] = []
    try:
        for attempt in range(repeat):
            start = time.perf_counter()
            output = compare(reference, current)
            seconds.append(time.perf_counter() - start)
            if attempt == 0:
                count, names, note = safe_read(read_drift, output)
                result.update(drifted=count, drifted_columns=names, drift_note=note)
            del output
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
    peak = peak_rss_mib()
    result.update(
        ok=result["error"] is None,
        seconds=seconds,
        best_seconds=min(seconds) if seconds else None,
        rss_before_mib=rss_before,
        peak_rss_mib=peak,
        peak_minus_before_mib=peak - rss_before,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure one drift tool on one dataset.")
    parser.add_argument("--tool", choices=TOOLS, required=True)
    parser.add_argument("--data", type=Path, required=True, help="directory from drift_data.py")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    args = parser.parse_args()
    result = measure(args.tool, args.data, max(1, args.repeat))
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

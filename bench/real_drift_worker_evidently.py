"""Evidently's per-column drift verdicts on the pairs of ``real_drift_eval.py``.

Run by ``real_drift_eval.py`` with ``bench/.venv-evidently/bin/python``::

    real_drift_worker_evidently.py --jobs jobs.json --out answers.json

``jobs.json`` lists ``{"name", "dir"}``; each directory holds ``reference.parquet``,
``current.parquet`` and ``manifest.json`` (the numerical and categorical columns, given to
Evidently as a ``DataDefinition``). Each pair runs ``Report([DataDriftPreset()])`` with its
defaults. Per column, Evidently 0.7 reports a ``ValueDrift`` metric whose value is the drift
score and whose config carries the method and threshold it chose; which columns drifted is read
by ``drift_worker.read_evidently_drift`` (the same reading as the speed benchmark), checked
against the preset's own ``DriftedColumnsCount``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import time
import traceback
from pathlib import Path
from typing import Any

from drift_worker import read_evidently_drift


def column_scores(snapshot: Any) -> dict[str, dict[str, Any]]:
    """Method, score and threshold of every column's ValueDrift metric."""
    scores: dict[str, dict[str, Any]] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if str(config.get("type", "")).endswith("ValueDrift"):
            scores[str(config["column"])] = {
                "method": config.get("method"),
                "score": float(metric["value"]),
                "threshold": float(config["threshold"]),
            }
    return scores


def run_pair(directory: Path) -> dict[str, Any]:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    manifest = json.loads((directory / "manifest.json").read_text())
    definition = DataDefinition(
        numerical_columns=manifest["numerical"], categorical_columns=manifest["categorical"]
    )
    reference = pd.read_parquet(directory / "reference.parquet")
    current = pd.read_parquet(directory / "current.parquet")
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    seconds = time.perf_counter() - start
    count, flagged, note = read_evidently_drift(snapshot)
    if flagged is None:
        return {"ok": False, "error": f"could not read flagged columns: {note}"}
    columns = column_scores(snapshot)
    for name, column in columns.items():
        column["drifted"] = name in flagged
    return {"ok": True, "seconds": seconds, "drifted": count, "note": note, "columns": columns}


def main() -> None:
    parser = argparse.ArgumentParser(description="Evidently's per-column drift verdicts.")
    parser.add_argument("--jobs", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    versions = {
        name: importlib.metadata.version(name)
        for name in ("evidently", "pandas", "numpy", "scipy", "pyarrow")
    }
    answers: dict[str, Any] = {"versions": versions, "pairs": {}}
    for job in json.loads(args.jobs.read_text()):
        try:
            answers["pairs"][job["name"]] = run_pair(Path(job["dir"]))
        except Exception as exc:
            answers["pairs"][job["name"]] = {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        print(job["name"], "ok" if answers["pairs"][job["name"]]["ok"] else "failed", flush=True)
    args.out.write_text(json.dumps(answers, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""seismo.compare vs Evidently 0.7 DataDriftPreset vs a numpy sorting floor, on the same data.

Run by hand from the repository root with the project's virtualenv::

    .venv/bin/python bench/drift_vs_evidently.py                    # 1M rows x 20 and x 100
    .venv/bin/python bench/drift_vs_evidently.py --skip-evidently   # quick iterations
    .venv/bin/python bench/drift_vs_evidently.py --rows 20000 --sizes 20

Each (tool, size) runs in its own process (``drift_worker.py``); Evidently runs with
``bench/.venv-evidently/bin/python``, a virtualenv this script creates on first use because
Evidently 0.7 needs pandas < 3. Results are printed and written to
``bench/results/drift_vs_evidently.{md,json}``. See bench/README.md for what is measured.

This process imports only the standard library and never holds the data: a child's ru_maxrss
starts from its parent's peak RSS at exec time, so a big parent would inflate every reading.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_STEM = "drift_vs_evidently"
EVIDENTLY_VENV = BENCH_DIR / ".venv-evidently"
EVIDENTLY_REQUIREMENTS = BENCH_DIR / "requirements-evidently.txt"
DATA_SCRIPT = BENCH_DIR / "drift_data.py"
WORKER_SCRIPT = BENCH_DIR / "drift_worker.py"
GENERATOR_VERSION = 2  # keep equal to drift_data.GENERATOR_VERSION
TOOLS = ("floor", "seismo", "evidently")
BUSY_LOAD = 0.5  # 1-minute load average above which a run is flagged as disturbed


@dataclass(frozen=True)
class ToolRun:
    """One worker's outcome, as read back from its JSON (or made up from its crash)."""

    tool: str
    ok: bool
    error: str | None
    best_seconds: float | None
    peak_mib: float | None
    before_mib: float | None
    drifted: int | None
    raw: dict[str, Any]

    @property
    def delta_mib(self) -> float | None:
        if self.peak_mib is None or self.before_mib is None:
            return None
        return self.peak_mib - self.before_mib

    @classmethod
    def from_worker(cls, tool: str, raw: dict[str, Any]) -> ToolRun:
        return cls(
            tool=tool,
            ok=bool(raw.get("ok")),
            error=raw.get("error"),
            best_seconds=raw.get("best_seconds"),
            peak_mib=raw.get("peak_rss_mib"),
            before_mib=raw.get("rss_before_mib"),
            drifted=raw.get("drifted"),
            raw=raw,
        )

    @classmethod
    def failed(cls, tool: str, error: str) -> ToolRun:
        raw = {"tool": tool, "ok": False, "error": error}
        return cls(tool, False, error, None, None, None, None, raw)


# --------------------------------------------------------------------------- environment


def machine_info() -> dict[str, Any]:
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "ram_gib": round(mem_kib / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")},
    }


def git_revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(REPO_DIR), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD") or "no commit"
    dirty = " + uncommitted changes" if git("status", "--porcelain", "--", "src") else ""
    return commit + dirty


def ensure_evidently_venv() -> Path:
    """Create bench/.venv-evidently (first use) or update it when the pins changed."""
    python = EVIDENTLY_VENV / "bin" / "python"
    stamp = EVIDENTLY_VENV / ".installed"
    digest = hashlib.sha256(EVIDENTLY_REQUIREMENTS.read_bytes()).hexdigest()[:16]
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    if not python.exists():
        print(f"creating {EVIDENTLY_VENV.relative_to(REPO_DIR)} (one-time, about a minute)")
        subprocess.run(["python3", "-m", "venv", str(EVIDENTLY_VENV)], check=True)
    print(f"installing {EVIDENTLY_REQUIREMENTS.name} into {EVIDENTLY_VENV.name}")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(EVIDENTLY_REQUIREMENTS)],
        check=True,
    )
    subprocess.run([str(python), "-c", "import evidently, pandas, pyarrow"], check=True)
    stamp.write_text(digest + "\n")
    return python


def ensure_data(rows: int, cols: int, seed: int) -> tuple[Path, dict[str, Any]]:
    """Generate the dataset (in its own process) unless an identical one is already on disk."""
    data_dir = DATA_DIR / f"drift_r{rows}_c{cols}_s{seed}"
    manifest_path = data_dir / "manifest.json"
    if manifest_path.exists():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if manifest.get("generator_version") == GENERATOR_VERSION:
            return data_dir, manifest
    print(f"generating {data_dir.relative_to(REPO_DIR)} ...", flush=True)
    command = [sys.executable, str(DATA_SCRIPT), "--rows", str(rows), "--cols", str(cols)]
    command += ["--seed", str(seed), "--out", str(data_dir)]
    subprocess.run(command, check=True)
    return data_dir, json.loads(manifest_path.read_text())


# --------------------------------------------------------------------------- running


def run_tool(tool: str, python: Path | str, data_dir: Path, repeat: int, timeout: float) -> ToolRun:
    with tempfile.TemporaryDirectory(prefix="seismo-bench-") as scratch:
        out = Path(scratch) / "result.json"
        command = [str(python), str(WORKER_SCRIPT), "--tool", tool, "--data", str(data_dir)]
        command += ["--repeat", str(repeat), "--out", str(out)]
        env = dict(os.environ, DO_NOT_TRACK="1", PYTHONUNBUFFERED="1")
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            return ToolRun.failed(tool, f"timed out after {timeout:.0f} s")
        if done.returncode != 0 or not out.exists():
            reason = (
                f"killed by signal {-done.returncode}"
                if done.returncode < 0
                else f"exit code {done.returncode}"
            )
            tail = " / ".join(done.stderr.strip().splitlines()[-3:])
            return ToolRun.failed(tool, f"worker failed ({reason}): {tail}")
        return ToolRun.from_worker(tool, json.loads(out.read_text()))


def flagged_summary(raw: dict[str, Any], shifted_columns: list[str]) -> str | None:
    """'flagged / shifted', plus how many flagged columns were really shifted when that differs."""
    drifted = raw.get("drifted")
    if drifted is None:
        return None
    summary = f"{drifted} / {len(shifted_columns)}"
    names = raw.get("drifted_columns")
    if names is not None:
        hits = len(set(names) & set(shifted_columns))
        if hits != drifted or hits != len(shifted_columns):
            summary += f" ({hits} of them shifted)"
    return summary


def describe(run: ToolRun, shifted_columns: list[str]) -> str:
    if not run.ok:
        return f"{run.tool}: not available ({run.error})"
    flagged = flagged_summary(run.raw, shifted_columns)
    drifted = "" if flagged is None else f", flagged/shifted {flagged}"
    return (
        f"{run.tool}: {_seconds(run.best_seconds)} s, peak {run.peak_mib:.0f} MiB "
        f"(before {run.before_mib:.0f}, +{run.delta_mib:.0f}){drifted}"
    )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def ratios(runs: dict[str, ToolRun]) -> dict[str, float | None]:
    def value(tool: str, field: str) -> float | None:
        run = runs.get(tool)
        return getattr(run, field) if run is not None and run.ok else None

    return {
        "evidently_over_seismo_time": ratio(
            value("evidently", "best_seconds"), value("seismo", "best_seconds")
        ),
        "seismo_over_floor_time": ratio(
            value("seismo", "best_seconds"), value("floor", "best_seconds")
        ),
        "seismo_over_evidently_peak_rss": ratio(
            value("seismo", "peak_mib"), value("evidently", "peak_mib")
        ),
        "seismo_over_evidently_delta_rss": ratio(
            value("seismo", "delta_mib"), value("evidently", "delta_mib")
        ),
    }


# --------------------------------------------------------------------------- reporting


def _num(value: float | None, digits: int = 0, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{suffix}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def render_markdown(report: dict[str, Any]) -> str:
    config, machine = report["config"], report["machine"]
    rows = config["rows"]
    lines = [
        f"# seismo vs Evidently: drift on {rows:,} rows",
        "",
        f"Run {report['started']} with `{report['command']}`.",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu_model']}, nproc {machine['nproc']}",
        f"- RAM: {machine['ram_gib']} GiB; Linux {machine['kernel']}; Python {machine['python']}",
    ]
    load_start, load_end = machine["load_average_at_start"], machine.get("load_average_at_end")
    busy = max(load_start, load_end or 0.0) > BUSY_LOAD
    lines.append(
        f"- 1-minute load average: {load_start} at start, {load_end} at end"
        + (" — other work was running; times may be inflated" if busy else "")
    )
    if machine["env"]:
        env = ", ".join(f"{k}={v}" for k, v in machine["env"].items())
        lines.append(f"- Environment: {env}")
    lines += ["", "## Versions", ""]
    for label, versions in report["versions"].items():
        listed = ", ".join(f"{name} {version}" for name, version in versions.items() if version)
        lines.append(f"- {label}: {listed}")
    lines += [
        "",
        "## Results",
        "",
        f"Reference and current: {rows:,} rows each, float64. Wall time of the compare call "
        f"alone: best of {config['repeat']} for seismo and the floor, a single run for "
        "Evidently. Memory is RSS of the tool's own process: just before the call "
        "(libraries + both DataFrames) and its peak during the call(s).",
        "",
        "| columns | tool | wall s | peak RSS MiB | RSS before MiB | peak − before MiB "
        "| flagged / shifted |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in report["sizes"]:
        for tool in TOOLS:
            run = size["runs"].get(tool)
            if run is None:
                lines.append(f"| {size['cols']} | {tool} | skipped | | | | |")
                continue
            if not run["ok"]:
                error = " ".join(str(run["error"]).split()).replace("|", "\\|")
                lines.append(f"| {size['cols']} | {tool} | not available ({error}) | | | | |")
                continue
            flagged = flagged_summary(run, size["shifted_columns"]) or "—"
            lines.append(
                f"| {size['cols']} | {tool} | {_seconds(run['best_seconds'])} "
                f"| {_num(run['peak_rss_mib'])} | {_num(run['rss_before_mib'])} "
                f"| {_num(run['peak_minus_before_mib'])} | {flagged} |"
            )
    lines += [
        "",
        "## Ratios",
        "",
        "| columns | Evidently / seismo (time) | seismo / floor (time) "
        "| seismo / Evidently (peak RSS) | seismo / Evidently (peak − before) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in report["sizes"]:
        r = size["ratios"]
        lines.append(
            f"| {size['cols']} | {_num(r['evidently_over_seismo_time'], 1, '×')} "
            f"| {_num(r['seismo_over_floor_time'], 1, '×')} "
            f"| {_num(r['seismo_over_evidently_peak_rss'], 2)} "
            f"| {_num(r['seismo_over_evidently_delta_rss'], 2)} |"
        )
    if any(
        run.get("peak_reset") is False for size in report["sizes"] for run in size["runs"].values()
    ):
        lines += ["", "Peak RSS could not be reset after loading: peaks include the load."]
    lines += [
        "",
        "The floor is `np.sort` of every column of both datasets once: any exact rank-based "
        "method (KS, Wasserstein, quantile bins) does at least this much work.",
        "",
    ]
    return "\n".join(lines)


def write_results(report: dict[str, Any]) -> tuple[Path, Path]:
    return write_result_files(RESULTS_STEM, render_markdown(report), report)


def write_result_files(stem: str, markdown: str, report: dict[str, Any]) -> tuple[Path, Path]:
    """``results/<stem>.md`` and ``.json``, each replaced whole (never half written)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in (
        (".md", markdown),
        (".json", json.dumps(report, indent=2) + "\n"),
    ):
        path = RESULTS_DIR / f"{stem}{suffix}"
        scratch = path.with_suffix(path.suffix + ".tmp")
        scratch.write_text(text)
        scratch.replace(path)
        paths.append(path)
    return paths[0], paths[1]


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="20,100",
        type=lambda text: [int(part) for part in text.split(",") if part.strip()],
        help="comma-separated column counts (default 20,100)",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in each dataset")
    parser.add_argument("--repeat", type=int, default=3, help="runs of seismo and the floor")
    parser.add_argument("--skip-evidently", action="store_true", help="ratios become n/a")
    parser.add_argument("--seed", type=int, default=7, help="synthetic data seed")
    parser.add_argument(
        "--timeout", type=float, default=7200, help="seconds before a worker is abandoned"
    )
    return parser.parse_args(argv)


def measure_size(
    cols: int,
    args: argparse.Namespace,
    pythons: dict[str, Path | str | None],
    errors: dict[str, str],
) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """Run every tool on one dataset; returns the size's results and the versions seen."""
    data_dir, manifest = ensure_data(args.rows, cols, args.seed)
    print(f"\n{args.rows:,} rows x {cols} columns ({len(manifest['shifted'])} shifted):")
    runs: dict[str, ToolRun] = {}
    versions: dict[str, dict[str, str]] = {}
    for tool in TOOLS:
        python = pythons[tool]
        if tool in errors:
            runs[tool] = ToolRun.failed(tool, errors[tool])
        elif python is None:
            print(f"  {tool}: skipped")
            continue
        else:
            repeat = 1 if tool == "evidently" else args.repeat
            runs[tool] = run_tool(tool, python, data_dir, repeat, args.timeout)
        print(f"  {describe(runs[tool], manifest['shifted'])}", flush=True)
        label = "evidently venv" if tool == "evidently" else "main venv"
        seen = {k: v for k, v in (runs[tool].raw.get("versions") or {}).items() if v}
        if seen:
            versions.setdefault(label, {}).update(seen)
    size = {
        "cols": cols,
        "rows": args.rows,
        "data": str(data_dir.relative_to(REPO_DIR)),
        "shifted": len(manifest["shifted"]),
        "shifted_columns": manifest["shifted"],
        "runs": {tool: run.raw for tool, run in runs.items()},
        "ratios": ratios(runs),
    }
    return size, versions


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    machine = machine_info()
    if machine["load_average_at_start"] > BUSY_LOAD:
        print(f"note: load average {machine['load_average_at_start']}; other work skews times")
    pythons: dict[str, Path | str | None] = {
        "floor": sys.executable,
        "seismo": sys.executable,
        "evidently": None,
    }
    errors: dict[str, str] = {}
    if not args.skip_evidently:
        try:
            pythons["evidently"] = ensure_evidently_venv()
        except (OSError, subprocess.CalledProcessError) as exc:
            errors["evidently"] = f"could not set up {EVIDENTLY_VENV.name}: {exc}"
            print(errors["evidently"])
    report: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/drift_vs_evidently.py", *(argv or sys.argv[1:])]),
        "config": {
            "rows": args.rows,
            "sizes": args.sizes,
            "repeat": args.repeat,
            "seed": args.seed,
            "skip_evidently": args.skip_evidently,
        },
        "machine": machine,
        "versions": {},
        "sizes": [],
    }
    for cols in args.sizes:
        size, versions = measure_size(cols, args, pythons, errors)
        report["sizes"].append(size)
        for label, seen in versions.items():
            report["versions"].setdefault(label, {}).update(seen)
    machine["load_average_at_end"] = round(os.getloadavg()[0], 2)
    if "main venv" in report["versions"]:
        report["versions"]["main venv"]["seismo git"] = git_revision()
    markdown_path, json_path = write_results(report)
    print("\n" + render_markdown(report))
    print(f"wrote {markdown_path.relative_to(REPO_DIR)} and {json_path.name}")


if __name__ == "__main__":
    main()

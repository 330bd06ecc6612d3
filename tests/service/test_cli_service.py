"""`seismo models register`, `seismo monitor run` and `seismo db upgrade` on a real store."""

from __future__ import annotations

from pathlib import Path

import joblib
import pytest
from typer.testing import CliRunner

from seismo.cli import app
from seismo.profile.dataset import Reference
from seismo.schema.types import Role
from seismo.store import open_store
from tests.service.conftest import fitted_pipeline, training_frame

runner = CliRunner()


def test_register_a_hosted_model_then_run_the_monitor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default models_dir is relative to the working directory
    url = f"sqlite:///{tmp_path / 'store.db'}"
    frame = training_frame()
    reference_file = tmp_path / "train.parquet"
    frame.to_parquet(reference_file)
    model_file = tmp_path / "model.joblib"
    joblib.dump(fitted_pipeline(), model_file)
    schema = tmp_path / "schema.yaml"
    schema.write_text("columns:\n  malignant: {role: target}\n")

    result = runner.invoke(
        app,
        [
            "models",
            "register",
            "cancer",
            "--reference",
            str(reference_file),
            "--model",
            str(model_file),
            "--schema",
            str(schema),
            "--store",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "registered cancer version 1 (classification, 5 features, hosted)" in result.output

    store = open_store(url)
    version = store.get_model_version("cancer")
    store.close()
    assert version is not None and version.classes == ("no", "yes")
    reference = Reference.from_bytes(version.reference)
    assert reference.schema["prediction"].role is Role.PREDICTION
    assert reference.schema["score"].role is Role.SCORE
    assert reference.schema["malignant"].role is Role.TARGET

    listing = runner.invoke(app, ["models", "list", "--store", url])
    assert (tmp_path / "seismo-data/models/cancer/v1/model.joblib").is_file()
    assert listing.exit_code == 0 and listing.output.split()[:3] == [
        "cancer",
        "v1",
        "classification",
    ]
    run = runner.invoke(app, ["monitor", "run", "--store", url])
    assert run.exit_code == 0, run.output
    assert "0 new predictions, 0 label changes, 0 windows updated" in run.output
    upgraded = runner.invoke(app, ["db", "upgrade", "--store", url])
    assert upgraded.exit_code == 0 and "up to date" in upgraded.output


def test_register_errors_are_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    reference_file = tmp_path / "train.parquet"
    training_frame().to_parquet(reference_file)
    result = runner.invoke(
        app,
        [
            "models",
            "register",
            "m",
            "--reference",
            str(reference_file),
            "--store",
            url,
        ],
    )
    assert result.exit_code == 2
    assert "needs --task classification or --task regression" in result.output
    bad_model = tmp_path / "model.joblib"
    bad_model.write_text("not a model")
    result = runner.invoke(
        app,
        [
            "models",
            "register",
            "m",
            "--reference",
            str(reference_file),
            "--model",
            str(bad_model),
            "--store",
            url,
        ],
    )
    assert result.exit_code == 2 and "not a joblib/pickle model file" in result.output
    result = runner.invoke(app, ["monitor", "run", "--store", "mysql://x"])
    assert result.exit_code == 2 and "mysql" in result.output


@pytest.mark.parametrize(
    "name",
    ["../escape", "..", "a/b", "a\\b", "with space", "esc\x1b[31m", "", ".hidden", "x" * 129],
)
def test_model_names_outside_the_documented_alphabet_are_refused(tmp_path: Path, name: str) -> None:
    """Model names become directories and URL segments: separators, control characters and
    leading dots are refused in one line (exit 2), and nothing is written."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    reference_file = tmp_path / "train.parquet"
    training_frame().to_parquet(reference_file)
    model_file = tmp_path / "model.joblib"
    joblib.dump(fitted_pipeline(), model_file)
    models_dir = tmp_path / "deep" / "models"
    config = tmp_path / "seismo.yaml"
    config.write_text(f"store: {url}\nmodels_dir: {models_dir}\n")
    result = runner.invoke(
        app,
        [
            "models",
            "register",
            name,
            "--reference",
            str(reference_file),
            "--model",
            str(model_file),
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "model name" in result.output and "\x1b" not in result.output
    assert not models_dir.exists() and not (tmp_path / "deep" / "escape").exists()

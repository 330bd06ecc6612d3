"""`seismo models list/show/rollout/promote/rollback/kserve-manifest`: the registry from the
command line, every change recorded, every mistake one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from seismo.cli import app
from tests.loop.test_kserve import _errors, kserve_validator  # the KServe CRD's schema
from tests.service.conftest import fitted_pipeline, training_frame


def run(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture
def registered(tmp_path: Path) -> list[str]:
    """A store with two hosted versions of 'cancer' registered from the command line."""
    data = tmp_path / "train.csv"
    frame = training_frame()
    frame.to_csv(data, index=False)
    model = tmp_path / "model.joblib"
    import joblib

    joblib.dump(fitted_pipeline(), model)
    config = tmp_path / "seismo.yaml"
    config.write_text(
        f"store: sqlite:///{tmp_path / 'store.db'}\nmodels_dir: {tmp_path / 'models'}\n"
    )
    schema = tmp_path / "schema.yaml"
    schema.write_text("columns:\n  malignant: {role: target}\n")
    for _ in range(2):
        code, output = run(
            "models",
            "register",
            "cancer",
            "--reference",
            data,
            "--model",
            model,
            "--schema",
            schema,
            "--config",
            config,
        )
        assert code == 0, output
    return ["--config", str(config)]


def test_list_show_rollout_promote_rollback(registered: list[str]) -> None:
    code, output = run("models", "list", *registered)
    assert code == 0, output
    lines = [line.split() for line in output.strip().splitlines()]
    assert [(line[1], line[3]) for line in lines] == [("v1", "registered"), ("v2", "champion")]
    code, output = run(
        "models", "rollout", "cancer", "1", "--share", "0.1", "--by", "ana", *registered
    )
    assert (code, output.strip()) == (0, "cancer: version 1 is a 10% canary")
    code, output = run("models", "list", "cancer", *registered)
    assert "challenger (canary 10%)" in output
    code, output = run("models", "show", "cancer", *registered)
    assert code == 0, output
    shown = json.loads(output)
    assert shown["version"] == 2 and shown["status"] == "champion"
    assert shown["rollout"]["challenger"] == 1
    assert len(shown["lineage"]["profile_sha256"]) == 64
    assert shown["decisions"][0]["actor"] == "ana"
    code, output = run(
        "models", "rollback", "cancer", "--reason", "test", "--by", "ana", *registered
    )
    assert (code, output.strip()) == (0, "cancer: version 2 serves all traffic")
    code, output = run("models", "promote", "cancer", "1", "--by", "ana", *registered)
    assert (code, output.strip()) == (0, "cancer: version 1 is the champion")
    code, output = run("models", "show", "cancer", *registered)
    kinds = [(d["kind"], d["outcome"]) for d in json.loads(output)["decisions"]]
    assert kinds[:3] == [
        ("promotion", "promoted"),
        ("rollback", "rolled_back"),
        ("rollout", "started"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "promote", "cancer", "7"], "has no version 7"),
        (["models", "promote", "nope", "1"], "no model named 'nope'"),
        (["models", "rollout", "cancer", "2"], "already the champion"),
        (["models", "rollout", "cancer", "1", "--mode", "blue"], "mode"),
        (["models", "rollback", "cancer"], "nothing to roll back"),
        (["models", "show", "cancer", "--version", "9"], "no version 9"),
        (["models", "kserve-manifest", "cancer", "--storage-root", "/tmp/x"], "storage"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    registered: list[str], args: list[str], message: str
) -> None:
    code, output = run(*args, *registered)
    assert code == 2, output
    assert message in output and len(output.strip().splitlines()) == 1, output


def test_kserve_manifest_follows_the_rollout(registered: list[str]) -> None:
    code, output = run(
        "models",
        "kserve-manifest",
        "cancer",
        "--storage-root",
        "s3://bucket/models",
        *registered,
    )
    assert code == 0, output
    manifest = yaml.safe_load(output)
    assert _errors(kserve_validator(), manifest) == []
    predictor = manifest["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == "s3://bucket/models/cancer/v2/"
    assert "canaryTrafficPercent" not in predictor
    assert run("models", "rollout", "cancer", "1", "--share", "0.25", *registered)[0] == 0
    code, output = run(
        "models",
        "kserve-manifest",
        "cancer",
        "--storage-root",
        "s3://bucket/models",
        *registered,
    )
    manifest = yaml.safe_load(output)
    assert _errors(kserve_validator(), manifest) == []
    predictor = manifest["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 25
    assert predictor["model"]["storageUri"] == "s3://bucket/models/cancer/v1/"


@pytest.mark.parametrize("version", ["99999999999999999999", "0", "-1", "2147483648"])
def test_a_version_out_of_range_is_a_422_not_a_500(tmp_path: Path, version: str) -> None:
    """Found by a hostile request: a version beyond SQLite's integers was a 500."""
    from fastapi.testclient import TestClient

    from seismo.service.app import create_app
    from seismo.service.config import ServiceSettings
    from seismo.store import open_store

    url = f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url, upgrade=True)
    try:
        app = create_app(ServiceSettings(store=url), store=store)
        with TestClient(app, raise_server_exceptions=False) as client:
            for action in ("promote", "rollout"):
                answer = client.post(f"/v1/models/m/versions/{version}:{action}", json={"by": "me"})
                assert answer.status_code == 422, answer.text
                assert answer.json()["error"]["problems"][0]["field"] == "path.version"
    finally:
        store.close()

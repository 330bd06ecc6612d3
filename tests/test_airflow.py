"""seismo.airflow: DAGs loaded by a real DagBag and run by `airflow dags test`, when Airflow is
installed; without it, the factories' one-line error. The monitor and the closed loop run on a
real SQLite store with hosted scikit-learn models."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import pytest

import seismo
from seismo.airflow import monitor_asset, monitor_dag, retrain_dag, run_loop, run_monitor
from seismo.alerts import Alert, AlertState, Severity
from seismo.alerts.lifecycle import alert_to_dict
from seismo.errors import InputError
from seismo.loop.models import register_model
from seismo.store import Label, Prediction, StoredAlert, open_store
from tests.service.conftest import (
    FEATURES,
    create_store_with_model,
    fit_pipeline,
    training_frame,
)

AIRFLOW_INSTALLED = importlib.util.find_spec("airflow") is not None
NOT_INSTALLED = (
    "Airflow is not installed in this environment; ./dev test runs these tests in .venv-airflow"
)
needs_airflow = pytest.mark.skipif(not AIRFLOW_INSTALLED, reason=NOT_INSTALLED)

DAY0 = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class MonitoredStore:
    url: str
    config: Path


@pytest.fixture
def monitored(tmp_path: Path) -> MonitoredStore:
    """A SQLite store with model "m" and 40 predictions over two days, and a config naming it."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    create_store_with_model(url, "m")
    store = open_store(url)
    try:
        rows = training_frame(40, seed=1).to_dict(orient="records")
        store.add_predictions(
            [
                Prediction(
                    id=f"p{i}",
                    model="m",
                    version=1,
                    timestamp=DAY0 + timedelta(days=i % 2, minutes=i),
                    features={name: row[name] for name in FEATURES},
                    output=row["malignant"],
                    score=0.7 if row["malignant"] == "yes" else 0.3,
                )
                for i, row in enumerate(rows)
            ]
        )
    finally:
        store.close()
    config = tmp_path / "seismo.yaml"
    config.write_text(f"store: {url}\nmonitor:\n  window: 1d\n", encoding="utf-8")
    return MonitoredStore(url, config)


def _window_starts(url: str) -> list[datetime]:
    store = open_store(url)
    try:
        return [summary.start for summary in store.get_windows("m", segment="")]
    finally:
        store.close()


def _monitor_counts(counts: dict[str, int]) -> tuple[int, int, int]:
    return counts["predictions_read"], counts["label_changes_read"], counts["windows"]


@dataclass
class LoopStore:
    """A store with hosted models "broken" and "cancer", a closed window of 40 labelled
    predictions each, and one firing alert on each champion: a pipeline error on "broken",
    covariate drift on "cancer"."""

    url: str
    folder: Path

    def config(self, loop: str = "") -> Path:
        """seismo.yaml for this store, with ``loop`` as its ``loop:`` section."""
        path = self.folder / "seismo.yaml"
        path.write_text(
            f"store: {self.url}\nmodels_dir: {self.folder / 'models'}\n"
            f"monitor:\n  window: 1d\nloop:\n{textwrap.indent(loop, '  ') or '  {}'}\n",
            encoding="utf-8",
        )
        return path

    def decisions(self) -> list[tuple[str, str, str, str]]:
        """(model, kind, outcome, summary) of every recorded decision, oldest first."""
        store = open_store(self.url)
        try:
            found = [d for model in MODELS for d in store.list_decisions(model)]
        finally:
            store.close()
        return [(d.model, d.kind, d.outcome, d.summary) for d in sorted(found, key=_seq)]

    def versions(self) -> dict[str, list[int]]:
        store = open_store(self.url)
        try:
            return {m: [v.version for v in store.list_model_versions(m)] for m in MODELS}
        finally:
            store.close()


MODELS = ("broken", "cancer")
DIAGNOSES = {
    "broken": ("pipeline_error", "mean radius arrives in millimetres (x10)"),
    "cancer": ("covariate_drift", "mean radius shifted up"),
}
PIPELINE_SKIP = (
    "no retrain: feature-drift fired on a pipeline error (mean radius arrives in millimetres "
    "(x10)); fix the pipeline — retraining on broken data would bake the error into the model"
)


def _seq(decision: Any) -> int:
    return int(decision.seq)


@pytest.fixture
def looped(tmp_path: Path) -> LoopStore:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    frame = training_frame()
    artifact = tmp_path / "model.joblib"
    joblib.dump(fit_pipeline(frame), artifact)
    reference = seismo.fit_reference(frame, {"columns": {"malignant": {"role": "target"}}})
    rows = training_frame(40, seed=1).to_dict(orient="records")
    store = open_store(url, upgrade=True)
    try:
        for model in MODELS:
            register_model(
                store,
                model,
                reference=reference,
                model_file=artifact,
                models_dir=tmp_path / "models",
                training_data=frame,
            )
            store.add_predictions(
                [
                    Prediction(
                        id=f"{model}-{i}",
                        model=model,
                        version=1,
                        timestamp=DAY0 + timedelta(minutes=10 * i),
                        features={name: row[name] for name in FEATURES},
                        output=row["malignant"],
                        score=0.7 if row["malignant"] == "yes" else 0.3,
                    )
                    for i, row in enumerate(rows)
                ]
            )
            labelled = store.add_labels(
                [Label(f"{model}-{i}", row["malignant"], DAY0) for i, row in enumerate(rows)],
                model=model,
            )
            assert labelled.inserted == len(rows)
    finally:
        store.close()
    loop = LoopStore(url, tmp_path)
    # The monitor closes the window [DAY0, DAY0 + 1d): the loop judges each model as of its end.
    counts = run_monitor(loop.config())
    assert (counts["windows"], counts["alerts_opened"]) == (2, 0)
    store = open_store(url)
    try:
        for model, (cause, summary) in DIAGNOSES.items():
            _fire(store, model, cause, summary)
    finally:
        store.close()
    return loop


def _fire(store: Any, model: str, cause: str, summary: str) -> None:
    """A firing feature-drift alert on version 1 of ``model``, diagnosed as ``cause``."""
    alert = Alert(
        id=f"feature-drift:{model}",
        rule="feature-drift",
        model=model,
        version=1,
        segment="",
        severity=Severity.WARNING,
        state=AlertState.FIRING,
        summary=f"{model}: mean radius drifted",
        description="",
        window_start=DAY0,
        window_end=DAY0 + timedelta(days=1),
        started_at=DAY0 + timedelta(days=1),
        values={"diagnosis": {"cause": cause, "summary": summary}},
    )
    store.put_alert(
        StoredAlert(
            id=alert.id,
            rule=alert.rule,
            model=model,
            segment="",
            state="firing",
            severity="warning",
            started_at=alert.started_at,
            updated_at=alert.started_at,
            alert=alert_to_dict(alert),
        )
    )


#: A trainer the worker cannot import: the loop records the failure for that model only.
MISSING_TRAINER = "models:\n  cancer:\n    min_labelled_rows: 10\n    trainer: seismo_gone:train\n"


# --- without Airflow ---------------------------------------------------------------------------


def test_factories_say_how_to_install_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "airflow", None)  # `import airflow` fails, as if absent
    with pytest.raises(InputError, match=r"pip install 'seismo\[airflow\]'"):
        monitor_dag("seismo_monitor", config="/etc/seismo.yaml")
    with pytest.raises(InputError, match=r"pip install 'seismo\[airflow\]'"):
        retrain_dag("seismo_loop", config="/etc/seismo.yaml")


def test_bad_arguments_fail_when_the_dag_is_defined() -> None:
    with pytest.raises(InputError, match="max_active_runs must be 1"):
        monitor_dag("seismo_monitor", config="/etc/seismo.yaml", max_active_runs=2)
    with pytest.raises(InputError, match=r"max_active_runs must be 1 \(two loop runs"):
        retrain_dag("seismo_loop", config="/etc/seismo.yaml", max_active_runs=3)


@pytest.mark.parametrize(
    ("removed", "instead"),
    [
        ({"retrain": "my_project.training:retrain"}, r"instead of retrain=, .*`loop\.trainer`"),
        ({"register": print}, "instead of register=, the loop registers"),
        ({"model": "cancer"}, r"instead of model=, pass models=\[\.\.\.\]"),
    ],
)
def test_the_placeholder_arguments_say_what_replaced_them(
    removed: dict[str, Any], instead: str
) -> None:
    """The old retrain/register hooks are gone: the trainer is named in seismo.yaml."""
    with pytest.raises(InputError, match=f"no longer an argument: .*{instead}"):
        retrain_dag("seismo_retrain", config="/etc/seismo.yaml", **removed)


def test_run_monitor_is_the_cli_run(monitored: MonitoredStore) -> None:
    counts = run_monitor(monitored.config)
    assert _monitor_counts(counts) == (40, 0, 2)
    assert {"alerts_opened", "alerts_resolved", "notifications", "failed_deliveries"} <= set(counts)
    assert _window_starts(monitored.url) == [DAY0, DAY0 + timedelta(days=1)]


def test_run_loop_is_the_cli_run(looped: LoopStore, caplog: pytest.LogCaptureFixture) -> None:
    """No retrain on a pipeline error, nor on drift with too few labelled rows: both recorded,
    each logged on one line, and no new model version."""
    with caplog.at_level("INFO", logger="seismo.airflow"):
        counts = run_loop(looped.config())
    assert (counts["skipped"], counts["errors"]) == (False, {})
    made = [(d["model"], d["kind"], d["outcome"]) for d in counts["decisions"]]
    assert made == [("broken", "retrain", "skipped"), ("cancer", "retrain", "skipped")]
    recorded = looped.decisions()
    assert recorded[0] == ("broken", "retrain", "skipped", PIPELINE_SKIP)
    assert re.fullmatch(
        r"no retrain: 40 labelled rows since \S+ \S+, fewer than 500", recorded[1][3]
    )
    assert [d["summary"] for d in counts["decisions"]] == [r[3] for r in recorded]
    assert f"loop: broken: retrain skipped: {PIPELINE_SKIP}" in caplog.messages
    assert looped.versions() == {"broken": [1], "cancer": [1]}
    # The next run decides the same again: nothing new is recorded.
    run_loop(looped.config())
    assert looped.decisions() == recorded


def test_a_model_the_loop_fails_on_is_reported_after_the_others(looped: LoopStore) -> None:
    counts = run_loop(looped.config(MISSING_TRAINER), models=["cancer", "broken"])
    assert set(counts["errors"]) == {"cancer"}
    assert "trainer 'seismo_gone:train': cannot import seismo_gone" in counts["errors"]["cancer"]
    assert [(m, k, o) for m, k, o, _ in looped.decisions()] == [
        ("cancer", "retrain", "fired"),
        ("cancer", "retrain", "error"),
        ("broken", "retrain", "skipped"),
    ]
    assert looped.versions() == {"broken": [1], "cancer": [1]}
    # The failed retrain counts toward the cooldown: the next run does not retry it at once.
    again = run_loop(looped.config(MISSING_TRAINER), models=["cancer"])
    assert again["errors"] == {}
    assert again["decisions"][0]["summary"].startswith("no retrain: cooldown (24.0 h since")


def test_the_monitor_runs_the_loop_when_it_is_enabled(looped: LoopStore) -> None:
    counts = run_monitor(looped.config("enabled: true\n"))
    assert [(d["model"], d["outcome"]) for d in counts["loop"]["decisions"]] == [
        ("broken", "skipped"),
        ("cancer", "skipped"),
    ]
    assert "loop" not in run_monitor(looped.config())


# --- with Airflow ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway AIRFLOW_HOME, set before this process first imports Airflow."""
    if not AIRFLOW_INSTALLED:
        pytest.skip(NOT_INSTALLED)
    home = tmp_path_factory.mktemp("airflow-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_HOME", str(home))
        patch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        yield home


def _write_dags(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "seismo_dags.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def _dagbag(folder: Path) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow before 3.2
        from airflow.models.dagbag import DagBag
    # Airflow 3.3 dropped the argument: a DagBag there never holds the examples.
    examples = "include_examples" in inspect.signature(DagBag).parameters
    return DagBag(dag_folder=str(folder), **({"include_examples": False} if examples else {}))


def _round_trip(dag: Any) -> Any:
    """Serialise and deserialise like the DAG processor and the scheduler do."""
    from airflow.serialization import serialized_objects

    serializer = getattr(serialized_objects, "DagSerialization", None)
    serializer = serializer or serialized_objects.SerializedDAG
    return serializer.from_dict(serializer.to_dict(dag))


@needs_airflow
def test_dagbag_loads_the_dags(airflow_home: Path, tmp_path: Path) -> None:
    folder = _write_dags(
        tmp_path / "dags",
        """
        from datetime import timedelta

        from seismo.airflow import monitor_dag, retrain_dag

        monitor = monitor_dag(
            "seismo_monitor", config="/etc/seismo.yaml", models=["cancer"], tags=["ml"]
        )
        loop = retrain_dag("seismo_loop", config="/etc/seismo.yaml")
        nightly = retrain_dag(
            "seismo_loop_nightly",
            config="/etc/seismo.yaml",
            models=["cancer"],
            schedule="@daily",
            retries=1,
            retry_delay=timedelta(minutes=1),
            default_args={"owner": "ml-team"},
        )
        """,
    )
    bag = _dagbag(folder)
    assert bag.import_errors == {}
    assert sorted(bag.dags) == ["seismo_loop", "seismo_loop_nightly", "seismo_monitor"]

    monitor = bag.dags["seismo_monitor"]
    assert monitor.task_ids == ["monitor"]
    assert monitor.schedule == "@hourly"
    assert type(monitor.timetable).__name__ == "CronTriggerTimetable"
    assert monitor.max_active_runs == 1 and monitor.catchup is False
    assert set(monitor.tags) == {"ml"}
    task = monitor.get_task("monitor")
    assert task.op_kwargs == {"config": "/etc/seismo.yaml", "models": ["cancer"]}
    assert (task.retries, task.retry_delay, task.owner) == (2, timedelta(minutes=5), "seismo")
    [updated] = task.outlets
    assert updated.uri == "x-seismo-monitor:///etc/seismo.yaml"
    assert monitor_asset("/etc//seismo.yaml") == updated  # one asset per config file

    # By default the loop runs after each successful run of the monitor on the same config.
    loop = bag.dags["seismo_loop"]
    assert loop.task_ids == ["loop"]
    assert type(loop.timetable).__name__ == "AssetTriggeredTimetable"
    assert [asset.uri for asset in loop.timetable.asset_condition.objects] == [updated.uri]
    assert loop.max_active_runs == 1 and loop.catchup is False
    task = loop.get_task("loop")
    assert task.op_kwargs == {"config": "/etc/seismo.yaml", "models": None}
    assert (task.retries, task.owner) == (0, "seismo")
    assert "after each run of the monitor DAG on `/etc/seismo.yaml`" in loop.doc_md
    assert "`loop.trainer`" in loop.doc_md and "every hosted model" in loop.doc_md

    nightly = bag.dags["seismo_loop_nightly"]
    assert nightly.schedule == "@daily" and nightly.max_active_runs == 1
    task = nightly.get_task("loop")
    assert task.op_kwargs == {"config": "/etc/seismo.yaml", "models": ["cancer"]}
    assert (task.retries, task.retry_delay, task.owner) == (1, timedelta(minutes=1), "ml-team")
    assert "for `cancer`" in nightly.doc_md

    for dag in (monitor, loop, nightly):
        assert _round_trip(dag).task_ids == dag.task_ids


@needs_airflow
def test_monitor_task_runs_the_monitor(airflow_home: Path, monitored: MonitoredStore) -> None:
    dag = monitor_dag("seismo_monitor", config=str(monitored.config))
    task = dag.get_task("monitor")
    assert _monitor_counts(task.python_callable(**task.op_kwargs)) == (40, 0, 2)
    assert _window_starts(monitored.url) == [DAY0, DAY0 + timedelta(days=1)]
    # The next scheduled run finds nothing new.
    assert task.python_callable(**task.op_kwargs)["predictions_read"] == 0


@needs_airflow
def test_bad_input_fails_the_task_without_retries(airflow_home: Path, tmp_path: Path) -> None:
    from seismo.airflow import _fail_exception

    AirflowFailException = _fail_exception()
    missing = str(tmp_path / "missing.yaml")
    for dag in (
        monitor_dag("seismo_monitor", config=missing),
        retrain_dag("seismo_loop", config=missing),
    ):
        [task] = dag.tasks
        with pytest.raises(
            AirflowFailException, match=r"missing\.yaml: config file not found.*not retried"
        ):
            task.python_callable(**task.op_kwargs)


@needs_airflow
def test_the_loop_task_fails_after_the_other_models_ran(
    airflow_home: Path, looped: LoopStore
) -> None:
    from seismo.airflow import _fail_exception

    task = retrain_dag("seismo_loop", config=str(looped.config(MISSING_TRAINER))).get_task("loop")
    with pytest.raises(
        _fail_exception(),
        match=r"the loop failed for 1 model\(s\) — cancer: InputError: trainer 'seismo_gone:train'",
    ):
        task.python_callable(**task.op_kwargs)
    assert ("broken", "retrain", "skipped", PIPELINE_SKIP) in looped.decisions()


@needs_airflow
def test_the_monitor_task_fails_when_its_loop_failed_on_a_model(
    airflow_home: Path, looped: LoopStore
) -> None:
    from seismo.airflow import _fail_exception

    config = looped.config("enabled: true\n" + MISSING_TRAINER)
    task = monitor_dag("seismo_monitor", config=str(config)).get_task("monitor")
    with pytest.raises(_fail_exception(), match=r"the loop failed for 1 model.* cancer: "):
        task.python_callable(**task.op_kwargs)


@pytest.fixture(scope="module")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for `airflow` subprocesses: a migrated SQLite metadata database."""
    if not AIRFLOW_INSTALLED:
        pytest.skip(NOT_INSTALLED)
    home = tmp_path_factory.mktemp("airflow-db")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    _airflow_cli(env, "db", "migrate")
    return env


def _airflow_cli(env: dict[str, str], *args: str, ok: bool = True) -> str:
    """What ``airflow ARGS...`` printed; it must exit 0 when ``ok``, else not."""
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert (done.returncode == 0) is ok, output[-4000:]
    return output


@needs_airflow
def test_airflow_runs_the_monitor_dag(
    airflow_db: dict[str, str], tmp_path: Path, monitored: MonitoredStore
) -> None:
    folder = _write_dags(
        tmp_path / "dags",
        f"""
        from seismo.airflow import monitor_dag

        monitor = monitor_dag("seismo_monitor", config={str(monitored.config)!r})
        """,
    )
    env = {**airflow_db, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    output = _airflow_cli(env, "dags", "test", "seismo_monitor")
    assert "monitor: 40 new predictions, 0 label changes, 2 windows updated;" in output
    assert _window_starts(monitored.url) == [DAY0, DAY0 + timedelta(days=1)]


@needs_airflow
def test_airflow_runs_the_loop_dag(
    airflow_db: dict[str, str], tmp_path: Path, looped: LoopStore
) -> None:
    folder = _write_dags(
        tmp_path / "dags",
        f"""
        from seismo.airflow import retrain_dag

        loop = retrain_dag("seismo_loop", config={str(looped.config())!r})
        """,
    )
    env = {**airflow_db, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    output = _airflow_cli(env, "dags", "test", "seismo_loop")
    assert f"loop: broken: retrain skipped: {PIPELINE_SKIP}" in output
    assert "loop: cancer: retrain skipped: no retrain: 40 labelled rows since" in output
    recorded = looped.decisions()
    assert [(m, k, o) for m, k, o, _ in recorded] == [
        ("broken", "retrain", "skipped"),
        ("cancer", "retrain", "skipped"),
    ]
    assert recorded[0][3] == PIPELINE_SKIP
    assert looped.versions() == {"broken": [1], "cancer": [1]}


@needs_airflow
def test_airflow_shows_a_failed_model_as_a_failed_task(
    airflow_db: dict[str, str], tmp_path: Path, looped: LoopStore
) -> None:
    folder = _write_dags(
        tmp_path / "dags",
        f"""
        from seismo.airflow import retrain_dag

        loop = retrain_dag("seismo_loop", config={str(looped.config(MISSING_TRAINER))!r})
        """,
    )
    env = {**airflow_db, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    output = _airflow_cli(env, "dags", "test", "seismo_loop", ok=False)
    assert "the loop failed for 1 model(s) — cancer: InputError: trainer" in output
    assert f"loop: broken: retrain skipped: {PIPELINE_SKIP}" in output
    assert "DagRun Finished: dag_id=seismo_loop" in output and "state=failed" in output
    assert looped.versions() == {"broken": [1], "cancer": [1]}

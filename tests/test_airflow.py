"""seismo.airflow: DAGs loaded by a real DagBag and run by `airflow dags test`, when Airflow is
installed; without it, the factories' one-line error. The monitor runs on a real SQLite store."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from seismo.airflow import monitor_dag, retrain_dag, run_monitor
from seismo.errors import InputError
from seismo.store import Prediction, open_store
from tests.service.conftest import FEATURES, create_store_with_model, training_frame

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


# --- without Airflow ---------------------------------------------------------------------------


def test_factories_say_how_to_install_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "airflow", None)  # `import airflow` fails, as if absent
    with pytest.raises(InputError, match=r"pip install 'seismo\[airflow\]'"):
        monitor_dag("seismo_monitor", config="/etc/seismo.yaml")
    with pytest.raises(InputError, match=r"pip install 'seismo\[airflow\]'"):
        retrain_dag("seismo_retrain", model="m", retrain="json:dumps", config="/etc/seismo.yaml")


def test_bad_arguments_fail_when_the_dag_is_defined() -> None:
    with pytest.raises(InputError, match="max_active_runs must be 1"):
        monitor_dag("seismo_monitor", config="/etc/seismo.yaml", max_active_runs=2)
    with pytest.raises(InputError, match=r"retrain: 'train' is not a 'package\.module:function'"):
        retrain_dag("seismo_retrain", model="m", retrain="train", config="/etc/seismo.yaml")
    with pytest.raises(InputError, match="register must be a function"):
        retrain_dag(
            "seismo_retrain", model="m", retrain=print, register=42, config="/etc/seismo.yaml"
        )


def test_run_monitor_is_the_cli_run(monitored: MonitoredStore) -> None:
    counts = run_monitor(monitored.config)
    assert _monitor_counts(counts) == (40, 0, 2)
    assert {"alerts_opened", "alerts_resolved", "notifications", "failed_deliveries"} <= set(counts)
    assert _window_starts(monitored.url) == [DAY0, DAY0 + timedelta(days=1)]


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
        from seismo.airflow import monitor_dag, retrain_dag

        monitor = monitor_dag(
            "seismo_monitor", config="/etc/seismo.yaml", models=["cancer"], tags=["ml"]
        )
        retrain = retrain_dag(
            "seismo_retrain_cancer",
            model="cancer",
            retrain="my_project.training:retrain",
            config="/etc/seismo.yaml",
            default_args={"owner": "ml-team"},
        )
        """,
    )
    bag = _dagbag(folder)
    assert bag.import_errors == {}
    assert sorted(bag.dags) == ["seismo_monitor", "seismo_retrain_cancer"]

    monitor = bag.dags["seismo_monitor"]
    assert monitor.task_ids == ["monitor"]
    assert monitor.schedule == "@hourly"
    assert type(monitor.timetable).__name__ == "CronTriggerTimetable"
    assert monitor.max_active_runs == 1 and monitor.catchup is False
    assert set(monitor.tags) == {"ml"}
    task = monitor.get_task("monitor")
    assert task.op_kwargs == {"config": "/etc/seismo.yaml", "models": ["cancer"]}
    assert (task.retries, task.retry_delay, task.owner) == (2, timedelta(minutes=5), "seismo")

    retrain = bag.dags["seismo_retrain_cancer"]
    assert retrain.task_ids == ["retrain", "register"]
    assert retrain.get_task("register").upstream_task_ids == {"retrain"}
    assert retrain.get_task("retrain").downstream_task_ids == {"register"}
    assert retrain.schedule is None and type(retrain.timetable).__name__ == "NullTimetable"
    assert retrain.max_active_runs == 1
    assert retrain.get_task("retrain").retries == 0
    assert retrain.get_task("retrain").owner == "ml-team"

    for dag in (monitor, retrain):
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
def test_bad_input_fails_the_task_without_retries(
    airflow_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from seismo.airflow import _fail_exception

    AirflowFailException = _fail_exception()
    task = monitor_dag("seismo_monitor", config=str(tmp_path / "missing.yaml")).get_task("monitor")
    with pytest.raises(AirflowFailException, match=r"missing\.yaml: config file not found"):
        task.python_callable(**task.op_kwargs)

    (tmp_path / "seismo_test_training.py").write_text("def retrain(**kwargs):\n    return 1\n")
    monkeypatch.syspath_prepend(tmp_path)
    retrain = retrain_dag(
        "seismo_retrain", model="m", retrain="seismo_test_training:nope", config="/etc/s.yaml"
    ).get_task("retrain")
    with pytest.raises(AirflowFailException, match="module 'seismo_test_training' has no 'nope'"):
        retrain.python_callable(**retrain.op_kwargs)


@pytest.fixture(scope="module")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for `airflow` subprocesses: a migrated SQLite metadata database."""
    if not AIRFLOW_INSTALLED:
        pytest.skip(NOT_INSTALLED)
    home = tmp_path_factory.mktemp("airflow-db")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    _airflow_cli(env, "db", "migrate")
    return env


def _airflow_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
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
def test_airflow_runs_the_retrain_dag(airflow_db: dict[str, str], tmp_path: Path) -> None:
    registered = tmp_path / "registered.txt"
    folder = _write_dags(
        tmp_path / "dags",
        f"""
        from pathlib import Path

        from seismo.airflow import retrain_dag


        def train(*, model, config, **kwargs):
            return {{"model": model, "config": config, "artifact": "/models/cancer/7"}}


        def register(*, model, config, result, **kwargs):
            Path({str(registered)!r}).write_text(f"{{model}} {{result['artifact']}}")


        retrain = retrain_dag(
            "seismo_retrain_cancer",
            model="cancer",
            retrain=train,
            register=register,
            config="/etc/seismo.yaml",
        )
        """,
    )
    env = {**airflow_db, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    _airflow_cli(env, "dags", "test", "seismo_retrain_cancer")
    # `register` received what `retrain` returned, through XCom.
    assert registered.read_text() == "cancer /models/cancer/7"

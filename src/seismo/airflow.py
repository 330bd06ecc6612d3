"""Airflow DAGs for seismo's jobs: the monitor on a schedule, and a retraining hook.

An optional extra: ``pip install 'seismo[airflow]'`` (Airflow 3.1 or newer). This module imports
without Airflow; the factories import it when they are called. A file in your DAGs folder::

    from seismo.airflow import monitor_dag, retrain_dag

    monitor = monitor_dag("seismo_monitor", config="/etc/seismo/seismo.yaml")
    retrain = retrain_dag(
        "seismo_retrain_cancer",
        model="cancer",
        retrain="my_project.training:retrain",  # or the function itself
        config="/etc/seismo/seismo.yaml",
    )

The tasks call seismo's Python API in a ``PythonOperator`` rather than the ``seismo`` command in
a ``BashOperator``: the worker needs no ``seismo`` executable on its PATH, a failure shows its
traceback in the task log instead of a one-line exit status, the run's counts go to XCom, and
bad input (a missing config file, an unknown key, an outdated PostgreSQL schema) fails the task
at once instead of being retried like a database that is briefly unreachable.

Use absolute paths, in ``config`` and in the config's ``store:`` URL: tasks run in a working
directory you do not choose. Airflow 2 and 3.0 are not supported: they pin SQLAlchemy below 2,
which seismo's store needs.
"""

from __future__ import annotations

import functools
import importlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from seismo.errors import InputError

__all__ = ["monitor_dag", "retrain_dag", "run_monitor"]

log = logging.getLogger("seismo.airflow")

#: A fixed start in the past: with catchup off the scheduler runs only the latest interval, and
#: a fixed date (unlike ``datetime.now()``) does not change each time the DAG file is parsed.
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
MINIMUM_AIRFLOW = (3, 1)

MONITOR_DOC = """\
Runs the seismo monitor once (like `seismo monitor run --config {config}`): reads the
predictions and labels logged since the last run, rebuilds the windows they touched, then
decides the alert rules and delivers the notifications. Runs never overlap
(max_active_runs=1). Bad input fails the task without retries.
"""

RETRAIN_DOC = """\
Retrains model `{model}`: `retrain` calls the user's function with the model name and the
config path; `register` is the hook for what follows (it calls the `register` function given
to the factory, if any, and registers nothing by itself). seismo's own retrain trigger,
validation and promotion will plug into this DAG.
"""


@dataclass(frozen=True, slots=True)
class _Airflow:
    """The few Airflow classes the factories use (resolved at call time)."""

    DAG: Any
    PythonOperator: Any


def _airflow() -> _Airflow:
    try:
        airflow = importlib.import_module("airflow")
    except ModuleNotFoundError as error:
        if error.name != "airflow":
            raise  # Airflow is there but broken: show the real error
        raise InputError(
            "seismo's Airflow DAGs need Apache Airflow: pip install 'seismo[airflow]'"
        ) from None
    version = str(getattr(airflow, "__version__", "0"))
    if _version_tuple(version) < MINIMUM_AIRFLOW:
        raise InputError(
            f"seismo's Airflow DAGs need Airflow 3.1 or newer, found {version} (older releases "
            "pin SQLAlchemy below 2, which seismo needs): pip install 'seismo[airflow]'"
        )
    sdk = importlib.import_module("airflow.sdk")
    python = importlib.import_module("airflow.providers.standard.operators.python")
    return _Airflow(DAG=sdk.DAG, PythonOperator=python.PythonOperator)


def _version_tuple(version: str) -> tuple[int, int]:
    """``(major, minor)`` of a version string; ``(0, 0)`` when it does not start with them."""
    found = re.match(r"(\d+)\.(\d+)", version)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _fail_without_retry(error: Exception) -> Exception:
    """Retrying cannot fix bad input: Airflow fails the task at once on this exception."""
    failure: Exception = _fail_exception()(f"{error} (not retried)")
    return failure


def _fail_exception() -> Any:
    """``AirflowFailException``: newer Airflow 3 releases have it in ``airflow.sdk.exceptions``
    (and a deprecated alias in ``airflow.exceptions``), 3.1 only in ``airflow.exceptions``."""
    try:
        return importlib.import_module("airflow.sdk.exceptions").AirflowFailException
    except AttributeError:
        return importlib.import_module("airflow.exceptions").AirflowFailException


def run_monitor(config: str | Path, models: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the monitor once, like ``seismo monitor run --config CONFIG [--model M ...]``:
    process the new predictions and labels, then decide the alert rules and deliver the
    notifications.

    Returns the run's counts: ``predictions_read``, ``label_changes_read``, ``windows``
    (windows rebuilt), ``window_errors`` (windows that failed to build, detailed in
    ``errors``), ``alerts_opened``, ``alerts_resolved``, ``notifications`` and
    ``failed_deliveries``. Needs no Airflow.
    """
    # Imported here so that parsing a DAG file stays cheap (the DAG processor parses it often).
    from seismo.service.config import ServiceSettings
    from seismo.service.jobs import describe_counts, run_monitor_once

    counts = run_monitor_once(ServiceSettings.from_file(config), str(config), models)
    log.info("%s", describe_counts(counts))
    return counts


def _monitor_task(config: str, models: list[str] | None = None) -> dict[str, Any]:
    from seismo.store import SchemaOutdated

    try:
        return run_monitor(config, models)
    except (InputError, SchemaOutdated) as error:
        raise _fail_without_retry(error) from error


def monitor_dag(
    dag_id: str,
    *,
    config: str,
    schedule: Any = "@hourly",
    start_date: datetime = DEFAULT_START,
    models: list[str] | None = None,
    retries: int = 2,
    retry_delay: timedelta = timedelta(minutes=5),
    **dag_kwargs: Any,
) -> Any:
    """An Airflow DAG with one task, ``monitor``, that runs the monitor once per schedule.

    Parameters
    ----------
    dag_id
        The DAG's id.
    config
        Absolute path of the seismo YAML config (``store:`` and ``monitor:`` are read).
    schedule
        Any Airflow schedule: a cron preset or expression, a ``timedelta``, a timetable.
    start_date
        The first interval; catchup is off, so only the latest interval runs.
    models
        Only these models (default: every registered model).
    retries, retry_delay
        For errors that may pass (an unreachable database); bad input is not retried.
    dag_kwargs
        Passed to ``DAG`` (``tags``, ``catchup``, ``default_args`` merged over seismo's ...).
        ``max_active_runs`` stays 1: two monitor runs must not overlap. Do not also set
        ``monitor.every`` in the service's config, which runs the monitor there.

    Returns
    -------
    airflow.sdk.DAG
    """
    if dag_kwargs.get("max_active_runs", 1) != 1:
        raise InputError(
            f"monitor_dag {dag_id!r}: max_active_runs must be 1 (two monitor runs must not "
            "overlap); leave it out"
        )
    airflow = _airflow()
    dag = _dag(
        airflow,
        dag_id,
        schedule=schedule,
        start_date=start_date,
        retries=retries,
        retry_delay=retry_delay,
        doc_md=MONITOR_DOC.format(config=config),
        dag_kwargs=dag_kwargs,
    )
    with dag:
        airflow.PythonOperator(
            task_id="monitor",
            python_callable=_monitor_task,
            op_kwargs={"config": str(config), "models": list(models) if models else None},
        )
    return dag


def retrain_dag(
    dag_id: str,
    *,
    model: str,
    retrain: Callable[..., Any] | str,
    config: str,
    register: Callable[..., Any] | str | None = None,
    schedule: Any = None,
    start_date: datetime = DEFAULT_START,
    retries: int = 0,
    retry_delay: timedelta = timedelta(minutes=5),
    **dag_kwargs: Any,
) -> Any:
    """An Airflow DAG that retrains one model: ``retrain >> register``.

    ``retrain`` calls ``retrain(model=model, config=config)``; what it returns goes to XCom,
    so return something small that JSON can hold (a path, a run id) or None. ``register`` then
    calls ``register(model=model, config=config, result=<that value>)`` when a ``register``
    function is given, and otherwise only logs that nothing was registered: it is the hook
    where validation and promotion go. seismo's own retrain trigger (on drift or a performance
    drop), validation and promotion will plug into this DAG; until then it is triggered by hand
    or on ``schedule`` (default: only when triggered). Accept ``**kwargs`` in your functions to
    stay compatible with the arguments that will add.

    Parameters
    ----------
    dag_id
        The DAG's id.
    model
        The model's name in the seismo store.
    retrain, register
        A function, or its dotted path ``"package.module:function"``, imported only when the
        task runs (so heavy training imports do not slow down parsing the DAG file).
    config
        Absolute path of the seismo YAML config, handed to both functions.
    retries, retry_delay
        Default 0: a training run that failed is usually rerun by hand, not blindly.
    dag_kwargs
        Passed to ``DAG``; ``max_active_runs`` defaults to 1 (one training per model at a time).

    Returns
    -------
    airflow.sdk.DAG
    """
    for argument, value in (("retrain", retrain), ("register", register)):
        if isinstance(value, str):
            _check_dotted_path(argument, value)
        elif value is not None and not callable(value):
            raise InputError(
                f"retrain_dag {dag_id!r}: {argument} must be a function or a "
                f"'package.module:function' path, got {type(value).__name__}"
            )
    airflow = _airflow()
    dag = _dag(
        airflow,
        dag_id,
        schedule=schedule,
        start_date=start_date,
        retries=retries,
        retry_delay=retry_delay,
        doc_md=RETRAIN_DOC.format(model=model),
        dag_kwargs=dag_kwargs,
    )
    with dag:
        trained = airflow.PythonOperator(
            task_id="retrain",
            python_callable=functools.partial(_call_retrain, retrain),
            op_kwargs={"model": model, "config": str(config)},
        )
        # Passing the XCom of `retrain` also makes `register` run after it.
        airflow.PythonOperator(
            task_id="register",
            python_callable=functools.partial(_call_register, register),
            op_kwargs={"model": model, "config": str(config), "result": trained.output},
        )
    return dag


def _call_retrain(retrain: Callable[..., Any] | str, model: str, config: str) -> Any:
    return _resolve(retrain)(model=model, config=config)


def _call_register(
    register: Callable[..., Any] | str | None, model: str, config: str, result: Any
) -> Any:
    if register is None:
        log.info("retrained %s: nothing registered (no register hook given)", model)
        return None
    return _resolve(register)(model=model, config=config, result=result)


def _check_dotted_path(argument: str, path: str) -> None:
    module, _, name = path.partition(":")
    if not module or not name or ":" in name:
        raise InputError(
            f"{argument}: {path!r} is not a 'package.module:function' path "
            "(or pass the function itself)"
        )


def _resolve(target: Callable[..., Any] | str) -> Callable[..., Any]:
    """The function itself, or the one a ``"package.module:function"`` path names."""
    if not isinstance(target, str):
        return target
    module_name, _, name = target.partition(":")
    try:
        found: object = importlib.import_module(module_name)
        for attribute in name.split("."):
            found = getattr(found, attribute)
    except ImportError as error:
        raise _fail_without_retry(
            InputError(f"{target}: cannot import {module_name!r}: {error}")
        ) from error
    except AttributeError:
        raise _fail_without_retry(
            InputError(f"{target}: module {module_name!r} has no {name!r}")
        ) from None
    if not callable(found):
        raise _fail_without_retry(InputError(f"{target}: not a function"))
    return found


def _dag(
    airflow: _Airflow,
    dag_id: str,
    *,
    schedule: Any,
    start_date: datetime,
    retries: int,
    retry_delay: timedelta,
    doc_md: str,
    dag_kwargs: dict[str, Any],
) -> Any:
    options = dict(dag_kwargs)
    default_args = {
        "owner": "seismo",
        "retries": retries,
        "retry_delay": retry_delay,
        **(options.pop("default_args", None) or {}),
    }
    options.setdefault("catchup", False)
    options.setdefault("max_active_runs", 1)
    options.setdefault("tags", ["seismo"])
    options.setdefault("doc_md", doc_md)
    return airflow.DAG(
        dag_id, schedule=schedule, start_date=start_date, default_args=default_args, **options
    )

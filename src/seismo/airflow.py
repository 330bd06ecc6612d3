"""Airflow DAGs for seismo's jobs: the monitor on a schedule, and the closed loop after it.

An optional extra: ``pip install 'seismo[airflow]'`` (Airflow 3.1 or newer). This module imports
without Airflow; the factories import it when they are called. A file in your DAGs folder::

    from seismo.airflow import monitor_dag, retrain_dag

    CONFIG = "/etc/seismo/seismo.yaml"
    monitor = monitor_dag("seismo_monitor", config=CONFIG)  # hourly
    loop = retrain_dag("seismo_loop", config=CONFIG)  # after each monitor run

``retrain_dag`` runs seismo's closed loop once per run (like ``seismo loop run``): for each
model it judges a canary or shadow under way (promote, roll back or wait), otherwise reads the
diagnoses of the alerts firing on the champion and decides whether to retrain (never on a
pipeline error), trains a challenger, validates it on a holdout and rolls it out. Every decision
is recorded in the store and logged in the task log. What trains is not a DAG argument: it is
``loop.trainer`` in seismo.yaml (a ``module:function`` importable on the Airflow worker; the
default refits a clone of the champion's scikit-learn pipeline), for every model or per model::

    loop:
      min_labelled_rows: 500
      cooldown: 7d
      models:
        churn:
          trainer: my_project.training:retrain   # (champion, training_set, context) -> model

By default the loop DAG is scheduled on the monitor's asset: it runs after each successful run
of a ``monitor_dag`` with the same ``config`` (Airflow's data-aware scheduling), so it acts on
the windows and alerts that run just wrote. When the monitor runs elsewhere (the service's
``monitor.every``, cron), give the loop DAG a ``schedule`` of its own (``"@hourly"``). Or let
the monitor run the loop itself: with ``loop.enabled: true`` in seismo.yaml every monitor run
(``monitor_dag`` included) runs the loop after it, and no loop DAG is needed — use one or the
other, not both.

The tasks call seismo's Python API in a ``PythonOperator`` rather than the ``seismo`` command in
a ``BashOperator``: the worker needs no ``seismo`` executable on its PATH, a failure shows its
traceback in the task log instead of a one-line exit status, the run's counts go to XCom, and
bad input (a missing config file, an unknown key, an outdated PostgreSQL schema) fails the task
at once instead of being retried like a database that is briefly unreachable.

Use absolute paths, in ``config`` and in the config's ``store:`` and ``models_dir:``: tasks run
in a working directory you do not choose. Airflow 2 and 3.0 are not supported: they pin
SQLAlchemy below 2, which seismo's store needs.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from seismo.errors import InputError

__all__ = [
    "AFTER_MONITOR",
    "monitor_asset",
    "monitor_dag",
    "retrain_dag",
    "run_loop",
    "run_monitor",
]

log = logging.getLogger("seismo.airflow")

#: A fixed start in the past: with catchup off the scheduler runs only the latest interval, and
#: a fixed date (unlike ``datetime.now()``) does not change each time the DAG file is parsed.
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
MINIMUM_AIRFLOW = (3, 1)

#: ``retrain_dag``'s default schedule: after each successful run of the ``monitor_dag`` with
#: the same config (on :func:`monitor_asset`).
AFTER_MONITOR: Final = "after-monitor"

MONITOR_DOC = """\
Runs the seismo monitor once (like `seismo monitor run --config {config}`): reads the
predictions and labels logged since the last run, rebuilds the windows they touched, then
decides the alert rules and delivers the notifications. With `loop.enabled: true` in the
config it then runs the closed loop (as the `retrain_dag` does); a model the loop failed on
fails the task after the others ran. Each run updates the asset `{asset}`, which a
`retrain_dag` on the same config is scheduled on. Runs never overlap (max_active_runs=1). Bad
input fails the task without retries.
"""

LOOP_DOC = """\
Runs seismo's closed loop once (like `seismo loop run --config {config}`) for {models}: judges
a canary or shadow under way (promote, roll back or wait); otherwise reads the diagnoses of the
alerts firing on the champion, decides whether to retrain (never on a pipeline error), trains
a challenger with `loop.trainer` from the config, validates it on a holdout and rolls it out.
Every decision is recorded in the store and logged here; the counts go to XCom. Schedule:
{schedule}.

A model the loop fails on (a trainer that raises, a model file missing) is recorded by seismo
and fails the task, after every other model ran; the error names the model. It is not retried
at once: the next run decides again, within the loop's policy (a failed retrain waits out
`loop.cooldown`). Bad input (config, schema) fails the task without retries. Runs never overlap
(max_active_runs=1).
"""

#: Arguments of the placeholder ``retrain_dag`` before the loop existed, and what replaced them.
_REMOVED = {
    "retrain": "the training function is `loop.trainer` in seismo.yaml (module:function, "
    "for every model or under loop.models.<name>)",
    "register": "the loop registers, validates and rolls out the retrained version itself",
    "model": "pass models=[...] (default: every model with a hosted champion)",
}


@dataclass(frozen=True, slots=True)
class _Airflow:
    """The few Airflow classes the factories use (resolved at call time)."""

    DAG: Any
    PythonOperator: Any
    Asset: Any


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
    return _Airflow(DAG=sdk.DAG, PythonOperator=python.PythonOperator, Asset=sdk.Asset)


def _version_tuple(version: str) -> tuple[int, int]:
    """``(major, minor)`` of a version string; ``(0, 0)`` when it does not start with them."""
    found = re.match(r"(\d+)\.(\d+)", version)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _fail_without_retry(error: Exception | str) -> Exception:
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
    ``failed_deliveries``; with ``loop.enabled: true`` in the config also ``loop``, the counts
    of the loop run after it (see :func:`run_loop`). Needs no Airflow.
    """
    # Imported here so that parsing a DAG file stays cheap (the DAG processor parses it often).
    from seismo.service.config import ServiceSettings
    from seismo.service.jobs import describe_counts, run_monitor_once

    counts = run_monitor_once(ServiceSettings.from_file(config), str(config), models)
    log.info("%s", describe_counts(counts))
    if "loop" in counts:
        _log_loop(counts["loop"])
    return counts


def run_loop(config: str | Path, models: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the closed loop once, like ``seismo loop run --config CONFIG [--model M ...]``, for
    ``models`` (default: every model with a hosted champion), on the store's current windows
    and alerts. Each decision is logged on one line.

    Returns the run's counts: ``decisions``, every decision taken (each a dict with ``seq``,
    ``model``, ``kind``, ``outcome``, ``version`` and ``summary``, as recorded in the store);
    ``errors``, model name to error for each model the loop failed on (also recorded as a
    decision; the other models still ran); ``skipped``, True when another loop run held the
    store's lease and this one did nothing. Needs no Airflow.
    """
    from seismo.service.config import ServiceSettings
    from seismo.service.jobs import run_loop_once

    counts = run_loop_once(ServiceSettings.from_file(config), str(config), models)
    _log_loop(counts)
    return counts


def _log_loop(counts: dict[str, Any]) -> None:
    if counts["skipped"]:
        log.info("loop: running elsewhere on this store; nothing was done")
        return
    for decision in counts["decisions"]:
        log.info(
            "loop: %s: %s %s: %s",
            decision["model"],
            decision["kind"],
            decision["outcome"],
            _printable(decision["summary"]),
        )
    if not counts["decisions"]:
        log.info("loop: nothing to decide")


def _printable(text: str) -> str:
    """A summary on one log line: control characters (newlines included) shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _loop_failure(counts: dict[str, Any]) -> Exception | None:
    """The task's failure when the loop failed on some models (None when it did not)."""
    errors: dict[str, str] = counts.get("errors") or {}
    if not errors:
        return None
    failed = "; ".join(f"{model}: {_printable(error)}" for model, error in sorted(errors.items()))
    return _fail_without_retry(
        f"the loop failed for {len(errors)} model(s) — {failed}; every other model ran, and "
        "every decision is recorded in the store; the next run decides again, within the "
        "loop's policy (a failed retrain waits out loop.cooldown)"
    )


def _monitor_task(config: str, models: list[str] | None = None) -> dict[str, Any]:
    from seismo.store import SchemaOutdated

    try:
        counts = run_monitor(config, models)
    except (InputError, SchemaOutdated) as error:
        raise _fail_without_retry(error) from error
    failure = _loop_failure(counts["loop"]) if "loop" in counts else None
    if failure is not None:
        raise failure
    return counts


def _loop_task(config: str, models: list[str] | None = None) -> dict[str, Any]:
    from seismo.store import SchemaOutdated

    try:
        counts = run_loop(config, models)
    except (InputError, SchemaOutdated) as error:
        raise _fail_without_retry(error) from error
    failure = _loop_failure(counts)
    if failure is not None:
        raise failure
    return counts


def monitor_asset(config: str | Path) -> Any:
    """The Airflow asset a ``monitor_dag`` on ``config`` updates after each successful run:
    schedule your own DAGs on it to run after the monitor (``retrain_dag`` does by
    default). Needs Airflow."""
    return _asset(_airflow(), str(config))


def _asset(airflow: _Airflow, config: str) -> Any:
    # Keyed by the config file (one store, one monitor), spelled one way; "x-" marks a scheme
    # of our own, which Airflow keeps as written.
    path = os.path.normpath(config)
    return airflow.Asset(name=f"seismo_monitor:{path}", uri=f"x-seismo-monitor://{path}")


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

    With ``loop.enabled: true`` in the config, each run then runs the closed loop, as
    :func:`retrain_dag` does (and a model the loop fails on fails the task, after the others
    ran). Each successful run updates :func:`monitor_asset` of ``config``.

    Parameters
    ----------
    dag_id
        The DAG's id.
    config
        Absolute path of the seismo YAML config (``store:``, ``monitor:``, ``alerts:`` and
        ``loop:`` are read).
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
    _check_one_run(dag_id, "monitor_dag", "two monitor runs", dag_kwargs)
    airflow = _airflow()
    asset = _asset(airflow, str(config))
    dag = _dag(
        airflow,
        dag_id,
        schedule=schedule,
        start_date=start_date,
        retries=retries,
        retry_delay=retry_delay,
        doc_md=MONITOR_DOC.format(config=config, asset=asset.uri),
        dag_kwargs=dag_kwargs,
    )
    with dag:
        airflow.PythonOperator(
            task_id="monitor",
            python_callable=_monitor_task,
            op_kwargs={"config": str(config), "models": list(models) if models else None},
            outlets=[asset],
        )
    return dag


def retrain_dag(
    dag_id: str,
    *,
    config: str,
    models: list[str] | None = None,
    schedule: Any = AFTER_MONITOR,
    start_date: datetime = DEFAULT_START,
    retries: int = 0,
    retry_delay: timedelta = timedelta(minutes=5),
    **dag_kwargs: Any,
) -> Any:
    """An Airflow DAG with one task, ``loop``, that runs seismo's closed loop once per run
    (:func:`run_loop`; like ``seismo loop run``): judge rollouts under way, retrain where the
    diagnoses of firing alerts call for it, validate, roll out. Every decision is recorded
    in the store and logged.

    The training function is not an argument: it is ``loop.trainer`` in the config (see the
    module's docs). A model the loop fails on is recorded and fails the task once every other
    model ran, with an error that names it; that failure is not retried at once (the next run
    decides again, and a failed retrain waits out ``loop.cooldown``).

    Parameters
    ----------
    dag_id
        The DAG's id.
    config
        Absolute path of the seismo YAML config (``store:``, ``models_dir:``, ``alerts:`` and
        ``loop:`` are read).
    models
        Only these models (default: every model with a hosted champion).
    schedule
        Default :data:`AFTER_MONITOR`: after each successful run of the :func:`monitor_dag` on
        the same ``config`` (on :func:`monitor_asset`), so the loop acts on the alerts that
        run just raised. When the monitor runs elsewhere (the service, cron), any Airflow
        schedule: ``"@hourly"``, a cron expression, a ``timedelta``, or None (only when
        triggered).
    start_date
        The first interval; catchup is off.
    retries, retry_delay
        Default 0 retries: a failed loop run is looked at, not blindly rerun; the next
        scheduled run tries again.
    dag_kwargs
        Passed to ``DAG`` (``tags``, ``catchup``, ``default_args`` merged over seismo's ...).
        ``max_active_runs`` stays 1: two loop runs on one store must not overlap.

    Returns
    -------
    airflow.sdk.DAG
    """
    removed = sorted(set(_REMOVED) & set(dag_kwargs))
    if removed:
        raise InputError(
            f"retrain_dag {dag_id!r}: {', '.join(repr(name) for name in removed)} "
            f"{'is' if len(removed) == 1 else 'are'} no longer an argument: retrain_dag runs "
            "seismo's closed loop — "
            + "; ".join(f"instead of {name}=, {_REMOVED[name]}" for name in removed)
        )
    _check_one_run(dag_id, "retrain_dag", "two loop runs", dag_kwargs)
    airflow = _airflow()
    after_monitor = isinstance(schedule, str) and schedule == AFTER_MONITOR
    dag = _dag(
        airflow,
        dag_id,
        schedule=[_asset(airflow, str(config))] if after_monitor else schedule,
        start_date=start_date,
        retries=retries,
        retry_delay=retry_delay,
        doc_md=LOOP_DOC.format(
            config=config,
            models=", ".join(f"`{m}`" for m in models) if models else "every hosted model",
            schedule=f"after each run of the monitor DAG on `{config}`"
            if after_monitor
            else f"`{schedule!r}`",
        ),
        dag_kwargs=dag_kwargs,
    )
    with dag:
        airflow.PythonOperator(
            task_id="loop",
            python_callable=_loop_task,
            op_kwargs={"config": str(config), "models": list(models) if models else None},
        )
    return dag


def _check_one_run(dag_id: str, factory: str, what: str, dag_kwargs: dict[str, Any]) -> None:
    if dag_kwargs.get("max_active_runs", 1) != 1:
        raise InputError(
            f"{factory} {dag_id!r}: max_active_runs must be 1 ({what} must not overlap); "
            "leave it out"
        )


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

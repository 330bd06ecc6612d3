"""The ``alerts:`` section of the service config: defaults, rules, cooldown, and errors that name
the file and the field (in Python, and through ``seismo serve`` / ``seismo monitor run``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from seismo.alerts import AlertConfig, Rule, Severity, default_rules
from seismo.alerts.sinks import SlackSink, WebhookSink
from seismo.cli import EXIT_INPUT, app
from seismo.config import alerts_config, rules_from_config
from seismo.errors import InputError

SOURCE = "/etc/seismo/service.yaml"
DEFAULT_NAMES = [rule.name for rule in default_rules()]


def names(config: AlertConfig) -> list[str]:
    return [rule.name for rule in config.rules]


def error_of(data: Any) -> str:
    with pytest.raises(InputError) as raised:
        alerts_config(data, SOURCE)
    return str(raised.value)


# -- what a valid section gives -----------------------------------------------------------------


@pytest.mark.parametrize("data", [None, {}])
def test_defaults_when_the_section_is_absent_or_empty(data: dict[str, Any] | None) -> None:
    config = alerts_config(data, SOURCE)
    assert names(config) == DEFAULT_NAMES
    assert config.rules == tuple(default_rules())
    assert config.cooldown == timedelta(hours=1)
    assert config.base_url is None and config.sinks == ()
    assert config == AlertConfig()


def test_configured_rules_replace_the_defaults() -> None:
    config = alerts_config(
        {"rules": [{"name": "psi", "series": "drift.psi", "kind": "ewma", "alpha": 0.2}]}, SOURCE
    )
    assert config.rules == (Rule("psi", "drift.psi", kind="ewma", alpha=0.2),)
    # An empty list turns alerting off.
    assert alerts_config({"rules": []}, SOURCE).rules == ()


def test_default_rules_true_keeps_the_defaults_and_a_same_named_rule_replaces_one() -> None:
    mine = [
        {
            "name": "accuracy-drop",
            "series": "performance.accuracy",
            "kind": "static",
            "threshold": 0.9,
        },
        {"name": "coverage", "series": "labels.coverage", "kind": "static", "threshold": 0.5},
    ]
    config = alerts_config({"rules": mine, "default_rules": True}, SOURCE)
    kept = [name for name in DEFAULT_NAMES if name != "accuracy-drop"]
    assert names(config) == [*kept, "accuracy-drop", "coverage"]
    replaced = {rule.name: rule for rule in config.rules}["accuracy-drop"]
    assert (replaced.kind, replaced.threshold) == ("static", 0.9)
    assert names(alerts_config({"rules": mine, "default_rules": False}, SOURCE)) == [
        "accuracy-drop",
        "coverage",
    ]
    assert names(alerts_config({"rules": [], "default_rules": True}, SOURCE)) == DEFAULT_NAMES


def test_rule_fields_are_converted() -> None:
    [rule] = rules_from_config(
        [
            {
                "name": "r",
                "series": "performance.rmse",
                "kind": "seasonal",
                "sigmas": 2,  # an int where a float is expected
                "history": 3,
                "min_history": 2,
                "season": 24,
                "for_windows": 3,
                "severity": "CRITICAL",
                "models": "churn",  # one name
                "segments": True,
                "interval": False,
                "threshold": None,
                "description": "hourly cycle",
            }
        ],
        "alerts.rules",
    )
    assert rule.sigmas == 2.0 and isinstance(rule.sigmas, float)
    assert rule.severity is Severity.CRITICAL
    assert rule.models == ("churn",) and rule.applies_to("churn") and not rule.applies_to("x")
    assert (rule.season, rule.history, rule.for_windows) == (24, 3, 3)
    assert (rule.segments, rule.interval) == (True, False)
    assert rule.side == "above"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("2h", timedelta(hours=2)), ("1d", timedelta(days=1))],
)
def test_cooldown(text: str, expected: timedelta) -> None:
    assert alerts_config({"cooldown": text}, SOURCE).cooldown == expected


def test_base_url_and_sinks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SLACK_URL", "https://hooks.slack.com/services/T/B/secret")
    config = alerts_config(
        {
            "base_url": "https://seismo.example",
            "sinks": [
                {"type": "slack", "url": "${TEST_SLACK_URL}"},
                {
                    "type": "webhook",
                    "name": "hook",
                    "url": "https://h.example/x",
                    "secret": "0123456789abcdef",
                },
            ],
        },
        SOURCE,
    )
    assert config.base_url == "https://seismo.example"
    slack, hook = config.sinks
    assert isinstance(slack, SlackSink) and slack.name == "slack"
    assert slack.url == "https://hooks.slack.com/services/T/B/secret"
    assert isinstance(hook, WebhookSink) and hook.name == "hook"


# -- errors: an InputError naming the file and the field ----------------------------------------

RULE = {"name": "ok", "series": "drift.psi"}


@pytest.mark.parametrize(
    ("data", "where", "what"),
    [
        ([RULE], "alerts", "expected a mapping with keys rules, default_rules, cooldown"),
        ({"rule": [RULE]}, "alerts.rule", "unknown key (did you mean rules?); valid keys here"),
        ({"rules": RULE}, "alerts.rules", "expected a list, got a mapping"),
        (
            {"rules": ["drift.psi"]},
            "alerts.rules[0]",
            "expected a mapping with at least name, series, got 'drift.psi'",
        ),
        ({"rules": [{"series": "drift.psi"}]}, "alerts.rules[0].name", "missing; set it to"),
        ({"rules": [{"name": "x"}]}, "alerts.rules[0].series", "missing; set it to"),
        (
            {"rules": [RULE, {**RULE, "name": "x", "sigma": 2}]},
            "alerts.rules[1].sigma",
            "unknown key (did you mean sigmas?)",
        ),
        (
            {"rules": [{**RULE, "series": "drift.kl"}]},
            "alerts.rules[0].series",
            "unknown series 'drift.kl'; use one of drift.drifted, drift.effect_ratio, drift.psi",
        ),
        (
            {"rules": [{**RULE, "kind": "median"}]},
            "alerts.rules[0].kind",
            "unknown kind 'median'; use one of static, sigma, ewma, seasonal",
        ),
        (
            {"rules": [RULE, {**RULE, "name": "x", "sigmas": "three"}]},
            "alerts.rules[1].sigmas",
            "expected a finite number, got 'three'",
        ),
        (
            {"rules": [{**RULE, "sigmas": True}]},
            "alerts.rules[0].sigmas",
            "expected a finite number",
        ),
        (
            {"rules": [{**RULE, "threshold": "high"}]},
            "alerts.rules[0].threshold",
            "a finite number",
        ),
        ({"rules": [{**RULE, "history": 2.5}]}, "alerts.rules[0].history", "whole number"),
        ({"rules": [{**RULE, "min_rows": True}]}, "alerts.rules[0].min_rows", "whole number"),
        ({"rules": [{**RULE, "interval": "yes"}]}, "alerts.rules[0].interval", "true or false"),
        ({"rules": [{**RULE, "engine": 1}]}, "alerts.rules[0].engine", "true or false"),
        (
            {"rules": [{**RULE, "models": 5}]},
            "alerts.rules[0].models",
            "expected a model name or a list of them, got 5",
        ),
        ({"rules": [{**RULE, "models": ["a", 1]}]}, "alerts.rules[0].models[1]", "text, got 1"),
        (
            {"rules": [{**RULE, "severity": "urgent"}]},
            "alerts.rules[0].severity",
            "unknown severity 'urgent'; use one of info, warning, critical",
        ),
        ({"rules": [{**RULE, "name": 5}]}, "alerts.rules[0].name", "expected text"),
        ({"rules": [{**RULE, "kind": "static"}]}, "alerts.rules[0]", "needs a threshold"),
        (
            {"rules": [{**RULE, "direction": "up"}]},
            "alerts.rules[0].direction",
            "unknown direction 'up'; use one of above, below, both",
        ),
        ({"rules": [{**RULE, "sigmas": 0}]}, "alerts.rules[0]", "sigmas must be positive"),
        ({"rules": [{**RULE, "alpha": 1.5}]}, "alerts.rules[0]", "alpha must lie in (0, 1]"),
        ({"rules": [{**RULE, "history": 1}]}, "alerts.rules[0]", "history (1)"),
        (
            {"rules": [{**RULE, "history": 3, "min_history": 4}]},
            "alerts.rules[0]",
            "min_history at most history",
        ),
        ({"rules": [{**RULE, "season": 1}]}, "alerts.rules[0]", "season must be at least 2"),
        ({"rules": [{**RULE, "tolerance": -0.1}]}, "alerts.rules[0]", "must not be negative"),
        ({"rules": [{**RULE, "min_rows": -1}]}, "alerts.rules[0]", "min_rows must not be"),
        ({"rules": [{**RULE, "name": " "}]}, "alerts.rules[0].name", "must not be empty"),
        ({"rules": [{**RULE, "for_windows": 0}]}, "alerts.rules[0]", "for_windows must be at"),
        ({"rules": [{**RULE, "for_windows": 1.5}]}, "alerts.rules[0].for_windows", "whole"),
        (
            {"rules": [RULE, {**RULE, "name": "b"}, {**RULE, "series": "volume.rows"}]},
            "alerts.rules",
            "rule names must be unique; repeated: ['ok']",
        ),
        ({"rules": [RULE], "default_rules": "yes"}, "alerts.default_rules", "true or false"),
        ({"base_url": 5}, "alerts.base_url", "expected text, got 5"),
        ({"sinks": {"type": "slack"}}, "alerts.sinks", "expected a list, got a mapping"),
        (
            {"delivery": {"attempts": 0, "backoff": "1s"}},
            "alerts.delivery.attempts",
            "must be at least 1, got 0; alerts.delivery.backoff: expected a finite number",
        ),
    ],
)
def test_errors_name_the_source_and_the_field(data: Any, where: str, what: str) -> None:
    message = error_of(data)
    assert message.startswith(f"{SOURCE}: {where}"), message
    assert what in message
    assert "\n" not in message


def test_sink_errors_name_the_source_the_entry_and_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("UNSET_SLACK_URL", raising=False)
    missing = error_of({"sinks": [{"type": "slack", "url": "${UNSET_SLACK_URL}"}]})
    assert missing.startswith(f"{SOURCE}: ") and "sinks[0]" in missing
    assert "url" in missing and "UNSET_SLACK_URL" in missing
    unknown = error_of({"sinks": [{"type": "carrier-pigeon"}]})
    assert unknown.startswith(f"{SOURCE}: ") and "sinks[0]" in unknown
    assert "unknown type 'carrier-pigeon'" in unknown


@pytest.mark.parametrize("cooldown", ["soon", 3600, None])
def test_a_bad_cooldown_names_the_source_and_the_field(cooldown: Any) -> None:
    message = error_of({"cooldown": cooldown})
    assert message.startswith(f"{SOURCE}: alerts.cooldown"), message


def test_a_bad_cooldown_is_at_least_an_input_error() -> None:
    for cooldown in ("soon", "0h", 3600, None, [1]):
        with pytest.raises(InputError):
            alerts_config({"cooldown": cooldown}, SOURCE)


def test_default_rules_is_checked_without_rules() -> None:
    assert "alerts.default_rules" in error_of({"default_rules": "yes"})


@pytest.mark.parametrize("field", ["sigmas", "tolerance", "min_spread", "threshold"])
def test_non_finite_numbers_are_refused(field: str) -> None:
    error_of({"rules": [{**RULE, field: float("nan")}]})


def test_sink_errors_carry_the_alerts_prefix() -> None:
    assert f"{SOURCE}: alerts.sinks[0]" in error_of({"sinks": [{"type": "carrier-pigeon"}]})


# -- the command line ---------------------------------------------------------------------------

BAD_RULES = {
    "rules": [
        {"name": "psi", "series": "drift.psi"},
        {"name": "acc", "series": "performance.accuracy", "sigmas": "three"},
    ]
}


def write_config(tmp_path: Path, alerts: Any) -> Path:
    path = tmp_path / "seismo.yaml"
    settings = {"store": f"sqlite:///{tmp_path / 'store.db'}", "alerts": alerts}
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the config ever pass, fail instead of serving forever."""
    import uvicorn

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("seismo serve started with a bad alerts section")

    monkeypatch.setattr(uvicorn, "run", refuse)


def cli_error(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == EXIT_INPUT, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize(
    ("alerts", "field", "what"),
    [
        (BAD_RULES, "alerts.rules[1].sigmas", "expected a finite number, got 'three'"),
        (
            {"rules": [{"name": "x", "series": "drift.psi", "kind": "static"}]},
            "alerts.rules[0]",
            "needs a threshold",
        ),
        ({"cooldwn": "1h"}, "alerts.cooldwn", "unknown key (did you mean cooldown?)"),
        (
            {"sinks": [{"type": "slack"}]},
            "alerts.sinks[0].url",
            "missing; set it to the channel's incoming webhook URL",
        ),
    ],
)
def test_monitor_run_with_a_bad_alerts_section(
    tmp_path: Path, alerts: Any, field: str, what: str
) -> None:
    config = write_config(tmp_path, alerts)
    line = cli_error("monitor", "run", "--config", str(config))
    assert line.startswith(f"error: {config}: ") and field in line and what in line
    assert not (tmp_path / "store.db").exists()  # refused before touching the store


@pytest.mark.usefixtures("no_server")
def test_serve_with_a_bad_alerts_section(tmp_path: Path) -> None:
    config = write_config(tmp_path, BAD_RULES)
    line = cli_error("serve", "--config", str(config))
    assert "alerts.rules[1].sigmas: expected a finite number, got 'three'" in line


@pytest.mark.usefixtures("no_server")
def test_serve_names_the_config_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, BAD_RULES)
    result = CliRunner().invoke(app, ["serve", "--config", str(config)])
    assert result.stderr.splitlines() == [
        f"error: {config}: alerts.rules[1].sigmas: expected a finite number, got 'three'"
    ]


def test_monitor_run_with_a_bad_cooldown_fails_in_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"cooldown": "soon"})
    assert "'soon'" in cli_error("monitor", "run", "--config", str(config))

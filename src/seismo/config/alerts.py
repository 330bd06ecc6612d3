"""The ``alerts:`` section of seismo.yaml: rules, cooldown, links, sinks and retries.

The models check what the user wrote; :meth:`AlertsSection.build` turns them into the
:class:`~seismo.alerts.AlertConfig` that alerting runs on (rules, built sinks).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from seismo.alerts import AlertConfig, Delivery
from seismo.alerts.model import Severity
from seismo.alerts.rules import DIRECTIONS, KINDS, Rule, default_rules
from seismo.alerts.series import SERIES
from seismo.config.errors import input_error
from seismo.config.sinks import Sinks
from seismo.config.types import ConfigModel, Duration, OneOf, Text, problem
from seismo.errors import InputError

_RULE_DEFAULTS: dict[str, Any] = {
    field.name: field.default
    for field in dataclasses.fields(Rule)
    if field.default is not dataclasses.MISSING
}


SEVERITIES = tuple(severity.value for severity in Severity)


def _default(name: str, description: str) -> Any:
    """A rule field with :class:`~seismo.alerts.rules.Rule`'s own default."""
    return Field(default=_RULE_DEFAULTS[name], description=description)


def _one_or_many(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise problem(f"expected a model name or a list of them, got {value!r}")
    return value


ModelNames = Annotated[
    list[str],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


class RuleEntry(ConfigModel):
    """One alert rule (see :mod:`seismo.alerts.rules` for what each field does)."""

    name: Text = Field(description="the rule's name, unique among the rules")
    series: Annotated[str, OneOf(SERIES, "series")] = Field(
        description="the series it watches, e.g. series: performance.f1"
    )
    kind: Annotated[str, OneOf(KINDS, "kind")] = _default(
        "kind", "static (a threshold), sigma, ewma or seasonal (adaptive baselines)"
    )
    direction: Annotated[str, OneOf(("", *DIRECTIONS), "direction")] = _default(
        "direction", "the side that is a problem (default: the series' bad side)"
    )
    threshold: float | None = _default(
        "threshold", "the bound of a static rule; a floor the value must also cross otherwise"
    )
    sigmas: float = _default("sigmas", "deviations from the baseline that count as a crossing")
    history: int = _default("history", "windows in the baseline")
    min_history: int = _default("min_history", "windows needed before the rule decides")
    alpha: float = _default("alpha", "weight of the newest window (ewma)")
    season: int = _default("season", "windows per cycle (seasonal)")
    tolerance: float = _default("tolerance", "smallest deviation, as a share of the baseline")
    min_spread: float = _default("min_spread", "smallest deviation, absolute")
    min_rows: int = _default("min_rows", "windows with fewer rows (labelled rows) decide nothing")
    for_windows: int = _default("for_windows", "crossings in a row before it fires")
    interval: bool = _default("interval", "decide performance on its confidence interval")
    engine: bool = _default("engine", "drift.psi: also require the drift engine's decision")
    severity: Annotated[str, OneOf(SEVERITIES, "severity", lower=True)] = _default(
        "severity", "info, warning or critical"
    )
    models: ModelNames = Field(
        default_factory=list, description="a model name or a list of them (default: every model)"
    )
    segments: bool = _default("segments", "also decide per value of the segment columns")
    description: str = _default("description", "shown in notifications")

    @model_validator(mode="after")
    def _sound(self) -> RuleEntry:
        try:
            self.rule()
        except InputError as error:  # a combination of fields that does not work
            raise problem(str(error)) from None
        return self

    def rule(self) -> Rule:
        values = {name: getattr(self, name) for name in type(self).model_fields}
        return Rule(**{**values, "severity": Severity(self.severity), "models": tuple(self.models)})


def _unique_rule_names(rules: list[RuleEntry]) -> list[RuleEntry]:
    names = [rule.name for rule in rules]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise problem(f"rule names must be unique; repeated: {repeated}")
    return rules


#: The ``rules:`` list; names are unique.
Rules = Annotated[list[RuleEntry], AfterValidator(_unique_rule_names)]


class DeliverySection(ConfigModel):
    """Retries of each notification to each sink (exponential backoff with jitter)."""

    attempts: int = Field(default=5, ge=1, description="attempts per notification and sink")
    backoff: float = Field(default=0.5, ge=0, description="seconds before the first retry")
    max_backoff: float = Field(default=30.0, ge=0, description="the longest wait between attempts")

    def build(self) -> Delivery:
        return Delivery(self.attempts, self.backoff, self.max_backoff)


class AlertsSection(ConfigModel):
    """Rules decided after each monitor run, and where their notifications go."""

    rules: Rules | None = Field(
        default=None,
        description="rules replacing the default ones (absent: the defaults; []: no alerts)",
    )
    default_rules: bool = Field(
        default=False,
        description="keep the default rules beside these (a same-named rule replaces one)",
    )
    cooldown: Duration = Field(
        default=timedelta(hours=1), description="a reopened alert is not notified again within this"
    )
    base_url: str | None = Field(
        default=None, description="where the service is reachable, for links in notifications"
    )
    sinks: Sinks = Field(default_factory=list, description="where notifications go")
    delivery: DeliverySection = Field(
        default_factory=DeliverySection, description="retries of each notification and sink"
    )

    def build(self) -> AlertConfig:
        """The rules (with the defaults where asked), the sinks built, the retries."""
        rules: tuple[Rule, ...] = tuple(default_rules())
        if self.rules is not None:
            configured = tuple(entry.rule() for entry in self.rules)
            names = {rule.name for rule in configured}
            kept = tuple(rule for rule in default_rules() if rule.name not in names)
            rules = (kept if self.default_rules else ()) + configured
        return AlertConfig(
            rules=rules,
            cooldown=self.cooldown,
            base_url=self.base_url,
            sinks=tuple(entry.build() for entry in self.sinks),
            delivery=self.delivery.build(),
        )


def alerts_config(section: Any, source: str = "config") -> AlertConfig:
    """The ``alerts:`` section as alerting runs it: rules (replacing the defaults, unless
    ``default_rules: true``), cooldown, base_url, the sinks built, delivery retries.

    ``section`` is a checked :class:`AlertsSection` (``SeismoConfig.alerts``) or the raw
    mapping (None: the defaults), whose errors name ``source`` and the path.
    """
    if isinstance(section, AlertsSection):
        return section.build()
    try:
        checked = AlertsSection.model_validate({} if section is None else section)
    except ValidationError as error:
        raise input_error(error, source, AlertsSection, prefix="alerts") from None
    return checked.build()


def rules_from_config(
    entries: Any, source: str = "config", *, path: str = "rules"
) -> tuple[Rule, ...]:
    """Rules from a YAML list of mappings (the fields of :class:`Rule`; see
    :class:`RuleEntry`). Errors name ``source`` and the entry's ``path`` (``alerts.rules`` in
    seismo.yaml)."""
    try:
        checked = TypeAdapter(Rules).validate_python(entries)
    except ValidationError as error:
        raise input_error(error, source, Rules, prefix=path) from None
    return tuple(entry.rule() for entry in checked)

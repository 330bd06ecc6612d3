"""seismo.yaml, the configuration of ``seismo serve`` and ``seismo monitor run``, as one typed
model (pydantic): :class:`SeismoConfig` and its sections.

Every key is optional. Unknown keys and values of the wrong type are refused (a port is a
whole number: not ``8000.5``, ``"80"`` or ``true``), and every problem is reported in one
line that names the file and the path: ``seismo.yaml: alerts.sinks[2].port: expected a whole
number, got 'abc'``. ``seismo config check FILE`` checks a file; ``seismo config schema``
prints the JSON Schema for editors.

>>> config = SeismoConfig.from_dict({"port": 9000, "monitor": {"window": "1h"}})
>>> config.port, config.monitor.window, len(config.alerts.build().rules)
(9000, datetime.timedelta(seconds=3600), 6)
>>> SeismoConfig.from_dict({"port": 8000.5, "monitor": {"windw": "1h"}}, source="seismo.yaml")
Traceback (most recent call last):
...
seismo.errors.InputError: seismo.yaml: port: expected a whole number, got 8000.5; monitor.windw:
unknown key (did you mean window?); valid keys here: window, segments, rolling, every, ...
"""

from seismo.config.alerts import (
    AlertsSection,
    DeliverySection,
    RuleEntry,
    alerts_config,
    rules_from_config,
)
from seismo.config.errors import input_error
from seismo.config.model import (
    DEFAULT_STORE,
    AuthSection,
    MonitorSection,
    SeismoConfig,
    json_schema,
    store_url,
)
from seismo.config.sinks import (
    AlertmanagerEntry,
    EmailEntry,
    PagerDutyEntry,
    SinkEntry,
    SlackEntry,
    WebhookEntry,
    sinks_from_config,
)

__all__ = [
    "DEFAULT_STORE",
    "AlertmanagerEntry",
    "AlertsSection",
    "AuthSection",
    "DeliverySection",
    "EmailEntry",
    "MonitorSection",
    "PagerDutyEntry",
    "RuleEntry",
    "SeismoConfig",
    "SinkEntry",
    "SlackEntry",
    "WebhookEntry",
    "alerts_config",
    "input_error",
    "json_schema",
    "rules_from_config",
    "sinks_from_config",
    "store_url",
]

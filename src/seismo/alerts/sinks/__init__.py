"""Alert sinks: where notifications go (Slack, PagerDuty, a signed webhook, Alertmanager, email).

Build them from configuration with :func:`seismo.config.sinks_from_config`; deliver with
retries through :func:`seismo.alerts.delivery.deliver`.
"""

from seismo.alerts.sinks.alertmanager import AlertmanagerSink
from seismo.alerts.sinks.base import DeliveryError, HttpSink, Sink
from seismo.alerts.sinks.email import EmailSink
from seismo.alerts.sinks.pagerduty import PagerDutySink
from seismo.alerts.sinks.slack import SlackSink
from seismo.alerts.sinks.webhook import WebhookSink, sign, verify_signature

__all__ = [
    "AlertmanagerSink",
    "DeliveryError",
    "EmailSink",
    "HttpSink",
    "PagerDutySink",
    "Sink",
    "SlackSink",
    "WebhookSink",
    "sign",
    "verify_signature",
]

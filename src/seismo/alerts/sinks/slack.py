"""Slack incoming webhook: a Block Kit message per trigger and per resolution.

The message has a ``text`` fallback (shown in notifications and where blocks cannot be) and
``blocks``: a header, a section with the summary and fields (model, segment, severity, window,
value and threshold), the drifted features when the alert names them, and a context line with
the alert id and a link to the drift report. Texts are cut to Block Kit's limits: header 150
characters, section text 3000, at most 10 fields of 2000, at most 10 context elements.

The webhook URL is a secret (anyone holding it can post to the channel): only its scheme and
host are ever shown.
"""

from __future__ import annotations

from typing import Any

from seismo.alerts.model import Notification
from seismo.alerts.sinks import _text
from seismo.alerts.sinks.base import HttpSink, json_bytes, url_secrets

HEADER_LIMIT = 150
SECTION_TEXT_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
FALLBACK_TEXT_LIMIT = 3000

FIRING_EMOJI = ":rotating_light:"
RESOLVED_EMOJI = ":white_check_mark:"


def escape(text: str) -> str:
    """Slack mrkdwn: ``&``, ``<`` and ``>`` are control characters and must be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _text.truncate(text, limit)}


def _field(label: str, value: str) -> dict[str, str]:
    return _mrkdwn(f"*{label}*\n{escape(value)}", FIELD_LIMIT)


def slack_message(notification: Notification) -> dict[str, Any]:
    """The webhook body for one notification: ``{"text": ..., "blocks": [...]}``."""
    alert = notification.alert
    resolved = notification.event == "resolve"
    emoji = RESOLVED_EMOJI if resolved else FIRING_EMOJI
    header = _text.one_line(
        f"{emoji} {_text.event_word(notification)}: {alert.rule} on {alert.model}"
    )
    summary = _text.one_line(alert.summary)

    fields = [
        _field("Model", _text.model_text(alert)),
        _field("Segment", _text.segment_text(alert)),
        _field("Severity", alert.severity.value),
        _field("Window", _text.window_text(alert)),
    ]
    value = _text.value_text(alert.values)
    if value is not None:
        fields.append(_field("Value", value))
    fields.append(_field("Started", _text.when(alert.started_at)))
    if resolved and alert.resolved_at is not None:
        fields.append(_field("Resolved", _text.when(alert.resolved_at)))

    section_text = f"*{escape(summary)}*"
    if alert.description.strip():
        section_text += "\n" + escape(alert.description.strip())
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _text.truncate(header, HEADER_LIMIT),
                "emoji": True,
            },
        },
        {
            "type": "section",
            "text": _mrkdwn(section_text, SECTION_TEXT_LIMIT),
            "fields": fields[:MAX_FIELDS],
        },
    ]
    features = _text.feature_names(alert.values)
    if features:
        label = f"*Drifted features ({len(features)}):* "
        names = [f"`{escape(name)}`" for name in features]
        listing = _text.listing(names, SECTION_TEXT_LIMIT - len(label))
        blocks.append({"type": "section", "text": _mrkdwn(label + listing, SECTION_TEXT_LIMIT)})
    context = [_mrkdwn(f"seismo alert `{escape(alert.id)}`", SECTION_TEXT_LIMIT)]
    if alert.url:
        link = alert.url.replace(">", "%3E").replace("|", "%7C")
        context.append(_mrkdwn(f"<{link}|Open the drift report>", SECTION_TEXT_LIMIT))
    blocks.append({"type": "context", "elements": context})

    fallback = f"[seismo] {_text.title(notification)}: {summary}"
    if alert.url:
        fallback += f" {alert.url}"
    return {"text": _text.truncate(fallback, FALLBACK_TEXT_LIMIT), "blocks": blocks}


class SlackSink(HttpSink):
    """Posts to a Slack incoming webhook (``https://hooks.slack.com/services/...``)."""

    kind = "slack"

    def __init__(self, name: str, url: str, *, timeout: float = 10.0) -> None:
        super().__init__(name, url, timeout=timeout, secrets=url_secrets(url))

    def send(self, notification: Notification) -> None:
        self.post(self.url, json_bytes(slack_message(notification)))

"""Email over SMTP: a plain-text message (with an HTML alternative) per trigger and resolve.

Subject: ``[seismo] FIRING critical psi_drift churn v3 [country=FR]: <summary>``. The trigger's
``Message-ID`` is derived from the alert id and its start, and the resolve refers to it
(``In-Reply-To``), so mail clients show the two in one thread.

Connection: ``ssl`` (SMTPS, usually port 465) or ``starttls`` (upgrade a plain connection,
usually port 587; the default) or neither (a local relay on port 25). Certificates are checked.
Retryable: connection errors, timeouts, disconnects and 4xx SMTP replies; not retryable: 5xx
replies (a refused login or recipient), a server without STARTTLS when it was asked for, a
certificate that does not verify. The password is a secret.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from seismo.alerts.model import Notification
from seismo.alerts.sinks import _text
from seismo.alerts.sinks.base import Sink, utc

log = logging.getLogger("seismo.alerts")

SUBJECT_LIMIT = 200


def subject(notification: Notification) -> str:
    """``[seismo] FIRING critical psi_drift churn v3 [country=FR]: summary``, on one line."""
    text = f"[seismo] {_text.title(notification)}: {_text.one_line(notification.alert.summary)}"
    return _text.truncate(text, SUBJECT_LIMIT)


def _rows(notification: Notification) -> list[tuple[str, str]]:
    alert = notification.alert
    rows = [
        ("Rule", alert.rule),
        ("Model", _text.model_text(alert)),
        ("Segment", _text.segment_text(alert)),
        ("Severity", alert.severity.value),
        ("Window", _text.window_text(alert)),
    ]
    value = _text.value_text(alert.values)
    if value is not None:
        rows.append(("Value", value))
    rows.append(("Started", _text.when(alert.started_at)))
    if notification.event == "resolve" and alert.resolved_at is not None:
        rows.append(("Resolved", _text.when(alert.resolved_at)))
    features = _text.feature_names(alert.values)
    if features:
        rows.append(("Drifted features", ", ".join(features)))
    if alert.url:
        rows.append(("Report", alert.url))
    rows.append(("Alert id", alert.id))
    return rows


def plain_body(notification: Notification) -> str:
    alert = notification.alert
    width = max(len(label) for label, _ in _rows(notification)) + 2
    lines = [f"{_text.event_word(notification)}: {_text.one_line(alert.summary)}", ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in _rows(notification)]
    if alert.description.strip():
        lines += ["", alert.description.strip()]
    return "\n".join(lines) + "\n"


def html_body(notification: Notification) -> str:
    alert = notification.alert
    colour = "#1a7f37" if notification.event == "resolve" else "#cf222e"
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>"
        + (
            f"<a href='{html.escape(value)}'>{html.escape(value)}</a>"
            if label == "Report"
            else html.escape(value)
        )
        + "</td></tr>"
        for label, value in _rows(notification)
    )
    description = html.escape(alert.description.strip()).replace("\n", "<br>")
    return (
        "<html><body>"
        f"<h2 style='color:{colour}'>{html.escape(_text.event_word(notification))}: "
        f"{html.escape(_text.one_line(alert.summary))}</h2>"
        f"<table cellpadding='4'>{rows}</table>"
        + (f"<p>{description}</p>" if description else "")
        + "</body></html>"
    )


def _thread_id(notification: Notification) -> str:
    alert = notification.alert
    started = int(utc(alert.started_at).timestamp())
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in alert.id)
    return f"<{safe_id}.{started}@seismo>"


def email_message(
    notification: Notification,
    *,
    sender: str,
    recipients: Sequence[str],
    now: datetime,
    with_html: bool = True,
) -> EmailMessage:
    """The message for one notification, ready for ``smtplib.SMTP.send_message``."""
    message = EmailMessage()
    message["Subject"] = subject(notification)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(utc(now))
    thread = _thread_id(notification)
    if notification.event == "trigger":
        message["Message-ID"] = thread
    else:
        message["Message-ID"] = make_msgid(domain="seismo")
        message["In-Reply-To"] = thread
        message["References"] = thread
    message.set_content(plain_body(notification))
    if with_html:
        message.add_alternative(html_body(notification), subtype="html")
    return message


class EmailSink(Sink):
    """Sends each notification to ``recipients`` through the SMTP server at ``host:port``."""

    kind = "email"

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        use_ssl: bool = False,
        html: bool = True,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if starttls and use_ssl:
            raise ValueError("choose ssl or starttls, not both")
        super().__init__(name, secrets=(password or "",))
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = tuple(recipients)
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.html = html
        self.timeout = timeout
        self.ssl_context = ssl_context

    @property
    def target(self) -> str:
        scheme = "smtps" if self.use_ssl else "smtp"
        return f"{scheme}://{self.host}:{self.port}"

    def send(self, notification: Notification) -> None:
        message = email_message(
            notification,
            sender=self.sender,
            recipients=self.recipients,
            now=datetime.now().astimezone(),
            with_html=self.html,
        )
        try:
            refused = self._send(message)
        except smtplib.SMTPNotSupportedError as error:
            hint = " (set starttls: false for this server)" if "STARTTLS" in str(error) else ""
            raise self.error(f"{error}{hint}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            refusals = "; ".join(
                f"{recipient}: {code} {_decode(reply)}"
                for recipient, (code, reply) in error.recipients.items()
            )
            raise self.error(
                f"all recipients refused ({refusals})",
                retryable=all(400 <= code < 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as error:
            reason = f"{type(error).__name__}: {error.smtp_code} {_decode(error.smtp_error)}"
            raise self.error(reason, retryable=400 <= error.smtp_code < 500) from None
        except ssl.SSLCertVerificationError as error:
            reason = f"TLS certificate not trusted: {error.verify_message}"
            raise self.error(reason, retryable=False) from None
        except (smtplib.SMTPException, OSError) as error:
            raise self.error(f"{type(error).__name__}: {error}", retryable=True) from None
        if refused:
            log.warning(
                "%s",
                self.redact(
                    f"email sink {self.name!r}: alert {notification.alert.id} not delivered to "
                    f"{sorted(refused)} (the others got it)"
                ),
            )

    def _send(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        context = self.ssl_context or ssl.create_default_context()
        client: smtplib.SMTP
        if self.use_ssl:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.starttls:
                client.starttls(context=context)
            if self.username is not None:
                client.login(self.username, self.password or "")
            return client.send_message(message, self.sender, list(self.recipients))


def _decode(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())

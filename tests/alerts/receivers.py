"""Real receivers on 127.0.0.1 for the sink tests: an HTTP server and an SMTP server that record
what they get and can be told to fail first; plus an alert to send."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from seismo.alerts.model import Alert, AlertState, Notification, Severity
from tests.external import free_port


def make_alert(**changes: Any) -> Alert:
    alert = Alert(
        id="churn.psi_drift.country-FR",
        rule="psi_drift",
        model="churn",
        version=3,
        segment="country=FR",
        severity=Severity.CRITICAL,
        state=AlertState.FIRING,
        summary="PSI 0.31 on 2 features of churn v3 (country=FR)",
        description="Population stability index above 0.2 for age and plan.\nSample: 4100 rows.",
        window_start=datetime(2026, 5, 4, tzinfo=UTC),
        window_end=datetime(2026, 5, 5, tzinfo=UTC),
        started_at=datetime(2026, 5, 5, 0, 5, tzinfo=UTC),
        labels={"model": "churn", "series": "psi", "feature-group": "demographics"},
        values={"value": 0.3141, "threshold": 0.2, "rows": 4100, "features": ["age", "plan"]},
        url="http://seismo.test/models/churn/reports/2026-05-04?segment=country%3DFR",
    )
    return replace(alert, **changes)


def trigger(**changes: Any) -> Notification:
    return Notification(make_alert(**changes), "trigger")


def resolve(**changes: Any) -> Notification:
    changes.setdefault("state", AlertState.RESOLVED)
    changes.setdefault("resolved_at", datetime(2026, 5, 6, 0, 5, tzinfo=UTC))
    return Notification(make_alert(**changes), "resolve")


class Waits(list[float]):
    """An injected ``sleep`` that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- HTTP ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    echo: bool = False  # append the request's path, headers and body, as error pages may


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout tests) breaks the pipe: expected


class HttpReceiver:
    """Records every request; answers with the scripted replies first, then ``default``."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.replies: deque[Reply] = deque()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver.requests.append(Received("POST", self.path, headers, body))
                    reply = receiver.replies.popleft() if receiver.replies else receiver.default
                if reply.delay:
                    time.sleep(reply.delay)
                answer = reply.body
                if reply.echo:
                    answer += f" {self.path} {headers}".encode() + body
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def fail(self, times: int, status: int = 500, **reply: Any) -> None:
        """Answer the next ``times`` requests with ``status``."""
        self.replies.extend(Reply(status=status, **reply) for _ in range(times))

    def __enter__(self) -> HttpReceiver:
        self._thread.start()  # the socket is listening already: no need to wait
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- SMTP ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1; ``replies`` are answered to DATA first (e.g. ``451 ...``).
    With ``password`` set, AUTH is offered (without TLS) and checked."""

    def __init__(self, *, username: str | None = None, password: str | None = None) -> None:
        self.mails: list[Mail] = []
        self.replies: deque[str] = deque()
        self.username = username
        self.password = password
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if password is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.replies:
            return self.replies.popleft()
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message, login))
        return "250 OK"

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()  # returns once the server answers
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()

"""`seismo.Client`: log predictions from your own service to a seismo server.

Rows are buffered and sent in batches by a background thread; failed sends (connection errors,
timeouts, and the answers of :data:`seismo.retry.RETRYABLE_STATUS`) are retried with
exponential backoff. Ids are made on the client,
so a retried batch that the server had in fact stored is answered 409 (duplicate) and counted as
delivered: batches are all-or-nothing on the server, so nothing is lost or stored twice.

A server with tokens needs one of scope ``ingest``: ``Client(..., token=...)``, or the
``SEISMO_TOKEN`` environment variable. A refused token (401, 403) is not retried.

>>> client = Client("http://127.0.0.1:8000", "churn", start=False)
>>> prediction_id = client.log({"age": 41, "plan": "pro"}, output="stay", score=0.18)
>>> len(prediction_id), client.pending
(32, 1)
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from seismo.ids import new_id
from seismo.retry import backoff_delay, retryable_status

log = logging.getLogger("seismo.client")


class DeliveryError(Exception):
    """The server refused a batch for good (a 4xx other than 409): the message says why."""


class Client:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 1.0,
        max_retries: int = 8,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        timeout: float = 10.0,
        token: str | None = None,
        on_error: Callable[[DeliveryError], None] | None = None,
        start: bool = True,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.on_error = on_error
        self.delivered = 0
        self.failed: list[DeliveryError] = []
        token = token if token is not None else os.environ.get("SEISMO_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers)
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._sending = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        if start:
            self._thread = threading.Thread(target=self._run, name="seismo-client", daemon=True)
            self._thread.start()

    # -- public ------------------------------------------------------------------------------
    def log(
        self,
        features: Mapping[str, Any],
        output: Any,
        *,
        score: float | Sequence[float] | None = None,
        prediction_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> str:
        """Queue one prediction; returns its id (use it to send the label later)."""
        prediction_id = prediction_id or new_id()
        row: dict[str, Any] = {
            "id": prediction_id,
            "features": dict(features),
            "output": output,
            "timestamp": (timestamp or datetime.now(UTC)).isoformat(),
        }
        if score is not None:
            row["score"] = list(score) if isinstance(score, Sequence) else score
        with self._lock:
            if self._closed:
                raise RuntimeError("the client is closed")
            self._buffer.append(row)
            if len(self._buffer) >= self.batch_size:
                self._wake.set()
        return prediction_id

    def log_labels(self, labels: Mapping[str, Any]) -> dict[str, Any]:
        """Send labels now ({prediction_id: label}); returns the server's outcome."""
        body = [{"prediction_id": key, "label": value} for key, value in labels.items()]
        response = self._send(f"/v1/models/{self.model}/labels", body)
        return dict(response.json())

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer) + self._sending

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued so far was delivered (or failed for good)."""
        if self._thread is None:
            self._drain()
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            self._wake.set()
            while self._buffer or self._sending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"{self.pending} predictions not delivered yet")
                self._idle.wait(remaining if remaining is not None else 0.5)
                self._wake.set()

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            self._drain()
            with self._lock:
                if self._closed and not self._buffer:
                    return

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch, self._buffer = (
                    self._buffer[: self.batch_size],
                    self._buffer[self.batch_size :],
                )
                self._sending = len(batch)
            if not batch:
                with self._idle:
                    self._idle.notify_all()
                return
            try:
                self._send(f"/v1/models/{self.model}/predictions", batch, duplicates_ok=True)
                self.delivered += len(batch)
            except DeliveryError as error:
                self.failed.append(error)
                log.error("seismo: %s", error)
                if self.on_error is not None:
                    self.on_error(error)
            finally:
                with self._idle:
                    self._sending = 0
                    self._idle.notify_all()

    def _send(self, path: str, body: Any, *, duplicates_ok: bool = False) -> httpx.Response:
        attempt = 0
        uncertain = False  # an earlier attempt may have been stored
        while True:
            try:
                response = self._http.post(path, json=body)
            except httpx.TransportError as error:
                uncertain = uncertain or not isinstance(error, httpx.ConnectError)
                reason = f"{type(error).__name__}: {error}"
            else:
                if response.status_code < 400:
                    return response
                if response.status_code == 409 and duplicates_ok and uncertain:
                    return response  # the earlier attempt was stored
                if not retryable_status(response.status_code):
                    raise DeliveryError(f"{path}: {response.status_code} {response.text[:500]}")
                uncertain = uncertain or response.status_code >= 500
                reason = f"HTTP {response.status_code}"
            attempt += 1
            if attempt > self.max_retries:
                raise DeliveryError(f"{path}: gave up after {attempt} attempts ({reason})")
            time.sleep(backoff_delay(attempt, base=self.backoff, cap=self.max_backoff))

"""The service's state, built once per application start, and the wiring the monitor and
alerting share with every other scheduler (``seismo monitor run``, Airflow)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from seismo.alerts import Alerting
from seismo.config import SeismoConfig, alerts_config
from seismo.monitor import Monitor, WindowHistory
from seismo.monitor.history import Window
from seismo.service.auth import Authenticator
from seismo.service.errors import RequestError
from seismo.service.models import HostedModel
from seismo.store import GroupCommitWriter, Store

MODEL_REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class Monitoring:
    """The write side (monitor), the read side (history) and alerting over one store."""

    monitor: Monitor
    history: WindowHistory
    alerting: Alerting


def monitoring(store: Store, settings: SeismoConfig, source: str) -> Monitoring:
    """Store -> monitor -> history -> alerting, as every scheduler runs them (the one place
    they are put together)."""
    from seismo.service.config import monitor_config

    monitor_settings, _ = monitor_config(settings.monitor)
    history = WindowHistory(store, monitor_settings.window)
    return Monitoring(
        Monitor(store, monitor_settings),
        history,
        Alerting(history, alerts_config(settings.alerts, source), explain=explain),
    )


def explain(window: Window) -> dict[str, Any]:
    """The diagnosis of a window an alert fires on (its cause, action and findings)."""
    from seismo.loop.diagnosis import diagnose_profiles

    return diagnose_profiles(window.reference(), window.state.profile, window.report).to_dict()


@dataclass
class ServiceMetrics:
    """Operational metrics of the service, on an injectable registry."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.rows = Counter(
            "seismo_ingested_rows",
            "Prediction rows logged durably",
            ["model", "endpoint"],
            registry=self.registry,
        )
        self.labels = Counter(
            "seismo_labels",
            "Labels received, by outcome",
            ["model", "outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "seismo_rejected_requests",
            "Requests answered with a 4xx error",
            ["code"],
            registry=self.registry,
        )
        self.monitor_errors = Counter(
            "seismo_monitor_errors",
            "Windows the service's monitor runs could not build (recorded; retried every run)",
            ["model"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "seismo_request_seconds",
            "Request latency",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )


class Models:
    """Latest version of each model, loaded once and refreshed when a new version appears."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, HostedModel]] = {}

    def get(self, name: str) -> HostedModel:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None and now - cached[0] < MODEL_REFRESH_SECONDS:
            return cached[1]
        version = self._store.get_model_version(name)
        if version is None:
            known = sorted({v.model for v in self._store.list_model_versions()})
            raise RequestError(
                404, "unknown_model", f"no model named {name!r}; registered models: {known}"
            )
        if cached is not None and cached[1].version.version == version.version:
            hosted = cached[1]
        else:
            hosted = HostedModel.load(version)
        self._cache[name] = (now, hosted)
        return hosted


@dataclass
class ServiceState:
    """Everything a route needs, typed: one per running application."""

    settings: SeismoConfig
    source: str  # the settings' file, named in configuration errors
    store: Store
    models: Models
    writer: GroupCommitWriter
    monitor: Monitor
    history: WindowHistory
    alerting: Alerting
    auth: Authenticator
    metrics: ServiceMetrics

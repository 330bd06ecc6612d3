"""The service's state, built once per application start, and the wiring the monitor and
alerting share with every other scheduler (``seismo monitor run``, Airflow)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from seismo.alerts import Alerting
from seismo.config import SeismoConfig, alerts_config
from seismo.errors import InputError
from seismo.loop.models import HostedModel
from seismo.loop.registry import serving
from seismo.monitor import Monitor, WindowHistory
from seismo.monitor.history import Window
from seismo.service.auth import Authenticator
from seismo.service.errors import RequestError
from seismo.store import GroupCommitWriter, Rollout, Store

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
        self.shadow_errors = Counter(
            "seismo_shadow_errors",
            "Requests a shadow version failed to score (the champion still answered)",
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


@dataclass(frozen=True)
class Serving:
    """What answers a model's ``:predict``: the champion, and a canary or shadow beside it."""

    rollout: Rollout
    champion: HostedModel
    challenger: HostedModel | None = None


class Models:
    """The serving versions of each model, loaded once and refreshed (at most every
    ``MODEL_REFRESH_SECONDS``) when a registration, promotion or rollout changes them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, tuple[float, Serving]] = {}

    def get(self, name: str) -> HostedModel:
        """The champion: what labels, logged predictions and model info are checked against."""
        return self.serving(name).champion

    def forget(self, name: str) -> None:
        """Reload ``name`` on its next request (after a promotion or rollout here)."""
        self._cache.pop(name, None)

    def serving(self, name: str) -> Serving:
        now = time.monotonic()
        cached = self._cache.get(name)
        if cached is not None and now - cached[0] < MODEL_REFRESH_SECONDS:
            return cached[1]
        try:
            rollout = serving(self._store, name)
        except InputError:
            known = sorted({v.model for v in self._store.list_model_versions()})
            raise RequestError(
                404, "unknown_model", f"no model named {name!r}; registered models: {known}"
            ) from None
        loaded = (
            {}
            if cached is None
            else {
                hosted.version.version: hosted
                for hosted in (cached[1].champion, cached[1].challenger)
                if hosted is not None
            }
        )

        def load(number: int) -> HostedModel:
            if number in loaded:
                return loaded[number]
            version = self._store.get_model_version(name, number)
            if version is None:
                raise RequestError(
                    503, "model_unavailable", f"model {name!r} version {number} is not registered"
                )
            return HostedModel.load(version)

        current = Serving(
            rollout,
            load(rollout.champion),
            None if rollout.challenger is None else load(rollout.challenger),
        )
        self._cache[name] = (now, current)
        return current


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

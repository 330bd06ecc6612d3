"""Service settings: seismo.yaml as the typed model of :mod:`seismo.config`.

``ServiceSettings`` is :class:`seismo.config.SeismoConfig` (``ServiceSettings.from_file(path)``,
``ServiceSettings(store=..., monitor={...})``); :func:`monitor_config` and
:func:`seismo.config.alerts_config` turn its sections into what the monitor and alerting run on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from seismo.config import DEFAULT_STORE, MonitorSection, SeismoConfig

if TYPE_CHECKING:
    from seismo.monitor import MonitorSettings

__all__ = ["DEFAULT_STORE", "ServiceSettings", "monitor_config"]

ServiceSettings = SeismoConfig


def monitor_config(section: MonitorSection | Mapping[str, Any]) -> tuple[MonitorSettings, float]:
    """The ``monitor:`` section as the monitor runs it, and how often the service runs it
    (seconds; 0: only on demand)."""
    if not isinstance(section, MonitorSection):
        section = SeismoConfig.from_dict({"monitor": section}).monitor
    every = section.every.total_seconds() if section.every is not None else 0.0
    return section.settings(), every

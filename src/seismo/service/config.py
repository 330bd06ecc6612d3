"""Service settings, from a YAML file and/or keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from seismo.errors import InputError

DEFAULT_STORE = "sqlite:///seismo-data/seismo.db"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Everything ``seismo serve`` reads from its YAML config file (all keys optional).

    store: SQLAlchemy URL of the store (default: a SQLite file under ./seismo-data).
    models_dir: where registered model files are kept.
    host, port: where to listen.
    log_predictions: log every prediction durably before answering (turn off only to measure
        what logging costs).
    max_body_bytes: larger request bodies are refused with 413.
    max_batch_rows: larger batches are refused with 413.
    group_commit_delay: seconds the writer waits to gather concurrent writes into one commit.
    monitor: the monitor's windows, segments and schedule (see :func:`monitor_config`).
    alerts: rules, sinks, cooldown (see :func:`seismo.alerts.alerts_config`).
    """

    store: str = DEFAULT_STORE
    models_dir: str = "seismo-data/models"
    host: str = "127.0.0.1"
    port: int = 8000
    log_predictions: bool = True
    max_body_bytes: int = 16 << 20
    max_batch_rows: int = 10_000
    group_commit_delay: float = 0.002
    monitor: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] | None = None

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> ServiceSettings:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise InputError(f"{path}: config file not found") from None
        except yaml.YAMLError as error:
            raise InputError(f"{path}: invalid YAML: {error}") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a mapping of settings")
        return cls.from_dict(
            {**data, **{k: v for k, v in overrides.items() if v is not None}}, source=str(path)
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> ServiceSettings:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(
                f"{source}: unknown setting(s) {unknown}; valid settings are {sorted(known)}"
            )
        values: dict[str, Any] = {}
        for name, value in data.items():
            expected = known[name].type
            if expected in ("int", "float") and not isinstance(value, int | float):
                raise InputError(f"{source}: {name} must be a number, got {value!r}")
            if expected == "bool" and not isinstance(value, bool):
                raise InputError(f"{source}: {name} must be true or false, got {value!r}")
            values[name] = value
        return cls(**values)


MONITOR_KEYS = ("window", "segments", "rolling", "every")


def monitor_config(data: dict[str, Any]) -> tuple[Any, float]:
    """The ``monitor:`` section: window ('1h', '1d'), segments (feature names), rolling
    (windows), every (how often the service runs the monitor: '5m'; absent = only on demand)."""
    from seismo.monitor import MonitorSettings, parse_duration

    unknown = sorted(set(data) - set(MONITOR_KEYS))
    if unknown:
        raise InputError(f"monitor: unknown key(s) {unknown}; valid keys are {list(MONITOR_KEYS)}")
    segments = data.get("segments", [])
    if isinstance(segments, str) or not all(isinstance(s, str) for s in segments):
        raise InputError("monitor.segments: a list of feature names")
    rolling = data.get("rolling", 7)
    if not isinstance(rolling, int) or rolling < 1:
        raise InputError("monitor.rolling: a positive number of windows")
    settings = MonitorSettings(
        window=parse_duration(data.get("window", "1d")),
        segments=tuple(segments),
        rolling=rolling,
    )
    every = parse_duration(data["every"]).total_seconds() if data.get("every") else 0.0
    return settings, every

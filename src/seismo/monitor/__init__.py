"""The windowed monitor: watermarks, per-window summaries, label joins, metric series."""

from seismo.monitor.job import Monitor, MonitorSettings, RunReport
from seismo.monitor.windows import WindowState, parse_duration, window_start

__all__ = [
    "Monitor",
    "MonitorSettings",
    "RunReport",
    "WindowState",
    "parse_duration",
    "window_start",
]

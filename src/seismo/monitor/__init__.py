"""The windowed monitor: watermarks, per-window summaries, label joins (write side); one
WindowHistory that the API, the report page, /metrics and alerts read (read side)."""

from seismo.monitor.history import Window, WindowHistory
from seismo.monitor.job import Monitor, MonitorSettings, RunReport
from seismo.monitor.windows import WindowState, parse_duration, window_start

__all__ = [
    "Monitor",
    "MonitorSettings",
    "RunReport",
    "Window",
    "WindowHistory",
    "WindowState",
    "parse_duration",
    "window_start",
]

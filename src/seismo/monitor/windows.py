"""Window summaries: what the monitor keeps per model version, time window and segment.

A window's summary holds the feature profile (on the reference's grids), the performance
statistics of its labelled rows, and label counts. Summaries merge, so a rolling window is the
merge of its windows' summaries and never a rescan of raw rows.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from seismo.errors import InputError
from seismo.performance import ClassificationSummary, RegressionSummary
from seismo.profile.dataset import DatasetProfile

PAYLOAD_VERSION = 1
Performance = ClassificationSummary | RegressionSummary
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_duration(text: str) -> timedelta:
    """'15m', '1h', '6h', '1d', '7d' -> timedelta.

    >>> parse_duration("6h")
    datetime.timedelta(seconds=21600)
    """
    units = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
    text = str(text).strip().lower()
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise InputError(f"window {text!r}: use a whole number and a unit m, h, d or w ('1h')")
    try:
        return timedelta(seconds=int(text[:-1]) * units[text[-1]])
    except OverflowError:
        raise InputError(f"duration {text!r} is too long (at most 999999999 days)") from None


def window_start(timestamp: datetime, window: timedelta) -> datetime:
    """The start of the window holding ``timestamp`` (windows are aligned to the Unix epoch)."""
    seconds = int((timestamp - EPOCH).total_seconds() // window.total_seconds())
    return EPOCH + seconds * window


@dataclass(frozen=True, eq=False)
class WindowState:
    """Decoded payload of one window summary."""

    rows: int
    labelled: int
    label_delay_seconds: float  # summed over labelled rows
    profile: DatasetProfile
    performance: Performance | None

    def merge(self, other: WindowState) -> WindowState:
        performance: Performance | None
        if self.performance is None or other.performance is None:
            performance = self.performance or other.performance
        else:
            performance = self.performance.merge(other.performance)  # type: ignore[arg-type]
        return WindowState(
            self.rows + other.rows,
            self.labelled + other.labelled,
            self.label_delay_seconds + other.label_delay_seconds,
            self.profile.merge(other.profile),
            performance,
        )

    @property
    def label_coverage(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0

    @property
    def mean_label_delay(self) -> float | None:
        return self.label_delay_seconds / self.labelled if self.labelled else None

    def to_bytes(self) -> bytes:
        document: dict[str, Any] = {
            "version": PAYLOAD_VERSION,
            "rows": self.rows,
            "labelled": self.labelled,
            "label_delay_seconds": self.label_delay_seconds,
            "profile": self.profile.to_dict(),
            "performance": None if self.performance is None else self.performance.to_dict(),
        }
        return zlib.compress(json.dumps(document, separators=(",", ":")).encode("utf-8"), 6)

    @classmethod
    def from_bytes(cls, blob: bytes) -> WindowState:
        document = json.loads(zlib.decompress(blob))
        if document.get("version") != PAYLOAD_VERSION:
            raise InputError(
                f"window summary format {document.get('version')} is not the one this seismo "
                f"reads ({PAYLOAD_VERSION}); it was written by another seismo version: run that "
                "version, or upgrade this one if the store was written by a newer release"
            )
        performance_data = document["performance"]
        performance: Performance | None = None
        if performance_data is not None:
            if performance_data.get("type") == "regression":
                performance = RegressionSummary.from_dict(performance_data)
            else:
                performance = ClassificationSummary.from_dict(performance_data)
        return cls(
            int(document["rows"]),
            int(document["labelled"]),
            float(document["label_delay_seconds"]),
            DatasetProfile.from_dict(document["profile"]),
            performance,
        )

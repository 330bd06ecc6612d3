"""When and how long to retry an HTTP call: one policy for the client and the alert sinks.

>>> retryable_status(503), retryable_status(501), retryable_status(404)
(True, False, False)
>>> backoff_delay(3, base=0.5, cap=30.0, jitter=lambda: 1.0)
2.0
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Final

# Answers a later attempt may get past: timeouts, "too early", "too many requests", and the
# server errors that say "not now" (500 included: often a restart). 501 and 505 say "never".
RETRYABLE_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


def retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1, 2, ...): ``base * 2**(attempt-1)``,
    at most ``cap``, scaled by a random factor in [0.5, 1) so that callers failing together
    do not retry in step."""
    return float(min(cap, base * 2 ** (attempt - 1)) * (0.5 + jitter() / 2))

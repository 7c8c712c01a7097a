"""How long to wait before trying again: flush back-off and compare-and-set retries."""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["FAST_RETRIES", "conflict_pause", "flush_backoff"]

MAX_FLUSH_BACKOFF = 60.0

#: Compare-and-set conflicts retried at once before pausing: most conflicts clear
#: on the first retry, and a pause then would only add latency.
FAST_RETRIES = 3
_PAUSE_BASE = 0.0005
_PAUSE_CAP = 0.02


def flush_backoff(delay: float, interval: float) -> float:
    """Back-off after a failed flush: doubling, capped at a minute (or the interval,
    if longer), and never shorter than the interval itself."""
    return min(max(delay * 2, interval), max(MAX_FLUSH_BACKOFF, interval))


def conflict_pause(conflicts: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``conflicts``-th lost compare-and-set: nothing for
    the first few, then "full jitter" (uniform up to a doubling cap of 20 ms), which
    spreads writers from other processes apart instead of retrying in lockstep."""
    if conflicts <= FAST_RETRIES:
        return 0.0
    cap: float = min(_PAUSE_CAP, _PAUSE_BASE * 2.0 ** (conflicts - FAST_RETRIES))
    return rng() * cap

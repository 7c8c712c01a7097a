"""Waiting and mutual exclusion for the sync manager (hand-written; the async
counterpart in ``_async/primitives.py`` uses asyncio)."""

from __future__ import annotations

import threading
import time

__all__ = ["SaveGate", "pause"]

STRIPES = 256


def pause(seconds: float) -> None:
    time.sleep(seconds)


class SaveGate:
    """Lets one thread at a time save a given session, so threads of one process do
    not race each other's compare-and-set; other processes still can, and the
    manager's merge-and-retry handles those. Locks are striped by key."""

    def __init__(self) -> None:
        self._locks = [threading.Lock() for _ in range(STRIPES)]

    def hold(self, key: str) -> threading.Lock:
        """The lock to hold (``with gate.hold(key):``) while saving ``key``."""
        return self._locks[hash(key) % STRIPES]

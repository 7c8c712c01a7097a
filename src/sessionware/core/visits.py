"""``VisitTracker``: the in-memory queue of pending expiry extensions.

Read-only requests do not write. Each visit that should push a session's expiry
forward is queued here, coalesced per store key (the latest expiry wins), and
flushed in bulk with ``store.touch_many`` by the manager's background flusher.
The queue is bounded: past ``max_pending`` the oldest touches are dropped and
counted, so memory cannot grow without limit while a store is down.
"""

from __future__ import annotations

import threading
from itertools import islice

__all__ = ["VisitStats", "VisitTracker"]


class VisitStats:
    """A visit tracker's counters (``tracker.stats``): touches ``queued``, ``flushed``
    to the store and ``dropped`` when the queue was full; ``flushes`` written and
    ``failed_flushes``."""

    __slots__ = ("dropped", "failed_flushes", "flushed", "flushes", "queued")

    def __init__(self) -> None:
        self.queued = 0
        self.flushed = 0
        self.flushes = 0
        self.dropped = 0
        self.failed_flushes = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class VisitTracker:
    """Queue of ``{store key: new expiry}`` waiting to be written.

    ``interval``: seconds between background flushes. ``max_pending``: the bound;
    reaching it wakes the flusher early. Thread-safe; does no I/O itself.
    """

    def __init__(self, interval: float = 5.0, max_pending: int = 100_000) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.interval = interval
        self.max_pending = max_pending
        self.stats = VisitStats()
        self._pending: dict[str, float] = {}
        # Keys saved or deleted while a batch was being written: a failed batch must
        # not bring their (older) touches back, or a later flush would shorten them.
        self._superseded: set[str] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pending)

    def record(self, key: str, expires_at: float) -> bool:
        """Queue a touch. Returns True when the queue is full and wants a flush now."""
        with self._lock:
            pending = self._pending
            if key in pending:
                if expires_at > pending[key]:
                    # Re-insert so dict order stays oldest-first for dropping.
                    del pending[key]
                    pending[key] = expires_at
                return False
            pending[key] = expires_at
            self.stats.queued += 1
            self._drop_oldest(pending)
            return len(pending) >= self.max_pending

    def _drop_oldest(self, pending: dict[str, float]) -> None:
        # islice, not list(pending): this runs on every request while a store is down.
        overflow = len(pending) - self.max_pending
        if overflow > 0:
            for stale in list(islice(pending, overflow)):
                del pending[stale]
            self.stats.dropped += overflow

    def pending_expiry(self, key: str) -> float | None:
        return self._pending.get(key)

    def discard(self, key: str) -> None:
        """Forget a queued touch (the session was saved, regenerated or deleted)."""
        if self._superseded is None and key not in self._pending:
            # Runs after every save: skip the lock when there is nothing to forget. A
            # touch queued right after this check is from an older load; touches
            # never shorten an expiry, so letting it through is harmless.
            return
        with self._lock:
            self._pending.pop(key, None)
            if self._superseded is not None:
                self._superseded.add(key)

    def take_batch(self) -> dict[str, float]:
        """Everything queued, to be written; ``restore`` it if the write fails."""
        with self._lock:
            batch, self._pending = self._pending, {}
            self._superseded = set()
            return batch

    def batch_written(self) -> None:
        with self._lock:
            self._superseded = None

    def restore(self, batch: dict[str, float]) -> None:
        """Put back a batch whose flush failed, keeping newer touches queued since."""
        with self._lock:
            superseded = self._superseded or set()
            self._superseded = None
            merged = {key: value for key, value in batch.items() if key not in superseded}
            for key, expires_at in self._pending.items():
                if expires_at > merged.get(key, 0.0):
                    merged[key] = expires_at
            self._drop_oldest(merged)
            self._pending = merged

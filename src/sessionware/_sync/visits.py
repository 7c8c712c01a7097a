# Generated from src/sessionware/_async/visits.py by scripts/unasync.py. Do not edit.
"""Flushes a ``VisitTracker``'s queued touches to the store in the background."""

from __future__ import annotations

import logging

from .._synchronization import BackgroundLoop
from ..core.events import EventDispatcher
from ..core.visits import VisitTracker
from ..stores.base import Store

__all__ = ["VisitFlusher"]

logger = logging.getLogger("sessionware")


class VisitFlusher:
    """Owns the background loop that writes queued touches with ``touch_many``.

    A failed flush puts its batch back (the tracker keeps it bounded) and the loop
    retries with back-off; requests never wait for it.
    """

    def __init__(self, tracker: VisitTracker, store: Store, events: EventDispatcher) -> None:
        self.tracker = tracker
        self._store = store
        self._events = events
        self._loop = BackgroundLoop(self.flush, tracker.interval, "sessionware-visits")

    @property
    def horizon(self) -> float:
        """Seconds within which a touch queued now will be written, at most: the
        interval, or longer while failed flushes back off."""
        return self._loop.delay

    def queue(self, key: str, expires_at: float) -> None:
        if self.tracker.record(key, expires_at):
            self._loop.wake()
        self._loop.ensure_running()

    def flush(self) -> int:
        """Write every queued touch now; the number of sessions touched."""
        tracker = self.tracker
        batch = tracker.take_batch()
        if not batch:
            return 0
        try:
            self._store.touch_many(batch)
        except BaseException as exc:
            # Cancelled included: the batch must not vanish with an interrupted flush.
            tracker.restore(batch)
            if isinstance(exc, Exception):
                tracker.stats.failed_flushes += 1
                logger.warning("flushing %d visit touches failed: %s", len(batch), exc)
                self._events.emit("on_error", "touch_many", exc)
            raise
        tracker.batch_written()
        tracker.stats.flushes += 1
        tracker.stats.flushed += len(batch)
        return len(batch)

    def close(self) -> None:
        self._loop.stop()

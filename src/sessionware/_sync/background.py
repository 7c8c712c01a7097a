"""A periodic background job in a daemon thread (hand-written; its async
counterpart in ``_async/background.py`` uses an asyncio task)."""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable

__all__ = ["BackgroundLoop"]

logger = logging.getLogger("sessionware")
MAX_BACKOFF = 60.0


class BackgroundLoop:
    """Runs ``work`` every ``interval`` seconds, or sooner when woken; backs off
    (doubling, up to a minute) while ``work`` raises. ``stop`` runs it a last time,
    and so does interpreter exit."""

    def __init__(self, work: Callable[[], object], interval: float, name: str) -> None:
        self._work = work
        self._interval = interval
        self._name = name
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._start_lock = threading.Lock()

    def ensure_running(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._stopping = False
                thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                thread.start()
                self._thread = thread
                atexit.register(self.stop)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        delay = self._interval
        while not self._stopping:
            self._wake.wait(delay)
            self._wake.clear()
            if self._stopping:
                return
            try:
                self._work()
            except Exception:
                delay = min(max(delay * 2, self._interval), MAX_BACKOFF)
            else:
                delay = self._interval

    def stop(self) -> None:
        self._stopping = True
        thread, self._thread = self._thread, None
        if thread is not None:
            atexit.unregister(self.stop)
            self._wake.set()
            thread.join()
        try:
            self._work()
        except Exception:
            logger.warning("%s: final run failed", self._name, exc_info=True)

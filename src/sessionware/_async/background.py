"""A periodic background job on the running event loop (hand-written; its sync
counterpart in ``_sync/background.py`` uses a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["AsyncBackgroundLoop"]

logger = logging.getLogger("sessionware")
MAX_BACKOFF = 60.0


class AsyncBackgroundLoop:
    """Runs ``work`` every ``interval`` seconds, or sooner when woken; backs off
    (doubling, up to a minute) while ``work`` raises. ``stop`` runs it a last time."""

    def __init__(self, work: Callable[[], Awaitable[object]], interval: float, name: str) -> None:
        self._work = work
        self._interval = interval
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        delay = self._interval
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self._work()
            except Exception:
                delay = min(max(delay * 2, self._interval), MAX_BACKOFF)
            else:
                delay = self._interval

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            self.wake()
            await task
        try:
            await self._work()
        except Exception:
            logger.warning("%s: final run failed", self._name, exc_info=True)

"""A periodic background job on the running event loop (hand-written; its
sync counterpart in ``_sync/background.py`` uses a thread)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from ..core.retry import flush_backoff

__all__ = ["AsyncBackgroundLoop"]

logger = logging.getLogger("sessionware")


class AsyncBackgroundLoop:
    """Runs ``work`` every ``interval`` seconds, or sooner when woken; backs off
    (doubling, up to a minute) while ``work`` raises, and a wake does not cut a
    back-off short. ``stop`` runs it a last time; so does the task's cancellation
    (``asyncio.run`` cancels leftover tasks at its end)."""

    def __init__(self, work: Callable[[], Awaitable[object]], interval: float, name: str) -> None:
        self._work = work
        self._interval = interval
        self._name = name
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        #: Seconds until the next run at most: the interval, longer while backing off.
        self.delay = interval

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._stopping = False
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        try:
            while not self._stopping:
                await self._wait(self.delay, wakeable=self.delay == self._interval)
                if self._stopping:
                    return
                try:
                    await self._work()
                except Exception:
                    self.delay = flush_backoff(self.delay, self._interval)
                else:
                    self.delay = self._interval
        except asyncio.CancelledError:
            # The event loop is shutting down without stop(): write what is left.
            if not self._stopping:
                await self._last_run()
            raise

    async def _wait(self, delay: float, wakeable: bool) -> None:
        wake = self._wake
        assert wake is not None
        deadline = time.monotonic() + delay
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), remaining)
            wake.clear()
            if self._stopping or wakeable:
                return

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            self.wake()
            await task
        await self._last_run()

    async def _last_run(self) -> None:
        try:
            await self._work()
        except Exception:
            logger.warning("%s: final run failed", self._name, exc_info=True)

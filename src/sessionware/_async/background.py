"""A periodic background job on the running event loop (hand-written; its
sync counterpart in ``_sync/background.py`` uses a thread).

It runs on any AnyIO backend: waiting, waking and shielding go through anyio. Only
starting the job is per backend, because a job that outlives the request that
started it has no task group to live in: on asyncio it is a task of the loop, on
trio a system task of the run. Both are cancelled when the loop or run ends, and
the job then runs a last time, shielded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio

from ..core.retry import flush_backoff
from .primitives import running_loop

__all__ = ["AsyncBackgroundLoop"]

logger = logging.getLogger("sessionware")


class AsyncBackgroundLoop:
    """Runs ``work`` every ``interval`` seconds, or sooner when woken; backs off
    (doubling, up to a minute) while ``work`` raises, and a wake does not cut a
    back-off short. ``stop`` runs it a last time; so does the task's cancellation
    (``asyncio.run`` and ``trio.run`` cancel leftover tasks at their end)."""

    def __init__(self, work: Callable[[], Awaitable[object]], interval: float, name: str) -> None:
        self._work = work
        self._interval = interval
        self._name = name
        self._running = False
        self._handle: object = None
        self._done: anyio.Event | None = None
        self._wake: anyio.Event | None = None
        self._stopping = False
        #: Seconds until the next run at most: the interval, longer while backing off.
        self.delay = interval

    @property
    def running(self) -> bool:
        handle = self._handle
        if isinstance(handle, asyncio.Task):
            # A task cancelled before its first step never reaches ``_run``'s finally.
            return not handle.done()
        return self._running

    def ensure_running(self) -> None:
        if not self.running:
            self._stopping = False
            self._wake = anyio.Event()
            self._done = anyio.Event()
            self._handle = _spawn(self._run, self._name)
            self._running = True

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
        except anyio.get_cancelled_exc_class():
            # The event loop is shutting down without stop(): write what is left.
            if not self._stopping:
                with anyio.CancelScope(shield=True):
                    await self._last_run()
            raise
        finally:
            self._running = False
            self._handle = None
            if self._done is not None:
                self._done.set()

    async def _wait(self, delay: float, wakeable: bool) -> None:
        deadline = time.monotonic() + delay
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            wake = self._wake
            assert wake is not None
            with anyio.move_on_after(remaining):
                await wake.wait()
            # An anyio event cannot be cleared: a fresh one takes the next wake.
            if wake.is_set():
                self._wake = anyio.Event()
            if self._stopping or wakeable:
                return

    async def stop(self) -> None:
        self._stopping = True
        done = self._done
        if self._running and done is not None:
            self.wake()
            await done.wait()
        await self._last_run()

    async def _last_run(self) -> None:
        try:
            await self._work()
        except Exception:
            logger.warning("%s: final run failed", self._name, exc_info=True)


def _spawn(job: Callable[[], Coroutine[Any, Any, None]], name: str) -> object:
    """Start ``job()`` detached from the calling task, on the current loop or run;
    the handle returned must be kept (asyncio holds its tasks weakly)."""
    loop = running_loop()
    if loop is not None:
        return loop.create_task(job(), name=name)
    import trio  # the only other backend anyio runs on

    return trio.lowlevel.spawn_system_task(job, name=name)

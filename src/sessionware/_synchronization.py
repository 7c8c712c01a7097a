"""Waiting, mutual exclusion and a periodic background job, in both flavours side by
side (hand-written, like httpcore's ``_synchronization.py``).

The async sources in ``_async/`` folders use the ``Async`` names (``AsyncSaveGate``,
``async_pause``, ``AsyncBackgroundLoop``); scripts/unasync.py renames them, so the
generated sync twins use ``SaveGate``, ``pause`` and ``BackgroundLoop``.

The sync flavour uses threads. The async flavour runs on any AnyIO backend (asyncio,
trio) and imports asyncio and anyio only when first used, so ``import sessionware``
loads neither. On asyncio, the hot path uses asyncio's own lock, found by the
running loop: an uncontended ``asyncio.Lock`` costs 0.2 us to take and release,
``anyio.Lock`` 1.9 us (it looks up the current task and backend on every call).
Every other backend goes through anyio, whose locks and timers work on each of them.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

from .core.retry import flush_backoff

if TYPE_CHECKING:
    import asyncio

    import anyio
    import anyio.lowlevel

__all__ = [
    "AsyncBackgroundLoop",
    "AsyncSaveGate",
    "BackgroundLoop",
    "SaveGate",
    "async_pause",
    "pause",
]

logger = logging.getLogger("sessionware")

#: Locks per save gate; a session's key picks its lock.
STRIPES = 256


# -- waiting -------------------------------------------------------------------------


def pause(seconds: float) -> None:
    time.sleep(seconds)


async def async_pause(seconds: float) -> None:
    if _running_loop() is not None:
        import asyncio

        await asyncio.sleep(seconds)
    else:
        import anyio

        await anyio.sleep(seconds)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop, or None under another backend (trio)."""
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# -- one save of a session at a time -------------------------------------------------


class SaveGate:
    """Lets one thread at a time save a given session, so threads of one process do
    not race each other's compare-and-set; other processes still can, and the
    manager's merge-and-retry handles those. Locks are striped by key, and
    re-entrant: a thread holding one while its write is in flight (``start_save``)
    may save another session of the same stripe, or the same one, meanwhile."""

    def __init__(self) -> None:
        self._locks = [threading.RLock() for _ in range(STRIPES)]

    def hold(self, key: str) -> threading.RLock:
        """The lock to hold (``with gate.hold(key):``) while saving ``key``."""
        return self._locks[hash(key) % STRIPES]


class GateLock(Protocol):
    """What the async manager uses of a lock: ``asyncio.Lock`` and ``anyio.Lock`` fit."""

    async def acquire(self) -> object: ...

    def release(self) -> None: ...


class AsyncSaveGate:
    """Lets one task at a time save a given session, so tasks of one event loop do
    not race each other's compare-and-set; other processes still can, and the
    manager's merge-and-retry handles those. Locks are striped by key and kept per
    event loop (a lock belongs to the loop, or trio run, it first waited in)."""

    def __init__(self) -> None:
        import asyncio

        import anyio.lowlevel

        # Bound once: the hot path looks up no module.
        self._get_running_loop = asyncio.get_running_loop
        self._new_lock = asyncio.Lock
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[GateLock]]
        self._locks = weakref.WeakKeyDictionary()
        # The loop of the last call and its locks: nearly always the one asked for
        # next, found without the weak dictionary's lookup.
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], list[GateLock]] | None
        self._last = None
        # Other backends: one set of locks per run, dropped with the run.
        self._per_run: anyio.lowlevel.RunVar[list[GateLock]]
        self._per_run = anyio.lowlevel.RunVar(f"sessionware-save-gate-{id(self)}")

    def hold(self, key: str) -> GateLock:
        """The lock to hold (``await lock.acquire()`` ... ``lock.release()``) while
        saving ``key``."""
        try:
            loop = self._get_running_loop()
        except RuntimeError:
            return self._run_locks()[hash(key) % STRIPES]
        last = self._last
        if last is not None and last[0]() is loop:
            locks = last[1]
        else:
            found = self._locks.get(loop)
            if found is None:
                found = self._locks[loop] = [self._new_lock() for _ in range(STRIPES)]
            locks = found
            self._last = (weakref.ref(loop), locks)
        return locks[hash(key) % STRIPES]

    def _run_locks(self) -> list[GateLock]:
        import anyio

        try:
            return self._per_run.get()
        except LookupError:
            locks: list[GateLock] = [anyio.Lock(fast_acquire=True) for _ in range(STRIPES)]
            self._per_run.set(locks)
            return locks


# -- a periodic background job -------------------------------------------------------


class BackgroundLoop:
    """Runs ``work`` every ``interval`` seconds in a daemon thread, or sooner when
    woken; backs off (doubling, up to a minute) while ``work`` raises, and a wake does
    not cut a back-off short. ``stop`` runs it a last time, and so does interpreter
    exit."""

    def __init__(self, work: Callable[[], object], interval: float, name: str) -> None:
        self._work = work
        self._interval = interval
        self._name = name
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._start_lock = threading.Lock()
        #: Seconds until the next run at most: the interval, longer while backing off.
        self.delay = interval

    @property
    def running(self) -> bool:
        return self._thread is not None

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
        while not self._stopping:
            self._wait(self.delay, wakeable=self.delay == self._interval)
            if self._stopping:
                return
            try:
                self._work()
            except Exception:
                self.delay = flush_backoff(self.delay, self._interval)
            else:
                self.delay = self._interval

    def _wait(self, delay: float, wakeable: bool) -> None:
        deadline = time.monotonic() + delay
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._wake.wait(remaining)
            self._wake.clear()
            if self._stopping or wakeable:
                return

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


class AsyncBackgroundLoop:
    """Runs ``work`` every ``interval`` seconds on the running event loop, or sooner
    when woken; backs off (doubling, up to a minute) while ``work`` raises, and a wake
    does not cut a back-off short. ``stop`` runs it a last time; so does the task's
    cancellation (``asyncio.run`` and ``trio.run`` cancel leftover tasks at their end).

    Waiting, waking and shielding go through anyio. Only starting the job is per
    backend, because a job that outlives the request that started it has no task
    group to live in: on asyncio it is a task of the loop, on trio a system task of
    the run. Both are cancelled when the loop or run ends, and the job then runs a
    last time, shielded."""

    def __init__(self, work: Callable[[], Awaitable[object]], interval: float, name: str) -> None:
        import asyncio

        self._task_type = asyncio.Task
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
        if isinstance(handle, self._task_type):
            # A task cancelled before its first step never reaches ``_run``'s finally.
            return not handle.done()
        return self._running

    def ensure_running(self) -> None:
        if not self.running:
            import anyio

            self._stopping = False
            self._wake = anyio.Event()
            self._done = anyio.Event()
            self._handle = _spawn(self._run, self._name)
            self._running = True

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        import anyio

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
        import anyio

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
    loop = _running_loop()
    if loop is not None:
        return loop.create_task(job(), name=name)
    import trio  # the only other backend anyio runs on

    return trio.lowlevel.spawn_system_task(job, name=name)

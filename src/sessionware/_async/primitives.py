"""Waiting and mutual exclusion for the async manager (hand-written; the sync
counterpart in ``_sync/primitives.py`` uses threads).

The async manager runs on any AnyIO backend (asyncio, trio). On asyncio, the hot
path uses asyncio's own lock, found by the running loop: an uncontended
``asyncio.Lock`` costs 0.2 us to take and release, ``anyio.Lock`` 1.9 us (it looks
up the current task and backend on every call). Every other backend goes through
anyio, whose locks and timers work on each of them.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol

import anyio
import anyio.lowlevel

__all__ = ["AsyncSaveGate", "pause", "running_loop"]

STRIPES = 256


class GateLock(Protocol):
    """What the manager uses of a lock: ``asyncio.Lock`` and ``anyio.Lock`` both fit."""

    async def acquire(self) -> object: ...

    def release(self) -> None: ...


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop, or None under another backend (trio)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def pause(seconds: float) -> None:
    if running_loop() is not None:
        await asyncio.sleep(seconds)
    else:
        await anyio.sleep(seconds)


class AsyncSaveGate:
    """Lets one task at a time save a given session, so tasks of one event loop do
    not race each other's compare-and-set; other processes still can, and the
    manager's merge-and-retry handles those. Locks are striped by key and kept per
    event loop (a lock belongs to the loop, or trio run, it first waited in)."""

    def __init__(self) -> None:
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
        loop = running_loop()
        if loop is None:
            return self._run_locks()[hash(key) % STRIPES]
        last = self._last
        if last is not None and last[0]() is loop:
            locks = last[1]
        else:
            found = self._locks.get(loop)
            if found is None:
                found = self._locks[loop] = [asyncio.Lock() for _ in range(STRIPES)]
            locks = found
            self._last = (weakref.ref(loop), locks)
        return locks[hash(key) % STRIPES]

    def _run_locks(self) -> list[GateLock]:
        try:
            return self._per_run.get()
        except LookupError:
            locks: list[GateLock] = [anyio.Lock(fast_acquire=True) for _ in range(STRIPES)]
            self._per_run.set(locks)
            return locks

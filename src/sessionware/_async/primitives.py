"""Waiting and mutual exclusion for the async manager (hand-written; the sync
counterpart in ``_sync/primitives.py`` uses threads)."""

from __future__ import annotations

import asyncio
import weakref

__all__ = ["AsyncSaveGate", "pause"]

STRIPES = 256


async def pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


class AsyncSaveGate:
    """Lets one task at a time save a given session, so tasks of one event loop do
    not race each other's compare-and-set; other processes still can, and the
    manager's merge-and-retry handles those. Locks are striped by key and kept per
    event loop (an asyncio lock belongs to the loop it first waited in)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[asyncio.Lock]]
        self._locks = weakref.WeakKeyDictionary()
        # The loop of the last call and its locks: nearly always the one asked for
        # next, found without the weak dictionary's lookup.
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], list[asyncio.Lock]] | None
        self._last = None

    def hold(self, key: str) -> asyncio.Lock:
        """The lock to hold (``async with gate.hold(key):``) while saving ``key``."""
        loop = asyncio.get_running_loop()
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

"""``AsyncChannel``: listens to a store's invalidations and tells the near cache.

Written once, async, here; ``scripts/unasync.py`` generates ``_sync/channel.py``
(a thread instead of a task). A backend's channel (``redis.py``, ``postgres.py``)
says how to connect and what a message means; this loop keeps it connected: the
cache is ``up`` only while a subscription is confirmed, and is emptied (``reset``)
the moment the connection is lost, whatever the reason (killed, server restart,
failover, a consumer too slow for the server's output buffer). It reconnects with
a doubling pause (50 ms to 2 s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ...._synchronization import async_pause
from ....core.record import Record
from .._cache import NearCache
from .._worker import AsyncWorker

__all__ = ["AsyncChannel", "AsyncSentWrite"]

logger = logging.getLogger("sessionware.stores.near_cache")

FIRST_PAUSE = 0.05
LONGEST_PAUSE = 2.0

T = TypeVar("T")


class AsyncSentWrite(Generic[T]):
    """A compare-and-set sent and not yet answered (``start_save_if_version``):
    ``await finish()`` reads its outcome. Nothing else may use the connection it
    went out on until then, so it is finished soon after, always."""

    __slots__ = ("_args", "_finish")

    def __init__(self, finish: Callable[..., Any], *args: Any) -> None:
        self._finish = finish
        self._args = args

    async def finish(self) -> T:
        outcome: T = await self._finish(*self._args)
        return outcome


class AsyncChannel:
    """The loop around a backend's ``_connect`` / ``_listen`` / ``_disconnect``."""

    name = "invalidations"

    def __init__(self, cache: NearCache, store: Any) -> None:
        self.cache = cache
        #: The wrapped store, which ``load`` and ``save_if_version`` read and write.
        self.store = store
        self._stopping = False
        self._worker = AsyncWorker(self._run, f"sessionware near cache: {self.name}")

    async def setup(self) -> None:
        """Whatever the store needs before its changes can be heard (a trigger)."""

    @property
    def running(self) -> bool:
        """Whether the listener is alive (in this process, on this loop)."""
        return self._worker.running

    async def start(self) -> None:
        self._stopping = False
        self._worker.start()

    async def close(self) -> None:
        self._stopping = True
        await self._interrupt()
        await self._worker.stop()
        self.cache.reset()

    async def _run(self) -> None:
        delay = FIRST_PAUSE
        while not self._stopping:
            try:
                await self._connect()
                self.cache.up()
                delay = FIRST_PAUSE
                await self._listen()
            except Exception as exc:
                if not self._stopping:
                    logger.warning("near cache %s lost: %s; the cache is emptied", self.name, exc)
            finally:
                if self.cache.is_up:
                    self.cache.reset()
                await self._disconnect()
            if self._stopping:
                return
            await async_pause(delay)
            delay = min(delay * 2, LONGEST_PAUSE)

    def catch_up(self) -> None:
        """Apply the messages already received, before the cache is read (see the
        Redis channel's sync flavour); nothing to do where a listener reads them."""

    async def load(self, id: str) -> tuple[Record | None, bool]:
        """The store's record of ``id``, and whether the cache may keep it: whether
        the store will report the record's next change here."""
        record: Record | None = await self.store.load(id)
        return record, True

    async def save_if_version(self, record: Record, expected_version: int) -> tuple[bool, bool]:
        """The store's compare-and-set, and whether the cache may keep ``record``."""
        written: bool = await self.store.save_if_version(record, expected_version)
        return written, True

    async def start_save_if_version(
        self, record: Record, expected_version: int
    ) -> AsyncSentWrite[tuple[bool, bool]] | None:
        """``save_if_version`` sent, its outcome left for ``finish()``, where the
        backend can split it so; None (nothing sent) where it cannot: then call
        ``save_if_version``."""
        return None

    # -- a backend's part --------------------------------------------------------------

    async def _connect(self) -> None:
        """Connect and subscribe; return once the subscription is confirmed."""
        raise NotImplementedError

    async def _listen(self) -> None:
        """Read messages and report them to the cache until the connection fails."""
        raise NotImplementedError

    async def _disconnect(self) -> None:
        """Close the connection, if any (idempotent)."""

    async def _interrupt(self) -> None:
        """Wake ``_listen`` so it notices ``_stopping`` (the sync flavour's thread)."""

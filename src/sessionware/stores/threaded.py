"""``ThreadedStore``: use a blocking store (files, dbm, sqlite...) from async code.

Each operation runs in a small dedicated thread pool, so the event loop never waits
on a disk or a lock.

Except a load the store can answer without waiting: a store whose class defines
``load_nowait(id)`` is asked on the event loop first, and the load goes to a thread
only when that raises ``BlockingIOError``. A hop to a thread and back costs 100-200
us on a busy 2-core machine, against a few us for a record the OS holds in memory,
and a load is all that most requests do. ``load_nowait`` promises not to wait for
a lock another thread or process holds, not to write, and not to read the disk:
the built-in stores ask the kernel's caches first and say how in their docstrings
(SQLite's check is the coarsest: its files must have been wholly in memory a
quarter second ago). Writes always go to a thread: a write may wait for a lock,
and a file system may make any write wait for its journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..core.record import Record

__all__ = ["ThreadedStore"]

T = TypeVar("T")


class ThreadedStore:
    def __init__(self, store: Any, *, max_workers: int = 4) -> None:
        self.sync_store = store
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="sessionware-store")
        # Looked up on the class: a StoreProxy forwards unknown attributes to the
        # store it wraps, and a load answered past it would skip its ``load``.
        nowait = getattr(type(store), "load_nowait", None)
        self._load_nowait: Callable[[str], Record | None] | None = (
            None if nowait is None else store.load_nowait
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> ThreadedStore:
        """The sync store for ``url`` (not set up yet: ``setup`` runs it in a thread)."""
        from .registry import open_store

        return cls(open_store(url, setup=False, **options))

    def __repr__(self) -> str:
        return f"ThreadedStore({self.sync_store!r})"

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    async def setup(self) -> None:
        await self._run(self.sync_store.setup)

    async def load(self, id: str) -> Record | None:
        load_nowait = self._load_nowait
        if load_nowait is not None:
            try:
                return load_nowait(id)
            except BlockingIOError:
                pass
        result: Record | None = await self._run(self.sync_store.load, id)
        return result

    async def save(self, record: Record) -> None:
        await self._run(self.sync_store.save, record)

    async def save_if_version(self, record: Record, expected_version: int) -> bool:
        result: bool = await self._run(self.sync_store.save_if_version, record, expected_version)
        return result

    async def touch_many(self, expiries: Mapping[str, float]) -> None:
        await self._run(self.sync_store.touch_many, dict(expiries))

    async def delete(self, id: str) -> int:
        result: int = await self._run(self.sync_store.delete, id)
        return result

    async def delete_many(self, ids: Iterable[str]) -> int:
        result: int = await self._run(self.sync_store.delete_many, list(ids))
        return result

    async def delete_all(self) -> int:
        result: int = await self._run(self.sync_store.delete_all)
        return result

    async def ids(self) -> AsyncIterator[str]:
        keys: list[str] = await self._run(lambda: list(self.sync_store.ids()))
        for key in keys:
            yield key

    async def count(self) -> int:
        result: int = await self._run(self.sync_store.count)
        return result

    async def ids_for_user(self, user_id: str) -> list[str]:
        result: list[str] = await self._run(self.sync_store.ids_for_user, user_id)
        return result

    async def purge_expired(self, now: float | None = None) -> int:
        result: int = await self._run(self.sync_store.purge_expired, now)
        return result

    async def close(self) -> None:
        await self._run(self.sync_store.close)
        self._executor.shutdown(wait=False)

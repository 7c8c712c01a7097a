"""``ThreadedStore``: use a blocking store (files, dbm, sqlite...) from async code.

Each operation runs in a small dedicated thread pool, so the event loop never waits
on a disk or a lock.
"""

from __future__ import annotations

import asyncio
import functools
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

    def __repr__(self) -> str:
        return f"ThreadedStore({self.sync_store!r})"

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(function, *args))

    async def setup(self) -> None:
        await self._run(self.sync_store.setup)

    async def load(self, id: str) -> Record | None:
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

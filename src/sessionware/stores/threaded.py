"""``ThreadedStore``: use a blocking store (files, dbm, sqlite...) from async code.

``open_async_store`` wraps the sync store of the schemes in the registry's
``THREADED_SCHEMES`` (and of any scheme with no async store) in one; this module
imports nothing from the registry.

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

It works on any AnyIO backend. On asyncio the hop is ``loop.run_in_executor`` on
the store's own pool (105 us a hop measured here, against 135-155 us for
``anyio.to_thread.run_sync``, and a saving request makes one or two); on any other
backend (trio) it is ``anyio.to_thread.run_sync``, limited to ``max_workers``
threads at once like the pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from ..core.record import Record
from .base import RecordListing, RevocationMarkers, Store, StoreLike
from .listing import newest_records

if TYPE_CHECKING:
    import anyio

__all__ = ["ThreadedStore"]

T = TypeVar("T")


class ThreadedStore:
    """An ``AsyncStore`` over a blocking ``store``: each operation runs in a pool of
    ``max_workers`` threads, except a load that the store's ``load_nowait`` answers
    on the event loop (see the module's docstring)."""

    def __init__(self, store: StoreLike, *, max_workers: int = 4) -> None:
        self.sync_store: Store = store
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="sessionware-store")
        self._max_workers = max_workers
        self._limiter: anyio.CapacityLimiter | None = None
        # Looked up on the class: a StoreProxy forwards unknown attributes to the
        # store it wraps, and a load answered past it would skip its ``load``.
        nowait = getattr(type(store), "load_nowait", None)
        self._load_nowait: Callable[[str], Record | None] | None = (
            None if nowait is None else nowait.__get__(store)  # bound, like store.load_nowait
        )

    def __repr__(self) -> str:
        return f"ThreadedStore({self.sync_store!r})"

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return await self._run_elsewhere(function, *args)
        return await loop.run_in_executor(self._executor, function, *args)

    async def _run_elsewhere(self, function: Callable[..., T], *args: Any) -> T:
        """The thread hop under a backend other than asyncio (trio)."""
        import anyio.to_thread  # only here: sync users and asyncio never import it

        limiter = self._limiter
        if limiter is None:
            limiter = self._limiter = anyio.CapacityLimiter(self._max_workers)
        return await anyio.to_thread.run_sync(function, *args, limiter=limiter)

    async def setup(self) -> None:
        await self._run(self.sync_store.setup)

    async def load(self, id: str) -> Record | None:
        load_nowait = self._load_nowait
        if load_nowait is not None:
            try:
                return load_nowait(id)
            except BlockingIOError:
                pass
        return await self._run(self.sync_store.load, id)

    async def save(self, record: Record) -> None:
        await self._run(self.sync_store.save, record)

    async def save_if_version(self, record: Record, expected_version: int) -> bool:
        return await self._run(self.sync_store.save_if_version, record, expected_version)

    async def touch_many(self, expiries: Mapping[str, float]) -> None:
        await self._run(self.sync_store.touch_many, dict(expiries))

    async def delete(self, id: str) -> int:
        return await self._run(self.sync_store.delete, id)

    async def delete_many(self, ids: Iterable[str]) -> int:
        return await self._run(self.sync_store.delete_many, list(ids))

    async def delete_all(self) -> int:
        return await self._run(self.sync_store.delete_all)

    async def ids(self) -> AsyncIterator[str]:
        keys: list[str] = await self._run(lambda: list(self.sync_store.ids()))
        for key in keys:
            yield key

    async def count(self) -> int:
        return await self._run(self.sync_store.count)

    async def ids_for_user(self, user_id: str) -> list[str]:
        return await self._run(self.sync_store.ids_for_user, user_id)

    # A sync store without revocation markers leaves these raising AttributeError, and
    # a manager never calls them (see ``stores.base.keeps_revocation_markers``).

    async def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        await self._run(self._markers().mark_user_revoked, user_id, revoked_at, keep_until)

    async def user_revoked_at(self, user_id: str) -> float | None:
        return await self._run(self._markers().user_revoked_at, user_id)

    async def newest(self, limit: int) -> list[Record]:
        return await self._run(newest_records, self.sync_store, limit)

    async def delete_if_version(self, id: str, expected_version: int) -> bool:
        store = self.sync_store
        if not isinstance(store, RecordListing):  # see ``stores.base.has_record_listing``
            raise AttributeError(f"{store!r} has no delete_if_version")
        return await self._run(store.delete_if_version, id, expected_version)

    def _markers(self) -> RevocationMarkers:
        store = self.sync_store
        if not isinstance(store, RevocationMarkers):
            raise AttributeError(f"{store!r} keeps no revocation markers")
        return store

    async def purge_expired(self, now: float | None = None) -> int:
        return await self._run(self.sync_store.purge_expired, now)

    async def close(self) -> None:
        await self._run(self.sync_store.close)
        self._executor.shutdown(wait=False)

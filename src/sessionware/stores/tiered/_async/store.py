"""A fast store (memory, Redis) in front of a durable one (SQL). Written once, async,
in ``stores/tiered/_async/store.py``; ``scripts/unasync.py`` generates
``stores/tiered/_sync/store.py`` from it.

The durable store is the authority: every compare-and-set is decided there, and the
fast tier only ever holds a copy of what the durable store said. Whenever the copy
cannot be kept right (a failed or out-of-order write to the fast tier), it is
removed, so the worst a fast-tier fault costs is a cache miss, never stale data.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping

from ....core.record import Record
from ...base import (
    AsyncRecordListing,
    AsyncRevocationMarkers,
    AsyncStore,
    AsyncStoreLike,
    unwrapped,
)

__all__ = ["AsyncTieredStore"]

logger = logging.getLogger("sessionware.stores.tiered")


def process_local(store: object) -> bool:
    """Whether ``store``, under any proxies and async wrappers, is a memory store:
    one process's own memory, which no other process's delete can reach."""
    from ...memory import MemoryStore

    return any(isinstance(layer, MemoryStore) for layer in unwrapped(store))


class AsyncTieredStore:
    """Read-through, write-through: ``AsyncTieredStore(fast, durable)``.

    * ``load``: the fast tier first; on a miss (or a fast-tier fault) the durable
      store, whose record is then copied into the fast tier *only if the fast tier
      still has nothing there* (a create-if-absent, so a slow read can never
      overwrite the copy a newer write has just put in place).
    * ``save_if_version``: the durable store decides; after it said yes, the fast
      copy moves from the old version to the new one by compare-and-set, and is
      deleted if that fails for any reason (writes racing on the fast tier, a
      fault). After it said no, the fast copy is deleted too: it was stale, and the
      caller's reload must see the durable record.
    * ``delete``: the fast copy, the durable record, then the fast copy again (a
      read-through that started before the durable delete cannot resurrect it).
    * ``ids``, ``count``, ``ids_for_user``: the durable store alone.

    A process-local fast tier (memory) in front of a shared durable store is refused:
    another process's delete or ``revoke_user`` could not reach it, so it would keep
    serving a logged-out session. ``single_process=True`` allows it where exactly one
    process uses the durable store.

    What remains: a read-through whose durable read happened before a concurrent
    write, but whose copy lands after that write's own fast-tier update failed, can
    leave an old copy until the next write on that session or its expiry. Every
    write that conflicts with it deletes it, so no update is ever lost.
    """

    def __init__(
        self, fast: AsyncStoreLike, durable: AsyncStoreLike, *, single_process: bool = False
    ) -> None:
        if process_local(fast) and not process_local(durable) and not single_process:
            raise ValueError(
                "a process-local fast tier (memory://) in front of a shared store would "
                "keep serving sessions other processes deleted or revoked; use a shared "
                "fast tier (redis://), or pass single_process=True if exactly one process "
                "ever uses the durable store"
            )
        self.fast: AsyncStore = fast
        self.durable: AsyncStore = durable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fast={self.fast!r}, durable={self.durable!r})"

    async def setup(self) -> None:
        await self.durable.setup()
        await self.fast.setup()

    # -- the fast tier, where every fault is logged and survived ----------------

    async def _evict(self, id: str) -> None:
        try:
            await self.fast.delete(id)
        except Exception as exc:  # the fast tier is down: nothing can be served from it
            logger.warning("tiered store: could not evict %s from the fast tier: %s", id, exc)

    async def _evict_many(self, ids: Iterable[str]) -> None:
        try:
            await self.fast.delete_many(ids)
        except Exception as exc:
            logger.warning("tiered store: could not evict from the fast tier: %s", exc)

    async def _copy_if_absent(self, record: Record) -> None:
        try:
            await self.fast.save_if_version(record, 0)
        except Exception as exc:
            logger.warning("tiered store: could not fill the fast tier: %s", exc)
            await self._evict(record.id)

    async def _move_copy(self, record: Record, expected_version: int) -> None:
        try:
            moved = await self.fast.save_if_version(record, expected_version)
        except Exception as exc:
            logger.warning("tiered store: fast tier write of %s failed: %s", record.id, exc)
            moved = False
        if not moved:
            await self._evict(record.id)

    # -- reading -------------------------------------------------------------------

    async def load(self, id: str) -> Record | None:
        try:
            cached = await self.fast.load(id)
        except Exception as exc:
            logger.warning("tiered store: fast tier read failed, using the durable one: %s", exc)
            return await self.durable.load(id)
        if cached is not None:
            return cached
        record = await self.durable.load(id)
        if record is not None:
            await self._copy_if_absent(record)
        return record

    def ids(self) -> AsyncIterator[str]:
        return self.durable.ids()

    async def count(self) -> int:
        return await self.durable.count()

    async def ids_for_user(self, user_id: str) -> list[str]:
        return await self.durable.ids_for_user(user_id)

    # The durable store keeps the markers; one without them leaves these raising
    # AttributeError, and a manager never calls them (see ``keeps_revocation_markers``).

    async def user_revoked_at(self, user_id: str) -> float | None:
        return await self._markers().user_revoked_at(user_id)

    async def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        await self._markers().mark_user_revoked(user_id, revoked_at, keep_until)

    def _markers(self) -> AsyncRevocationMarkers:
        durable = self.durable
        if not isinstance(durable, AsyncRevocationMarkers):
            raise AttributeError(f"{durable!r} keeps no revocation markers")
        return durable

    # -- writing -------------------------------------------------------------------

    async def save(self, record: Record) -> None:
        await self.durable.save(record)
        try:
            await self.fast.save(record)
        except Exception as exc:
            logger.warning("tiered store: fast tier write of %s failed: %s", record.id, exc)
            await self._evict(record.id)

    async def save_if_version(self, record: Record, expected_version: int) -> bool:
        try:
            written = await self.durable.save_if_version(record, expected_version)
        except BaseException:
            # The durable write may or may not have happened: trust no copy of it.
            await self._evict(record.id)
            raise
        if written:
            await self._move_copy(record, expected_version)
        else:
            await self._evict(record.id)
        return bool(written)

    async def touch_many(self, expiries: Mapping[str, float]) -> None:
        if not expiries:
            return
        await self.durable.touch_many(expiries)
        try:
            await self.fast.touch_many(expiries)
        except Exception as exc:
            logger.warning("tiered store: fast tier touch failed: %s", exc)
            await self._evict_many(list(expiries))

    # -- deleting ------------------------------------------------------------------

    async def delete(self, id: str) -> int:
        await self._evict(id)
        removed = await self.durable.delete(id)
        await self._evict(id)
        return removed

    async def delete_many(self, ids: Iterable[str]) -> int:
        keys = list(ids)
        await self._evict_many(keys)
        removed = await self.durable.delete_many(keys)
        await self._evict_many(keys)
        return removed

    async def delete_if_version(self, id: str, expected_version: int) -> bool:
        await self._evict(id)
        removed = await self._listing().delete_if_version(id, expected_version)
        await self._evict(id)
        return removed

    async def newest(self, limit: int) -> list[Record]:
        return await self._listing().newest(limit)

    def _listing(self) -> AsyncRecordListing:
        """The durable store, which lists and removes by version (the authority);
        see ``stores.base.has_record_listing``."""
        durable = self.durable
        if not isinstance(durable, AsyncRecordListing):
            raise AttributeError(f"{durable!r} has no newest / delete_if_version")
        return durable

    async def delete_all(self) -> int:
        removed = await self.durable.delete_all()
        try:
            await self.fast.delete_all()
        except Exception as exc:
            logger.warning("tiered store: could not empty the fast tier: %s", exc)
        return removed

    async def purge_expired(self, now: float | None = None) -> int:
        removed = await self.durable.purge_expired(now)
        try:
            await self.fast.purge_expired(now)
        except Exception as exc:
            logger.warning("tiered store: fast tier purge failed: %s", exc)
        return removed

    async def close(self) -> None:
        try:
            await self.fast.close()
        finally:
            await self.durable.close()

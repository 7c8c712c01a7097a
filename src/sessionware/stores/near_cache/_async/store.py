"""``AsyncNearCacheStore``: a store with a coherent process-local cache in front.

Written once, async, here; ``scripts/unasync.py`` generates ``_sync/store.py``.

A hit answers ``load`` with no store call. A compare-and-set goes to the store (one
round trip) against the version the cache holds; when someone else wrote first it
fails, the cache drops the key, and the manager reloads and merges as without a
cache, so no update is lost. Every other operation goes to the store and then
drops what it changed from the cache. The invalidation channel (Redis ``CLIENT
TRACKING``, PostgreSQL ``LISTEN``/``NOTIFY``) keeps the cache right for changes
made by other processes; see ``_cache`` for the rules.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from ...._synchronization import async_pause
from ....core.record import Record
from .._cache import NearCache, Ticket
from .._options import NearCacheUnsupported
from .channel import AsyncChannel, AsyncSentWrite

__all__ = ["AsyncNearCacheStore", "async_channel_for"]

#: Seconds ``setup`` waits for the channel's first subscription.
SETUP_WAIT = 2.0


def async_channel_for(cache: NearCache, store: Any) -> AsyncChannel:
    """The invalidation channel of ``store`` (Redis, PostgreSQL), or raise. Each
    backend's module is imported here: a Redis user needs no psycopg."""
    from .redis import AsyncRedisChannel, supports_redis

    if supports_redis(store):
        return AsyncRedisChannel(cache, store)
    from .postgres import AsyncPostgresChannel, supports_postgres

    if supports_postgres(store):
        cache.exact_versions = True
        return AsyncPostgresChannel(cache, store)
    raise NearCacheUnsupported(
        f"{store!r} has no invalidation channel for a near cache: it is offered for "
        "Redis (not Cluster or Sentinel) and PostgreSQL (docs/stores/near-cache.md)"
    )


class AsyncNearCacheStore:
    """``AsyncNearCacheStore(store, max_entries=10_000, max_bytes=64 MiB)``.

    ``setup()`` sets the store up, installs what its channel needs (PostgreSQL's
    triggers) and starts listening; until the channel is up every load goes to the
    store. ``cache.stats`` counts hits, misses, invalidations and resets."""

    def __init__(
        self, store: Any, *, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.store = store
        self.cache = NearCache(max_entries=max_entries, max_bytes=max_bytes)
        self.channel = async_channel_for(self.cache, store)
        self._clock = time.time
        self._started = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    def __getattr__(self, name: str) -> Any:
        # Backend-specific extras (a Redis store's client, a SQL store's engine).
        if name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)

    async def setup(self) -> None:
        await self.store.setup()
        if not self._started:
            await self.channel.setup()
            await self.channel.start()
            self._started = True
            await self._wait_until_listening()

    async def _listen_again(self) -> None:
        """The listener is not running here: in a forked child (the parent's
        connection and threads are not this process's), or after the event loop
        it ran on was closed. Empty the cache and start a channel of this
        process's own; the old one is left alone, never closed from here."""
        self.cache.forked = False
        if not self._started:
            return  # not set up yet, or closed: nothing is cached
        if self.cache.is_up:
            self.cache.reset()
        self.channel = async_channel_for(self.cache, self.store)
        await self.channel.start()

    async def _wait_until_listening(self) -> None:
        """Give the channel up to ``SETUP_WAIT`` seconds to subscribe, so the first
        requests can be cached; until it has, loads simply go to the store."""
        deadline = time.monotonic() + SETUP_WAIT
        while not self.cache.is_up and time.monotonic() < deadline:
            await async_pause(0.005)

    async def load(self, id: str) -> Record | None:
        cache = self.cache
        if cache.forked or not self.channel.running:
            await self._listen_again()
        self.channel.catch_up()
        record = cache.get(id, self._clock())
        if record is not None:
            return record
        ticket = cache.begin(id)
        try:
            record, keep = await self.channel.load(id)
        except BaseException:
            cache.fill(ticket, None)
            raise
        cache.fill(ticket, record if keep else None)
        return record

    async def save(self, record: Record) -> None:
        self.cache.forget((record.id,))
        try:
            await self.store.save(record)
        finally:
            self.cache.forget((record.id,))

    async def save_if_version(self, record: Record, expected_version: int) -> bool:
        in_flight = await self.start_save_if_version(record, expected_version)
        return await in_flight.finish()

    async def start_save_if_version(
        self, record: Record, expected_version: int
    ) -> AsyncSentWrite[bool]:
        """``save_if_version`` in two halves: sent here where the channel can split
        it (Redis's lane), its outcome read by ``await finish()``, so the caller
        can do its own work while the server does the write."""
        cache = self.cache
        if cache.forked or not self.channel.running:
            await self._listen_again()  # the channel's connections are not this process's
        ticket = cache.begin(record.id, write=True, version=record.version)
        try:
            sent = await self.channel.start_save_if_version(record, expected_version)
        except BaseException:
            cache.written(ticket, record.id, None)
            raise
        return AsyncSentWrite(self._finish_save, ticket, record, expected_version, sent)

    async def _finish_save(
        self,
        ticket: Ticket | None,
        record: Record,
        expected_version: int,
        sent: AsyncSentWrite[tuple[bool, bool]] | None,
    ) -> bool:
        written = keep = False
        try:
            if sent is None:
                written, keep = await self.channel.save_if_version(record, expected_version)
            else:
                written, keep = await sent.finish()
        finally:
            self.cache.written(ticket, record.id, record if written and keep else None)
        return written

    async def touch_many(self, expiries: Mapping[str, float]) -> None:
        try:
            await self.store.touch_many(expiries)
        finally:
            self.cache.forget(tuple(expiries))

    async def delete(self, id: str) -> int:
        self.cache.forget((id,))
        try:
            removed: int = await self.store.delete(id)
        finally:
            self.cache.forget((id,))
        return removed

    async def delete_if_version(self, id: str, expected_version: int) -> bool:
        self.cache.forget((id,))
        try:
            removed: bool = await self.store.delete_if_version(id, expected_version)
        finally:
            self.cache.forget((id,))
        return removed

    async def newest(self, limit: int) -> list[Record]:
        newest: list[Record] = await self.store.newest(limit)
        return newest

    async def delete_many(self, ids: Iterable[str]) -> int:
        keys = tuple(ids)
        self.cache.forget(keys)
        try:
            removed: int = await self.store.delete_many(keys)
        finally:
            self.cache.forget(keys)
        return removed

    async def delete_all(self) -> int:
        try:
            removed: int = await self.store.delete_all()
        finally:
            self.cache.clear()
        return removed

    def ids(self) -> AsyncIterator[str]:
        iterator: AsyncIterator[str] = self.store.ids()
        return iterator

    async def count(self) -> int:
        counted: int = await self.store.count()
        return counted

    async def ids_for_user(self, user_id: str) -> list[str]:
        keys: list[str] = await self.store.ids_for_user(user_id)
        return keys

    async def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        self.cache.forget_user(user_id)
        await self.store.mark_user_revoked(user_id, revoked_at, keep_until)

    async def user_revoked_at(self, user_id: str) -> float | None:
        revoked_at: float | None = await self.store.user_revoked_at(user_id)
        return revoked_at

    async def purge_expired(self, now: float | None = None) -> int:
        removed: int = await self.store.purge_expired(now)
        return removed

    async def close(self) -> None:
        try:
            if self._started:
                self._started = False
                await self.channel.close()
        finally:
            await self.store.close()

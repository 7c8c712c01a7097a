# Generated from src/sessionware/stores/near_cache/_async/store.py by scripts/unasync.py. Do not edit.
"""``NearCacheStore``: a store with a coherent process-local cache in front.

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
from collections.abc import Iterator, Iterable, Mapping
from typing import Any

from ...._synchronization import pause
from ....core.record import Record
from .._cache import NearCache, Ticket
from .._options import NearCacheUnsupported
from .channel import Channel, SentWrite

__all__ = ["NearCacheStore", "channel_for"]

#: Seconds ``setup`` waits for the channel's first subscription.
SETUP_WAIT = 2.0


def channel_for(cache: NearCache, store: Any) -> Channel:
    """The invalidation channel of ``store`` (Redis, PostgreSQL), or raise. Each
    backend's module is imported here: a Redis user needs no psycopg."""
    from .redis import RedisChannel, supports_redis

    if supports_redis(store):
        return RedisChannel(cache, store)
    from .postgres import PostgresChannel, supports_postgres

    if supports_postgres(store):
        cache.exact_versions = True
        return PostgresChannel(cache, store)
    raise NearCacheUnsupported(
        f"{store!r} has no invalidation channel for a near cache: it is offered for "
        "Redis (not Cluster or Sentinel) and PostgreSQL (docs/stores/near-cache.md)"
    )


class NearCacheStore:
    """``NearCacheStore(store, max_entries=10_000, max_bytes=64 MiB)``.

    ``setup()`` sets the store up, installs what its channel needs (PostgreSQL's
    triggers) and starts listening; until the channel is up every load goes to the
    store. ``cache.stats`` counts hits, misses, invalidations and resets."""

    def __init__(
        self, store: Any, *, max_entries: int = 10_000, max_bytes: int = 64 * 1024 * 1024
    ) -> None:
        self.store = store
        self.cache = NearCache(max_entries=max_entries, max_bytes=max_bytes)
        self.channel = channel_for(self.cache, store)
        self._clock = time.time
        self._started = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"

    def __getattr__(self, name: str) -> Any:
        # Backend-specific extras (a Redis store's client, a SQL store's engine).
        if name == "store":
            raise AttributeError(name)
        return getattr(self.store, name)

    def setup(self) -> None:
        self.store.setup()
        if not self._started:
            self.channel.setup()
            self.channel.start()
            self._started = True
            self._wait_until_listening()

    def _listen_again(self) -> None:
        """The listener is not running here: in a forked child (the parent's
        connection and threads are not this process's), or after the event loop
        it ran on was closed. Empty the cache and start a channel of this
        process's own; the old one is left alone, never closed from here."""
        self.cache.forked = False
        if not self._started:
            return  # not set up yet, or closed: nothing is cached
        if self.cache.is_up:
            self.cache.reset()
        self.channel = channel_for(self.cache, self.store)
        self.channel.start()

    def _wait_until_listening(self) -> None:
        """Give the channel up to ``SETUP_WAIT`` seconds to subscribe, so the first
        requests can be cached; until it has, loads simply go to the store."""
        deadline = time.monotonic() + SETUP_WAIT
        while not self.cache.is_up and time.monotonic() < deadline:
            pause(0.005)

    def load(self, id: str) -> Record | None:
        cache = self.cache
        if cache.forked or not self.channel.running:
            self._listen_again()
        self.channel.catch_up()
        record = cache.get(id, self._clock())
        if record is not None:
            return record
        ticket = cache.begin(id)
        try:
            record, keep = self.channel.load(id)
        except BaseException:
            cache.fill(ticket, None)
            raise
        cache.fill(ticket, record if keep else None)
        return record

    def save(self, record: Record) -> None:
        self.cache.forget((record.id,))
        try:
            self.store.save(record)
        finally:
            self.cache.forget((record.id,))

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        in_flight = self.start_save_if_version(record, expected_version)
        return in_flight.finish()

    def start_save_if_version(
        self, record: Record, expected_version: int
    ) -> SentWrite[bool]:
        """``save_if_version`` in two halves: sent here where the channel can split
        it (Redis's lane), its outcome read by ``finish()``, so the caller
        can do its own work while the server does the write."""
        cache = self.cache
        if cache.forked or not self.channel.running:
            self._listen_again()  # the channel's connections are not this process's
        ticket = cache.begin(record.id, write=True, version=record.version)
        try:
            sent = self.channel.start_save_if_version(record, expected_version)
        except BaseException:
            cache.written(ticket, record.id, None)
            raise
        return SentWrite(self._finish_save, ticket, record, expected_version, sent)

    def _finish_save(
        self,
        ticket: Ticket | None,
        record: Record,
        expected_version: int,
        sent: SentWrite[tuple[bool, bool]] | None,
    ) -> bool:
        written = keep = False
        try:
            if sent is None:
                written, keep = self.channel.save_if_version(record, expected_version)
            else:
                written, keep = sent.finish()
        finally:
            self.cache.written(ticket, record.id, record if written and keep else None)
        return written

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        try:
            self.store.touch_many(expiries)
        finally:
            self.cache.forget(tuple(expiries))

    def delete(self, id: str) -> int:
        self.cache.forget((id,))
        try:
            removed: int = self.store.delete(id)
        finally:
            self.cache.forget((id,))
        return removed

    def delete_if_version(self, id: str, expected_version: int) -> bool:
        self.cache.forget((id,))
        try:
            removed: bool = self.store.delete_if_version(id, expected_version)
        finally:
            self.cache.forget((id,))
        return removed

    def newest(self, limit: int) -> list[Record]:
        newest: list[Record] = self.store.newest(limit)
        return newest

    def delete_many(self, ids: Iterable[str]) -> int:
        keys = tuple(ids)
        self.cache.forget(keys)
        try:
            removed: int = self.store.delete_many(keys)
        finally:
            self.cache.forget(keys)
        return removed

    def delete_all(self) -> int:
        try:
            removed: int = self.store.delete_all()
        finally:
            self.cache.clear()
        return removed

    def ids(self) -> Iterator[str]:
        iterator: Iterator[str] = self.store.ids()
        return iterator

    def count(self) -> int:
        counted: int = self.store.count()
        return counted

    def ids_for_user(self, user_id: str) -> list[str]:
        keys: list[str] = self.store.ids_for_user(user_id)
        return keys

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        self.cache.forget_user(user_id)
        self.store.mark_user_revoked(user_id, revoked_at, keep_until)

    def user_revoked_at(self, user_id: str) -> float | None:
        revoked_at: float | None = self.store.user_revoked_at(user_id)
        return revoked_at

    def purge_expired(self, now: float | None = None) -> int:
        removed: int = self.store.purge_expired(now)
        return removed

    def close(self) -> None:
        try:
            if self._started:
                self._started = False
                self.channel.close()
        finally:
            self.store.close()

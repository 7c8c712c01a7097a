"""``memory://``: a thread-safe in-process store, for tests, development and tiers.

Everything lives in one dict guarded by one lock; a second dict indexes keys by
user. Expired records are invisible at once and removed by ``purge_expired`` or
when next touched. Data does not survive the process, and is not shared between
worker processes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping

from msgspec.structs import replace

from ..core.record import Record
from .listing import newest_first

__all__ = ["AsyncMemoryStore", "MemoryStore"]

PURGE_BATCH = 10_000


class MemoryStore:
    """``memory://``: sessions in a dict of this process, guarded by one lock.

    For tests, development and the fast tier of a tiered store used by one process:
    nothing survives the process, and worker processes do not share it. ``clock``
    (Unix seconds) decides what has expired."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._records: dict[str, Record] = {}
        self._by_user: dict[str, set[str]] = {}
        # user id -> (revoked_at, keep_until): revocation markers, not sessions.
        self._revoked: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, **options: object) -> MemoryStore:
        if options:
            raise TypeError(f"memory:// takes no options, got {sorted(options)}")
        return cls()

    def __repr__(self) -> str:
        return "MemoryStore()"

    def setup(self) -> None:
        pass

    def load(self, id: str) -> Record | None:
        record = self._records.get(id)
        if record is None or record.expires_at <= self._clock():
            return None
        return record

    def save(self, record: Record) -> None:
        with self._lock:
            self._put(record, self._records.get(record.id))

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        with self._lock:
            stored = self._records.get(record.id)
            if stored is None or stored.expires_at <= self._clock():
                if expected_version != 0:
                    return False
            elif stored.version != expected_version:
                return False
            self._put(record, stored)
            return True

    def _put(self, record: Record, previous: Record | None) -> None:
        if previous is not None and previous.user_id != record.user_id:
            self._unindex(previous)
        self._records[record.id] = record
        if record.user_id is not None:
            self._by_user.setdefault(record.user_id, set()).add(record.id)

    def _unindex(self, record: Record) -> None:
        if record.user_id is None:
            return
        keys = self._by_user.get(record.user_id)
        if keys is not None:
            keys.discard(record.id)
            if not keys:
                del self._by_user[record.user_id]

    def _remove(self, id: str) -> int:
        record = self._records.pop(id, None)
        if record is None:
            return 0
        self._unindex(record)
        return 1

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        now = self._clock()
        with self._lock:
            records = self._records
            for id, expires_at in expiries.items():
                record = records.get(id)
                # Only ever later: a touch queued earlier must not undo a later save.
                if record is not None and now < record.expires_at < expires_at:
                    records[id] = replace(record, expires_at=expires_at)

    def delete(self, id: str) -> int:
        with self._lock:
            return self._remove(id)

    def delete_many(self, ids: Iterable[str]) -> int:
        with self._lock:
            return sum(self._remove(id) for id in ids)

    def delete_all(self) -> int:
        with self._lock:
            removed = len(self._records)
            self._records.clear()
            self._by_user.clear()
            self._revoked.clear()
            return removed

    def ids(self) -> Iterator[str]:
        now = self._clock()
        with self._lock:
            live = [id for id, record in self._records.items() if record.expires_at > now]
        return iter(live)

    def count(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for record in self._records.values() if record.expires_at > now)

    def ids_for_user(self, user_id: str) -> list[str]:
        now = self._clock()
        with self._lock:
            keys = self._by_user.get(user_id, ())
            return [id for id in keys if self._records[id].expires_at > now]

    def newest(self, limit: int) -> list[Record]:
        now = self._clock()
        with self._lock:
            live = (record for record in self._records.values() if record.expires_at > now)
            return newest_first(live, limit)

    def delete_if_version(self, id: str, expected_version: int) -> bool:
        with self._lock:
            stored = self._records.get(id)
            if stored is None or stored.version != expected_version:
                return False
            return self._remove(id) == 1

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        with self._lock:
            old_at, old_until = self._revoked.get(user_id, (revoked_at, keep_until))
            self._revoked[user_id] = (max(old_at, revoked_at), max(old_until, keep_until))

    def user_revoked_at(self, user_id: str) -> float | None:
        marker = self._revoked.get(user_id)
        if marker is None or marker[1] <= self._clock():
            return None
        return marker[0]

    def purge_expired(self, now: float | None = None) -> int:
        cutoff = self._clock() if now is None else now
        with self._lock:
            for user_id in [u for u, (_, until) in self._revoked.items() if until <= cutoff]:
                del self._revoked[user_id]
        removed = 0
        while True:
            with self._lock:  # bounded batches: other threads get the lock in between
                batch = [id for id, record in self._records.items() if record.expires_at <= cutoff][
                    :PURGE_BATCH
                ]
                for id in batch:
                    self._remove(id)
            removed += len(batch)
            if len(batch) < PURGE_BATCH:
                return removed

    def close(self) -> None:
        pass


class AsyncMemoryStore:
    """The memory store for async code. Its operations never block, so it calls the
    sync store directly instead of going through a thread."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.sync_store = store if store is not None else MemoryStore()

    @classmethod
    def from_url(cls, url: str, **options: object) -> AsyncMemoryStore:
        return cls(MemoryStore.from_url(url, **options))

    def __repr__(self) -> str:
        return "AsyncMemoryStore()"

    async def setup(self) -> None:
        self.sync_store.setup()

    async def load(self, id: str) -> Record | None:
        return self.sync_store.load(id)

    async def save(self, record: Record) -> None:
        self.sync_store.save(record)

    async def save_if_version(self, record: Record, expected_version: int) -> bool:
        return self.sync_store.save_if_version(record, expected_version)

    async def touch_many(self, expiries: Mapping[str, float]) -> None:
        self.sync_store.touch_many(expiries)

    async def delete(self, id: str) -> int:
        return self.sync_store.delete(id)

    async def delete_many(self, ids: Iterable[str]) -> int:
        return self.sync_store.delete_many(ids)

    async def delete_all(self) -> int:
        return self.sync_store.delete_all()

    async def ids(self) -> AsyncIterator[str]:
        for id in self.sync_store.ids():
            yield id

    async def count(self) -> int:
        return self.sync_store.count()

    async def ids_for_user(self, user_id: str) -> list[str]:
        return self.sync_store.ids_for_user(user_id)

    async def newest(self, limit: int) -> list[Record]:
        return self.sync_store.newest(limit)

    async def delete_if_version(self, id: str, expected_version: int) -> bool:
        return self.sync_store.delete_if_version(id, expected_version)

    async def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        self.sync_store.mark_user_revoked(user_id, revoked_at, keep_until)

    async def user_revoked_at(self, user_id: str) -> float | None:
        return self.sync_store.user_revoked_at(user_id)

    async def purge_expired(self, now: float | None = None) -> int:
        return self.sync_store.purge_expired(now)

    async def close(self) -> None:
        self.sync_store.close()

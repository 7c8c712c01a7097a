"""The tiered store: memory in front of SQL (real PostgreSQL, MariaDB, SQLite).

The case Django's ``cached_db`` gets wrong is tested directly: a write whose
fast-tier copy fails must not leave the old copy to be served.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import sessionware as sw
from sessionware.errors import StoreUnavailable
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.stores.sql import AsyncSQLStore, SQLStore
from sessionware.stores.tiered import AsyncTieredStore, TieredStore
from sessionware.testing import AsyncStoreConformance, StoreConformance
from sessionware.testing._sync.conformance import make_record
from tests.conftest import CountingProxy, cookie_for

from .sql_support import SECRET, dropped_afterwards, sql_url, sqlite_url, unique_table

__all__ = ["sql_url", "sqlite_url"]  # fixtures


class FastTierFault(sw.StoreProxy):
    """A fast tier whose writes (and, if asked, reads) fail while ``failing``."""

    def __init__(self, store: Any, *, reads_fail: bool = False) -> None:
        super().__init__(store)
        self.failing = False
        self.reads_fail = reads_fail

    def _check(self) -> None:
        if self.failing:
            raise StoreUnavailable("redis://:hunter2@fast-tier:6379/0", "injected fault")

    def save(self, call: Any, record: Any) -> Any:
        self._check()
        return call(record)

    def save_if_version(self, call: Any, record: Any, expected: int) -> Any:
        self._check()
        return call(record, expected)

    def touch_many(self, call: Any, expiries: Any) -> Any:
        self._check()
        return call(expiries)

    def load(self, call: Any, id: str) -> Any:
        if self.reads_fail:
            self._check()
        return call(id)


class AsyncFastTierFault(sw.StoreProxy):
    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.failing = False

    async def save_if_version(self, call: Any, record: Any, expected: int) -> Any:
        if self.failing:
            raise StoreUnavailable("redis://fast-tier:6379/0", "injected fault")
        return await call(record, expected)


@pytest.fixture
def durable(sql_url: str) -> Iterator[SQLStore]:
    with dropped_afterwards(SQLStore.from_url(sql_url, table=unique_table("tier"))) as store:
        store.setup()
        yield store


@pytest.fixture
def pg_durable(postgres_url: str) -> Iterator[SQLStore]:
    with dropped_afterwards(SQLStore.from_url(postgres_url, table=unique_table("tier"))) as store:
        store.setup()
        yield store


class TestTieredStore(StoreConformance):
    @pytest.fixture
    def store(self, durable: SQLStore) -> TieredStore:
        return TieredStore(MemoryStore(), durable, single_process=True)


class TestAsyncTieredStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, postgres_url: str) -> AsyncIterator[AsyncTieredStore]:
        durable = AsyncSQLStore.from_url(postgres_url, table=unique_table("tier"))
        store = AsyncTieredStore(AsyncMemoryStore(), durable, single_process=True)
        await store.setup()
        try:
            yield store
        finally:
            await durable.drop_table()
            await store.close()


# ------------------------------------------------------------ read-through


def test_a_miss_in_the_fast_tier_is_read_from_the_durable_one_and_copied(
    pg_durable: SQLStore,
) -> None:
    fast = MemoryStore()
    record = make_record()
    pg_durable.save(record)
    store = TieredStore(fast, pg_durable, single_process=True)
    assert store.load(record.id) == record
    assert fast.load(record.id) == record


def test_a_hit_in_the_fast_tier_does_not_reach_the_durable_one(pg_durable: SQLStore) -> None:
    durable = CountingProxy(pg_durable)
    store = TieredStore(MemoryStore(), durable, single_process=True)
    record = make_record()
    store.save_if_version(record, 0)
    assert store.load(record.id) == record
    assert durable.calls_to("load") == 0


def test_reads_fall_back_to_the_durable_tier_while_the_fast_one_is_down(
    pg_durable: SQLStore,
) -> None:
    fast = FastTierFault(MemoryStore(), reads_fail=True)
    store = TieredStore(fast, pg_durable, single_process=True)
    record = make_record()
    store.save_if_version(record, 0)
    fast.failing = True
    assert store.load(record.id) == record


# ----------------------------------------------------- consistency under CAS


def test_a_failed_fast_tier_write_never_leaves_stale_data_to_be_served(
    pg_durable: SQLStore,
) -> None:
    fast = FastTierFault(MemoryStore())
    store = TieredStore(fast, pg_durable, single_process=True)
    first = make_record(data=b"first", version=1)
    assert store.save_if_version(first, 0)
    fast.failing = True
    second = make_record(key=first.id, data=b"second", version=2)
    assert store.save_if_version(second, 1) is True
    fast.failing = False
    assert store.load(first.id) == second


def test_a_session_saved_while_the_fast_tier_fails_is_read_back_as_saved(
    pg_durable: SQLStore,
) -> None:
    # The Django cached_db scenario, end to end through the manager.
    fast = FastTierFault(MemoryStore())
    store = TieredStore(fast, pg_durable, single_process=True)
    manager = sw.SessionManager(store, secret_key=SECRET)
    try:
        cookie = cookie_for(manager, cart=["apple"])
        fast.failing = True
        with manager.scope(cookie) as session:
            session["cart"] = ["apple", "pear"]
        fast.failing = False
        with manager.scope(cookie) as session:
            assert session["cart"] == ["apple", "pear"]
    finally:
        manager.close()


def test_a_plain_save_whose_fast_copy_fails_evicts_the_old_copy(pg_durable: SQLStore) -> None:
    fast = FastTierFault(MemoryStore())
    store = TieredStore(fast, pg_durable, single_process=True)
    first = make_record(data=b"first")
    store.save(first)
    fast.failing = True
    second = make_record(key=first.id, data=b"second", version=2)
    store.save(second)
    fast.failing = False
    assert store.load(first.id) == second


def test_a_refused_durable_write_evicts_a_stale_fast_copy(pg_durable: SQLStore) -> None:
    fast = MemoryStore()
    store = TieredStore(fast, pg_durable, single_process=True)
    first = make_record(version=1)
    store.save_if_version(first, 0)
    newer = make_record(key=first.id, data=b"written elsewhere", version=2)
    pg_durable.save(newer)  # another server wrote straight to the durable tier
    assert store.save_if_version(make_record(key=first.id, version=2), 1) is False
    assert fast.load(first.id) is None
    assert store.load(first.id) == newer


def test_a_failed_touch_of_the_fast_tier_evicts_its_copies(pg_durable: SQLStore) -> None:
    fast = FastTierFault(MemoryStore())
    store = TieredStore(fast, pg_durable, single_process=True)
    record = make_record(expires_in=60)
    store.save_if_version(record, 0)
    fast.failing = True
    later = round(record.expires_at + 600, 3)
    store.touch_many({record.id: later})
    fast.failing = False
    loaded = store.load(record.id)
    assert loaded is not None
    assert abs(loaded.expires_at - later) < 0.002


def test_a_deleted_session_is_gone_from_both_tiers(pg_durable: SQLStore) -> None:
    fast = MemoryStore()
    store = TieredStore(fast, pg_durable, single_process=True)
    record = make_record()
    store.save_if_version(record, 0)
    assert store.delete(record.id) == 1
    assert fast.load(record.id) is None
    assert pg_durable.load(record.id) is None


def test_a_durable_tier_that_is_down_is_reported_not_hidden() -> None:
    down = SQLStore.from_url("postgresql+psycopg://postgres@127.0.0.1:1/test", failover_timeout=0)
    store = TieredStore(MemoryStore(), down, single_process=True)
    try:
        with pytest.raises(StoreUnavailable):
            store.save_if_version(make_record(), 0)
    finally:
        store.close()


@pytest.mark.anyio
async def test_async_a_failed_fast_tier_write_never_leaves_stale_data(postgres_url: str) -> None:
    durable = AsyncSQLStore.from_url(postgres_url, table=unique_table("tier"))
    fast = AsyncFastTierFault(AsyncMemoryStore())
    store = AsyncTieredStore(fast, durable, single_process=True)
    await store.setup()
    try:
        first = make_record(data=b"first", version=1)
        assert await store.save_if_version(first, 0)
        fast.failing = True
        second = make_record(key=first.id, data=b"second", version=2)
        assert await store.save_if_version(second, 1) is True
        fast.failing = False
        assert await store.load(first.id) == second
    finally:
        await durable.drop_table()
        await store.close()

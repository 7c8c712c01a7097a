"""The memory store runs the shared conformance suite, sync and async."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.testing import AsyncStoreConformance, FakeClock, StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def store_clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, store_clock: FakeClock) -> Iterator[MemoryStore]:
        store = MemoryStore(clock=store_clock)
        store.setup()
        yield store
        store.close()


class TestAsyncMemoryStore(AsyncStoreConformance):
    @pytest.fixture
    def store_clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    async def store(self, store_clock: FakeClock) -> AsyncIterator[AsyncMemoryStore]:
        store = AsyncMemoryStore(MemoryStore(clock=store_clock))
        await store.setup()
        yield store
        await store.close()


def test_memory_store_is_safe_under_threads() -> None:
    import threading

    from sessionware.testing._sync.conformance import make_record

    store = MemoryStore()
    records = [make_record(user_id=f"u{i % 7}") for i in range(2000)]

    def writer(chunk: list) -> None:  # type: ignore[type-arg]
        for record in chunk:
            store.save(record)
            store.touch_many({record.id: record.expires_at + 1})

    threads = [threading.Thread(target=writer, args=(records[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count() == 2000
    assert sum(len(store.ids_for_user(f"u{i}")) for i in range(7)) == 2000

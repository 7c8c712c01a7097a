"""``ThreadedStore`` runs a blocking store in worker threads and passes the async suite."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import pytest

from sessionware.core.record import Record
from sessionware.stores.memory import MemoryStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance, FakeClock
from sessionware.testing._async.conformance import make_record

from ..conftest import CountingProxy


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """A threaded store hops to its threads on every AnyIO backend."""
    backend: str = request.param
    return backend


class TestThreadedMemoryStore(AsyncStoreConformance):
    @pytest.fixture
    def store_clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    async def store(self, store_clock: FakeClock) -> AsyncIterator[ThreadedStore]:
        store = ThreadedStore(MemoryStore(clock=store_clock))
        await store.setup()
        yield store
        await store.close()


class _ThreadRecordingStore(MemoryStore):
    """A memory store that notes which thread each load ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.load_threads: list[str] = []

    def load(self, id: str) -> Record | None:
        self.load_threads.append(threading.current_thread().name)
        return super().load(id)


@pytest.mark.anyio
async def test_operations_run_outside_the_event_loop_thread() -> None:
    sync_store = _ThreadRecordingStore()
    store = ThreadedStore(sync_store)
    record = make_record()
    await store.save(record)
    assert await store.load(record.id) is not None
    await store.close()
    assert len(sync_store.load_threads) == 1
    assert threading.current_thread().name not in sync_store.load_threads


class _LoopLoadingStore(MemoryStore):
    """A memory store that can answer loads without waiting (``load_nowait``), or
    says it would have to wait; notes the thread each operation ran in."""

    def __init__(self, *, would_wait: bool = False) -> None:
        super().__init__()
        self.would_wait = would_wait
        self.threads: dict[str, list[str]] = {"load_nowait": [], "load": [], "save": []}

    def _note(self, operation: str) -> None:
        self.threads[operation].append(threading.current_thread().name)

    def load_nowait(self, id: str) -> Record | None:
        self._note("load_nowait")
        if self.would_wait:
            raise BlockingIOError
        return super().load(id)

    def load(self, id: str) -> Record | None:
        self._note("load")
        return super().load(id)

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        self._note("save")
        return super().save_if_version(record, expected_version)


@pytest.mark.anyio
async def test_a_load_the_store_answers_without_waiting_stays_on_the_event_loop_thread() -> None:
    sync_store = _LoopLoadingStore()
    store = ThreadedStore(sync_store)
    record = make_record()
    await store.save(record)
    assert await store.load(record.id) == record
    await store.close()
    assert sync_store.threads["load_nowait"] == [threading.current_thread().name]
    assert sync_store.threads["load"] == []


@pytest.mark.anyio
async def test_a_load_the_store_would_have_to_wait_for_runs_in_a_worker_thread() -> None:
    sync_store = _LoopLoadingStore(would_wait=True)
    store = ThreadedStore(sync_store)
    record = make_record()
    await store.save(record)
    assert await store.load(record.id) == record
    await store.close()
    assert sync_store.threads["load_nowait"] == [threading.current_thread().name]
    assert sync_store.threads["load"][0] != threading.current_thread().name


@pytest.mark.anyio
async def test_writes_run_in_a_worker_thread_even_when_loads_need_not() -> None:
    sync_store = _LoopLoadingStore()
    store = ThreadedStore(sync_store)
    record = make_record()
    assert await store.save_if_version(record, 0)
    await store.close()
    assert sync_store.threads["save"][0] != threading.current_thread().name


@pytest.mark.anyio
async def test_a_proxy_sees_every_load_of_a_store_that_could_answer_on_the_loop() -> None:
    proxy = CountingProxy(_LoopLoadingStore())
    store = ThreadedStore(proxy)
    record = make_record()
    await store.save(record)
    assert await store.load(record.id) == record
    await store.close()
    assert proxy.calls_to("load") == 1
    inner = proxy.store
    assert isinstance(inner, _LoopLoadingStore)
    assert inner.threads["load_nowait"] == []

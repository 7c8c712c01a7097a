"""``ThreadedStore`` runs a blocking store in worker threads and passes the async suite."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator

import pytest

from sessionware.core.record import Record
from sessionware.stores.memory import MemoryStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance
from sessionware.testing._async.conformance import make_record


class TestThreadedMemoryStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self) -> AsyncIterator[ThreadedStore]:
        store = ThreadedStore(MemoryStore())
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
    assert sync_store.load_threads[0].startswith("sessionware-store")
    assert threading.current_thread().name not in sync_store.load_threads

"""The async manager on trio: saves, the save gate, conflict pauses, the visit
flusher's background task and the threaded store's thread hops all work on any
AnyIO backend, not only asyncio."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

import sessionware as sw
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.stores.sqlite import SQLiteStore
from sessionware.stores.threaded import ThreadedStore

from .conftest import SECRET, Clock

trio = pytest.importorskip("trio")

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


def make_manager(store: Any, clock: Clock, **options: Any) -> sw.AsyncSessionManager:
    options.setdefault("idle_timeout", 600)
    return sw.AsyncSessionManager(store, secret_key=SECRET, clock=clock, **options)


EMBEDDED_URLS = {
    "sqlite": "sqlite:///{dir}/sessions.db",
    "files": "file://{dir}/sessions",
    "dbm": "dbm://{dir}/sessions.dbm",
}


@pytest.fixture(params=["memory", "sqlite", "files", "dbm"])
async def store(request: pytest.FixtureRequest, clock: Clock, tmp_path: Path) -> Any:
    """The memory store, and the embedded ones as ``open_async_store`` makes them
    (threaded stores that answer cached loads without a thread)."""
    if request.param == "memory":
        store: Any = AsyncMemoryStore(MemoryStore(clock=clock))
    else:
        store = await sw.open_async_store(EMBEDDED_URLS[request.param].format(dir=tmp_path))
    await store.setup()
    return store


async def new_cookie(manager: sw.AsyncSessionManager, **data: object) -> str:
    async with manager.scope(None) as session:
        session.update(data)
    assert session.cookie_value is not None
    return session.cookie_value


async def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)


async def test_a_counter_survives_across_scopes_on_trio(store: Any, clock: Clock) -> None:
    manager = make_manager(store, clock)
    cookie = await new_cookie(manager, n=0)
    for _ in range(3):
        async with manager.scope(cookie) as session:
            session["n"] += 1
    async with manager.scope(cookie) as session:
        assert session["n"] == 3
    await manager.close()


async def test_concurrent_tasks_on_trio_keep_each_others_keys(store: Any, clock: Clock) -> None:
    manager = make_manager(store, clock)
    cookie = await new_cookie(manager, k=True)

    async def set_key(name: str) -> None:
        session = await manager.open(cookie)
        await anyio.sleep(0)  # every task has loaded before any saves
        session[name] = True
        await manager.save_changes(session)

    async with anyio.create_task_group() as tasks:
        for i in range(8):
            tasks.start_soon(set_key, f"k{i}")
    async with manager.scope(cookie) as session:
        assert sorted(session) == ["k", *(f"k{i}" for i in range(8))]
    await manager.close()


async def test_the_visit_flusher_writes_on_its_interval_on_trio(store: Any, clock: Clock) -> None:
    tracker = sw.VisitTracker(interval=0.05)
    manager = make_manager(store, clock, visit_tracker=tracker)
    cookie = await new_cookie(manager, n=1)
    clock.advance(120)  # past the throttle: the visit queues a touch
    async with manager.scope(cookie) as session:
        assert session["n"] == 1
    await wait_until(lambda: tracker.stats.flushed == 1)
    await manager.close()


async def test_close_on_trio_flushes_queued_visits(store: Any, clock: Clock) -> None:
    tracker = sw.VisitTracker(interval=60)
    manager = make_manager(store, clock, visit_tracker=tracker)
    cookie = await new_cookie(manager, n=1)
    clock.advance(120)
    async with manager.scope(cookie):
        pass
    assert tracker.stats.flushed == 0
    await manager.close()
    assert tracker.stats.flushed == 1


def test_a_trio_run_ending_without_close_still_flushes(clock: Clock) -> None:
    tracker = sw.VisitTracker(interval=60)
    memory = MemoryStore(clock=clock)

    async def main() -> None:
        manager = make_manager(AsyncMemoryStore(memory), clock, visit_tracker=tracker)
        cookie = await new_cookie(manager, n=1)
        clock.advance(120)
        async with manager.scope(cookie):
            pass
        # no close(): trio.run cancels the flusher's system task, which flushes first

    trio.run(main)
    assert tracker.stats.flushed == 1
    (key,) = list(memory.ids())
    record = memory.load(key)
    assert record is not None
    assert record.expires_at == pytest.approx(clock() + 600)


def test_one_manager_serves_consecutive_trio_runs(clock: Clock) -> None:
    manager = make_manager(AsyncMemoryStore(MemoryStore(clock=clock)), clock)

    async def count() -> int:
        async with manager.scope(cookie) as session:
            session["n"] = session.get("n", 0) + 1
            return int(session["n"])

    cookie = trio.run(lambda: new_cookie(manager, n=0))
    assert [trio.run(count) for _ in range(3)] == [1, 2, 3]


async def test_the_threaded_store_hops_to_a_worker_thread_on_trio(tmp_path: Path) -> None:
    import threading

    threads: list[str] = []

    class Recording(SQLiteStore):
        def save(self, record: sw.Record) -> None:
            threads.append(threading.current_thread().name)
            super().save(record)

    store = ThreadedStore(Recording(str(tmp_path / "sessions.db")))
    await store.setup()
    from sessionware.testing._async.conformance import make_record

    await store.save(make_record())
    await store.close()
    assert len(threads) == 1
    assert threads[0] != threading.current_thread().name

"""AsyncSessionManager: the same lifecycle as the sync manager, awaited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import sessionware as sw
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET, Clock

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def amanager(clock: Clock) -> AsyncIterator[sw.AsyncSessionManager]:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    manager = sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=600, clock=clock)
    yield manager
    await manager.close()


async def new_cookie(manager: sw.AsyncSessionManager, **data: object) -> str:
    async with manager.scope(None) as session:
        session.update(data)
    assert session.cookie_value is not None
    return session.cookie_value


async def test_a_counter_survives_across_scopes(amanager: sw.AsyncSessionManager) -> None:
    cookie = await new_cookie(amanager, n=0)
    for _ in range(3):
        async with amanager.scope(cookie) as session:
            session["n"] += 1
    async with amanager.scope(cookie) as session:
        assert session["n"] == 3


async def test_the_async_manager_loads_at_open(amanager: sw.AsyncSessionManager) -> None:
    cookie = await new_cookie(amanager, n=1)
    session = await amanager.open(cookie)
    assert session.loaded
    assert session._data == {"n": 1}


async def test_an_exception_forgets_the_changes(amanager: sw.AsyncSessionManager) -> None:
    cookie = await new_cookie(amanager, n=1)
    with pytest.raises(KeyError):
        async with amanager.scope(cookie) as session:
            session["n"] = 2
            raise KeyError("boom")
    async with amanager.scope(cookie) as session:
        assert session["n"] == 1


async def test_login_and_revoke_user(amanager: sw.AsyncSessionManager) -> None:
    async with amanager.scope(None) as session:
        await amanager.login(session, "alice")
    cookie = session.cookie_value
    assert await amanager.revoke_user("alice") == 1
    async with amanager.scope(cookie) as session:
        assert session.is_new


async def test_interleaved_requests_keep_each_others_keys(
    amanager: sw.AsyncSessionManager,
) -> None:
    cookie = await new_cookie(amanager, base=0)
    first, second = await amanager.open(cookie), await amanager.open(cookie)
    first["x"], second["y"] = 1, 2
    await amanager.save_changes(first)
    await amanager.save_changes(second)
    async with amanager.scope(cookie) as session:
        assert dict(session) == {"base": 0, "x": 1, "y": 2}


async def test_read_only_visits_are_flushed_in_the_background(clock: Clock) -> None:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    tracker = sw.VisitTracker(interval=0.05)
    manager = sw.AsyncSessionManager(
        store, secret_key=SECRET, idle_timeout=600, visit_tracker=tracker, clock=clock
    )
    cookie = await new_cookie(manager, n=1)
    clock.advance(300)
    async with manager.scope(cookie) as session:
        assert session["n"] == 1
    assert len(tracker) == 1
    import asyncio

    for _ in range(100):
        if tracker.stats.flushes:
            break
        await asyncio.sleep(0.02)
    assert tracker.stats.flushed == 1
    (record,) = [await store.load(key) async for key in store.ids()]
    assert record is not None
    assert record.expires_at == pytest.approx(clock() + 600)
    await manager.close()


async def test_same_key_conflicts_go_to_the_last_writer_by_default(
    amanager: sw.AsyncSessionManager,
) -> None:
    cookie = await new_cookie(amanager, n=0)
    first, second = await amanager.open(cookie), await amanager.open(cookie)
    first["n"], second["n"] = 1, 2
    await amanager.save_changes(first)
    await amanager.save_changes(second)
    async with amanager.scope(cookie) as session:
        assert session["n"] == 2


async def test_same_key_conflicts_can_be_made_to_raise(clock: Clock) -> None:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    manager = sw.AsyncSessionManager(
        store, secret_key=SECRET, same_key_conflicts="raise", clock=clock
    )
    cookie = await new_cookie(manager, n=0)
    first, second = await manager.open(cookie), await manager.open(cookie)
    first["n"], second["n"] = 1, 2
    await manager.save_changes(first)
    with pytest.raises(sw.ConcurrentUpdateError, match="'n'"):
        await manager.save_changes(second)
    async with manager.scope(cookie) as session:
        assert session["n"] == 1
    await manager.close()


async def test_concurrent_tasks_lose_no_update(amanager: sw.AsyncSessionManager) -> None:
    import asyncio

    cookie = await new_cookie(amanager, base=0)

    async def writer(i: int) -> None:
        for j in range(20):
            async with amanager.scope(cookie) as session:
                session[f"writer-{i}-update-{j}"] = j
                await asyncio.sleep(0)  # let the other tasks load the same version

    await asyncio.gather(*(writer(i) for i in range(8)))
    async with amanager.scope(cookie) as session:
        assert len(session) == 1 + 8 * 20

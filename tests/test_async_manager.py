"""What only the AsyncSessionManager does: it loads a session at open, and tasks of
one event loop share it. Everything else both managers do is tested once, in
tests/_async/test_manager.py, and generated into tests/_sync/test_manager.py."""

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


async def test_the_async_manager_loads_at_open(amanager: sw.AsyncSessionManager) -> None:
    cookie = await new_cookie(amanager, n=1)
    session = await amanager.open(cookie)
    assert session.loaded
    assert session._data == {"n": 1}


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

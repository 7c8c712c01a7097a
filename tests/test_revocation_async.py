"""The async manager keeps revocation final too: two async managers on two
connections (memory, SQLite through threads, Redis), forced interleavings."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import sessionware as sw
from sessionware.stores.memory import AsyncMemoryStore

from .conftest import SECRET, Clock

pytestmark = pytest.mark.anyio

USER = "alice"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, Any]]:
    if request.param == "memory":
        store = AsyncMemoryStore()
        yield store, store
        return
    options: dict[str, Any]
    if request.param == "sqlite":
        url, options = f"sqlite:///{tmp_path / 'sessions.db'}", {}
    else:
        url = request.getfixturevalue("redis_url")
        options = {"prefix": f"arevoke-{uuid.uuid4().hex[:8]}:"}
    a = await sw.open_async_store(url, **options)
    b = await sw.open_async_store(url, **options)
    try:
        yield a, b
    finally:
        await a.delete_all()
        await b.close()
        await a.close()


def managers(stores: tuple[Any, Any]) -> tuple[sw.AsyncSessionManager, sw.AsyncSessionManager]:
    clock = Clock(time.time())
    options: dict[str, Any] = {"secret_key": SECRET, "visit_tracker": False, "clock": clock}
    return sw.AsyncSessionManager(stores[0], **options), sw.AsyncSessionManager(
        stores[1], **options
    )


async def logged_in_cookie(manager: sw.AsyncSessionManager) -> str:
    session = await manager.open(None)
    session["cart"] = [1]
    await manager.login(session, USER)
    cookie = await manager.save_changes(session)
    assert cookie is not None
    return cookie


@pytest.mark.parametrize("op", ["regenerate", "login"])
@pytest.mark.parametrize("revoker", ["invalidate", "revoke_user"])
async def test_a_regenerate_after_a_revocation_elsewhere_drops_the_session(
    stores: tuple[Any, Any], revoker: str, op: str
) -> None:
    a, b = managers(stores)
    cookie = await logged_in_cookie(a)
    session = await a.open(cookie)
    if revoker == "invalidate":
        await b.invalidate(await b.open(cookie))
    else:
        await b.revoke_user(USER)
    if op == "regenerate":
        await a.regenerate(session)
    else:
        await a.login(session, USER)

    assert await a.save_changes(session) is None
    assert session.is_new
    assert await stores[0].ids_for_user(USER) == []
    assert await stores[0].count() == 0


async def test_a_login_in_a_request_that_began_before_revoke_user_is_undone(
    stores: tuple[Any, Any],
) -> None:
    a, b = managers(stores)
    session = await a.open(None)
    session["cart"] = [1]
    await b.revoke_user(USER)
    await a.login(session, USER)

    assert await a.save_changes(session) is None
    assert await stores[0].ids_for_user(USER) == []

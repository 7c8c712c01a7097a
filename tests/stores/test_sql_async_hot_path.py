"""The async SQL store's hot path against real servers.

With psycopg and aiomysql, ``load``, ``save`` and ``save_if_version`` await the
statement on the driver's own connection and run only the pool's work in the
greenlet bridge; other drivers (asyncpg, aiosqlite) run the sync hot path inside
the bridge. Both must keep the store's behaviour, which the conformance suite checks
(here for asyncpg, which ``test_sql.py`` does not cover).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import greenlet
import pytest
from sqlalchemy.engine import make_url

from sessionware.errors import StoreError
from sessionware.stores.sql import AsyncSQLStore
from sessionware.testing import AsyncStoreConformance
from sessionware.testing._sync.conformance import make_record

from .sql_support import async_sql_store, server_sql_url, sqlite_url, unique_table

__all__ = ["server_sql_url", "sqlite_url"]  # fixtures


def asyncpg_url(postgres_url: str) -> str:
    url = make_url(postgres_url).set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def open_store() -> AsyncIterator[Callable[..., Any]]:
    stores: list[AsyncSQLStore] = []

    async def open_(url: str, **options: Any) -> AsyncSQLStore:
        store = AsyncSQLStore.from_url(url, table=unique_table("hot"), **options)
        await store.setup()
        stores.append(store)
        return store

    yield open_
    for store in stores:
        await store.drop_table()
        await store.close()


class TestAsyncpgSQLStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, postgres_url: str) -> AsyncIterator[AsyncSQLStore]:
        async with async_sql_store(asyncpg_url(postgres_url)) as store:
            yield store


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("fixture", "asyncpg", "native"),
    [
        ("postgres_url", False, True),
        ("mysql_url", False, True),
        ("postgres_url", True, False),
        ("sqlite_url", False, False),
    ],
    ids=["psycopg", "aiomysql", "asyncpg", "aiosqlite"],
)
async def test_psycopg_and_aiomysql_run_statements_on_the_drivers_own_connection(
    fixture: str,
    asyncpg: bool,
    native: bool,
    request: pytest.FixtureRequest,
    open_store: Callable[..., Any],
) -> None:
    url = request.getfixturevalue(fixture)
    store = await open_store(asyncpg_url(url) if asyncpg else url)
    assert store._fast.native is native
    record = make_record()
    assert await store.save_if_version(record, 0) is True
    assert await store.load(record.id) == record


@pytest.mark.anyio
async def test_operations_one_after_another_start_no_new_greenlet(
    server_sql_url: str, open_store: Callable[..., Any]
) -> None:
    store = await open_store(server_sql_url)
    record = make_record(version=1)
    await store.save(record)
    await store.load(record.id)  # connects: the pool is warm from here on
    # Kept alive, so that a greenlet made later cannot reuse the id of an old one.
    seen: dict[int, Any] = {}
    main = greenlet.getcurrent()

    def trace(event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            seen.update((id(target), target) for target in args if target is not main)

    previous = greenlet.settrace(trace)
    try:
        for version in range(2, 12):
            assert await store.load(record.id) is not None
            updated = make_record(key=record.id, version=version)
            assert await store.save_if_version(updated, version - 1) is True
    finally:
        greenlet.settrace(previous)
    assert len(seen) == 1  # one bridge greenlet, parked between calls


@pytest.mark.anyio
async def test_concurrent_operations_wait_their_turn_for_a_one_connection_pool(
    server_sql_url: str, open_store: Callable[..., Any]
) -> None:
    store = await open_store(server_sql_url, pool_size=1, max_overflow=0)
    records = [make_record() for _ in range(12)]
    created = await asyncio.gather(*(store.save_if_version(r, 0) for r in records))
    assert created == [True] * 12
    loaded = await asyncio.gather(*(store.load(r.id) for r in records))
    assert loaded == records


@pytest.mark.anyio
async def test_a_refused_write_is_a_store_error_without_the_session_data(
    server_sql_url: str, open_store: Callable[..., Any]
) -> None:
    store = await open_store(server_sql_url)
    record = make_record(data=b"private-payload", user_id="u" * 300)
    with pytest.raises(StoreError) as raised:
        await store.save(record)
    assert "private-payload" not in str(raised.value)
    assert await store.load(record.id) is None
    # The connection that met the error serves the next operation.
    fine = make_record()
    await store.save(fine)
    assert await store.load(fine.id) == fine


@pytest.mark.anyio
async def test_a_lost_compare_and_set_reports_false_and_changes_nothing(
    server_sql_url: str, open_store: Callable[..., Any]
) -> None:
    store = await open_store(server_sql_url)
    record = make_record(version=3)
    await store.save(record)
    stale = make_record(key=record.id, data=b"stale", version=3)
    assert await store.save_if_version(stale, 2) is False
    assert await store.load(record.id) == record

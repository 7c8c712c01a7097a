"""The SQL store's hot path and its liveness policy against real servers.

Pooled connections are not pinged on every checkout; instead a connection unused
for ``pool_ping_idle`` seconds (or last used before a disconnection was seen) is
pinged, and ``load`` / ``save`` meeting a dead connection try once more. These tests
kill the store's own pooled connections on the server (never anyone else's) and
check what the next operations do.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.util import greenlet_spawn

from sessionware.stores.sql import AsyncSQLStore, SQLStore
from sessionware.stores.sql._engine import async_driver_url
from sessionware.testing._sync.conformance import make_record

from .sql_support import async_sql_store, dropped_afterwards, server_sql_url, unique_table

__all__ = ["server_sql_url"]  # fixture

ONE_CONNECTION = {"pool_size": 1, "max_overflow": 0}


# ------------------------------------------------------------------- helpers


def backend_id_sql(url: str) -> str:
    return "SELECT pg_backend_pid()" if url.startswith("postgresql") else "SELECT CONNECTION_ID()"


def pooled_backend_ids(engine: Engine, url: str, count: int) -> list[int]:
    """Check out ``count`` connections at once, return them to the pool, and give
    their server-side ids."""
    held = [engine.raw_connection() for _ in range(count)]
    ids = []
    for connection in held:
        cursor = connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(backend_id_sql(url))
        row = cursor.fetchone()
        assert row is not None
        ids.append(int(row[0]))
        cursor.close()
    for connection in held:
        connection.close()
    return ids


def wait_until_no_statement_runs_on(engine: Engine, url: str, table: str) -> None:
    if url.startswith("postgresql"):
        running = (
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
            " AND pid <> pg_backend_pid() AND query LIKE :pattern"
        )
    else:
        running = (
            "SELECT count(*) FROM information_schema.processlist WHERE command = 'Query'"
            " AND id <> CONNECTION_ID() AND info LIKE :pattern"
        )
    deadline = time.monotonic() + 10
    with engine.connect() as connection:
        while connection.execute(text(running), {"pattern": f"%{table}%"}).scalar():
            assert time.monotonic() < deadline, "a cancelled statement kept running"
            time.sleep(0.02)


@pytest.fixture
def kill(server_sql_url: str) -> Iterator[Callable[[list[int]], None]]:
    """Ends server connections by id (only ones this test opened) and waits until
    the server no longer lists them."""
    admin = create_engine(server_sql_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    if server_sql_url.startswith("postgresql"):
        end, listed = "SELECT pg_terminate_backend(:id)", "FROM pg_stat_activity WHERE pid = :id"
    else:
        end, listed = "KILL :id", "FROM information_schema.processlist WHERE id = :id"

    def kill_ids(ids: list[int]) -> None:
        with admin.connect() as connection:
            for backend in ids:
                connection.execute(text(end), {"id": backend})
            deadline = time.monotonic() + 10
            for backend in ids:
                while connection.execute(
                    text(f"SELECT count(*) {listed}"), {"id": backend}
                ).scalar():
                    assert time.monotonic() < deadline, "the server did not end the connection"
                    time.sleep(0.05)

    yield kill_ids
    admin.dispose()


@pytest.fixture
def make_store(server_sql_url: str) -> Iterator[Callable[..., SQLStore]]:
    stores: list[SQLStore] = []

    def make(**options: Any) -> SQLStore:
        store = SQLStore.from_url(server_sql_url, table=unique_table("live"), **options)
        store.setup()
        stores.append(store)
        return store

    yield make
    for store in stores:
        with dropped_afterwards(store):
            pass


def count_pings(store: SQLStore | AsyncSQLStore, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the liveness pings the store's dialect sends (the real pings still run)."""
    dialect = store.engine.dialect
    original = dialect.do_ping
    pings: list[int] = []

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pings


# ------------------------------------------------------------ pinging policy


def test_a_busy_connection_is_not_pinged(
    make_store: Callable[..., SQLStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(**ONE_CONNECTION)
    record = make_record()
    store.save(record)
    pings = count_pings(store, monkeypatch)
    for _ in range(20):
        assert store.load(record.id) == record
    assert pings == []


def test_a_connection_unused_longer_than_pool_ping_idle_is_pinged(
    make_store: Callable[..., SQLStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(pool_ping_idle=0.05, **ONE_CONNECTION)
    record = make_record()
    store.save(record)
    pings = count_pings(store, monkeypatch)
    time.sleep(0.1)
    assert store.load(record.id) == record
    assert store.load(record.id) == record  # used just now: no second ping
    assert pings == [1]


def test_a_dead_idle_connection_is_replaced_before_a_compare_and_set_runs(
    make_store: Callable[..., SQLStore], kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    store = make_store(pool_ping_idle=0, **ONE_CONNECTION)
    record = make_record(version=1)
    store.save(record)
    kill(pooled_backend_ids(store.engine, server_sql_url, 1))
    assert store.save_if_version(make_record(key=record.id, version=2), 1) is True


# ----------------------------------------------------- meeting a dead connection


def test_a_load_that_meets_a_dead_connection_is_tried_again(
    make_store: Callable[..., SQLStore], kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    store = make_store(**ONE_CONNECTION)
    record = make_record()
    store.save(record)
    kill(pooled_backend_ids(store.engine, server_sql_url, 1))
    assert store.load(record.id) == record


def test_a_save_that_meets_a_dead_connection_is_tried_again(
    make_store: Callable[..., SQLStore], kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    store = make_store(**ONE_CONNECTION)
    record = make_record()
    store.save(record)
    kill(pooled_backend_ids(store.engine, server_sql_url, 1))
    changed = make_record(key=record.id, data=b"changed", version=2)
    store.save(changed)
    assert store.load(record.id) == changed


def test_a_compare_and_set_that_meets_a_dead_connection_is_settled_by_reading_back(
    make_store: Callable[..., SQLStore], kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    # Sent twice blindly, a compare-and-set that did apply would report a conflict;
    # the store reads the record back first (still version 1: send it again).
    store = make_store(**ONE_CONNECTION)
    record = make_record(version=1)
    store.save(record)
    kill(pooled_backend_ids(store.engine, server_sql_url, 1))
    second = make_record(key=record.id, version=2)
    assert store.save_if_version(second, 1) is True
    assert store.load(record.id) == second


def test_after_one_dead_connection_every_older_pooled_connection_is_checked(
    make_store: Callable[..., SQLStore], kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    # A restarted server leaves the whole pool dead: the retry of the first load
    # must not land on another dead connection, nor must the compare-and-set after it.
    store = make_store(pool_size=3, max_overflow=0)
    record = make_record(version=1)
    store.save(record)
    kill(pooled_backend_ids(store.engine, server_sql_url, 3))
    assert store.load(record.id) == record
    for version in (2, 3, 4):
        assert store.save_if_version(make_record(key=record.id, version=version), version - 1)


# ---------------------------------------------------------------------- async


@pytest.fixture
async def async_store(server_sql_url: str) -> AsyncIterator[AsyncSQLStore]:
    async with async_sql_store(
        server_sql_url, table=unique_table("alive"), **ONE_CONNECTION
    ) as store:
        yield store


async def async_backend_ids(store: AsyncSQLStore, url: str) -> list[int]:
    # The async driver's adapted DBAPI connection runs inside SQLAlchemy's greenlet.
    return await greenlet_spawn(pooled_backend_ids, store.engine.sync_engine, url, 1)


@pytest.mark.anyio
async def test_an_async_load_that_meets_a_dead_connection_is_tried_again(
    async_store: AsyncSQLStore, kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    record = make_record()
    await async_store.save(record)
    kill(await async_backend_ids(async_store, server_sql_url))
    assert await async_store.load(record.id) == record


@pytest.mark.anyio
async def test_an_async_compare_and_set_that_meets_a_dead_connection_is_settled_by_reading_back(
    async_store: AsyncSQLStore, kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    record = make_record(version=1)
    await async_store.save(record)
    kill(await async_backend_ids(async_store, server_sql_url))
    second = make_record(key=record.id, version=2)
    assert await async_store.save_if_version(second, 1) is True
    assert await async_store.load(record.id) == second


@pytest.mark.anyio
async def test_an_async_save_that_meets_a_dead_connection_is_tried_again(
    async_store: AsyncSQLStore, kill: Callable[[list[int]], None], server_sql_url: str
) -> None:
    record = make_record()
    await async_store.save(record)
    kill(await async_backend_ids(async_store, server_sql_url))
    changed = make_record(key=record.id, data=b"changed", version=2)
    await async_store.save(changed)
    assert await async_store.load(record.id) == changed


@pytest.mark.anyio
async def test_an_async_connection_unused_longer_than_pool_ping_idle_is_pinged(
    server_sql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = AsyncSQLStore.from_url(
        server_sql_url, table=unique_table("aping"), pool_ping_idle=0.05, **ONE_CONNECTION
    )
    await store.setup()
    try:
        record = make_record()
        await store.save(record)
        pings = count_pings(store, monkeypatch)
        await anyio.sleep(0.1)
        assert await store.load(record.id) == record
        assert await store.load(record.id) == record  # used just now: no second ping
        assert pings == [1]
    finally:
        await store.drop_table()
        await store.close()


@pytest.mark.anyio
async def test_an_async_engine_not_in_autocommit_still_commits_every_write(
    server_sql_url: str,
) -> None:
    table = unique_table("atx")
    engine = create_async_engine(async_driver_url(make_url(server_sql_url)), **ONE_CONNECTION)
    store = AsyncSQLStore(engine, table=table)
    other = AsyncSQLStore.from_url(server_sql_url, table=table)
    try:
        await store.setup()
        record = make_record(version=1)
        assert await store.save_if_version(record, 0) is True
        assert await other.load(record.id) == record
        updated = make_record(key=record.id, version=2)
        assert await store.save_if_version(updated, 1) is True
        assert await other.load(record.id) == updated
    finally:
        await other.close()
        await store.drop_table()
        await store.close()


# ------------------------------------------------------------------ options


def test_pool_ping_idle_is_read_from_the_url_query(server_sql_url: str) -> None:
    store = SQLStore.from_url(f"{server_sql_url}?pool_ping_idle=2.5")
    try:
        assert store._fast.liveness.ping_idle == 2.5
        assert "pool_ping_idle" not in store.engine.url.query
    finally:
        store.close()


def test_a_negative_pool_ping_idle_is_refused() -> None:
    with pytest.raises(ValueError, match="pool_ping_idle"):
        SQLStore.from_url("postgresql+psycopg://u@127.0.0.1/db?pool_ping_idle=-1")


def test_an_engine_not_in_autocommit_still_commits_every_write(server_sql_url: str) -> None:
    # An engine built by the caller may use transactions; the hot path commits
    # each write itself then, so another connection sees it at once.
    table = unique_table("tx")
    engine = create_engine(server_sql_url, pool_size=1, max_overflow=0)
    with dropped_afterwards(SQLStore(engine, table=table)) as store:
        store.setup()
        other = SQLStore.from_url(server_sql_url, table=table)
        try:
            record = make_record(version=1)
            assert store.save_if_version(record, 0) is True
            assert other.load(record.id) == record
            updated = make_record(key=record.id, version=2)
            assert store.save_if_version(updated, 1) is True
            assert other.load(record.id) == updated
        finally:
            other.close()


@pytest.mark.anyio
async def test_an_async_write_cancelled_mid_statement_does_not_return_its_connection_dirty(
    async_store: AsyncSQLStore, server_sql_url: str
) -> None:
    # Another transaction holds the row lock, so the compare-and-set waits inside
    # the server when its task is cancelled; the pool (one connection) must not get
    # that connection back with a statement still running on it.
    record = make_record(version=1)
    await async_store.save(record)
    locker = create_engine(server_sql_url, poolclass=NullPool)
    try:
        with locker.connect() as connection:
            connection.execute(
                text(f"SELECT id FROM {async_store.table} WHERE id = :id FOR UPDATE"),
                {"id": record.id},
            )
            with anyio.move_on_after(0.3) as scope:
                await async_store.save_if_version(make_record(key=record.id, version=2), 1)
            assert scope.cancelled_caught
            connection.rollback()
        # When the cancellation could not be delivered to the server, the driver
        # closed the connection, but the server still runs the waiting statement
        # once the lock is gone (and may commit it): the outcome of a cancelled
        # write is unknown, as with any database. Let it finish before judging.
        wait_until_no_statement_runs_on(locker, server_sql_url, async_store.table)
    finally:
        locker.dispose()
    loaded = await async_store.load(record.id)
    assert loaded is not None
    assert await async_store.save_if_version(
        make_record(key=record.id, version=loaded.version + 1), loaded.version
    )

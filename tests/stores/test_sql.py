"""The SQL store against real PostgreSQL, MariaDB and SQLite: the conformance suite,
URL options, compare-and-set races, errors, scale, and a server that goes away."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

import sessionware as sw
from sessionware.errors import StoreError, StoreUnavailable
from sessionware.stores.sql import AsyncSQLStore, SQLStore
from sessionware.stores.sql._engine import async_driver_url
from sessionware.testing import AsyncStoreConformance, FakeClock, StoreConformance
from sessionware.testing._sync.conformance import make_record
from tests.conftest import cookie_for
from tests.servers import free_port

from .sql_support import (
    SECRET,
    ThrowawayPostgres,
    async_sql_store,
    dropped_afterwards,
    server_sql_url,
    setup_in_process,
    sql_url,
    sqlite_url,
    throwaway_postgres,
    unique_table,
    wsgi_worker,
)

__all__ = ["server_sql_url", "sql_url", "sqlite_url", "throwaway_postgres"]  # fixtures


@pytest.fixture
def sync_store(sql_url: str) -> Iterator[SQLStore]:
    with dropped_afterwards(SQLStore.from_url(sql_url, table=unique_table())) as store:
        store.setup()
        yield store


# The SQL store passes its clock's "now" into every statement, so the conformance
# suite moves a fake clock instead of sleeping.
class TestSQLStore(StoreConformance):
    @pytest.fixture
    def store_clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, sql_url: str, store_clock: FakeClock) -> Iterator[SQLStore]:
        store = SQLStore.from_url(sql_url, table=unique_table(), clock=store_clock)
        with dropped_afterwards(store):
            store.setup()
            yield store


class TestAsyncSQLStore(AsyncStoreConformance):
    @pytest.fixture
    def store_clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    async def store(self, sql_url: str, store_clock: FakeClock) -> AsyncIterator[AsyncSQLStore]:
        async with async_sql_store(sql_url, clock=store_clock) as store:
            yield store


def many_records(store: SQLStore, count: int, **options: Any) -> list[sw.Record]:
    records = [make_record(data=b"", **options) for _ in range(count)]
    for record in records:
        store.save(record)
    return records


# ------------------------------------------------------------------ batches


def test_purge_expired_removes_more_than_one_batch(sync_store: SQLStore) -> None:
    many_records(sync_store, 2100, expires_in=-5)
    live = make_record()
    sync_store.save(live)
    assert sync_store.purge_expired() == 2100
    assert sync_store.count() == 1


def test_ids_lists_every_record_across_pages(sync_store: SQLStore) -> None:
    records = many_records(sync_store, 2100)
    listed = list(sync_store.ids())
    assert sorted(listed) == sorted(record.id for record in records)


def test_touch_many_moves_every_expiry_of_a_batch_larger_than_one_statement(
    sync_store: SQLStore,
) -> None:
    records = many_records(sync_store, 1200, expires_in=60)
    later = round(time.time() + 7200, 3)
    sync_store.touch_many({record.id: later for record in records})
    for record in (records[0], records[700], records[-1]):
        loaded = sync_store.load(record.id)
        assert loaded is not None
        assert abs(loaded.expires_at - later) < 0.002


def test_delete_many_removes_more_than_one_chunk(sync_store: SQLStore) -> None:
    records = many_records(sync_store, 1100)
    assert sync_store.delete_many(record.id for record in records) == 1100
    assert sync_store.count() == 0


# ------------------------------------------------------- compare-and-set races


def race(threads: int, action: Callable[[], bool]) -> list[bool]:
    barrier = threading.Barrier(threads)
    results: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=30)
        outcome = action()
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results


def test_only_one_of_many_racing_creates_wins(sync_store: SQLStore) -> None:
    record = make_record()
    results = race(8, lambda: sync_store.save_if_version(record, 0))
    assert sorted(results) == [False] * 7 + [True]


def test_only_one_of_many_racing_updates_of_one_version_wins(sync_store: SQLStore) -> None:
    first = make_record(version=1)
    sync_store.save(first)
    results = race(8, lambda: sync_store.save_if_version(make_record(key=first.id, version=2), 1))
    assert sorted(results) == [False] * 7 + [True]


def test_mariadb_create_refuses_a_live_row_even_when_found_rows_is_requested(
    mysql_url: str,
) -> None:
    # With CLIENT_FOUND_ROWS a refused ON DUPLICATE KEY UPDATE would count as 1.
    store = SQLStore.from_url(f"{mysql_url}?client_flag=2", table=unique_table())
    with dropped_afterwards(store):
        store.setup()
        record = make_record()
        assert store.save_if_version(record, 0) is True
        assert store.save_if_version(make_record(key=record.id, data=b"x"), 0) is False


# ---------------------------------------------------- dialects without an upsert
# (SQL Server, Oracle...: SQLAlchemy has no upsert for them)


def test_without_an_upsert_save_updates_else_inserts(sync_store: SQLStore) -> None:
    sync_store._sql.save = None
    record = make_record(data=b"first")
    sync_store.save(record)  # no row yet: inserted
    sync_store.save(make_record(key=record.id, data=b"second", version=2))  # updated
    loaded = sync_store.load(record.id)
    assert loaded is not None
    assert (loaded.data, loaded.version) == (b"second", 2)


def test_without_an_upsert_a_marker_is_inserted_then_raised(sync_store: SQLStore) -> None:
    sync_store._sql.mark_revoked = None
    now = time.time()
    sync_store.mark_user_revoked("alice", now, now + 60)  # inserted
    sync_store.mark_user_revoked("alice", now - 10, now + 30)  # raised: later times kept
    assert sync_store.user_revoked_at("alice") == now


# ------------------------------------------------------------ URL and options


def test_table_name_comes_from_the_url_query(postgres_url: str) -> None:
    table = unique_table("q")
    with dropped_afterwards(sw.open_store(f"{postgres_url}?table={table}")) as store:
        assert isinstance(store, SQLStore)
        assert store.table == table
        with store.engine.connect() as connection:
            assert inspect(connection).has_table(table)


def test_setup_creates_the_expiry_and_user_indexes(postgres_url: str) -> None:
    with dropped_afterwards(SQLStore.from_url(postgres_url, table=unique_table())) as store:
        store.setup()
        with store.engine.connect() as connection:
            indexed = {
                tuple(index["column_names"])
                for index in inspect(connection).get_indexes(store.table)
            }
    assert {("expires_at",), ("user_id",)} <= indexed


@pytest.mark.parametrize("table", ["bad-name", "x; DROP TABLE users", "1abc", "a" * 49, ""])
def test_a_table_name_that_is_not_a_plain_identifier_is_refused(table: str) -> None:
    with pytest.raises(ValueError, match="table name"):
        SQLStore.from_url("sqlite+pysqlite:///:memory:", table=table)


def test_pool_options_from_the_url_configure_the_pool(postgres_url: str) -> None:
    store = SQLStore.from_url(f"{postgres_url}?pool_size=3&max_overflow=2&pool_timeout=7")
    try:
        pool: Any = store.engine.pool
        assert pool.size() == 3
        assert pool.timeout() == 7
        assert store.engine.url.query == {}  # store options are not passed to the driver
    finally:
        store.close()


def test_pool_options_given_as_keywords_win_over_defaults(postgres_url: str) -> None:
    store = SQLStore.from_url(postgres_url, pool_size=2)
    try:
        pool: Any = store.engine.pool
        assert pool.size() == 2
    finally:
        store.close()


def test_a_pool_option_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="pool_size"):
        SQLStore.from_url("postgresql+psycopg://postgres@127.0.0.1/test?pool_size=many")


def test_a_url_that_is_not_a_sqlalchemy_url_is_refused() -> None:
    with pytest.raises(ValueError, match="SQLAlchemy URL"):
        SQLStore.from_url("not a url")


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("mysql+pymysql://u@h/db", "mysql+aiomysql"),
        ("mariadb+pymysql://u@h/db", "mariadb+aiomysql"),
        ("mysql+aiomysql://u@h/db", "mysql+aiomysql"),
        ("sqlite+pysqlite:///x.db", "sqlite+aiosqlite"),
    ],
)
def test_the_async_store_uses_the_async_driver_of_the_same_database(given: str, used: str) -> None:
    assert async_driver_url(make_url(given)).drivername == used


@pytest.mark.anyio
async def test_open_async_store_gives_a_native_async_sql_store(mysql_url: str) -> None:
    store = await sw.open_async_store(mysql_url, table=unique_table())
    assert isinstance(store, AsyncSQLStore)
    try:
        assert store.url.drivername == "mysql+aiomysql"
        record = make_record()
        assert await store.save_if_version(record, 0)
        assert await store.load(record.id) == record
    finally:
        await store.drop_table()
        await store.close()


@pytest.mark.anyio
async def test_an_asyncpg_url_opens_a_working_async_store(postgres_url: str) -> None:
    asyncpg_url = make_url(postgres_url).set(drivername="postgresql+asyncpg")
    store = await sw.open_async_store(
        asyncpg_url.render_as_string(hide_password=False), table=unique_table()
    )
    assert isinstance(store, AsyncSQLStore)
    try:
        assert store.url.drivername == "postgresql+asyncpg"
        record = make_record()
        assert await store.save_if_version(record, 0)
        assert await store.load(record.id) == record
    finally:
        await store.drop_table()
        await store.close()


# -------------------------------------------------------------------- errors


CLOSED_PORT_URLS = {
    "postgresql": "postgresql+psycopg://app:s3cret-pw@127.0.0.1:{port}/test",
    "mariadb": "mysql+pymysql://app:s3cret-pw@127.0.0.1:{port}/test",
}


@pytest.mark.parametrize("backend", sorted(CLOSED_PORT_URLS))
def test_a_server_down_at_start_up_is_store_unavailable_with_the_password_hidden(
    backend: str,
) -> None:
    url = CLOSED_PORT_URLS[backend].format(port=free_port())
    with pytest.raises(StoreUnavailable) as raised:
        sw.open_store(url)
    message = str(raised.value)
    assert "s3cret-pw" not in message
    assert "app:***@127.0.0.1" in message


@pytest.mark.anyio
@pytest.mark.parametrize("backend", sorted(CLOSED_PORT_URLS))
async def test_an_async_store_whose_server_is_down_is_store_unavailable(backend: str) -> None:
    url = CLOSED_PORT_URLS[backend].format(port=free_port())
    store = AsyncSQLStore.from_url(url, failover_timeout=0)  # no retries: fail at once
    try:
        with pytest.raises(StoreUnavailable) as raised:
            await store.load(make_record().id)
        assert "s3cret-pw" not in str(raised.value)
    finally:
        await store.close()


def test_a_missing_table_is_a_store_error_not_unavailability(postgres_url: str) -> None:
    store = SQLStore.from_url(postgres_url, table=unique_table("never_set_up"))
    try:
        with pytest.raises(StoreError) as raised:
            store.load(make_record().id)
        assert not isinstance(raised.value, StoreUnavailable)
    finally:
        store.close()


@pytest.mark.parametrize("backend_url", ["postgres_url", "mysql_url"])
def test_an_oversized_user_id_is_refused_whole_and_its_data_is_not_logged(
    backend_url: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(backend_url)
    with dropped_afterwards(SQLStore.from_url(url, table=unique_table())) as store:
        store.setup()
        record = make_record(data=b"private-payload", user_id="u" * 300)
        with pytest.raises(StoreError) as raised:
            store.save(record)
        assert "private-payload" not in str(raised.value)
        assert store.load(record.id) is None


def test_a_missing_driver_is_a_clear_store_error() -> None:
    with pytest.raises(StoreError, match=r"no such driver.*\[postgres\] extra"):
        SQLStore.from_url("postgresql+nosuchdriver://u@127.0.0.1/db")


# --------------------------------------------------------------- processes


def test_setup_from_many_processes_at_once_on_a_fresh_table(sql_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    table = unique_table("race")
    barrier = context.Barrier(6)
    processes = [
        context.Process(target=setup_in_process, args=(sql_url, table, barrier)) for _ in range(6)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    with dropped_afterwards(SQLStore.from_url(sql_url, table=table)) as store:
        assert [process.exitcode for process in processes] == [0] * 6
        record = make_record()
        store.save(record)
        assert store.load(record.id) == record


@pytest.mark.slow
def test_four_processes_of_two_thousand_wsgi_requests_lose_nothing(server_sql_url: str) -> None:
    table = unique_table("scale")
    with dropped_afterwards(sw.open_store(server_sql_url, table=table)) as store:
        manager = sw.SessionManager(store, secret_key=SECRET)
        shared = [cookie_for(manager, created=True) for _ in range(40)]
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        workers = [
            context.Process(
                target=wsgi_worker, args=(server_sql_url, table, shared, n, 2000, results)
            )
            for n in range(4)
        ]
        for worker in workers:
            worker.start()
        reports = [results.get(timeout=240) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
        assert [worker.exitcode for worker in workers] == [0] * 4
        for worker_number, counts, errors in reports:
            assert errors == []
            assert sum(counts.values()) == 2000
            for cookie, expected in counts.items():
                with manager.scope(cookie) as session:
                    assert session.get(f"w{worker_number}") == expected
        assert store.count() == 40 + 4 * 40  # shared ones, and 2000/50 new per worker
        manager.close()


# ------------------------------------------------- a server that goes away


def test_the_manager_recovers_when_the_server_comes_back(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    store = SQLStore.from_url(throwaway_postgres.url, table=unique_table())
    store.setup()
    manager = sw.SessionManager(store, secret_key=SECRET)
    try:
        cookie = cookie_for(manager, n=1)
        throwaway_postgres.stop()
        with pytest.raises(StoreUnavailable) as raised, manager.scope(cookie) as session:
            session["n"] = 2
        assert throwaway_postgres.password not in str(raised.value)
        assert "postgres:***@" in str(raised.value)
        throwaway_postgres.start()
        with manager.scope(cookie) as session:
            assert session["n"] == 1
            session["n"] = 3
        with manager.scope(cookie) as session:
            assert session["n"] == 3
    finally:
        throwaway_postgres.start()
        manager.close()
        store.drop_table()
        store.close()


@pytest.mark.anyio
async def test_the_async_manager_recovers_when_the_server_comes_back(
    throwaway_postgres: ThrowawayPostgres,
) -> None:
    store = AsyncSQLStore.from_url(throwaway_postgres.url, table=unique_table())
    await store.setup()
    manager = sw.AsyncSessionManager(store, secret_key=SECRET)
    try:
        async with manager.scope(None) as session:
            session["n"] = 1
        cookie = session.cookie_value
        throwaway_postgres.stop()
        with pytest.raises(StoreUnavailable):
            async with manager.scope(cookie) as session:
                session["n"] = 2
        throwaway_postgres.start()
        async with manager.scope(cookie) as session:
            assert session["n"] == 1
    finally:
        throwaway_postgres.start()
        await manager.close()
        await store.drop_table()
        await store.close()

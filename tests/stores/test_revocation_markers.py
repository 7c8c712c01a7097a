"""Per-user revocation markers (``mark_user_revoked`` / ``user_revoked_at``): what is
particular to each store. The contract every store keeps (later times win, markers
are not sessions, kept until ``keep_until``, removed by ``delete_all``) is in the
shared conformance suite (``sessionware.testing``). Here: two store objects on one
database (two connections) see each other's markers, which is what makes
``revoke_user`` final across processes; ``purge_expired`` removes markers where the
store has no native TTL; SQLite's and Redis's own layouts."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from redis.crc import key_slot

import sessionware as sw
from sessionware.core.record import Record
from sessionware.stores.dbm import DbmStore
from sessionware.stores.files import FileStore
from sessionware.stores.memory import MemoryStore
from sessionware.stores.redis import RedisStore
from sessionware.stores.redis._keys import KeyLayout
from sessionware.stores.sql import SQLStore
from sessionware.stores.sqlite import SQLiteStore
from tests.stores.redis_helpers import unique_prefix
from tests.stores.sql_support import (  # sqlite_url: a fixture backend_url asks for
    BACKENDS,
    backend_url,
    sqlite_url,  # noqa: F401
    unique_table,
)

USER = "alice"
WEIRD_USER = "../ü ser/'\"; DROP TABLE x; --{slot}/" + "x" * 5000
KEY = "ab" * 20

Opener = Callable[[], Any]  # a new store object on the same database


def _file(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return lambda: FileStore(tmp_path / "files")


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return lambda: SQLiteStore(tmp_path / "sessions.db")


def _dbm(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return lambda: DbmStore(tmp_path / "sessions.dbm")


def _memory(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    store = MemoryStore()
    return lambda: store


def _sql(backend: str) -> Callable[[pytest.FixtureRequest, Path], Opener]:
    def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
        url, table = backend_url(request, backend), unique_table("rm")
        return lambda: SQLStore.from_url(url, table=table)

    return opener


def _redis(fixture: str) -> Callable[[pytest.FixtureRequest, Path], Opener]:
    def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
        server = request.getfixturevalue(fixture)
        url, prefix = str(getattr(server, "url", server)), unique_prefix("rm")
        return lambda: RedisStore.from_url(url, prefix=prefix)

    return opener


# dbm and memory are one-process stores: no second store object on the same data.
SHARED = {
    "file": _file,
    "sqlite": _sqlite,
    **{f"sql-{backend}": _sql(backend) for backend in BACKENDS},
    "redis": _redis("redis_url"),
    "redis-cluster": _redis("redis_cluster"),
}
ALL = {**SHARED, "dbm": _dbm, "memory": _memory}
NATIVE_TTL = {"redis", "redis-cluster"}  # markers expire by themselves: purge has none


def _close(store: Any) -> None:
    with contextlib.suppress(Exception):
        if hasattr(store, "drop_table"):
            store.drop_table()
        else:
            store.delete_all()
    store.close()


@pytest.fixture
def opened() -> Iterator[Callable[[Opener], Any]]:
    with ExitStack() as stack:

        def open_one(opener: Opener) -> Any:
            store = opener()
            store.setup()
            stack.callback(_close, store)
            return store

        yield open_one


@pytest.fixture(params=sorted(ALL))
def store(request: pytest.FixtureRequest, tmp_path: Path, opened: Any) -> Any:
    store = opened(ALL[request.param](request, tmp_path))
    store.kind = request.param
    return store


@pytest.fixture(params=sorted(SHARED))
def two_stores(request: pytest.FixtureRequest, tmp_path: Path, opened: Any) -> tuple[Any, Any]:
    opener = SHARED[request.param](request, tmp_path)
    return opened(opener), opened(opener)


def record(user_id: str | None = USER, key: str = KEY) -> Record:
    now = time.time()
    return Record(key, b"data", now, now + 3600, 1, user_id)


def test_purge_removes_markers_once_kept_long_enough(store: Any) -> None:
    if store.kind in NATIVE_TTL:
        pytest.skip("Redis expires markers itself (PXAT): see the TTL test below")
    keep_until = time.time() + 60
    store.mark_user_revoked(USER, 100.0, keep_until)
    store.mark_user_revoked("bob", 100.0, keep_until + 100)
    assert store.purge_expired(keep_until - 1) == 0  # a marker is not a session
    assert store.user_revoked_at(USER) == 100.0
    store.purge_expired(keep_until + 1)
    assert store.user_revoked_at(USER) is None  # gone: a later mark starts afresh
    store.mark_user_revoked(USER, 50.0, time.time() + 60)
    assert store.user_revoked_at(USER) == 50.0
    assert store.user_revoked_at("bob") == 100.0


def test_two_store_objects_see_each_others_markers(two_stores: tuple[Any, Any]) -> None:
    first, second = two_stores
    first.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert second.user_revoked_at(USER) == 100.0
    second.mark_user_revoked(USER, 50.0, time.time() + 60)
    second.mark_user_revoked(USER, 300.0, time.time() + 60)
    assert first.user_revoked_at(USER) == 300.0


def test_setup_adds_the_marker_table_to_an_existing_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SQLiteStore(path)
    old.setup()
    old.save(record())
    with sqlite3.connect(path) as connection:  # as a version without markers left it
        connection.execute("DROP TABLE sessionware_sessions_revocations")
    store = SQLiteStore(path)
    store.setup()
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert store.user_revoked_at(USER) == 100.0
    assert store.ids_for_user(USER) == [KEY]
    store.close()
    old.close()


def test_a_redis_marker_expires_at_its_keep_until(
    request: pytest.FixtureRequest, tmp_path: Path, opened: Any
) -> None:
    store = opened(_redis("redis_url")(request, tmp_path))
    keep_until = time.time() + 60
    store.mark_user_revoked(USER, 100.0, keep_until)
    expire_at_ms = store.client.pexpiretime(store.keys.revoked(USER))
    assert abs(expire_at_ms - keep_until * 1000) < 2


def test_a_redis_marker_shares_its_users_cluster_slot() -> None:
    layout = KeyLayout("app:")
    assert key_slot(layout.revoked(WEIRD_USER).encode()) == key_slot(
        layout.user(WEIRD_USER).encode()
    )


# -- the async stores, as open_async_store makes them -----------------------------------

ASYNC_KINDS = (*(f"sql-{backend}" for backend in BACKENDS), "redis", "redis-cluster")


@pytest.fixture(params=ASYNC_KINDS)
async def async_url_and_options(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    kind: str = request.param
    if kind.startswith("sql-"):
        return backend_url(request, kind.removeprefix("sql-")), {"table": unique_table("rm")}
    server = request.getfixturevalue("redis_url" if kind == "redis" else "redis_cluster")
    return str(getattr(server, "url", server)), {"prefix": unique_prefix("rm")}


@pytest.fixture
async def async_stores(async_url_and_options: tuple[str, dict[str, Any]]) -> AsyncIterator[Any]:
    url, options = async_url_and_options
    first = await sw.open_async_store(url, **options)
    second = await sw.open_async_store(url, **options)
    try:
        yield first, second
    finally:
        for store in (first, second):
            with contextlib.suppress(Exception):
                await (store.drop_table() if hasattr(store, "drop_table") else store.delete_all())
            await store.close()


@pytest.mark.anyio
async def test_async_markers_keep_the_later_time_across_connections(
    async_stores: tuple[Any, Any],
) -> None:
    first, second = async_stores
    assert await first.user_revoked_at(WEIRD_USER) is None
    await first.mark_user_revoked(WEIRD_USER, 200.0, time.time() + 60)
    await second.mark_user_revoked(WEIRD_USER, 100.0, time.time() - 1)
    assert await second.user_revoked_at(WEIRD_USER) == 200.0
    assert await first.user_revoked_at(WEIRD_USER[:-1]) is None


@pytest.mark.anyio
async def test_async_purge_removes_markers_once_kept_long_enough(
    async_stores: tuple[Any, Any], async_url_and_options: tuple[str, dict[str, Any]]
) -> None:
    if async_url_and_options[0].startswith("redis"):
        pytest.skip("Redis expires markers itself (PXAT)")
    store, _ = async_stores
    keep_until = time.time() + 60
    await store.mark_user_revoked(USER, 100.0, keep_until)
    await store.purge_expired(keep_until + 1)
    await store.mark_user_revoked(USER, 50.0, time.time() + 60)
    assert await store.user_revoked_at(USER) == 50.0

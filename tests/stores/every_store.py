"""Every store, sync and async, opened for a test and readable raw: its files,
rows, Redis values or in-memory records (``Place.raw``), for tests that check
what a store keeps. Real servers on 127.0.0.1; each store is cleaned up."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy

import sessionware as sw
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from tests.stores.redis_helpers import unique_prefix
from tests.stores.sql_support import (  # sqlite_url: a fixture backend_url asks for
    BACKENDS,
    backend_url,
    sqlite_url,
    unique_table,
)

# A test module imports the fixtures (and sqlite_url, which they may ask for) by name:
#     from tests.stores.every_store import Place, async_place_fixture, ...
__all__ = ["KINDS", "Place", "async_place_fixture", "sqlite_url", "sync_place_fixture"]


@dataclass
class Place:
    """Where one kind of store keeps its data: how to open it and read it raw."""

    url: str
    options: dict[str, Any]
    raw: Callable[[Any], bytes]  # the store -> every byte it keeps


def files_under(directory: Path) -> Callable[[Any], bytes]:
    return lambda store: b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())


def sql_rows(url: str, table: str) -> Callable[[Any], bytes]:
    def raw(store: Any) -> bytes:
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(sqlalchemy.text(f"SELECT * FROM {table}")).all()
        finally:
            engine.dispose()
        return b"".join(v if isinstance(v, bytes) else str(v).encode() for r in rows for v in r)

    return raw


def redis_values(url: str, prefix: str, cluster: bool = False) -> Callable[[Any], bytes]:
    def raw(store: Any) -> bytes:
        opened = redis.RedisCluster.from_url if cluster else redis.Redis.from_url
        client: Any = opened(url)
        found: list[bytes] = []
        try:
            for key in client.scan_iter(f"{prefix}*"):
                kind = client.type(key)
                if kind == b"string":
                    found.append(client.get(key) or b"")
                elif kind == b"zset":
                    found.extend(member for member, _ in client.zrange(key, 0, -1, withscores=True))
                elif kind == b"hash":
                    found.extend(b"".join(item) for item in client.hgetall(key).items())
                else:
                    found.extend(client.smembers(key))
        finally:
            client.close()
        return b"".join(found)

    return raw


def place(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    if kind == "file":
        return Place(f"file://{tmp_path / 'files'}", {}, files_under(tmp_path))
    if kind == "dbm":
        return Place(f"dbm:///{tmp_path / 'sessions.dbm'}", {}, files_under(tmp_path))
    if kind == "sqlite":
        return Place(f"sqlite:///{tmp_path / 'sessions.db'}", {}, files_under(tmp_path))
    if kind.startswith("sql-"):
        url, table = backend_url(request, kind.removeprefix("sql-")), unique_table("enc")
        return Place(url, {"table": table}, sql_rows(url, table))
    if kind == "redis-cluster":
        url, prefix = request.getfixturevalue("redis_cluster").url, unique_prefix("enc")
        raw_url = url.replace("redis+cluster://", "redis://", 1)
        return Place(url, {"prefix": prefix}, redis_values(raw_url, prefix, cluster=True))
    url, prefix = str(request.getfixturevalue("redis_url")), unique_prefix("enc")
    return Place(url, {"prefix": prefix}, redis_values(url, prefix))


KINDS = ["file", "dbm", "sqlite", *(f"sql-{b}" for b in BACKENDS), "redis", "redis-cluster"]


def cleaned(store: Any) -> None:
    with contextlib.suppress(Exception):
        store.drop_table() if hasattr(store, "drop_table") else store.delete_all()


@pytest.fixture(params=["memory", *KINDS], name="sync_place")
def sync_place_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Any, Place]]:
    if request.param == "memory":
        memory = MemoryStore()
        yield (
            memory,
            Place("memory://", {}, lambda s: b"".join(r.data for r in s._records.values())),
        )
        return
    where = place(request.param, request, tmp_path)
    store = sw.open_store(where.url, **where.options)
    store.setup()
    yield store, where
    cleaned(store)
    store.close()


@pytest.fixture(params=["memory", *KINDS], name="async_place")
async def async_place_fixture(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Any, Place]]:
    if request.param == "memory":
        memory = AsyncMemoryStore()
        yield (
            memory,
            Place(
                "memory://", {}, lambda s: b"".join(r.data for r in s.sync_store._records.values())
            ),
        )
        return
    where = place(request.param, request, tmp_path)
    store = await sw.open_async_store(where.url, **where.options)
    await store.setup()
    yield store, where
    with contextlib.suppress(Exception):
        await (store.drop_table() if hasattr(store, "drop_table") else store.delete_all())
    await store.close()

"""Near-cached stores for the tests: a fresh Redis prefix or SQL table, the channel
listening before the test starts, and everything removed afterwards."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio

import sessionware as sw
from sessionware.stores.near_cache import AsyncNearCacheStore, NearCacheStore

from .redis_helpers import unique_prefix
from .sql_support import unique_table

#: Seconds a test waits for a channel to (re)subscribe.
LISTENING_WITHIN = 5.0


def cached_url(kind: str, base_url: str, name: str) -> str:
    """``base_url`` (Redis or PostgreSQL) with a private prefix/table and the cache on."""
    option = "prefix" if kind == "redis" else "table"
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}{option}={name}&near_cache=on"


def private_name(kind: str) -> str:
    return unique_prefix("nc") if kind == "redis" else unique_table("nc")


def wait_until_up(store: NearCacheStore | AsyncNearCacheStore) -> None:
    deadline = time.monotonic() + LISTENING_WITHIN
    while not store.cache.is_up:
        assert time.monotonic() < deadline, "the near cache's channel did not subscribe"
        time.sleep(0.005)


async def async_wait_until_up(store: AsyncNearCacheStore) -> None:
    deadline = time.monotonic() + LISTENING_WITHIN
    while not store.cache.is_up:
        assert time.monotonic() < deadline, "the near cache's channel did not subscribe"
        await anyio.sleep(0.005)


def _remove(store: Any) -> None:
    drop = getattr(store.store, "drop_table", None)
    if drop is not None:
        drop()
    else:
        store.delete_all()


@contextlib.contextmanager
def near_cached_store(url: str) -> Iterator[NearCacheStore]:
    store = sw.open_store(url)
    assert isinstance(store, NearCacheStore)
    try:
        wait_until_up(store)
        yield store
    finally:
        with contextlib.suppress(Exception):
            _remove(store)
        store.close()


@contextlib.asynccontextmanager
async def async_near_cached_store(url: str) -> AsyncIterator[AsyncNearCacheStore]:
    store = await sw.open_async_store(url)
    assert isinstance(store, AsyncNearCacheStore)
    try:
        await async_wait_until_up(store)
        yield store
    finally:
        with contextlib.suppress(Exception):
            drop = getattr(store.store, "drop_table", None)
            if drop is not None:
                await drop()
            else:
                await store.delete_all()
        await store.close()

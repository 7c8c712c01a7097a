"""Helpers for the Redis store tests: unique prefixes, stores that clean up after
themselves, and a private server (per test module) with a raw client on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest
import redis

from sessionware.stores.redis import AsyncRedisStore, RedisStore
from tests.servers import RedisServer, RedisServerFactory


# Fixtures: a module imports them by name; each module gets its own server, so its
# tests may read and reset the server's counters without disturbing other modules.
@pytest.fixture(scope="module")
def private_server(redis_server_factory: RedisServerFactory) -> RedisServer:
    return redis_server_factory()


@pytest.fixture
def raw(private_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(host=private_server.host, port=private_server.port)
    yield client
    client.close()


def unique_prefix(label: str = "t") -> str:
    """A key prefix no other test, run or helper uses (the servers are shared)."""
    return f"swtest-{label}-{os.getpid()}-{uuid.uuid4().hex[:10]}:"


@contextmanager
def redis_store(url: str, **options: Any) -> Iterator[RedisStore]:
    """A set-up store under a fresh prefix; its keys are deleted afterwards."""
    options.setdefault("prefix", unique_prefix())
    store = RedisStore.from_url(url, **options)
    store.setup()
    try:
        yield store
    finally:
        store.delete_all()
        store.close()


@asynccontextmanager
async def async_redis_store(url: str, **options: Any) -> AsyncIterator[AsyncRedisStore]:
    options.setdefault("prefix", unique_prefix())
    store = AsyncRedisStore.from_url(url, **options)
    await store.setup()
    try:
        yield store
    finally:
        await store.delete_all()
        await store.close()

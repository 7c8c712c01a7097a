"""Helpers for the Redis store tests: unique prefixes, stores that clean up after
themselves, and reading server-side counters."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sessionware.stores.redis import AsyncRedisStore, RedisStore


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

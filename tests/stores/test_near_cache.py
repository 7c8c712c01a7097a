"""The near-cached Redis and PostgreSQL stores pass the store conformance suite,
sync and async: the cache changes nothing a store promises."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sessionware.stores.near_cache import AsyncNearCacheStore, NearCacheStore
from sessionware.testing import AsyncStoreConformance, StoreConformance

from .near_cache_support import (
    async_near_cached_store,
    cached_url,
    near_cached_store,
    private_name,
)

KINDS = ("redis", "postgresql")


@pytest.fixture(params=KINDS)
def cached_store_url(request: pytest.FixtureRequest) -> str:
    kind = request.param
    base = request.getfixturevalue("redis_url" if kind == "redis" else "postgres_url")
    return cached_url(kind, base, private_name(kind))


class TestNearCachedStore(StoreConformance):
    @pytest.fixture
    def store(self, cached_store_url: str) -> Iterator[NearCacheStore]:
        with near_cached_store(cached_store_url) as store:
            yield store


class TestAsyncNearCachedStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, cached_store_url: str) -> AsyncIterator[AsyncNearCacheStore]:
        async with async_near_cached_store(cached_store_url) as store:
            yield store

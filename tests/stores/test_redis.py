"""The Redis store passes the conformance suite, sync and async, against a real
standalone server, a real Redis Cluster and a real Sentinel setup."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sessionware.stores.redis import AsyncRedisStore, RedisStore
from sessionware.testing import AsyncStoreConformance, StoreConformance
from tests.servers import RedisCluster, RedisSentinel

from .redis_helpers import async_redis_store, redis_store


class TestRedisStore(StoreConformance):
    @pytest.fixture
    def store(self, redis_url: str) -> Iterator[RedisStore]:
        with redis_store(redis_url) as store:
            yield store


class TestAsyncRedisStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, redis_url: str) -> AsyncIterator[AsyncRedisStore]:
        async with async_redis_store(redis_url) as store:
            yield store


class TestRedisClusterStore(StoreConformance):
    @pytest.fixture
    def store(self, redis_cluster: RedisCluster) -> Iterator[RedisStore]:
        with redis_store(redis_cluster.url) as store:
            yield store


class TestAsyncRedisClusterStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, redis_cluster: RedisCluster) -> AsyncIterator[AsyncRedisStore]:
        async with async_redis_store(redis_cluster.url) as store:
            yield store


class TestRedisSentinelStore(StoreConformance):
    @pytest.fixture
    def store(self, redis_sentinel: RedisSentinel) -> Iterator[RedisStore]:
        with redis_store(redis_sentinel.url) as store:
            yield store


class TestAsyncRedisSentinelStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, redis_sentinel: RedisSentinel) -> AsyncIterator[AsyncRedisStore]:
        async with async_redis_store(redis_sentinel.url) as store:
            yield store

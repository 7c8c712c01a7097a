"""The near cache across processes, on real Redis and PostgreSQL servers: no update
is lost, a revoked session is not served once its invalidation has arrived, and a
killed invalidation connection empties the cache, which fills again once the
channel is back."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import anyio
import psycopg
import pytest
import redis

import sessionware as sw
from benchmarks.near_cache_delay import measure_delay
from sessionware.stores.near_cache import AsyncNearCacheStore, NearCacheStore
from sessionware.testing import hammer_one_session
from tests.conftest import SECRET

from .near_cache_support import (
    LISTENING_WITHIN,
    async_near_cached_store,
    async_wait_until_up,
    cached_url,
    near_cached_store,
    private_name,
    wait_until_up,
)

KINDS = ("redis", "postgresql")
#: Revocations measured by the suite (the README's figures come from 1,000).
DELAY_TRIALS = 200


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(kind: str, request: pytest.FixtureRequest) -> str:
    base = request.getfixturevalue("redis_url" if kind == "redis" else "postgres_url")
    return cached_url(kind, base, private_name(kind))


@pytest.fixture
def store(url: str) -> Iterator[NearCacheStore]:
    with near_cached_store(url) as store:
        yield store


@pytest.fixture
def manager(store: NearCacheStore) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(store, secret_key=SECRET, visit_tracker=False)
    yield manager
    manager.close()


def kill_channel(kind: str, base_url: str, store: NearCacheStore | AsyncNearCacheStore) -> None:
    """End the channel's connection from the server's side."""
    channel: Any = store.channel
    if kind == "redis":
        client = redis.Redis.from_url(base_url)
        try:
            assert client.client_kill_filter(_id=channel.client_id) == 1
        finally:
            client.close()
        return
    with psycopg.connect(_libpq(base_url), autocommit=True) as connection:
        killed = connection.execute(
            "SELECT pg_terminate_backend(%s)", (channel.backend_pid,)
        ).fetchone()
        assert killed == (True,)


def kill_lane(base_url: str, store: NearCacheStore | AsyncNearCacheStore) -> None:
    """End, from the server's side, the Redis connection the cache reads and
    writes on: its tracking ends with it, and no message says so."""
    channel: Any = store.channel
    client = redis.Redis.from_url(base_url)
    try:
        assert client.client_kill_filter(_id=channel.lane_id) == 1
    finally:
        client.close()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").partition("?")[0]


def wait_for(condition: Any, within: float = LISTENING_WITHIN) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.002)


# -- no lost updates ----------------------------------------------------------------


def test_eight_writer_processes_lose_none_of_4000_updates(url: str) -> None:
    result = hammer_one_session(
        functools.partial(sw.open_store, url), writers=8, updates=500, mode="processes"
    )
    assert result.ok, result.summary()
    assert result.expected == 4000


# -- revocation ---------------------------------------------------------------------


def test_no_reader_process_serves_a_session_after_its_invalidation_arrived(url: str) -> None:
    result = measure_delay(url, DELAY_TRIALS)
    assert result.timeouts == 0, result.summary()
    assert result.stale_after == 0, result.summary()
    assert len(result.delays_us) == DELAY_TRIALS


def test_a_session_deleted_by_another_process_is_not_served(
    manager: sw.SessionManager, url: str
) -> None:
    with manager.scope(None) as session:
        session["cart"] = [1]
    cookie = session.cookie_value
    assert manager.open(cookie).get("cart") == [1]  # cached now
    other = sw.SessionManager(sw.open_store(url.replace("&near_cache=on", "")), secret_key=SECRET)
    try:
        other.invalidate(other.open(cookie))
    finally:
        other.close()
    wait_for(lambda: manager.open(cookie).get("cart") is None)


def test_a_revocation_marker_drops_the_users_cached_sessions(
    store: NearCacheStore, url: str
) -> None:
    record = sw.Record("k-alice", b"{}", time.time(), time.time() + 600, 1, "alice")
    assert store.save_if_version(record, 0)
    assert store.load("k-alice") is not None
    assert len(store.cache) == 1
    other = sw.open_store(url.replace("&near_cache=on", ""), setup=False)
    try:
        other.mark_user_revoked("alice", time.time(), time.time() + 60)  # type: ignore[attr-defined]
    finally:
        other.close()
    wait_for(lambda: len(store.cache) == 0)


def cached_session(manager: sw.SessionManager) -> str:
    """A session of ``{"n": 1}``, written and then read (so cached) by ``manager``."""
    with manager.scope(None) as session:
        session["n"] = 1
    cookie = session.cookie_value
    assert cookie is not None
    assert manager.open(cookie)["n"] == 1
    return cookie


def write_elsewhere(url: str, cookie: str, n: int) -> None:
    """Set ``n`` in the session through a manager on a store of its own."""
    other = sw.SessionManager(sw.open_store(url.replace("&near_cache=on", "")), secret_key=SECRET)
    try:
        with other.scope(cookie) as theirs:
            theirs["n"] = n
    finally:
        other.close()


def test_another_process_write_replaces_the_cached_version(
    manager: sw.SessionManager, url: str
) -> None:
    cookie = cached_session(manager)
    write_elsewhere(url, cookie, 2)
    wait_for(lambda: manager.open(cookie)["n"] == 2)


def test_another_process_write_after_an_own_cached_write_is_heard(
    manager: sw.SessionManager, url: str
) -> None:
    cookie = cached_session(manager)
    with manager.scope(cookie) as mine:
        mine["n"] = 2  # written, and kept, by this process
    assert manager.open(cookie)["n"] == 2
    write_elsewhere(url, cookie, 3)
    wait_for(lambda: manager.open(cookie)["n"] == 3)


# -- a lost channel -----------------------------------------------------------------


def test_a_killed_channel_empties_the_cache_which_fills_again_once_it_is_back(
    kind: str, store: NearCacheStore, manager: sw.SessionManager, request: pytest.FixtureRequest
) -> None:
    with manager.scope(None) as session:
        session["cart"] = [1]
    cookie = session.cookie_value
    manager.open(cookie)["cart"]
    assert len(store.cache) == 1
    base = request.getfixturevalue("redis_url" if kind == "redis" else "postgres_url")
    kill_channel(kind, base, store)
    wait_for(lambda: store.cache.stats.resets == 1)
    assert len(store.cache) == 0
    wait_until_up(store)
    misses = store.cache.stats.misses
    assert manager.open(cookie)["cart"] == [1]
    assert store.cache.stats.misses == misses + 1
    hits = store.cache.stats.hits
    assert manager.open(cookie)["cart"] == [1]
    assert store.cache.stats.hits == hits + 1


@pytest.mark.anyio
async def test_a_killed_channel_empties_the_async_cache_which_fills_again(
    kind: str, url: str, request: pytest.FixtureRequest
) -> None:
    async with async_near_cached_store(url) as store:
        record = sw.Record("k-async", b"{}", time.time(), time.time() + 600, 1, None)
        assert await store.save_if_version(record, 0)
        await anyio.sleep(0.05)
        assert await store.load("k-async") is not None
        assert len(store.cache) == 1
        base = request.getfixturevalue("redis_url" if kind == "redis" else "postgres_url")
        kill_channel(kind, base, store)
        deadline = time.monotonic() + LISTENING_WITHIN
        while store.cache.stats.resets == 0:
            assert time.monotonic() < deadline, "the cache was not emptied"
            await anyio.sleep(0.002)
        assert len(store.cache) == 0
        await async_wait_until_up(store)
        assert await store.load("k-async") is not None  # a miss, kept
        hits = store.cache.stats.hits
        assert await store.load("k-async") is not None
        assert store.cache.stats.hits == hits + 1


@pytest.fixture
def lane_url(redis_url: str) -> str:
    """A near-cached Redis URL: the lane is the Redis channel's."""
    return cached_url("redis", redis_url, private_name("redis"))


def test_a_session_changed_after_the_lane_was_killed_is_not_served_from_the_cache(
    lane_url: str, redis_url: str
) -> None:
    url = lane_url
    with near_cached_store(url) as store:
        record = sw.Record("k-lane", b"{}", time.time(), time.time() + 600, 1, None)
        assert store.save_if_version(record, 0)
        assert store.load("k-lane") is not None
        assert store.load("k-lane") is not None
        assert store.cache.stats.hits == 1
        kill_lane(redis_url, store)
        other = sw.open_store(url.replace("&near_cache=on", ""))
        try:
            changed = sw.Record("k-lane", b'{"n":2}', time.time(), time.time() + 600, 2, None)
            time.sleep(0.01)  # the kill has reached this process's socket
            assert other.save_if_version(changed, 1)
            loaded = store.load("k-lane")
            assert loaded is not None
            assert loaded.version == 2
            assert store.cache.stats.resets == 1
            wait_until_up(store)
            store.load("k-lane")
            hits = store.cache.stats.hits
            assert (store.load("k-lane") or record).version == 2
            assert store.cache.stats.hits == hits + 1
        finally:
            other.close()


@pytest.mark.anyio
async def test_a_killed_lane_empties_the_async_cache_before_a_stale_hit(
    lane_url: str, redis_url: str
) -> None:
    url = lane_url
    async with async_near_cached_store(url) as store:
        record = sw.Record("k-lane", b"{}", time.time(), time.time() + 600, 1, None)
        assert await store.save_if_version(record, 0)
        assert await store.load("k-lane") is not None
        kill_lane(redis_url, store)
        other = sw.open_store(url.replace("&near_cache=on", ""))
        try:
            changed = sw.Record("k-lane", b'{"n":2}', time.time(), time.time() + 600, 2, None)
            await anyio.sleep(0.01)
            assert other.save_if_version(changed, 1)
            loaded = await store.load("k-lane")
            assert loaded is not None
            assert loaded.version == 2
            assert store.cache.stats.resets == 1
            await async_wait_until_up(store)
            await store.load("k-lane")
            hits = store.cache.stats.hits
            assert await store.load("k-lane") is not None
            assert store.cache.stats.hits == hits + 1
        finally:
            other.close()


# -- a forked worker -----------------------------------------------------------------


def _forked_child(store: NearCacheStore, pipe: Any) -> None:
    try:
        emptied = len(store.cache) == 0 and not store.cache.is_up
        store.load("k-fork")  # starts the child's own channel; a miss
        wait_until_up(store)
        store.load("k-fork")
        hits = store.cache.stats.hits
        cached = store.load("k-fork")
        pipe.send((emptied, store.cache.stats.hits == hits + 1, cached and cached.version))
        pipe.recv()  # the parent has written version 2 meanwhile
        wait_for(lambda: (store.load("k-fork") or sw.Record("", b"", 0, 0, 0)).version == 2)
        pipe.send("saw version 2")
    except BaseException as exc:  # reported, so the parent's assertion shows it
        pipe.send(repr(exc))
    finally:
        store.close()


def test_a_forked_worker_starts_empty_and_listens_on_its_own(
    store: NearCacheStore, url: str
) -> None:
    import multiprocessing

    record = sw.Record("k-fork", b"{}", time.time(), time.time() + 600, 1, None)
    assert store.save_if_version(record, 0)
    time.sleep(0.05)
    assert store.load("k-fork") is not None
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_forked_child, args=(store, child))
    process.start()
    try:
        assert parent.poll(20), "the forked child did not answer"
        assert parent.recv() == (True, True, 1)
        other = sw.open_store(url.replace("&near_cache=on", ""), setup=False)
        try:
            newer = sw.Record("k-fork", b"{}", record.created_at, record.expires_at, 2, None)
            assert other.save_if_version(newer, 1)
        finally:
            other.close()
        parent.send("written")
        assert parent.poll(20), "the forked child did not answer"
        assert parent.recv() == "saw version 2"
    finally:
        process.join(10)
        if process.is_alive():  # only the process started here is ended
            process.terminate()
    wait_for(lambda: (store.load("k-fork") or record).version == 2)  # the parent still listens


def test_an_async_store_used_on_a_new_event_loop_listens_there(kind: str, url: str) -> None:
    import asyncio

    if kind == "redis":
        pytest.skip("the async Redis store's own client is bound to the loop it was opened on")

    async def first() -> AsyncNearCacheStore:
        store = await sw.open_async_store(url)
        assert isinstance(store, AsyncNearCacheStore)
        await async_wait_until_up(store)
        record = sw.Record("k-loop", b"{}", time.time(), time.time() + 600, 1, None)
        assert await store.save_if_version(record, 0)
        return store

    async def second(store: AsyncNearCacheStore) -> None:
        try:
            await store.load("k-loop")  # the first loop's listener is gone: start anew
            await async_wait_until_up(store)
            assert store.channel.running
            other = sw.open_store(url.replace("&near_cache=on", ""), setup=False)
            try:
                other.delete("k-loop")
            finally:
                other.close()
            deadline = time.monotonic() + LISTENING_WITHIN
            while await store.load("k-loop") is not None:
                assert time.monotonic() < deadline, "the deletion was not heard"
                await anyio.sleep(0.002)
        finally:
            drop = getattr(store.store, "drop_table", None)
            await (drop() if drop is not None else store.delete_all())
            await store.close()

    store = asyncio.run(first())
    asyncio.run(second(store))

"""A store opened from a URL keeps the connections of its single commands between
commands, instead of checking one out of redis-py's pool for each. What that must
never cost: a reply reaching the wrong command (after a timeout, a cancellation or
a fork), a connection left behind at close, or a failover that is not followed."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time

import pytest
import redis

from sessionware.core.record import Record
from sessionware.errors import StoreUnavailable
from sessionware.stores.redis import AsyncRedisStore, RedisStore
from sessionware.stores.redis._settings import parse_url
from sessionware.testing._sync.conformance import make_record
from tests.servers import RedisSentinel, RedisServer, wait_for

from .redis_helpers import private_server, raw, redis_store, unique_prefix

__all__ = ["private_server", "raw"]  # fixtures


def connected_clients(raw: redis.Redis) -> int:
    return int(raw.info("clients")["connected_clients"])


def pause_server(raw: redis.Redis, milliseconds: int) -> None:
    """Hold every client's commands for a while: replies come late, to whoever waits."""
    raw.execute_command("CLIENT", "PAUSE", str(milliseconds), "ALL")


# -- when kept connections are used ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reuses"),
    [
        ("redis://h:1/0", True),
        ("redis+sentinel://h:1/svc/0", True),
        ("redis://h:1/0?max_connections=8", False),  # kept ones would drain the pool
        ("redis+cluster://h:1", False),  # redis-py routes each command to its node
    ],
)
def test_connections_are_kept_only_where_redis_py_would_not_route_or_bound_them(
    url: str, reuses: bool
) -> None:
    assert parse_url(url, {}).reuses_connections is reuses


def test_a_store_on_a_client_you_made_gives_each_connection_back_to_its_pool(
    private_server: RedisServer,
) -> None:
    one_connection = redis.Redis(
        host=private_server.host, port=private_server.port, max_connections=1
    )
    store = RedisStore(one_connection, prefix=unique_prefix())
    try:
        record = make_record()
        store.save(record)
        assert store.load(record.id) == record
        assert one_connection.ping()  # would be "Too many connections" had the store kept it
    finally:
        store.delete_all()
        one_connection.close()


# -- what kept connections must never do -------------------------------------------


def test_sequential_commands_use_one_connection(
    private_server: RedisServer, raw: redis.Redis
) -> None:
    before = connected_clients(raw)
    with redis_store(private_server.url) as store:
        record = make_record()
        store.save(record)
        for version in range(2, 30):
            current = store.load(record.id)
            assert current is not None
            store.save_if_version(make_record(key=record.id, version=version), version - 1)
        assert connected_clients(raw) == before + 1


def test_closing_the_store_closes_its_kept_connections(
    private_server: RedisServer, raw: redis.Redis
) -> None:
    before = connected_clients(raw)
    store = RedisStore.from_url(private_server.url, prefix=unique_prefix())
    record = make_record()
    store.save(record)
    assert store.load(record.id) is not None
    store.delete_all()
    store.close()
    wait_for(lambda: connected_clients(raw) == before, 5.0, "the store's connection to close")


def test_a_load_that_timed_out_leaves_no_late_reply_for_the_next_command(
    private_server: RedisServer, raw: redis.Redis
) -> None:
    # failover_timeout=0: fail at the first timeout, no retry through a failover.
    with redis_store(
        private_server.url, socket_timeout=0.2, retries=0, failover_timeout=0
    ) as store:
        first, second = make_record(data=b"first"), make_record(data=b"second")
        store.save(first)
        store.save(second)
        pause_server(raw, 600)
        with pytest.raises(StoreUnavailable, match="Timeout"):
            store.load(first.id)
        time.sleep(0.7)  # the server answers the timed-out GET now
        assert store.load(second.id) == second


def test_a_cancelled_async_load_leaves_no_late_reply_for_the_next_command(
    private_server: RedisServer, raw: redis.Redis
) -> None:
    async def scenario() -> None:
        store = AsyncRedisStore.from_url(private_server.url, prefix=unique_prefix())
        try:
            first, second = make_record(data=b"first"), make_record(data=b"second")
            await store.save(first)
            await store.save(second)
            pause_server(raw, 400)
            pending = asyncio.ensure_future(store.load(first.id))
            await asyncio.sleep(0.1)  # sent, reply not read yet
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            await asyncio.sleep(0.4)  # the server answers the cancelled GET now
            assert await store.load(second.id) == second
        finally:
            await store.delete_all()
            await store.close()

    asyncio.run(scenario())


def _child_loads(key: str, data: bytes, rounds: int) -> None:
    """In the forked child: load through the store inherited from the parent."""
    store = _inherited[0]
    wrong = 0
    for _ in range(rounds):
        loaded = store.load(key)
        wrong += loaded is None or loaded.data != data
    raise SystemExit(min(wrong, 100))


_inherited: list[RedisStore] = []


def test_a_forked_child_never_shares_its_parents_connection(private_server: RedisServer) -> None:
    with redis_store(private_server.url) as store:
        parents, childs = make_record(data=b"parent's"), make_record(data=b"child's")
        store.save(parents)
        store.save(childs)
        assert store.load(parents.id) == parents  # the parent now keeps a connection
        _inherited[:] = [store]
        context = multiprocessing.get_context("fork")
        child = context.Process(
            target=_child_loads,
            args=(childs.id, childs.data, 300),
        )
        child.start()
        try:
            wrong = 0
            while child.is_alive():  # both load at once: a shared socket would cross replies
                loaded = store.load(parents.id)
                wrong += loaded is None or loaded.data != parents.data
            child.join(30)
            assert child.exitcode == 0
            assert wrong == 0
        finally:
            _inherited.clear()
            if child.is_alive():
                child.kill()


def test_commands_running_at_once_each_get_a_connection(private_server: RedisServer) -> None:
    with redis_store(private_server.url) as store:
        records = [make_record(data=f"thread {n}".encode()) for n in range(8)]
        for record in records:
            store.save(record)
        wrong: list[str] = []

        def hammer(record: Record) -> None:
            for _ in range(200):
                loaded = store.load(record.id)
                if loaded != record:
                    wrong.append(record.id)

        threads = [threading.Thread(target=hammer, args=(record,)) for record in records]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert wrong == []


@pytest.mark.slow
def test_kept_connections_follow_a_sentinel_failover(redis_sentinel: RedisSentinel) -> None:
    with redis_store(redis_sentinel.url) as store:
        record = make_record(version=1)
        store.save(record)
        assert store.load(record.id) == record  # a connection to the current master, kept
        new_master = redis_sentinel.failover()
        # The old master is a reachable replica now. Its READONLY answer makes
        # redis-py drop the pool's connections, kept ones included: that write is
        # StoreUnavailable (as without kept connections), and the next one lands
        # on the new master.
        newer = make_record(key=record.id, version=2)
        try:
            written = store.save_if_version(newer, 1)
        except StoreUnavailable:
            written = store.save_if_version(newer, 1)
        assert written
        on_new_master = redis.Redis(host=new_master[0], port=new_master[1])
        try:
            assert on_new_master.exists(store.keys.session(record.id)) == 1
        finally:
            on_new_master.close()
        loaded = store.load(record.id)
        assert loaded is not None
        assert loaded.version == 2

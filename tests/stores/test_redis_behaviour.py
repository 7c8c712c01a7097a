"""What the Redis store does beyond the conformance suite: native TTLs, the user
index's own expiry, prefix isolation, round trips, and the shared client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.crc import key_slot

import sessionware as sw
from sessionware.core.record import NEVER
from sessionware.errors import StoreError, StoreUnavailable
from sessionware.stores.redis import AsyncRedisStore, RedisStore
from sessionware.testing._sync.conformance import make_record, new_key, unique_user
from tests.servers import RedisCluster, RedisServer, RedisServerFactory

from .redis_helpers import redis_store, unique_prefix


@pytest.fixture
def store(redis_url: str) -> Iterator[RedisStore]:
    with redis_store(redis_url) as store:
        yield store


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def private_server(redis_server_factory: RedisServerFactory) -> RedisServer:
    """A server of our own, for tests that flush scripts or count commands."""
    return redis_server_factory()


# -- native expiry ------------------------------------------------------------


def test_session_key_carries_the_records_expiry_as_its_ttl(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(expires_in=120)
    store.save(record)
    expire_at_ms = raw.pexpiretime(store.keys.session(record.id))
    assert abs(expire_at_ms / 1000 - record.expires_at) < 0.002


def test_a_never_expiring_record_has_no_ttl(store: RedisStore, raw: redis.Redis) -> None:
    record = make_record(expires_in=0)
    record = type(record)(record.id, record.data, record.created_at, NEVER, 1, None)
    store.save(record)
    assert raw.ttl(store.keys.session(record.id)) == -1
    loaded = store.load(record.id)
    assert loaded is not None
    assert loaded.expires_at == NEVER


def test_touch_to_never_removes_the_ttl(store: RedisStore, raw: redis.Redis) -> None:
    record = make_record(expires_in=60)
    store.save(record)
    store.touch_many({record.id: NEVER})
    assert raw.ttl(store.keys.session(record.id)) == -1


def test_touch_many_moves_the_ttl_too(store: RedisStore, raw: redis.Redis) -> None:
    record = make_record(expires_in=60)
    store.save(record)
    later = time.time() + 7200
    store.touch_many({record.id: later})
    assert abs(raw.pexpiretime(store.keys.session(record.id)) / 1000 - later) < 0.002


def test_purge_expired_removes_nothing_itself(store: RedisStore) -> None:
    store.save(make_record(expires_in=-5))
    assert store.purge_expired() == 0


# -- the user index -----------------------------------------------------------


def test_user_index_expires_with_its_latest_session(store: RedisStore, raw: redis.Redis) -> None:
    user = unique_user()
    short, long = (
        make_record(user_id=user, expires_in=60),
        make_record(user_id=user, expires_in=900),
    )
    store.save(long)
    store.save(short)
    index_expiry = raw.pexpiretime(store.keys.user(user)) / 1000
    assert abs(index_expiry - long.expires_at) < 0.002


def test_user_index_has_no_ttl_while_a_session_never_expires(
    store: RedisStore, raw: redis.Redis
) -> None:
    user = unique_user()
    store.save(make_record(user_id=user, expires_in=60))
    forever = make_record(user_id=user)
    store.save(type(forever)(forever.id, b"", forever.created_at, NEVER, 1, user))
    assert raw.ttl(store.keys.user(user)) == -1


def test_touch_extends_the_user_index_with_the_session(store: RedisStore, raw: redis.Redis) -> None:
    user = unique_user()
    record = make_record(user_id=user, expires_in=60)
    store.save(record)
    later = time.time() + 3600
    store.touch_many({record.id: later})
    assert abs(raw.pexpiretime(store.keys.user(user)) / 1000 - later) < 0.002
    assert store.ids_for_user(user) == [record.id]


def test_expired_sessions_leave_the_user_index_on_purge(
    store: RedisStore, raw: redis.Redis
) -> None:
    user = unique_user()
    store.save(make_record(user_id=user, expires_in=0.2))
    keep = make_record(user_id=user, expires_in=600)
    store.save(keep)
    time.sleep(0.3)
    assert raw.zcard(store.keys.user(user)) == 2
    assert store.purge_expired() == 0
    assert raw.zrange(store.keys.user(user), 0, -1) == [store.keys.session(keep.id).encode()]


def test_index_of_a_user_whose_sessions_all_expired_disappears(
    store: RedisStore, raw: redis.Redis
) -> None:
    user = unique_user()
    store.save(make_record(user_id=user, expires_in=0.2))
    time.sleep(0.3)
    assert raw.exists(store.keys.user(user)) == 0


def test_each_save_trims_expired_entries_of_that_users_index(
    store: RedisStore, raw: redis.Redis
) -> None:
    user = unique_user()
    for _ in range(5):
        store.save(make_record(user_id=user, expires_in=0.1))
    time.sleep(0.2)
    store.save(make_record(user_id=user, expires_in=600))
    assert raw.zcard(store.keys.user(user)) == 1


def test_ids_for_user_drops_entries_now_bound_to_another_user(
    store: RedisStore, raw: redis.Redis
) -> None:
    alice, bob = unique_user("alice"), unique_user("bob")
    bobs = make_record(user_id=bob)
    store.save(bobs)
    # A stale entry, as left by a crash between the two writes of a user change.
    raw.zadd(store.keys.user(alice), {store.keys.session(bobs.id): time.time() * 1000 + 60_000})
    assert store.ids_for_user(alice) == []
    assert raw.zcard(store.keys.user(alice)) == 0
    assert store.ids_for_user(bob) == [bobs.id]


def test_ids_for_user_skips_an_entry_whose_session_is_not_written_yet(
    store: RedisStore, raw: redis.Redis
) -> None:
    user = unique_user()
    pending = new_key()  # the index is written first; the session may follow
    raw.zadd(store.keys.user(user), {store.keys.session(pending): time.time() * 1000 + 60_000})
    assert store.ids_for_user(user) == []
    assert raw.zcard(store.keys.user(user)) == 1  # kept: its expiry retires it


def test_deleting_sessions_removes_them_from_the_index(store: RedisStore, raw: redis.Redis) -> None:
    user = unique_user()
    records = [make_record(user_id=user) for _ in range(3)]
    for record in records:
        store.save(record)
    assert store.delete_many(r.id for r in records) == 3
    assert raw.exists(store.keys.user(user)) == 0


# -- keys and prefixes ----------------------------------------------------------


def test_keys_use_the_prefix_and_cluster_hash_tags(store: RedisStore) -> None:
    prefix = store.keys.prefix
    assert store.keys.session("abc") == f"{prefix}{{abc}}"
    assert store.keys.user("alice") == f"{prefix}user:{{alice}}"


def test_delete_all_leaves_other_prefixes_alone(redis_url: str, raw: redis.Redis) -> None:
    prefix = unique_prefix()
    with (
        redis_store(redis_url, prefix=prefix) as outer,
        redis_store(redis_url, prefix=prefix + "inner:") as inner,
    ):
        outer.save(make_record(user_id=unique_user()))
        kept = make_record(user_id=unique_user())
        inner.save(kept)
        raw.set(prefix + "unrelated", b"x")
        try:
            assert outer.delete_all() == 1
            assert inner.load(kept.id) is not None
            assert inner.ids_for_user(kept.user_id or "") == [kept.id]
            assert raw.get(prefix + "unrelated") == b"x"
        finally:
            raw.delete(prefix + "unrelated")


def test_count_and_ids_see_only_this_prefix(redis_url: str) -> None:
    with redis_store(redis_url) as one, redis_store(redis_url) as two:
        one.save(make_record())
        two.save(make_record())
        two.save(make_record())
        assert one.count() == 1
        assert two.count() == 2


def test_a_wrong_type_under_a_session_key_is_a_store_error_not_unavailable(
    store: RedisStore, raw: redis.Redis
) -> None:
    key = new_key()
    raw.hset(store.keys.session(key), "d", b"a hash, not a string")
    with pytest.raises(StoreError) as caught:
        store.load(key)
    assert not isinstance(caught.value, StoreUnavailable)
    assert "WRONGTYPE" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [b"too short", b"\0" * 24 + b"\x00\x00\x01\x00" + b"user id longer than the value"],
    ids=["shorter-than-a-header", "user-id-past-the-end"],
)
def test_a_string_this_store_did_not_write_is_a_missing_session_and_is_removed(
    store: RedisStore, raw: redis.Redis, value: bytes
) -> None:
    key = new_key()
    raw.set(store.keys.session(key), value)
    assert store.load(key) is None
    assert not raw.exists(store.keys.session(key))


# -- round trips ----------------------------------------------------------------


class CountingConnection(redis.Connection):
    """A real connection that counts what it sends: one send is one round trip."""

    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        redis.Connection.send_packed_command(self, command, check_health)


@pytest.fixture
def counted(private_server: RedisServer) -> Iterator[RedisStore]:
    pool = redis.ConnectionPool(
        host=private_server.host, port=private_server.port, connection_class=CountingConnection
    )
    client = redis.Redis(connection_pool=pool)
    store = RedisStore(client, prefix=unique_prefix("rt"))
    store.setup()
    store.save(make_record(user_id="warm-up"))  # scripts loaded, connection open
    yield store
    store.delete_all()
    client.close()


def round_trips(action: Any) -> int:
    before = CountingConnection.sends
    action()
    return CountingConnection.sends - before


def test_load_is_one_round_trip(counted: RedisStore) -> None:
    record = make_record()
    counted.save(record)
    assert round_trips(lambda: counted.load(record.id)) == 1


def test_save_is_one_round_trip_with_or_without_a_user(counted: RedisStore) -> None:
    assert round_trips(lambda: counted.save(make_record())) == 1
    assert round_trips(lambda: counted.save(make_record(user_id=unique_user()))) == 1


def test_compare_and_set_is_one_round_trip(counted: RedisStore) -> None:
    record = make_record(version=1)
    counted.save(record)
    newer = make_record(key=record.id, version=2)
    assert round_trips(lambda: counted.save_if_version(newer, 1)) == 1
    assert round_trips(lambda: counted.save_if_version(newer, 1)) == 1  # refused


def test_touch_many_is_one_round_trip_for_anonymous_sessions(counted: RedisStore) -> None:
    records = [make_record() for _ in range(50)]
    for record in records:
        counted.save(record)
    later = time.time() + 900
    assert round_trips(lambda: counted.touch_many({r.id: later for r in records})) == 1


def test_touch_many_adds_one_round_trip_for_user_indexes(counted: RedisStore) -> None:
    records = [make_record(user_id=unique_user()) for _ in range(50)]
    for record in records:
        counted.save(record)
    later = time.time() + 900
    assert round_trips(lambda: counted.touch_many({r.id: later for r in records})) == 2


def test_delete_is_one_round_trip_without_a_user(counted: RedisStore) -> None:
    record = make_record()
    counted.save(record)
    assert round_trips(lambda: counted.delete(record.id)) == 1


def test_delete_many_is_two_round_trips_with_users(counted: RedisStore) -> None:
    records = [make_record(user_id=unique_user()) for _ in range(20)]
    for record in records:
        counted.save(record)
    assert round_trips(lambda: counted.delete_many([r.id for r in records])) == 2


# -- script cache ---------------------------------------------------------------


def test_store_recovers_when_the_server_forgets_its_scripts(
    private_server: RedisServer,
) -> None:
    with redis_store(private_server.url) as store:
        user = unique_user()
        first = make_record(user_id=user)
        store.save(first)
        flusher = redis.Redis(host=private_server.host, port=private_server.port)
        flusher.script_flush()
        second = make_record(user_id=user)
        store.save(second)  # pipelined scripts
        store.touch_many({first.id: time.time() + 60, second.id: time.time() + 60})
        flusher.script_flush()
        assert store.save_if_version(make_record(key=first.id, version=2), 1)  # single script
        flusher.script_flush()
        assert store.delete_many([first.id, second.id]) == 2
        flusher.close()


# -- the shared client ----------------------------------------------------------


def test_stores_with_the_same_url_and_options_share_one_client(redis_url: str) -> None:
    prefix = unique_prefix()
    one = RedisStore.from_url(redis_url, prefix=prefix)
    two = RedisStore.from_url(redis_url, prefix=prefix)
    other = RedisStore.from_url(redis_url, prefix=prefix, socket_timeout=3)
    try:
        assert one.client is two.client
        assert other.client is not one.client
    finally:
        for store in (one, two, other):
            store.close()


def test_closing_one_store_leaves_the_shared_client_working(redis_url: str) -> None:
    prefix = unique_prefix()
    one = RedisStore.from_url(redis_url, prefix=prefix)
    two = RedisStore.from_url(redis_url, prefix=prefix)
    one.close()
    one.close()  # closing twice releases once
    record = make_record()
    two.save(record)
    assert two.load(record.id) is not None
    two.delete_all()
    two.close()
    three = RedisStore.from_url(redis_url, prefix=prefix)
    assert three.client is not two.client  # the last close closed it; a new one is made
    three.close()


def test_a_store_on_a_client_you_made_leaves_it_open(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = RedisStore(client, prefix=unique_prefix())
    store.close()
    assert client.ping()
    client.close()


def test_repr_names_the_url_without_its_password() -> None:
    store = RedisStore.from_url("redis://:hunter2@127.0.0.1:1/0", prefix="p:")
    try:
        assert "hunter2" not in repr(store)
        assert "***" in repr(store)
    finally:
        store.close()


# -- Cluster ----------------------------------------------------------------------


def test_one_users_sessions_live_in_different_cluster_slots(
    redis_cluster: RedisCluster,
) -> None:
    with redis_store(redis_cluster.url) as store:
        user = unique_user()
        records = [make_record(user_id=user) for _ in range(12)]
        for record in records:
            store.save(record)
        slots = {key_slot(store.keys.session(r.id).encode()) for r in records}
        assert len(slots) > 1
        assert sorted(store.ids_for_user(user)) == sorted(r.id for r in records)
        later = round(time.time() + 3600, 3)
        store.touch_many({r.id: later for r in records})
        loaded = store.load(records[-1].id)
        assert loaded is not None
        assert abs(loaded.expires_at - later) < 0.002
        assert store.delete_many(r.id for r in records) == 12
        assert store.ids_for_user(user) == []


@pytest.mark.parametrize("scheme", ["redis", "valkey"])
def test_open_store_picks_the_redis_store_for_both_spellings(redis_url: str, scheme: str) -> None:
    url = redis_url.replace("redis://", f"{scheme}://", 1)
    store = sw.open_store(url, prefix=unique_prefix())
    try:
        assert isinstance(store, RedisStore)
    finally:
        store.close()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_stores_share_a_client_within_one_event_loop(
    redis_url: str, anyio_backend: str
) -> None:
    prefix = unique_prefix()
    one = await sw.open_async_store(redis_url, prefix=prefix)
    two = await sw.open_async_store(redis_url, prefix=prefix)
    try:
        assert isinstance(one, AsyncRedisStore)
        assert isinstance(two, AsyncRedisStore)
        assert one.client is two.client
        record = make_record()
        await one.save(record)
        assert await two.load(record.id) is not None
    finally:
        await one.delete_all()
        await one.close()
        await two.close()

"""The Redis store's hot path: which commands each operation costs the server, and
the stored layout they rely on. Read from the server's own command statistics
(INFO commandstats), on a private server so no other client is counted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from sessionware.core.record import NEVER, Record
from sessionware.stores.redis import RedisStore
from sessionware.stores.redis._codec import HEADER
from sessionware.testing._sync.conformance import make_record, unique_user
from tests.servers import RedisServer

from .redis_helpers import private_server, raw, redis_store

__all__ = ["private_server", "raw"]  # fixtures


@pytest.fixture
def store(private_server: RedisServer) -> Iterator[RedisStore]:
    with redis_store(private_server.url) as store:
        store.save(make_record(user_id="warm-up"))  # connection open, scripts loaded
        yield store


def commands(raw: redis.Redis, action: Any) -> dict[str, int]:
    """Commands the server ran for ``action`` (those inside scripts included)."""
    raw.config_resetstat()
    action()
    stats = raw.info("commandstats")
    names = {name.removeprefix("cmdstat_"): entry["calls"] for name, entry in stats.items()}
    names.pop("config|resetstat", None)
    return names


def later(record: Record, seconds: float) -> Record:
    return Record(
        record.id,
        record.data,
        record.created_at,
        record.expires_at + seconds,
        record.version + 1,
        record.user_id,
    )


def updated(record: Record, **changes: Any) -> Record:
    fields = {"data": b'{"n":2}', "version": record.version + 1, **changes}
    return Record(
        record.id,
        fields["data"],
        record.created_at,
        record.expires_at,
        fields["version"],
        fields.get("user_id", record.user_id),
    )


# -- the stored layout ----------------------------------------------------------


def test_a_record_is_one_string_of_header_user_id_and_data(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(user_id="émilie", data=b"\x00payload")
    store.save(record)
    value = raw.get(store.keys.session(record.id))
    assert value is not None
    user = "émilie".encode()
    header = HEADER.pack(record.version, record.expires_at, record.created_at, len(user))
    assert value == header + user + b"\x00payload"


def test_an_anonymous_record_stores_minus_one_as_its_user_id_length(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(data=b"x")
    store.save(record)
    value = raw.get(store.keys.session(record.id))
    assert value == HEADER.pack(record.version, record.expires_at, record.created_at, -1) + b"x"


def test_touch_rewrites_only_the_expiry_bytes(store: RedisStore, raw: redis.Redis) -> None:
    record = make_record(user_id=unique_user(), expires_in=60)
    store.save(record)
    before = raw.get(store.keys.session(record.id))
    new_expiry = record.expires_at + 600
    store.touch_many({record.id: new_expiry})
    after = raw.get(store.keys.session(record.id))
    assert isinstance(before, bytes)
    assert isinstance(after, bytes)
    assert after[:8] == before[:8]  # version
    assert after[16:] == before[16:]  # created_at, user id, data
    assert HEADER.unpack_from(after)[1] == new_expiry


# -- what each operation costs the server -------------------------------------------


def test_load_is_one_get(store: RedisStore, raw: redis.Redis) -> None:
    record = make_record()
    store.save(record)
    assert commands(raw, lambda: store.load(record.id)) == {"get": 1}


def test_creating_an_anonymous_record_is_one_set_and_no_script(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record()
    assert commands(raw, lambda: store.save_if_version(record, 0)) == {"set": 1}
    assert raw.pexpiretime(store.keys.session(record.id)) == int(record.expires_at * 1000)


def test_creating_an_anonymous_record_that_never_expires_sets_no_ttl(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record()
    record = Record(record.id, record.data, record.created_at, NEVER, 1, None)
    assert store.save_if_version(record, 0)
    assert raw.ttl(store.keys.session(record.id)) == -1


def test_an_anonymous_update_is_one_script_reading_the_header_and_setting_the_value(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record()
    store.save(record)
    ran = commands(raw, lambda: store.save_if_version(updated(record), record.version))
    assert ran == {"evalsha": 1, "getrange": 1, "set": 1}


def test_an_update_on_a_near_caches_lane_reads_the_key_again_after_setting_it(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record()
    store.save(record)
    lane = store.client.connection_pool.make_connection()
    lane.connect()
    try:
        ran = commands(raw, lambda: store.save_if_version_on(lane, updated(record), record.version))
    finally:
        lane.disconnect()
    assert ran == {"evalsha": 1, "getrange": 2, "set": 1}


def test_a_logged_in_update_keeping_user_and_expiry_leaves_the_index_alone(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(user_id=unique_user())
    store.save(record)
    ran = commands(raw, lambda: store.save_if_version(updated(record), record.version))
    assert ran == {"evalsha": 1, "getrange": 1, "set": 1}
    assert store.ids_for_user(record.user_id or "") == [record.id]


def test_a_logged_in_update_that_moves_the_expiry_indexes_first(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(user_id=unique_user(), expires_in=60)
    store.save(record)
    moved = later(record, 3600)
    ran = commands(raw, lambda: store.save_if_version(moved, record.version))
    assert ran["zadd"] == 1
    assert ran["set"] == 1
    index = store.keys.user(record.user_id or "")
    score = raw.zscore(index, store.keys.session(record.id))
    assert score == int(moved.expires_at * 1000)
    assert abs(raw.pexpiretime(index) / 1000 - moved.expires_at) < 0.002


def test_a_logged_in_update_that_changes_the_user_indexes_the_new_user_first(
    store: RedisStore, raw: redis.Redis
) -> None:
    alice, bob = unique_user("alice"), unique_user("bob")
    record = make_record(user_id=alice)
    store.save(record)
    ran = commands(raw, lambda: store.save_if_version(updated(record, user_id=bob), 1))
    assert ran["zadd"] == 1
    assert ran["zrem"] == 1  # alice's entry goes once bob's record is written
    assert store.ids_for_user(bob) == [record.id]
    assert raw.zcard(store.keys.user(alice)) == 0


def test_a_logged_in_update_at_a_stale_version_writes_nothing_and_indexes_nothing(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(user_id=unique_user(), version=3)
    store.save(record)
    stale = updated(record, version=3)
    ran = commands(raw, lambda: store.save_if_version(stale, 2))
    assert ran == {"evalsha": 1, "getrange": 1}
    assert store.load(record.id) == record


def test_a_logged_in_record_is_created_with_its_index_entry(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(user_id=unique_user())
    ran = commands(raw, lambda: store.save_if_version(record, 0))
    assert ran["zadd"] == 1
    assert ran["set"] == 1
    assert store.ids_for_user(record.user_id or "") == [record.id]


def test_deleting_an_anonymous_record_reads_only_its_header(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record()
    store.save(record)
    ran = commands(raw, lambda: store.delete(record.id))
    assert ran == {"evalsha": 1, "getrange": 1, "del": 1}


def test_a_record_whose_expiry_has_passed_is_not_kept_by_its_write(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record(expires_in=-5)
    assert store.save_if_version(record, 0)
    assert raw.exists(store.keys.session(record.id)) == 0


def test_an_expiry_at_the_epoch_is_written_as_a_ttl_the_server_accepts(
    store: RedisStore, raw: redis.Redis
) -> None:
    record = make_record()
    record = Record(record.id, record.data, record.created_at, 0.0, 1, None)
    assert store.save_if_version(record, 0)  # PXAT 0 would be refused: 1 ms is sent
    assert raw.exists(store.keys.session(record.id)) == 0

"""How the Redis store retries through a failover, deterministically: the
connection drops around a compare-and-set (before it reached the server, or
after it was applied) and the store decides from the stored record; past
``failover_timeout`` the error is ``StoreUnavailable``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from redis.exceptions import ClusterDownError, ConnectionError

from sessionware.core.record import Record
from sessionware.errors import StoreUnavailable
from sessionware.stores.redis import RedisStore
from sessionware.stores.redis._settings import DEFAULT_FAILOVER_TIMEOUT, parse_url
from sessionware.testing._sync.conformance import make_record
from tests.servers import RedisServer

from .redis_helpers import private_server, redis_store

__all__ = ["private_server"]  # a fixture, used by name


@pytest.fixture
def store(private_server: RedisServer) -> Iterator[RedisStore]:
    with redis_store(private_server.url, failover_timeout=2) as store:
        yield store


def newer(record: Record, data: bytes) -> Record:
    return Record(
        record.id, data, record.created_at, record.expires_at, record.version + 1, record.user_id
    )


def drop_once(
    store: RedisStore,
    monkeypatch: pytest.MonkeyPatch,
    *,
    before: Callable[[], Any] | None = None,
    applied: bool,
    error: Exception | None = None,
) -> list[int]:
    """The next write runs ``before``, is applied or not, then its connection drops
    (``error``); later writes go through. Returns the list of write attempts."""
    real = store._write_once
    attempts: list[int] = []

    def flaky(record: Record, expected_version: int) -> Any:
        attempts.append(expected_version)
        if len(attempts) == 1:
            if before is not None:
                before()
            if applied:
                real(record, expected_version)
            raise error or ConnectionError("Connection reset by peer")
        return real(record, expected_version)

    monkeypatch.setattr(store, "_write_once", flaky)
    return attempts


def test_a_compare_and_set_applied_before_the_drop_is_reported_done_not_sent_again(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    second = newer(first, b"second")
    attempts = drop_once(store, monkeypatch, applied=True)
    assert store.save_if_version(second, first.version) is True
    assert attempts == [first.version]  # read back, found ours: not sent again
    assert store.load(first.id) == second


def test_a_compare_and_set_lost_with_the_connection_is_sent_again(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    second = newer(first, b"second")
    attempts = drop_once(store, monkeypatch, applied=False)
    assert store.save_if_version(second, first.version) is True
    assert attempts == [first.version, first.version]
    assert store.load(first.id) == second


def test_a_compare_and_set_overtaken_meanwhile_is_a_conflict(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    other, ours = newer(first, b"other"), newer(first, b"ours")
    attempts = drop_once(store, monkeypatch, applied=False, before=lambda: store.save(other))
    assert store.save_if_version(ours, first.version) is False  # the manager merges
    assert attempts == [first.version, -1]  # ours once, then the other writer's save
    assert store.load(first.id) == other


def test_a_create_whose_outcome_is_unknown_is_checked_too(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = make_record()
    attempts = drop_once(store, monkeypatch, applied=True)
    assert store.save_if_version(record, 0) is True
    assert attempts == [0]
    assert store.load(record.id) == record


class DroppingLane:
    """A near cache's lane whose connection drops once its command was sent
    (``applied``: after the server ran it) or before."""

    def __init__(self, store: RedisStore, *, applied: bool) -> None:
        self.connection = store.client.connection_pool.make_connection()
        self.applied = applied
        self.disconnected = False

    def send_packed_command(self, command: Any) -> None:
        if not self.applied:
            raise ConnectionError("Connection reset by peer")
        self.connection.send_packed_command(command)

    def read_response(self) -> Any:
        self.connection.read_response()
        raise ConnectionError("Connection reset by peer")

    def disconnect(self) -> None:
        self.disconnected = True
        self.connection.disconnect()


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-sent"])
def test_a_compare_and_set_on_a_lane_that_drops_is_settled_as_through_a_failover(
    store: RedisStore, applied: bool
) -> None:
    first = make_record()
    store.save(first)
    second = newer(first, b"second")
    lane = DroppingLane(store, applied=applied)
    assert store.save_if_version_on(lane, second, first.version) is True
    assert lane.disconnected  # never used again: its tracking may have ended
    assert store.load(first.id) == second


def test_a_refusal_clusterdown_is_simply_sent_again(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    second = newer(first, b"second")
    attempts = drop_once(
        store, monkeypatch, applied=False, error=ClusterDownError("CLUSTERDOWN The cluster is down")
    )
    assert store.save_if_version(second, first.version) is True
    assert attempts == [first.version, first.version]


def test_past_the_deadline_the_error_is_store_unavailable(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.failover_timeout = 0.3
    calls: list[float] = []

    def down(*args: Any) -> Any:
        calls.append(time.monotonic())
        raise ConnectionError("Error 111 connecting: Connection refused")

    monkeypatch.setattr(store, "_command", down)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.load(make_record().id)
    assert 0.3 <= time.monotonic() - started < 1.0
    assert len(calls) > 2  # retried with backoff in between


def test_failover_timeout_is_an_option_and_a_url_parameter() -> None:
    assert parse_url("redis://h", {}).failover_timeout == DEFAULT_FAILOVER_TIMEOUT == 5.0
    assert parse_url("redis+cluster://h?failover_timeout=1.5", {}).failover_timeout == 1.5
    assert parse_url("redis://h", {"failover_timeout": 0}).failover_timeout == 0.0
    assert parse_url("redis://h", {}).retry_count == 0  # the store retries, not redis-py

"""What a request costs the store behind a near cache (counted at the store): a
read-only request on a cached session makes no call, a write makes one (the
compare-and-set), and a write that loses a race reloads and merges.

Only the request's own calls are counted; on Redis the channel makes none of its
own either (``test_the_redis_channel_makes_no_call_of_its_own_after_a_write``): the
cache reads and writes on a connection whose tracking leaves out its own changes,
so a write has no echo to read or confirm."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import sessionware as sw
from sessionware.stores.near_cache import NearCacheStore
from tests.conftest import SECRET, CountingProxy

from .near_cache_support import cached_url, private_name, wait_until_up

KINDS = ("redis", "postgresql")


@pytest.fixture(params=KINDS)
def plain_url(request: pytest.FixtureRequest) -> str:
    kind = request.param
    base = request.getfixturevalue("redis_url" if kind == "redis" else "postgres_url")
    return cached_url(kind, base, private_name(kind)).replace("&near_cache=on", "")


class RequestCalls(CountingProxy):
    """Counts the calls made by the test's own thread (the requests); the channel's
    calls (its own thread) go to ``channel_calls``."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.channel_calls: list[str] = []

    def load(self, call: Any, id: str) -> Any:
        if threading.current_thread() is not threading.main_thread():
            self.channel_calls.append("load")
            return call(id)
        return super().load(call, id)


@pytest.fixture
def counted(plain_url: str) -> Iterator[RequestCalls]:
    inner = RequestCalls(sw.open_store(plain_url))
    store = NearCacheStore(inner)
    store.setup()
    wait_until_up(store)
    manager = sw.SessionManager(store, secret_key=SECRET, visit_tracker=False)
    inner.manager = manager  # type: ignore[attr-defined]
    yield inner
    drop = getattr(inner.store, "drop_table", None)
    if drop is not None:
        drop()
    else:
        inner.delete_all()
    manager.close()


def manager_of(counted: RequestCalls) -> sw.SessionManager:
    manager: sw.SessionManager = counted.manager
    return manager


def cached_cookie(manager: sw.SessionManager) -> str:
    with manager.scope(None) as session:
        session["cart"] = [1]
    cookie = session.cookie_value
    assert cookie is not None
    time.sleep(0.05)  # the write's echo (PostgreSQL)
    with manager.scope(cookie) as session:
        assert session["cart"] == [1]
    return cookie


def test_a_read_only_request_on_a_cached_session_makes_no_store_call(
    counted: RequestCalls,
) -> None:
    manager = manager_of(counted)
    cookie = cached_cookie(manager)
    counted.calls.clear()
    with manager.scope(cookie) as session:
        assert session["cart"] == [1]
    assert counted.calls == []


def test_a_write_request_on_a_cached_session_makes_one_store_call(
    counted: RequestCalls,
) -> None:
    manager = manager_of(counted)
    cookie = cached_cookie(manager)
    counted.calls.clear()
    with manager.scope(cookie) as session:
        session["cart"] = [1, 2]
    assert counted.calls == ["save_if_version"]


def test_writes_in_a_row_each_make_one_store_call(counted: RequestCalls) -> None:
    manager = manager_of(counted)
    cookie = cached_cookie(manager)
    for n in range(5):
        time.sleep(0.02)
        counted.calls.clear()
        with manager.scope(cookie) as session:
            session["n"] = n
        assert counted.calls == ["save_if_version"]


def test_a_write_that_lost_a_race_reloads_and_merges(counted: RequestCalls, plain_url: str) -> None:
    manager = manager_of(counted)
    cookie = cached_cookie(manager)
    session = manager.open(cookie)
    session["mine"] = 1
    other = sw.SessionManager(sw.open_store(plain_url), secret_key=SECRET)
    try:
        with other.scope(cookie) as theirs:
            theirs["theirs"] = 2
    finally:
        other.close()
    counted.calls.clear()
    manager.save_changes(session)
    assert counted.calls[:3] == ["save_if_version", "load", "save_if_version"]
    with manager.scope(cookie) as merged:
        assert (merged["mine"], merged["theirs"]) == (1, 2)


def test_the_redis_channel_makes_no_call_of_its_own_after_a_write(
    counted: RequestCalls, plain_url: str
) -> None:
    if not plain_url.startswith("redis"):
        pytest.skip("a Redis channel's behaviour")
    manager = manager_of(counted)
    cookie = cached_cookie(manager)
    counted.channel_calls.clear()
    with manager.scope(cookie) as session:
        session["cart"] = [1, 2]
    time.sleep(0.1)  # what an echo and a confirming read would have taken
    assert counted.channel_calls == []
    cache = getattr(manager.store, "cache")  # noqa: B009 (a NearCacheStore's)
    assert cache.stats.invalidations == 0
    counted.calls.clear()
    with manager.scope(cookie) as session:
        assert session["cart"] == [1, 2]
    assert counted.calls == []


def test_metrics_report_the_near_caches_counters(plain_url: str) -> None:
    from sessionware.metrics import Metrics

    store = NearCacheStore(sw.open_store(plain_url))
    metrics = Metrics()
    timed = metrics.wrap_store(store)
    try:
        timed.setup()
        wait_until_up(store)
        timed.load("absent")
        counters = metrics.snapshot()["near_cache"]
        assert counters["misses"] == 1
        assert set(counters) >= {"hits", "misses", "invalidations", "resets"}
    finally:
        drop = getattr(store.store, "drop_table", None)
        if drop is not None:
            drop()
        timed.close()

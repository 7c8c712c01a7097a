"""The dashboard's near-cache figures: hits, misses, hit ratio, invalidations,
resets and what the cache holds, in the metrics feed and on the page, for a
manager whose Redis store is opened with ``?near_cache=on``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request

import sessionware as sw
from sessionware.admin import AdminApp
from sessionware.metrics import Metrics
from sessionware.stores.near_cache import NearCacheStore
from tests.stores.near_cache_support import cached_url, near_cached_store, private_name

from .support import SECRET, logged_in

#: Seconds an invalidation from another client may take to reach the cache.
DELIVERED_WITHIN = 5.0


def is_admin(request: Request) -> bool:
    return True


@pytest.fixture
def url(redis_url: str) -> str:
    return cached_url("redis", redis_url, private_name("redis"))


@pytest.fixture
def cached(url: str) -> Iterator[NearCacheStore]:
    with near_cached_store(url) as store:
        yield store


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def manager(cached: NearCacheStore, metrics: Metrics) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(metrics.wrap_store(cached), secret_key=SECRET)
    manager.add_listener(metrics)
    yield manager
    manager.close()


@pytest.fixture
def admin(manager: sw.SessionManager, metrics: Metrics) -> Client:
    return Client(AdminApp(manager, authorize=is_admin, metrics=metrics))


def feed_of(admin: Client) -> dict[str, Any]:
    feed = admin.get("/metrics.json").json
    assert feed is not None
    return feed  # type: ignore[no-any-return]


def requested_twice(manager: sw.SessionManager) -> str:
    """A logged-in session, then two read-only requests on it."""
    cookie = logged_in(manager, "alice")
    time.sleep(0.05)  # the write's echo, and its confirmation on Redis
    for _ in range(2):
        dict(manager.open(cookie))  # the sync manager loads on first access
    return cookie


def test_the_feed_counts_the_near_caches_hits_and_misses(
    admin: Client, manager: sw.SessionManager
) -> None:
    requested_twice(manager)

    near = feed_of(admin)["near_cache"]

    assert near["hits"] >= 1
    assert near["hits"] + near["misses"] >= 2
    assert near["hit_ratio"] == near["hits"] / (near["hits"] + near["misses"])


def test_the_feed_shows_what_the_near_cache_holds(
    admin: Client, manager: sw.SessionManager
) -> None:
    requested_twice(manager)

    near = feed_of(admin)["near_cache"]

    assert near["entries"] == 1
    assert near["bytes"] > 0


def test_the_feed_counts_an_invalidation_by_another_client(
    admin: Client, manager: sw.SessionManager, url: str
) -> None:
    requested_twice(manager)
    other = sw.open_store(url.replace("&near_cache=on", ""))
    try:
        other.delete_all()
        deadline = time.monotonic() + DELIVERED_WITHIN
        while feed_of(admin)["near_cache"]["entries"] > 0:
            assert time.monotonic() < deadline, "no invalidation reached the near cache"
            time.sleep(0.01)
    finally:
        other.close()

    assert feed_of(admin)["near_cache"]["invalidations"] >= 1


def test_the_feed_has_no_resets_while_the_channel_stays_up(
    admin: Client, manager: sw.SessionManager
) -> None:
    requested_twice(manager)

    assert feed_of(admin)["near_cache"]["resets"] == 0


def test_the_feeds_near_cache_counters_are_those_metrics_reports(
    admin: Client, manager: sw.SessionManager
) -> None:
    requested_twice(manager)

    feed = feed_of(admin)

    for name, value in feed["snapshot"]["near_cache"].items():
        assert feed["near_cache"][name] == value


def test_the_page_has_a_near_cache_section(admin: Client, manager: sw.SessionManager) -> None:
    requested_twice(manager)

    page = admin.get("/").text

    assert '<section class="card figures-card" id="near-cache">' in page
    for figure in ("near-hits", "near-misses", "near-ratio", "near-invalidations", "near-resets"):
        assert f'id="{figure}"' in page
    assert "no near cache" not in page


def test_without_a_near_cache_the_page_says_so_and_the_feed_has_none() -> None:
    manager = sw.SessionManager(sw.open_store("memory://"), secret_key=SECRET)
    admin = Client(AdminApp(manager, authorize=is_admin))

    page = admin.get("/").text

    assert "no near cache" in page
    assert 'id="near-cache"' not in page
    assert feed_of(admin)["near_cache"] is None
    manager.close()

"""A write sent now and answered later (``SessionManager.start_save``) on the Redis
near cache: what it promises before and after ``finish()``, against a second
manager on its own connections (another process's cache) writing, invalidating or
revoking in between, and what the Flask integration does with it (the answer is
read once Flask is done, before the response leaves)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest

import sessionware as sw
from sessionware.integrations.flask import SavesFinished, init_app
from sessionware.stores.near_cache import NearCacheStore
from sessionware.stores.near_cache._sync.redis import RedisChannel
from sessionware.stores.redis._sync.store import SentSave as RedisSentSave
from tests.conftest import SECRET

from .near_cache_support import cached_url, near_cached_store, private_name


@pytest.fixture
def url(redis_url: str) -> str:
    return cached_url("redis", redis_url, private_name("redis"))


@pytest.fixture
def store(url: str) -> Iterator[NearCacheStore]:
    with near_cached_store(url) as store:
        yield store


@pytest.fixture
def manager(store: NearCacheStore) -> sw.SessionManager:
    return sw.SessionManager(store, secret_key=SECRET, visit_tracker=False)


def stored_cookie(manager: sw.SessionManager) -> str:
    with manager.scope(None) as session:
        session["n"] = 0
    assert session.cookie_value is not None
    return session.cookie_value


def test_a_changed_stored_session_is_written_once_finish_returns(
    manager: sw.SessionManager, store: NearCacheStore
) -> None:
    session = manager.open(stored_cookie(manager))
    session["n"] = 1
    in_flight = manager.start_save(session)
    assert in_flight.finish() is None  # same id, same cookie: nothing to set
    record = store.store.load(session.key)
    assert record is not None
    assert record.version == 2


def test_a_new_session_is_saved_whole_by_start_save(manager: sw.SessionManager) -> None:
    session = manager.open(None)
    session["n"] = 1
    in_flight = manager.start_save(session)
    assert in_flight.cookie_value is not None  # written already: its cookie is known
    assert in_flight.finish() == in_flight.cookie_value


def test_a_write_in_flight_that_lost_a_race_merges_when_finished(
    manager: sw.SessionManager, store: NearCacheStore
) -> None:
    cookie = stored_cookie(manager)
    mine = manager.open(cookie)
    mine["mine"] = 1
    with manager.scope(cookie) as other:  # another request writes first
        other["other"] = 1
    manager.start_save(mine).finish()
    record = store.store.load(mine.key)
    assert record is not None
    with manager.scope(cookie) as merged:
        assert (merged.get("mine"), merged.get("other")) == (1, 1)


def test_the_same_thread_can_save_while_its_write_is_in_flight(
    manager: sw.SessionManager,
) -> None:
    first = manager.open(stored_cookie(manager))
    first["n"] = 1
    in_flight = manager.start_save(first)
    again = manager.open(stored_cookie(manager))  # any stripe of the save gate
    again["n"] = 2
    manager.save_changes(again)
    in_flight.finish()
    assert manager.open(first.cookie_value or stored_cookie(manager)) is not None


def flask_app(manager: sw.SessionManager) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = SECRET
    init_app(app, manager)

    @app.get("/write")
    def write() -> str:
        flask.session["n"] = flask.session.get("n", 0) + 1
        return str(flask.session["n"])

    return app


def test_init_app_wraps_wsgi_app_once(manager: sw.SessionManager) -> None:
    app = flask_app(manager)
    init_app(app, manager)
    assert isinstance(app.wsgi_app, SavesFinished)
    assert not isinstance(app.wsgi_app.wsgi_app, SavesFinished)


def test_a_flask_write_is_answered_before_the_response_leaves(
    manager: sw.SessionManager, store: NearCacheStore
) -> None:
    client = flask_app(manager).test_client()
    assert client.get("/write").text == "1"
    for expected in ("2", "3", "4"):
        assert client.get("/write").text == expected
    cookie = client.get_cookie("session")
    assert cookie is not None
    with manager.scope(cookie.value) as session:
        assert session["n"] == 4


def test_a_flask_write_whose_answer_fails_is_not_sent_as_a_success(
    manager: sw.SessionManager, store: NearCacheStore
) -> None:
    client = flask_app(manager).test_client()
    client.get("/write")
    channel = store.channel
    assert isinstance(channel, RedisChannel)
    lane = channel._lane
    assert lane is not None

    def refused(sent: RedisSentSave) -> None:
        sent.connection.disconnect()  # as a connection that failed mid-reply is
        raise sw.StoreUnavailable("redis://127.0.0.1", "the store went away")

    inner: Any = store.store
    original = inner.finish_save_on
    inner.finish_save_on = refused
    try:
        with pytest.raises(sw.StoreUnavailable):
            client.get("/write")
    finally:
        inner.finish_save_on = original
    assert not lane.intact  # given back broken: the cache is emptied, the lane made again
    # The write itself was sent: the store may hold it, so the next request sees 2 or 3.
    assert client.get("/write").text in ("2", "3")


# -- two managers on two store connections (two processes' caches), forced orders --


@pytest.fixture
def other_store(url: str, store: NearCacheStore) -> Iterator[NearCacheStore]:
    with near_cached_store(url) as other:  # the same keys, its own connections
        yield other


@pytest.fixture
def other(other_store: NearCacheStore) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(other_store, secret_key=SECRET, visit_tracker=False)
    yield manager
    manager.close()


def test_a_write_landing_after_one_in_flight_merges_with_it(
    manager: sw.SessionManager, other: sw.SessionManager
) -> None:
    cookie = stored_cookie(manager)
    mine, theirs = manager.open(cookie), other.open(cookie)
    mine["mine"] = 1
    in_flight = manager.start_save(mine)  # sent: the server applies it first
    theirs["theirs"] = 1
    other.save_changes(theirs)  # its compare-and-set loses, reloads and merges
    in_flight.finish()
    with other.scope(cookie) as merged:
        assert (merged.get("mine"), merged.get("theirs")) == (1, 1)


def test_a_session_invalidated_while_a_write_is_in_flight_stays_gone(
    manager: sw.SessionManager, other: sw.SessionManager
) -> None:
    cookie = stored_cookie(manager)
    mine = manager.open(cookie)
    mine["mine"] = 1
    in_flight = manager.start_save(mine)
    other.invalidate(other.open(cookie))
    in_flight.finish()
    assert manager.open(cookie).is_new
    assert other.open(cookie).is_new


def test_a_write_in_flight_after_an_invalidation_does_not_bring_the_session_back(
    manager: sw.SessionManager, other: sw.SessionManager
) -> None:
    cookie = stored_cookie(manager)
    mine = manager.open(cookie)
    other.invalidate(other.open(cookie))
    mine["mine"] = 1
    manager.start_save(mine).finish()
    assert manager.open(cookie).is_new
    assert other.open(cookie).is_new


def test_a_user_revoked_while_a_write_is_in_flight_stays_revoked(
    manager: sw.SessionManager, other: sw.SessionManager
) -> None:
    with manager.scope(None) as login:
        manager.login(login, "ada")
    cookie = login.cookie_value
    assert cookie is not None
    mine = manager.open(cookie)
    mine["mine"] = 1
    in_flight = manager.start_save(mine)
    other.revoke_user("ada")
    in_flight.finish()
    assert manager.open(cookie).is_new
    assert other.open(cookie).is_new

"""A Redis server that is down, at start-up or while running, gives
``StoreUnavailable`` naming the URL (never its password), and the manager recovers
by itself once the server is back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import sessionware as sw
from sessionware.errors import StoreUnavailable
from sessionware.stores.redis import AsyncRedisStore, RedisStore
from tests.conftest import SECRET
from tests.servers import RedisServer, RedisServerFactory

from .redis_helpers import unique_prefix

PASSWORD = "pw-that-must-never-show-9f3a"


def start_with_password(server: RedisServer) -> None:
    """Start the server and make it require ``PASSWORD``. Set after start, not in
    its config: the fixture's readiness probe pings without a password."""
    server.start()
    server.tools.command(server.port, "CONFIG", "SET", "requirepass", PASSWORD)


@pytest.fixture
def server(redis_server_factory: RedisServerFactory) -> Iterator[RedisServer]:
    server = redis_server_factory()
    start_with_password(server)
    yield server
    server.stop()


def url_of(server: RedisServer, password: str = PASSWORD) -> str:
    return f"redis://:{password}@{server.host}:{server.port}/0"


def assert_redacted(error: StoreUnavailable, server: RedisServer) -> None:
    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error)
    assert PASSWORD not in error.url
    assert f":***@{server.host}:{server.port}/0" in str(error)


def test_setup_fails_fast_with_the_redacted_url_when_the_server_is_down(
    server: RedisServer,
) -> None:
    server.stop()
    with pytest.raises(StoreUnavailable) as caught:
        sw.open_store(url_of(server), prefix=unique_prefix())
    assert_redacted(caught.value, server)


def test_a_wrong_password_is_unavailable_and_not_echoed(server: RedisServer) -> None:
    wrong = "wrong-pw-also-secret-77"
    with pytest.raises(StoreUnavailable) as caught:
        sw.open_store(url_of(server, wrong), prefix=unique_prefix())
    assert wrong not in str(caught.value)
    assert "***" in str(caught.value)


def test_manager_started_while_the_server_is_down_works_once_it_is_up(
    server: RedisServer,
) -> None:
    server.stop()
    store = sw.open_store(url_of(server), setup=False, prefix=unique_prefix())
    manager = sw.SessionManager(store, secret_key=SECRET)
    try:
        with pytest.raises(StoreUnavailable) as caught, manager.scope(None) as session:
            session["n"] = 1
        assert_redacted(caught.value, server)
        start_with_password(server)
        with manager.scope(None) as session:
            session["n"] = 1
        with manager.scope(session.cookie_value) as again:
            assert again["n"] == 1
    finally:
        manager.close()


def test_server_going_down_while_running_then_coming_back(server: RedisServer) -> None:
    # failover_timeout=0: no waiting for the server to come back.
    store = sw.open_store(url_of(server), prefix=unique_prefix(), failover_timeout=0)
    manager = sw.SessionManager(store, secret_key=SECRET)
    try:
        with manager.scope(None) as session:
            session["n"] = 1
        cookie = session.cookie_value
        server.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught, manager.scope(cookie) as session:
            session["n"] += 1
        assert time.monotonic() - started < 5
        assert_redacted(caught.value, server)
        start_with_password(server)  # an empty server: nothing was persisted
        with manager.scope(cookie) as session:
            assert "n" not in session  # the old id is unknown: a fresh session
            session["n"] = 10
        with manager.scope(session.cookie_value) as again:
            assert again["n"] == 10
    finally:
        manager.close()


def test_a_server_that_stops_answering_times_out_as_unavailable(server: RedisServer) -> None:
    import redis

    store = RedisStore.from_url(
        url_of(server), prefix=unique_prefix(), socket_timeout=0.3, failover_timeout=0
    )
    store.setup()
    blocker = redis.Redis(host=server.host, port=server.port, password=PASSWORD)
    try:
        blocker.execute_command("CLIENT", "PAUSE", "1500", "ALL")
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="Timeout"):
            store.load("0" * 40)
        assert time.monotonic() - started < 1.4  # the timeout, not the pause
    finally:
        blocker.execute_command("CLIENT", "UNPAUSE")
        blocker.close()
        store.close()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_manager_recovers_once_the_server_is_back(
    server: RedisServer, anyio_backend: str
) -> None:
    store = await sw.open_async_store(url_of(server), prefix=unique_prefix())
    assert isinstance(store, AsyncRedisStore)
    manager = sw.AsyncSessionManager(store, secret_key=SECRET)
    try:
        server.stop()
        with pytest.raises(StoreUnavailable) as caught:
            async with manager.scope(None) as session:
                session["n"] = 1
        assert_redacted(caught.value, server)
        start_with_password(server)
        async with manager.scope(None) as session:
            session["n"] = 2
        async with manager.scope(session.cookie_value) as again:
            assert again["n"] == 2
    finally:
        await manager.close()

"""The ASGI middleware on the async Redis near cache: a write that keeps the cookie is
sent at ``http.response.start`` and answered at the app's next message, and the
start waits for that answer, so no response starts before its session is stored,
and a failed answer is a 500, never the app's success."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

import sessionware as sw
from sessionware.asgi import Message, Scope, SessionMiddleware
from sessionware.stores.near_cache import AsyncNearCacheStore
from sessionware.stores.redis._async.store import SentSave
from tests.conftest import SECRET

from .near_cache_support import async_near_cached_store, cached_url, private_name

pytestmark = pytest.mark.anyio


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[AsyncNearCacheStore]:
    async with async_near_cached_store(
        cached_url("redis", redis_url, private_name("redis"))
    ) as store:
        yield store


@pytest.fixture
async def manager(store: AsyncNearCacheStore) -> AsyncIterator[sw.AsyncSessionManager]:
    manager = sw.AsyncSessionManager(store, secret_key=SECRET, visit_tracker=False)
    yield manager
    await manager.close()


class Exchange:
    """One request through the middleware; what reached the server, and what the
    store held for the session at the moment ``http.response.start`` reached it."""

    def __init__(self, manager: sw.AsyncSessionManager, store: AsyncNearCacheStore) -> None:
        self.manager, self.store = manager, store
        self.sent: list[Message] = []
        self.stored_at_start: Any = None

    async def __call__(self, app: Any, cookie: str | None) -> list[Message]:
        headers = [] if cookie is None else [(b"cookie", f"session={cookie}".encode())]
        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = scope_session(scope)
                self.stored_at_start = await self.store.store.load(session.key)
            self.sent.append(message)

        await SessionMiddleware(app, self.manager)(scope, receive, send)
        return self.sent


def scope_session(scope: Scope) -> sw.Session:
    session: sw.Session = scope["session"]
    return session


def counting_app(*, body: bool = True, fail_after_start: bool = False) -> Any:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        session = scope_session(scope)
        session["n"] = session.get("n", 0) + 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if fail_after_start:
            raise RuntimeError("the view failed after starting its response")
        if body:
            await send({"type": "http.response.body", "body": b"ok"})

    return app


async def stored_cookie(manager: sw.AsyncSessionManager) -> str:
    async with manager.scope(None) as session:
        session["n"] = 0
    assert session.cookie_value is not None
    return session.cookie_value


async def stored_n(manager: sw.AsyncSessionManager, cookie: str) -> Any:
    async with manager.scope(cookie) as session:
        return session.get("n")


async def test_the_response_starts_only_once_the_write_is_stored(
    manager: sw.AsyncSessionManager, store: AsyncNearCacheStore
) -> None:
    cookie = await stored_cookie(manager)
    exchange = Exchange(manager, store)
    sent = await exchange(counting_app(), cookie)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert exchange.stored_at_start is not None
    assert exchange.stored_at_start.version == 2
    assert await stored_n(manager, cookie) == 1


async def test_the_start_waits_for_the_apps_next_message_while_the_store_writes(
    manager: sw.AsyncSessionManager, store: AsyncNearCacheStore
) -> None:
    cookie = await stored_cookie(manager)
    exchange = Exchange(manager, store)
    seen_after_start: list[int] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        scope_session(scope)["n"] = 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        seen_after_start.append(len(exchange.sent))
        await send({"type": "http.response.body", "body": b"ok"})

    sent = await exchange(app, cookie)
    assert seen_after_start == [0]  # held: the write was in flight
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert exchange.stored_at_start.version == 2


async def test_a_start_with_no_body_goes_out_when_the_app_returns(
    manager: sw.AsyncSessionManager, store: AsyncNearCacheStore
) -> None:
    cookie = await stored_cookie(manager)
    exchange = Exchange(manager, store)
    sent = await exchange(counting_app(body=False), cookie)
    assert [m["type"] for m in sent] == ["http.response.start"]
    assert await stored_n(manager, cookie) == 1


async def test_an_app_failing_after_its_start_still_gets_its_start_out_and_saved(
    manager: sw.AsyncSessionManager, store: AsyncNearCacheStore
) -> None:
    cookie = await stored_cookie(manager)
    exchange = Exchange(manager, store)
    with pytest.raises(RuntimeError, match="after starting"):
        await exchange(counting_app(fail_after_start=True), cookie)
    assert [m["type"] for m in exchange.sent] == ["http.response.start"]
    assert await stored_n(manager, cookie) == 1  # the status said success: kept


async def test_a_write_whose_answer_fails_is_answered_500_instead(
    manager: sw.AsyncSessionManager, store: AsyncNearCacheStore
) -> None:
    cookie = await stored_cookie(manager)

    async def refused(sent: SentSave) -> None:
        await sent.connection.disconnect()  # as a connection that failed mid-reply is
        raise sw.StoreUnavailable("redis://127.0.0.1", "the store went away")

    inner: Any = store.store
    inner.finish_save_on = refused
    try:
        sent = await Exchange(manager, store)(counting_app(), cookie)
    finally:
        del inner.finish_save_on
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 500
    assert sent[1]["body"] == b"Internal Server Error"


async def test_a_new_session_is_saved_whole_before_its_start(
    manager: sw.AsyncSessionManager, store: AsyncNearCacheStore
) -> None:
    exchange = Exchange(manager, store)
    sent = await exchange(counting_app(), None)
    assert exchange.stored_at_start is not None
    set_cookie = dict(sent[0]["headers"]).get(b"set-cookie", b"")
    assert set_cookie.startswith(b"session=")

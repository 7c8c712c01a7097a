"""Starlette (ASGI): starsessions vs sessionware's Starlette middleware.

Both run under the same minimal Starlette app, called directly in one event loop
(no sockets). starsessions is configured as its documentation shows for a
server-side store: ``SessionMiddleware(store=..., lifetime=1800, rolling=True)``
plus ``SessionAutoloadMiddleware``; sessionware runs as
``sessionware.integrations.starlette.SessionMiddleware`` with an
``AsyncSessionManager`` on the async flavour of the store being measured.
starsessions has stores for memory and Redis only.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from typing import Any

import sessionware as sw

from ..payload import IDLE_TIMEOUT, SECRET
from ..stores import REDIS_URL, RunContext, StoreSpec, discard
from ..timing import Batch
from . import Contestant, Skip, asgi_contestant, counter, init_view, read_view

NAME = "Starlette"
_state: dict[str, Any] = {}


def available() -> str | None:
    if importlib.util.find_spec("starlette") is None:
        return "Starlette is not installed"
    return None


def setup(ctx: RunContext) -> None:
    if "loop" not in _state:
        _state["loop"] = asyncio.new_event_loop()


def cleanup() -> None:
    loop = _state.pop("loop", None)
    if loop is not None:
        loop.close()


def _loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop = _state["loop"]
    return loop


def _app(middleware: list[Any]) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    next_number = counter()

    async def bare(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def init(request: Request) -> PlainTextResponse:
        init_view(request.session)
        return PlainTextResponse("ok")

    async def read(request: Request) -> PlainTextResponse:
        read_view(request.session)
        return PlainTextResponse("ok")

    async def write(request: Request) -> PlainTextResponse:
        request.session["counter"] = next_number()
        return PlainTextResponse("ok")

    routes = [
        Route("/bare", bare),
        Route("/init", init),
        Route("/read", read),
        Route("/write", write),
    ]
    return Starlette(routes=routes, middleware=middleware)


def bare() -> Batch:
    from ..driver import asgi_batch, asgi_scope

    return asgi_batch(_loop(), _app([]), asgi_scope("/bare"))


def sessionware(manager: sw.SessionManager, spec: StoreSpec, ctx: RunContext) -> Contestant:
    from starlette.middleware import Middleware

    from sessionware.integrations.starlette import SessionMiddleware

    loop = _loop()
    url = spec.url(ctx)  # its own target: the async flavour of the same store
    store = loop.run_until_complete(sw.open_async_store(url))
    async_manager = sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=IDLE_TIMEOUT)
    app = _app([Middleware(SessionMiddleware, manager=async_manager, https_only=True)])

    def close() -> None:
        loop.run_until_complete(async_manager.close())
        discard(spec, url)

    return asgi_contestant(
        "sessionware (Starlette middleware)",
        loop,
        app,
        "session",
        "sessionware.integrations.starlette.SessionMiddleware(manager=AsyncSessionManager"
        "(async store, idle_timeout=1800))",
        close,
    )


def _starsessions(label: str, store: Any, note: str, close: Any = None) -> Contestant:
    from starlette.middleware import Middleware
    from starsessions import SessionAutoloadMiddleware, SessionMiddleware

    app = _app(
        [
            Middleware(
                SessionMiddleware,
                store=store,
                lifetime=int(IDLE_TIMEOUT),
                rolling=True,
                cookie_https_only=True,
            ),
            Middleware(SessionAutoloadMiddleware),
        ]
    )
    return asgi_contestant(
        label,
        _loop(),
        app,
        "session",
        note + "; lifetime=1800, rolling=True, SessionAutoloadMiddleware, JSON serializer",
        close or (lambda: None),
    )


def peers(store: str, ctx: RunContext) -> Iterator[Contestant | Skip]:
    if importlib.util.find_spec("starsessions") is None:
        yield Skip("starsessions", "starsessions is not installed (the bench extra)")
        return
    if store == "memory":
        from starsessions import InMemoryStore

        yield _starsessions("starsessions InMemoryStore", InMemoryStore(), "InMemoryStore()")
    elif store == "redis":
        import redis.asyncio
        from starsessions.stores.redis import RedisStore

        client = redis.asyncio.Redis.from_url(REDIS_URL.partition("?")[0])
        prefix = ctx.unique("starsessions") + ":"

        async def drop() -> None:
            async for key in client.scan_iter(match=prefix + "*", count=1000):
                await client.unlink(key)
            await client.aclose()

        yield _starsessions(
            "starsessions RedisStore",
            RedisStore(connection=client, prefix=prefix),
            "RedisStore(connection=redis.asyncio client (hiredis), own prefix)",
            lambda: _loop().run_until_complete(drop()),
        )

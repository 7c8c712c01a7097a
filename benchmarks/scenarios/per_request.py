"""Scenario 2: what a session adds to one request through the middleware.

The same app runs with and without ``sessionware.wsgi.SessionMiddleware`` (sync
store) and ``sessionware.asgi.SessionMiddleware`` (the store's async flavour: the
native async client for memory, Redis and SQL, the sync store in worker threads
otherwise), all in the same rounds; a session's cost is the median per-round
difference from the bare app. ``read``: the view reads a key of an existing 1 KB
session (no write expected). ``write``: the view changes a key (one save). ASGI
requests are direct calls of the app in a running event loop (no sockets).

Target (issue 6): the ASGI path is not slower per request than the WSGI path by
more than the async client's own cost, i.e. (ASGI cost - WSGI cost) - (raw async
client load+save - raw sync client load+save, halved for a read-only request that
only loads) <= a noise allowance: ``NOISE_US`` or ``NOISE_SHARE`` of the WSGI cost,
whichever is larger (two medians of per-round differences on a shared machine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

import sessionware as sw
from sessionware.asgi import Receive, Scope, Send
from sessionware.asgi import SessionMiddleware as AsgiSessionMiddleware
from sessionware.wsgi import SessionMiddleware

from ..context import Bench, stored_session
from ..driver import asgi_batch, asgi_scope, wsgi_environ, wsgi_request
from ..payload import IDLE_TIMEOUT, SECRET, encoded, record
from ..report import Row
from ..stores import discard, open_target
from ..timing import compare_batches, repeat

SCENARIO = "2 per request"
#: Timing noise tolerated on the ASGI-vs-WSGI difference (two medians of differences).
NOISE_US = 3.0
NOISE_SHARE = 0.10
_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "2")]


def bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", list(_HEADERS))
    return [b"ok"]


def read_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["sessionware.session"].get("user")
    start_response("200 OK", list(_HEADERS))
    return [b"ok"]


def make_write_app() -> Callable[..., Iterable[bytes]]:
    numbers = count()

    def write_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ["sessionware.session"]["counter"] = next(numbers)
        start_response("200 OK", list(_HEADERS))
        return [b"ok"]

    return write_app


def run(bench: Bench) -> None:
    for spec in bench.specs(SCENARIO):
        target = open_target(spec, bench.run)
        manager = bench.manager(target.store)
        # The ASGI side gets its own target: a dbm file serves one store instance.
        asgi_url = spec.url(bench.run)
        loop = asyncio.new_event_loop()
        raw_async = spec.raw_async(bench.run)
        try:
            async_manager = loop.run_until_complete(_async_manager(asgi_url))
            try:
                _compare(bench, spec.name, loop, manager, async_manager, target.raw, raw_async)
            finally:
                loop.run_until_complete(async_manager.close())
        finally:
            loop.run_until_complete(raw_async.close())
            loop.close()
            manager.close()
            target.close()
            discard(spec, asgi_url)


async def _async_manager(url: str) -> sw.AsyncSessionManager:
    store = await sw.open_async_store(url)
    return sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=IDLE_TIMEOUT)


def _compare(
    bench: Bench,
    name: str,
    loop: asyncio.AbstractEventLoop,
    manager: sw.SessionManager,
    async_manager: sw.AsyncSessionManager,
    raw: Any,
    raw_async: Any,
) -> None:
    environ = wsgi_environ(cookie=stored_session(manager))
    scope = asgi_scope(cookie=loop.run_until_complete(_stored_async(async_manager)))
    template = record("1" * 40, encoded(1024))
    raw.save(template)
    loop.run_until_complete(raw_async.save(template))

    def raw_round_trip() -> None:
        raw.load(template.id)
        raw.save(template)

    async def raw_async_round_trip(count: int) -> None:
        for _ in range(count):
            await raw_async.load(template.id)
            await raw_async.save(template)

    contenders = {
        "WSGI bare": repeat(wsgi_request(bare_app, environ)),
        "WSGI read": repeat(wsgi_request(SessionMiddleware(read_app, manager), environ)),
        "WSGI write": repeat(wsgi_request(SessionMiddleware(make_write_app(), manager), environ)),
        "ASGI bare": asgi_batch(loop, _bare_asgi, scope),
        "ASGI read": asgi_batch(loop, AsgiSessionMiddleware(_read_asgi, async_manager), scope),
        "ASGI write": asgi_batch(
            loop, AsgiSessionMiddleware(_make_write_asgi(), async_manager), scope
        ),
        "raw": repeat(raw_round_trip),
        "raw async": lambda count: loop.run_until_complete(raw_async_round_trip(count)),
    }
    result = compare_batches(contenders, bench.budget)
    costs = {
        f"{kind} {what}": result.difference_us(f"{kind} {what}", f"{kind} bare")
        for kind in ("WSGI", "ASGI")
        for what in ("read", "write")
    }
    raw_us, raw_async_us = result.median_us("raw"), result.median_us("raw async")
    async_client_cost = raw_async_us - raw_us
    for what in ("read", "write"):
        for kind in ("WSGI", "ASGI"):
            bench.report.add(
                Row(
                    SCENARIO,
                    name,
                    f"{kind} session cost, {what} request",
                    costs[f"{kind} {what}"],
                    "us",
                    detail={"bare_request_us": result.median_us(f"{kind} bare")},
                )
            )
        extra = costs[f"ASGI {what}"] - costs[f"WSGI {what}"]
        # The async client's own cost: a read-only request makes one store call
        # (load), a writing one two (load + save); the raw pair is load + save.
        allowed = max(0.0, async_client_cost) * (0.5 if what == "read" else 1.0)
        noise = max(NOISE_US, NOISE_SHARE * costs[f"WSGI {what}"])
        bench.report.add(
            Row(
                SCENARIO,
                name,
                f"ASGI - WSGI cost, {what} request, minus the async client's own cost",
                extra - allowed,
                "us",
                f"<= {noise:.1f} us (noise)",
                extra - allowed <= noise,
                {
                    "asgi_minus_wsgi_us": extra,
                    "async_client_cost_us": allowed,
                    "raw_load_save_us": raw_us,
                    "raw_async_load_save_us": raw_async_us,
                },
            )
        )
    bench.report.add(Row(SCENARIO, name, "raw load+save, sync client (reference)", raw_us, "us"))
    bench.report.add(
        Row(SCENARIO, name, "raw load+save, async client (reference)", raw_async_us, "us")
    )


async def _stored_async(manager: Any) -> str:
    from ..payload import session_data

    session = await manager.open(None)
    session.update(session_data(1024))
    cookie: str = await manager.save_changes(session)
    return cookie


_ASGI_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]


async def _bare_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _ASGI_HEADERS})
    await send({"type": "http.response.body", "body": b"ok"})


async def _read_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    scope["session"].get("user")
    await _bare_asgi(scope, receive, send)


def _make_write_asgi() -> Any:
    numbers = count()

    async def write(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["session"]["counter"] = next(numbers)
        await _bare_asgi(scope, receive, send)

    return write


_ASGI_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]

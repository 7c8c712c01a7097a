"""Scenario 2: what a session adds to one request through the middleware.

The same app runs with and without ``sessionware.wsgi.SessionMiddleware`` in the
same rounds; the session's cost is the median per-round difference. ``read``: the
view reads a key of an existing 1 KB session (no write expected). ``write``: the
view changes a key (one save). The raw client's load + save runs in the same rounds
for scale. The ASGI middleware is measured the same way when ``sessionware.asgi``
exists, with the store's native async client.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

import sessionware as sw

from ..context import Bench, stored_session
from ..driver import asgi_batch, asgi_scope, wsgi_environ, wsgi_request
from ..payload import SECRET, encoded, record
from ..report import Row
from ..stores import open_target
from ..timing import compare, compare_batches

SCENARIO = "2 per request"
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
    asgi_ready = importlib.util.find_spec("sessionware.asgi") is not None
    for spec in bench.specs(SCENARIO):
        target = open_target(spec, bench.run)
        manager = bench.manager(target.store)
        try:
            _wsgi(bench, spec.name, manager, target.raw)
            if asgi_ready:
                _asgi(bench, spec.name, target.url, target.options)
        finally:
            manager.close()
            target.close()
    if not asgi_ready:
        bench.report.skip(SCENARIO, "all", "ASGI: sessionware.asgi does not exist yet (not merged)")


def _wsgi(bench: Bench, name: str, manager: sw.SessionManager, raw: Any) -> None:
    cookie = stored_session(manager)
    environ = wsgi_environ(cookie=cookie)
    payload = encoded(1024)
    template = record("1" * 40, payload)
    raw.save(template)

    def raw_round_trip() -> None:
        raw.load(template.id)
        raw.save(template)

    contenders = {
        "bare": wsgi_request(bare_app, environ),
        "read": wsgi_request(sw.wsgi.SessionMiddleware(read_app, manager), environ),
        "write": wsgi_request(sw.wsgi.SessionMiddleware(make_write_app(), manager), environ),
        "raw": raw_round_trip,
    }
    result = compare(contenders, bench.budget)
    _rows(bench, name, "WSGI", result.difference_us("read", "bare"), result, "read")
    _rows(bench, name, "WSGI", result.difference_us("write", "bare"), result, "write")


def _rows(bench: Bench, name: str, kind: str, cost_us: float, result: Any, what: str) -> None:
    raw_us = result.median_us("raw")
    bench.report.add(
        Row(
            SCENARIO,
            name,
            f"{kind} session cost, {what} request",
            cost_us,
            "us",
            detail={"raw_load_save_us": raw_us, "bare_request_us": result.median_us("bare")},
        )
    )


def _asgi(bench: Bench, name: str, url: str, options: dict[str, Any]) -> None:
    asgi = importlib.import_module("sessionware.asgi")
    loop = asyncio.new_event_loop()
    try:
        store = loop.run_until_complete(sw.open_async_store(url, **options))
        manager = sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=1800)
        try:
            cookie = loop.run_until_complete(_stored_async(manager))
            _asgi_compare(bench, name, loop, asgi, manager, cookie)
        finally:
            loop.run_until_complete(manager.close())
    finally:
        loop.close()


async def _stored_async(manager: Any) -> str:
    from ..payload import session_data

    session = await manager.open(None)
    session.update(session_data(1024))
    cookie: str = await manager.save_changes(session)
    return cookie


async def _bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": _ASGI_HEADERS})
    await send({"type": "http.response.body", "body": b"ok"})


async def _read_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["session"].get("user")
    await _bare_asgi(scope, receive, send)


def _make_write_asgi() -> Any:
    numbers = count()

    async def write(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["session"]["counter"] = next(numbers)
        await _bare_asgi(scope, receive, send)

    return write


_ASGI_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]


def _asgi_compare(
    bench: Bench, name: str, loop: asyncio.AbstractEventLoop, asgi: Any, manager: Any, cookie: str
) -> None:
    scope = asgi_scope(cookie=cookie)
    contenders = {
        "bare": asgi_batch(loop, _bare_asgi, scope),
        "read": asgi_batch(loop, asgi.SessionMiddleware(_read_asgi, manager), scope),
        "write": asgi_batch(loop, asgi.SessionMiddleware(_make_write_asgi(), manager), scope),
    }
    result = compare_batches(contenders, bench.budget)
    for what in ("read", "write"):
        bench.report.add(
            Row(
                SCENARIO,
                name,
                f"ASGI session cost, {what} request",
                result.difference_us(what, "bare"),
                "us",
                detail={"bare_request_us": result.median_us("bare")},
            )
        )

"""The session libraries users pick today, driven like sessionware (same payload,
same store server, same in-process driver). One module per framework; each has
``available()``, ``setup(ctx)``, ``cleanup()``, ``bare()`` (the app without
sessions, as a timing batch), ``sessionware(manager, spec, ctx)`` (sessionware's
integration for that framework) and ``peers(store, ctx)`` yielding
``Contestant``s or ``Skip``s.

Every contestant is a pair of timing batches (``f(count)`` runs ``count``
requests): WSGI apps are called directly with a prebuilt environ, ASGI apps are
awaited directly inside one run of an event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from ..driver import asgi_call, asgi_scope, set_cookie_value, wsgi_environ, wsgi_request
from ..payload import session_data
from ..timing import Batch, repeat

__all__ = ["Contestant", "Skip", "asgi_contestant", "wsgi_contestant"]


@dataclass
class Contestant:
    label: str
    read: Batch
    write: Batch
    config: str
    close: Callable[[], None] = field(default=lambda: None)


@dataclass
class Skip:
    label: str
    reason: str


def wsgi_contestant(
    label: str,
    app: Any,
    cookie_name: str,
    config: str,
    close: Callable[[], None] = lambda: None,
) -> Contestant:
    """Create one 1 KB session through ``app``'s ``/init`` and drive ``/read`` and
    ``/write`` with its cookie."""
    capture = wsgi_request(app, wsgi_environ("/init"))()
    cookie = set_cookie_value(capture.headers, cookie_name)
    if cookie is None:
        raise RuntimeError(f"{label}: /init set no {cookie_name} cookie ({capture.status})")
    read = wsgi_request(app, wsgi_environ("/read", cookie, cookie_name))
    write = wsgi_request(app, wsgi_environ("/write", cookie, cookie_name))
    read()  # the first read may still write (a fresh session's expiry); not timed
    return Contestant(label, repeat(read), repeat(write), config, close)


def asgi_contestant(
    label: str,
    loop: asyncio.AbstractEventLoop,
    app: Any,
    cookie_name: str,
    config: str,
    close: Callable[[], None] = lambda: None,
) -> Contestant:
    """``wsgi_contestant`` for an ASGI app, run in ``loop``."""
    capture = loop.run_until_complete(asgi_call(app, asgi_scope("/init")))
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in capture.headers]
    cookie = set_cookie_value(headers, cookie_name)
    if cookie is None:
        raise RuntimeError(f"{label}: /init set no {cookie_name} cookie ({capture.status})")

    def batch(path: str) -> Batch:
        scope = asgi_scope(path, cookie, cookie_name)

        async def many(number: int) -> None:
            for _ in range(number):
                await asgi_call(app, scope)

        return lambda number: loop.run_until_complete(many(number))

    read = batch("/read")
    read(1)  # as above: not timed
    return Contestant(label, read, batch("/write"), config, close)


def init_view(session: Any) -> None:
    session.update(session_data(1024))


def read_view(session: Any) -> None:
    session.get("user")


def counter() -> Callable[[], int]:
    return count().__next__

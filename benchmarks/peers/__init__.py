"""The session libraries users pick today, driven like sessionware (same payload,
same store server, same in-process driver). One module per framework; each has
``bare()`` (the app without sessions), ``sessionware(manager)`` and
``peers(store, ctx)`` yielding ``Contestant``s or ``Skip``s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from ..driver import set_cookie_value, wsgi_environ, wsgi_request
from ..payload import session_data

__all__ = ["Contestant", "Skip", "wsgi_contestant"]


@dataclass
class Contestant:
    label: str
    read: Callable[[], object]
    write: Callable[[], object]
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
    return Contestant(label, read, write, config, close)


def init_view(session: Any) -> None:
    session.update(session_data(1024))


def read_view(session: Any) -> None:
    session.get("user")


def counter() -> Callable[[], int]:
    return count().__next__

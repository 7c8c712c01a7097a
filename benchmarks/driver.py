"""In-process drivers: call a WSGI or ASGI app directly with a prebuilt request.

No sockets and no test client: the driver's own cost is a dict copy (WSGI) or a few
awaits (ASGI), the same with and without a session, so it cancels out of the
"with session minus without" difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

__all__ = ["asgi_batch", "asgi_scope", "wsgi_environ", "wsgi_request"]


def wsgi_environ(
    path: str = "/", cookie: str | None = None, cookie_name: str = "session"
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": None,
        "wsgi.errors": None,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if cookie is not None:
        environ["HTTP_COOKIE"] = f"{cookie_name}={cookie}"
    return environ


class _Capture:
    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = status
        self.headers = headers
        return _write


def _write(data: bytes) -> None:
    pass


def wsgi_request(app: Callable[..., Any], environ: dict[str, Any]) -> Callable[[], _Capture]:
    """One request per call; returns the captured status and headers."""
    import io

    def request() -> _Capture:
        env = environ.copy()
        env["wsgi.input"] = io.BytesIO()
        capture = _Capture()
        body = app(env, capture)
        try:
            for _chunk in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        return capture

    return request


def set_cookie_value(headers: list[tuple[str, str]], name: str) -> str | None:
    """The value a response's Set-Cookie header gives cookie ``name``."""
    for key, header in headers:
        value = header.strip()
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value[len(name) + 1 :].split(";", 1)[0]
    return None


def asgi_scope(
    path: str = "/", cookie: str | None = None, cookie_name: str = "session"
) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000")]
    if cookie is not None:
        headers.append((b"cookie", f"{cookie_name}={cookie}".encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class _AsgiCapture:
    __slots__ = ("headers", "status")

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))


async def asgi_call(app: Any, scope: dict[str, Any]) -> _AsgiCapture:
    capture = _AsgiCapture()
    request_scope = dict(scope)
    request_scope["state"] = {}
    await app(request_scope, _receive, capture)
    return capture


def asgi_batch(
    loop: asyncio.AbstractEventLoop, app: Any, scope: dict[str, Any]
) -> Callable[[int], None]:
    """A timing batch: ``count`` requests inside one run of the event loop."""

    async def many(count: int) -> None:
        for _ in range(count):
            await asgi_call(app, scope)

    def batch(count: int) -> None:
        loop.run_until_complete(many(count))

    return batch

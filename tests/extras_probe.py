"""Run by ``tests/test_extras.py`` inside a fresh virtual environment that holds
sessionware with ONE extra: ``python extras_probe.py CASE [URL]``.

It uses the extra as an application would (a store save and load against the real server,
or one request through the framework), and that a store of another extra fails with
a hint naming that extra. Prints ``ok CASE`` and exits 0, or raises.

This file imports only sessionware and what the extra installs: not pytest, not the
test suite.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import sessionware as sw

SECRET = secrets.token_hex(32)


def a_record(key: str) -> sw.Record:
    now = time.time()
    return sw.Record(key, b'{"cart":[1,2]}', now, now + 60, 1, None)


def round_trip(store: Any) -> None:
    key = f"extras-probe-{os.getpid()}"
    try:
        store.save(a_record(key))
        loaded = store.load(key)
        assert loaded is not None, "saved record not found"
        assert loaded.data == b'{"cart":[1,2]}'
        assert store.delete(key) == 1
    finally:
        if hasattr(store, "drop_table"):
            store.drop_table()
        store.close()


async def async_round_trip(store: Any) -> None:
    key = f"extras-probe-async-{os.getpid()}"
    try:
        await store.save(a_record(key))
        loaded = await store.load(key)
        assert loaded is not None, "saved record not found"
        assert loaded.data == b'{"cart":[1,2]}'
        assert await store.delete(key) == 1
    finally:
        if hasattr(store, "drop_table"):
            await store.drop_table()
        await store.close()


def table_options() -> dict[str, Any]:
    # Its own table: the suite may use the default one at the same time.
    return {"table": f"sw_extras_{os.getpid()}"}


def open_sync(url: str, **options: Any) -> None:
    round_trip(sw.open_store(url, **options))


def open_async(url: str, **options: Any) -> None:
    async def main() -> None:
        await async_round_trip(await sw.open_async_store(url, **options))

    asyncio.run(main())


def check_hint(url: str, extra: str, *, is_async: bool = False) -> None:
    """A store this venv lacks the packages for names its extra, as PyPI installs it."""
    from sessionware.stores.registry import MissingExtraError

    try:
        if is_async:
            open_async(url)
        else:
            open_sync(url)
    except MissingExtraError as error:
        message = str(error)
    else:
        raise AssertionError(f"{url} opened without the [{extra}] extra")
    expected = f'pip install "sessionware[{extra}]"'
    assert expected in message, f"{expected!r} not in {message!r}"
    assert "pip install -e" not in message, message


# ------------------------------------------------------------------- the cases


def probe_redis(url: str) -> None:
    prefix = f"sw-extras-{os.getpid()}:"
    open_sync(url, prefix=prefix)
    open_async(url, prefix=prefix)
    check_hint("postgresql+psycopg://postgres@127.0.0.1/test", "postgres")


def probe_sql_sqlite(_url: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        open_sync(f"sqlite+pysqlite:///{directory}/sessions.db")
        check_hint(f"sqlite+pysqlite:///{directory}/sessions.db", "sqlite-async", is_async=True)
    check_hint("mysql+pymysql://root@127.0.0.1/test", "mysql")
    check_hint("redis://127.0.0.1:6379/0", "redis")


def probe_sql_psycopg(url: str) -> None:
    open_sync(url, **table_options())
    assert "greenlet" not in sys.modules, "the sync SQL store imported greenlet"
    # The async store needs SQLAlchemy's asyncio support, which [postgres] brings.
    check_hint(url, "postgres", is_async=True)


def probe_sql_pymysql(url: str) -> None:
    open_sync(url, **table_options())
    assert "greenlet" not in sys.modules, "the sync SQL store imported greenlet"
    check_hint(url, "mysql", is_async=True)


def probe_postgres(url: str) -> None:
    open_sync(url, **table_options())
    open_async(url, **table_options())
    open_async(url.replace("+psycopg", "+asyncpg"), **table_options())


def probe_mysql(url: str) -> None:
    open_sync(url, **table_options())
    open_async(url, **table_options())


def probe_flask(_url: str) -> None:
    from flask import Flask, session

    from sessionware.integrations.flask import SessionInterface

    app = Flask(__name__)
    app.secret_key = SECRET
    manager = sw.SessionManager(sw.open_store("memory://"), secret_key=SECRET)
    app.session_interface = SessionInterface(manager)

    @app.get("/")
    def count() -> str:
        session["visits"] = session.get("visits", 0) + 1
        return str(session["visits"])

    client = app.test_client()
    assert client.get("/").text == "1"
    assert client.get("/").text == "2", "the session did not come back with its cookie"


def probe_django(_url: str) -> None:
    import django
    from django.conf import settings
    from django.http import HttpRequest, HttpResponse
    from django.test import Client
    from django.urls import path

    def count(request: HttpRequest) -> HttpResponse:
        request.session["visits"] = request.session.get("visits", 0) + 1
        return HttpResponse(str(request.session["visits"]))

    sys.modules["__main__"].urlpatterns = [path("", count)]  # type: ignore[attr-defined]
    settings.configure(
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="__main__",
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=["sessionware.integrations.django.SessionMiddleware"],
        SESSION_ENGINE="sessionware.integrations.django",
        SESSIONWARE_STORE="memory://",
    )
    django.setup()
    client = Client()
    assert client.get("/").content == b"1"
    assert client.get("/").content == b"2", "the session did not come back with its cookie"


def probe_asgi(_url: str) -> None:
    import uvicorn  # the extra's server must import
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from sessionware.integrations.starlette import SessionMiddleware

    assert callable(uvicorn.Config)  # httpx is not in [asgi]: no TestClient, a raw ASGI call

    async def count(request: Request) -> PlainTextResponse:
        request.session["visits"] = request.session.get("visits", 0) + 1
        return PlainTextResponse(str(request.session["visits"]))

    app = Starlette(routes=[Route("/", count)])
    app.add_middleware(SessionMiddleware, secret_key=SECRET, store="memory://")

    async def main() -> None:
        status, cookie, body = await asgi_get(app, None)
        assert (status, body) == (200, b"1"), (status, body)
        assert cookie is not None, "no session cookie was set"
        status, _, body = await asgi_get(app, cookie)
        assert (status, body) == (200, b"2"), "the session did not come back with its cookie"

    asyncio.run(main())


async def asgi_get(app: Any, cookie: str | None) -> tuple[int, str | None, bytes]:
    """One GET / as an ASGI server sends it: status, the Set-Cookie pair, body."""
    headers = [(b"host", b"testserver")]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    set_cookie = [value.decode() for name, value in start["headers"] if name == b"set-cookie"]
    pair = set_cookie[0].split(";", 1)[0] if set_cookie else None
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], pair, body


def probe_cli(_url: str) -> None:
    command = Path(sys.executable).with_name("sessionware")
    shown = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "Manage sessionware session stores" in shown.stdout, shown.stdout
    with tempfile.TemporaryDirectory() as directory:
        stats = subprocess.run(
            [str(command), "stats", f"sqlite:///{directory}/sessions.db"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    assert stats.returncode == 0, stats.stderr
    check_demo_serves(command)


def check_demo_serves(command: Path) -> None:
    """``sessionware demo`` starts from the wheel (its templates and static files
    included) and answers its home page."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        demo = subprocess.Popen(
            [str(command), "demo", "--port", str(port), "--store", f"sqlite:///{directory}/d.db"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            page = _first_answer(f"http://127.0.0.1:{port}/", demo)
        finally:
            demo.terminate()
            _, stderr = demo.communicate(timeout=30)
        assert page is not None, f"the demo never answered: {stderr.decode()[-2000:]}"
        assert b"</html>" in page


def probe_crypto(_url: str) -> None:
    """``encryption_keys`` seals what the store holds and opens it again, and a
    rotated manager (a new key first, the old one after it) still reads it."""
    import cryptography  # the extra's package must import

    from sessionware.core.encryption import new_encryption_key

    assert cryptography.__version__
    store = sw.open_store("memory://")
    old = new_encryption_key()
    manager = sw.SessionManager(store, secret_key=SECRET, encryption_keys=[old])
    with manager.scope(None) as session:
        session["marker"] = "extras-probe-plaintext"
    cookie = session.cookie_value
    assert cookie is not None, "the encrypted session was not saved"
    (key,) = store.ids()
    record = store.load(key)
    assert record is not None, "the saved record is missing"
    assert b"extras-probe-plaintext" not in record.data, record.data
    keys = [new_encryption_key(), old]
    rotated = sw.SessionManager(store, secret_key=SECRET, encryption_keys=keys)
    with rotated.scope(cookie) as reopened:
        assert reopened["marker"] == "extras-probe-plaintext", "the old key did not open it"


def _first_answer(url: str, server: subprocess.Popen[bytes]) -> bytes | None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return bytes(response.read())
        except OSError:
            time.sleep(0.1)
    return None


PROBES = {
    "redis": probe_redis,
    "sql-sqlite": probe_sql_sqlite,
    "sql-psycopg": probe_sql_psycopg,
    "sql-pymysql": probe_sql_pymysql,
    "postgres": probe_postgres,
    "mysql": probe_mysql,
    "flask": probe_flask,
    "django": probe_django,
    "asgi": probe_asgi,
    "cli": probe_cli,
    "crypto": probe_crypto,
}


if __name__ == "__main__":
    case = sys.argv[1]
    PROBES[case](sys.argv[2] if len(sys.argv) > 2 else "")
    print(f"ok {case}")

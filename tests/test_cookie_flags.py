"""A session cookie without ``Secure`` set on an https request is logged, once."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient
from werkzeug.test import Client

import sessionware as sw
from sessionware import asgi, cookie_io, wsgi
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET
from .test_asgi import make_app
from .test_wsgi import counter_app

WARNING = "without the Secure flag on an https request"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cookie_io, "_warned_insecure", set())


def wsgi_client(*, secure: bool) -> Client:
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET)
    return Client(wsgi.SessionMiddleware(counter_app, manager, secure=secure))


def warnings_in(caplog: pytest.LogCaptureFixture) -> int:
    return sum(WARNING in record.getMessage() for record in caplog.records)


def test_wsgi_warns_once_about_an_insecure_cookie_over_https(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        for _ in range(3):
            client = wsgi_client(secure=False)
            assert "Set-Cookie" in client.get("/count", base_url="https://localhost").headers
    assert warnings_in(caplog) == 1
    assert "sessionware.wsgi.SessionMiddleware" in caplog.text


@pytest.mark.parametrize(("secure", "scheme"), [(False, "http"), (True, "https")])
def test_wsgi_is_silent_over_http_or_with_secure_cookies(
    caplog: pytest.LogCaptureFixture, secure: bool, scheme: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        client = wsgi_client(secure=secure)
        assert "Set-Cookie" in client.get("/count", base_url=f"{scheme}://localhost").headers
    assert warnings_in(caplog) == 0


def asgi_get(*, secure: bool, scheme: str) -> str | None:
    manager = sw.AsyncSessionManager(AsyncMemoryStore(), secret_key=SECRET)
    app = asgi.SessionMiddleware(make_app(manager), manager, secure=secure)
    with TestClient(app, base_url=f"{scheme}://testserver") as client:
        set_cookie: str | None = client.get("/count").headers.get("set-cookie")
    return set_cookie


def test_asgi_warns_once_about_an_insecure_cookie_over_https(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        for _ in range(3):
            assert asgi_get(secure=False, scheme="https") is not None
    assert warnings_in(caplog) == 1
    assert "sessionware.asgi.SessionMiddleware" in caplog.text


@pytest.mark.parametrize(("secure", "scheme"), [(False, "http"), (True, "https")])
def test_asgi_is_silent_over_http_or_with_secure_cookies(
    caplog: pytest.LogCaptureFixture, secure: bool, scheme: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        assert asgi_get(secure=secure, scheme=scheme) is not None
    assert warnings_in(caplog) == 0

"""The WSGI middleware, driven through Werkzeug's real test client."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

import sessionware as sw
from sessionware.stores.memory import MemoryStore
from sessionware.wsgi import SessionMiddleware

from .conftest import SECRET, Clock, CountingProxy


def counter_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    request = Request(environ)
    session = sw.current()
    assert environ["sessionware.session"] is session
    if request.path == "/count":
        session["n"] = session.get("n", 0) + 1
        body = str(session["n"])
    elif request.path == "/peek":
        body = str(session.get("n", 0))
    elif request.path == "/boom":
        session["n"] = 999
        raise RuntimeError("app failed")
    elif request.path == "/error-page":
        session["n"] = 999
        return Response("oops", status=503)(environ, start_response)
    elif request.path == "/logout":
        environ["sessionware.manager"].invalidate(session)
        body = "bye"
    else:
        body = "static page"
    return Response(body)(environ, start_response)


@pytest.fixture
def store(clock: Clock) -> CountingProxy:
    return CountingProxy(MemoryStore(clock=clock))


@pytest.fixture
def manager(store: CountingProxy, clock: Clock) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(store, secret_key=SECRET, clock=clock)
    yield manager
    manager.close()


@pytest.fixture
def client(manager: sw.SessionManager) -> Client:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["sessionware.manager"] = manager
        return counter_app(environ, start_response)

    return Client(SessionMiddleware(app, manager))


def session_cookie(client: Client) -> str | None:
    cookie = client.get_cookie("session")
    return None if cookie is None else cookie.value


def test_a_counter_is_kept_across_requests(client: Client) -> None:
    assert [client.get("/count").text for _ in range(3)] == ["1", "2", "3"]
    assert client.get("/peek").text == "3"


def test_the_cookie_is_set_once_with_safe_attributes(client: Client) -> None:
    response = client.get("/count")
    header = response.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=1209600"):
        assert attribute in header
    assert "Set-Cookie" not in client.get("/count").headers


def test_a_visitor_whose_session_stays_empty_gets_no_cookie_and_no_write(
    client: Client, store: CountingProxy
) -> None:
    response = client.get("/peek")
    assert "Set-Cookie" not in response.headers
    assert store.calls == []


def test_responses_that_read_or_set_the_session_vary_on_cookie(client: Client) -> None:
    assert client.get("/count").headers["Vary"] == "Cookie"
    assert client.get("/peek").headers["Vary"] == "Cookie"


def test_a_page_that_ignores_the_session_does_not_vary_or_touch_the_store(
    client: Client, store: CountingProxy
) -> None:
    client.get("/count")
    store.calls.clear()
    response = client.get("/static")
    assert "Vary" not in response.headers
    assert store.calls == []


def test_an_exception_leaves_the_stored_session_as_it_was(client: Client) -> None:
    client.get("/count")
    with pytest.raises(RuntimeError, match="app failed"):
        client.get("/boom")
    assert client.get("/peek").text == "1"


def test_a_5xx_response_is_not_saved(client: Client) -> None:
    client.get("/count")
    response = client.get("/error-page")
    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
    assert client.get("/peek").text == "1"


def test_invalidating_deletes_the_cookie(client: Client) -> None:
    client.get("/count")
    response = client.get("/logout")
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    assert session_cookie(client) is None
    assert client.get("/peek").text == "0"


@pytest.mark.filterwarnings("ignore:The 'session' cookie is too large")
@pytest.mark.parametrize(
    "cookie", ["", "garbage", "x" * 5000, "a.b.c", "%00%01", '"quoted"'], ids=str.__len__
)
def test_a_bad_cookie_is_a_fresh_session_without_store_call(
    client: Client, store: CountingProxy, cookie: str
) -> None:
    client.set_cookie("session", cookie)
    response = client.get("/peek")
    assert response.status_code == 200
    assert response.text == "0"
    assert store.calls == []


def test_other_cookies_in_the_header_are_ignored(client: Client) -> None:
    client.get("/count")
    client.set_cookie("other", "value;with=odd")
    client.set_cookie("theme", "dark")
    assert client.get("/count").text == "2"


def test_cookie_attributes_are_configurable(manager: sw.SessionManager) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        sw.current()["x"] = 1
        return Response("ok")(environ, start_response)

    wrapped = SessionMiddleware(
        app,
        manager,
        cookie_name="sid",
        secure=False,
        samesite="Strict",
        path="/app",
        domain="example.test",
        cookie_max_age=60,
    )
    header = Client(wrapped).get("/app/").headers["Set-Cookie"]
    assert header.startswith("sid=")
    for attribute in ("Path=/app", "Domain=example.test", "Max-Age=60", "SameSite=Strict"):
        assert attribute in header
    assert "Secure" not in header


def test_samesite_none_requires_secure(manager: sw.SessionManager) -> None:
    with pytest.raises(ValueError, match="Secure"):
        SessionMiddleware(counter_app, manager, samesite="None", secure=False)


def test_a_store_failure_while_saving_becomes_a_500(clock: Clock) -> None:
    class ReadOnly(sw.StoreProxy):
        def save_if_version(self, call: Any, record: Any, expected: int) -> bool:
            raise sw.StoreError("read-only file system")

    manager = sw.SessionManager(ReadOnly(MemoryStore(clock=clock)), secret_key=SECRET, clock=clock)
    response = Client(SessionMiddleware(counter_app, manager)).get("/count")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers


def test_an_app_that_starts_the_response_from_its_body_still_saves(
    manager: sw.SessionManager,
) -> None:
    def lazy_app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        session = environ["sessionware.session"]
        session["n"] = session.get("n", 0) + 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield str(session["n"]).encode()

    client = Client(SessionMiddleware(lazy_app, manager))
    assert client.get("/").text == "1"
    assert client.get("/").text == "2"


def test_current_is_reset_after_the_request(client: Client) -> None:
    client.get("/count")
    with pytest.raises(LookupError):
        sw.current()

"""Session tokens: the session's signed id in a request header instead of (or
alongside) the cookie, through the WSGI middleware (sync manager) and the ASGI one
(async manager). Bad input (a duplicated or malformed header, both a cookie and a
token) is a clear 400 or a fresh session, logged; never a 500, never another
session's data."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect
from werkzeug.test import Client
from werkzeug.wrappers import Response

import sessionware as sw
from sessionware.asgi import SessionMiddleware as ASGIMiddleware
from sessionware.core.tokens import TokenOptions, TokenRefused
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.wsgi import SessionMiddleware as WSGIMiddleware

from .conftest import SECRET

# -- the decisions (core.tokens) ------------------------------------------------------

BEARER = TokenOptions("Authorization")
TOKEN = "abc_DEF-123.1800000000.sig_nature-x"


def test_a_bearer_token_is_read_from_authorization() -> None:
    assert BEARER.token_in([f"Bearer {TOKEN}"]) == TOKEN
    assert BEARER.token_in([f"bearer   {TOKEN} "]) == TOKEN


def test_another_authorization_scheme_is_left_to_the_app() -> None:
    assert BEARER.token_in(["Basic dXNlcjpwYXNz"]) is None


def test_an_empty_token_header_is_no_token() -> None:
    assert BEARER.token_in([""]) is None
    assert BEARER.token_in([]) is None


@pytest.mark.parametrize(
    "values",
    [
        [f"Bearer {TOKEN}", f"Bearer {TOKEN}"],
        [f"Bearer {TOKEN}, Bearer other"],
        ["Bearer"],
        ["Bearer two words"],
        ["Bearer <script>"],
    ],
    ids=["twice", "joined by a comma", "no token", "two tokens", "odd characters"],
)
def test_a_duplicated_or_malformed_token_header_is_refused(values: list[str]) -> None:
    with pytest.raises(TokenRefused):
        BEARER.token_in(values)


def test_a_custom_header_carries_the_token_with_no_scheme() -> None:
    options = TokenOptions("X-Session-Token")
    assert options.token_in([TOKEN]) == TOKEN
    assert options.after_save(TOKEN, False, True, False) == TOKEN
    assert options.environ_key == "HTTP_X_SESSION_TOKEN"


def test_both_a_cookie_and_a_token_are_refused_when_both_are_accepted() -> None:
    with pytest.raises(TokenRefused, match="both"):
        BEARER.credential("cookie-value", [f"Bearer {TOKEN}"])


def test_a_header_only_client_cookie_is_not_read() -> None:
    options = TokenOptions("Authorization", cookies=False)
    assert options.credential("cookie-value", []) == (None, False)
    assert options.credential("cookie-value", [f"Bearer {TOKEN}"]) == (TOKEN, True)


def test_an_invalid_header_name_is_refused() -> None:
    with pytest.raises(ValueError, match="header name"):
        TokenOptions("Bad Header")


def test_token_only_needs_a_header() -> None:
    with pytest.raises(ValueError, match="token_header"):
        TokenOptions.of(None, token_only=True)


# -- through the middlewares -------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def token(self) -> str:
        value = self.headers["authorization"]
        assert value.startswith("Bearer ")
        return value.removeprefix("Bearer ")


Call = Callable[..., Answer]


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    session, manager = sw.current(), environ["test.manager"]
    path = environ["PATH_INFO"]
    if path == "/set":
        session["note"] = environ.get("QUERY_STRING", "")
    elif path == "/login":
        manager.login(session, "alice")
    elif path == "/logout":
        manager.invalidate(session)
    elif path == "/static":
        return Response("static")(environ, start_response)
    return Response(str(session.get("note")))(environ, start_response)


def asgi_routes() -> Starlette:
    async def endpoint(request: Request) -> PlainTextResponse:
        session, manager = sw.current(), request.scope["test.manager"]
        path = request.url.path
        if path == "/set":
            session["note"] = request.url.query
        elif path == "/login":
            await manager.login(session, "alice")
        elif path == "/logout":
            await manager.invalidate(session)
        elif path == "/static":
            return PlainTextResponse("static")
        return PlainTextResponse(str(session.get("note")))

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(str(sw.current().get("note")))
        await websocket.close()

    paths = ["/set", "/get", "/login", "/logout", "/static"]
    return Starlette(routes=[*(Route(p, endpoint) for p in paths), WebSocketRoute("/ws", socket)])


def wsgi_caller(**options: Any) -> Call:
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET, visit_tracker=False)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["test.manager"] = manager
        return wsgi_app(environ, start_response)

    client = Client(WSGIMiddleware(app, manager, secure=False, **options), use_cookies=False)

    def call(path: str, headers: dict[str, str] | None = None) -> Answer:
        response = client.get(path, headers=headers or {})
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, lowered, response.get_data(as_text=True))

    return call


def asgi_caller(**options: Any) -> Call:
    manager = sw.AsyncSessionManager(AsyncMemoryStore(), secret_key=SECRET, visit_tracker=False)
    inner = asgi_routes()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["test.manager"] = manager
        await inner(scope, receive, send)

    client = TestClient(ASGIMiddleware(app, manager, secure=False, **options))

    def call(path: str, headers: dict[str, str] | list[tuple[str, str]] | None = None) -> Answer:
        client.cookies.clear()
        response = client.get(path, headers=headers)
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, lowered, response.text)

    call.client = client  # type: ignore[attr-defined]
    return call


FLAVOURS = {"wsgi": wsgi_caller, "asgi": asgi_caller}


@pytest.fixture(params=sorted(FLAVOURS))
def flavour(request: pytest.FixtureRequest) -> Callable[..., Call]:
    return FLAVOURS[request.param]


@pytest.fixture
def header_only(flavour: Callable[..., Call]) -> Call:
    return flavour(token_header="Authorization", token_only=True)


@pytest.fixture
def alongside(flavour: Callable[..., Call]) -> Call:
    return flavour(token_header="Authorization")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_new_session_sends_its_token_in_the_response_header_and_no_cookie(
    header_only: Call,
) -> None:
    answer = header_only("/set?apple")
    assert answer.status == 200
    assert "set-cookie" not in answer.headers
    assert "Authorization" in answer.headers["vary"]
    assert header_only("/get", bearer(answer.token())).text == "apple"


def test_a_stored_session_sends_no_token_again(header_only: Call) -> None:
    token = header_only("/set?apple").token()
    again = header_only("/set?pear", bearer(token))
    assert "authorization" not in again.headers
    assert header_only("/get", bearer(token)).text == "pear"


def test_a_login_sends_the_regenerated_sessions_new_token(header_only: Call) -> None:
    old = header_only("/set?apple").token()
    new = header_only("/login", bearer(old)).token()
    assert new != old
    assert header_only("/get", bearer(new)).text == "apple"
    assert header_only("/get", bearer(old)).text == "None"  # the old id is gone


def test_an_invalidated_session_withdraws_its_token_with_an_empty_header(
    header_only: Call,
) -> None:
    token = header_only("/set?apple").token()
    answer = header_only("/logout", bearer(token))
    assert answer.headers["authorization"] == ""
    assert header_only("/get", bearer(token)).text == "None"


def test_a_header_only_middleware_ignores_the_cookie(header_only: Call, alongside: Call) -> None:
    cookie = alongside("/set?apple").headers["set-cookie"].split(";")[0]
    assert header_only("/get", {"Cookie": cookie}).text == "None"


def test_alongside_a_token_client_gets_no_cookie(alongside: Call) -> None:
    first = alongside("/set?apple")  # first contact: either kind of client
    assert "set-cookie" in first.headers
    login = alongside("/login", bearer(first.token()))
    assert "set-cookie" not in login.headers
    assert alongside("/get", bearer(login.token())).text == "apple"


def test_alongside_a_cookie_client_gets_no_token(alongside: Call) -> None:
    cookie = alongside("/set?apple").headers["set-cookie"].split(";")[0]
    login = alongside("/login", {"Cookie": cookie})
    assert "authorization" not in login.headers
    assert "set-cookie" in login.headers


def test_a_request_with_both_a_cookie_and_a_token_is_refused_with_400(
    alongside: Call, caplog: pytest.LogCaptureFixture
) -> None:
    first = alongside("/set?apple")
    cookie = first.headers["set-cookie"].split(";")[0]
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        answer = alongside("/get", {"Cookie": cookie, **bearer(first.token())})
    assert answer.status == 400
    assert "both" in answer.text
    assert any("both" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("value", ["Bearer", "Bearer a b", "Bearer <x>", "Bearer x, Bearer y"])
def test_a_malformed_or_joined_token_header_is_refused_with_400(
    header_only: Call, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        answer = header_only("/get", {"Authorization": value})
    assert answer.status == 400
    assert any("answering 400" in r.getMessage() for r in caplog.records)


def test_a_forged_token_gets_a_fresh_session_never_someone_elses(header_only: Call) -> None:
    token = header_only("/set?apple").token()
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    answer = header_only("/get", bearer(forged))
    assert answer.status == 200
    assert answer.text == "None"


def test_another_authorization_scheme_passes_through_as_no_token(header_only: Call) -> None:
    answer = header_only("/get", {"Authorization": "Basic dXNlcjpwYXNz"})
    assert answer.status == 200
    assert answer.text == "None"


def test_a_custom_token_header_carries_the_raw_token(flavour: Callable[..., Call]) -> None:
    call = flavour(token_header="X-Session-Token", token_only=True)
    token = call("/set?apple").headers["x-session-token"]
    assert call("/get", {"X-Session-Token": token}).text == "apple"


def test_a_page_that_ignores_the_session_sends_nothing(header_only: Call) -> None:
    answer = header_only("/static")
    assert "authorization" not in answer.headers
    assert "vary" not in answer.headers


def test_asgi_refuses_a_token_header_given_twice() -> None:
    call = asgi_caller(token_header="Authorization", token_only=True)
    token = call("/set?apple").token()
    twice = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    assert call("/get", twice).status == 400


def test_a_websocket_opens_the_tokens_session() -> None:
    call = asgi_caller(token_header="Authorization", token_only=True)
    token = call("/set?apple").token()
    client = call.client  # type: ignore[attr-defined]
    with client.websocket_connect("/ws", headers=bearer(token)) as socket:
        assert socket.receive_text() == "apple"


def test_a_websocket_with_a_refused_token_header_is_closed() -> None:
    call = asgi_caller(token_header="Authorization", token_only=True)
    client = call.client  # type: ignore[attr-defined]
    with pytest.raises(WebSocketDisconnect):  # noqa: SIM117 - the connect itself fails
        with client.websocket_connect("/ws", headers={"Authorization": "Bearer a b"}):
            pass


def test_without_token_header_the_header_is_ignored() -> None:
    answer = wsgi_caller()("/set?apple", bearer("anything"))
    assert "set-cookie" in answer.headers
    assert "authorization" not in answer.headers


def test_a_wsgi_subclass_opens_a_token_requests_session_as_a_cookie_requests() -> None:
    # Transition modes override open_session: a token client must reach it too.
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET, visit_tracker=False)
    opened: list[str | None] = []

    class Recording(WSGIMiddleware):
        def open_session(self, environ: Any, cookie_value: str | None) -> sw.Session:
            opened.append(cookie_value)
            return super().open_session(environ, cookie_value)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["test.manager"] = manager
        return wsgi_app(environ, start_response)

    middleware = Recording(app, manager, secure=False, token_header="Authorization")
    client = Client(middleware, use_cookies=False)
    token = client.get("/set?pear").headers["Authorization"].removeprefix("Bearer ")
    assert client.get("/get", headers=bearer(token)).get_data(as_text=True) == "pear"
    assert opened == [None, token]

"""The ASGI middleware, driven through real ASGI stacks: Starlette's TestClient,
httpx's ASGITransport and a real uvicorn server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

import sessionware as sw
from sessionware.asgi import SessionMiddleware, session_of
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET, Clock, CountingProxy
from .servers import free_port


def make_app(manager: sw.AsyncSessionManager) -> Starlette:
    """A counter app whose endpoints each use the session in one way."""

    async def count(request: Request) -> Response:
        session = sw.current()
        assert session_of(request.scope) is session
        session["n"] = session.get("n", 0) + 1
        return PlainTextResponse(str(session["n"]))

    async def peek(request: Request) -> Response:
        return PlainTextResponse(str(sw.current().get("n", 0)))

    async def boom(request: Request) -> Response:
        sw.current()["n"] = 999
        raise RuntimeError("app failed")

    async def error_page(request: Request) -> Response:
        sw.current()["n"] = 999
        return PlainTextResponse("oops", status_code=503)

    async def logout(request: Request) -> Response:
        await manager.invalidate(sw.current())
        return PlainTextResponse("bye")

    async def static(request: Request) -> Response:
        return PlainTextResponse("static page")

    async def stream(request: Request) -> Response:
        session = sw.current()
        session["n"] = 1

        async def body() -> AsyncIterator[bytes]:
            yield b"first"
            session["n"] = 2  # after the headers went out: not saved
            yield b"second"

        return StreamingResponse(body())

    async def socket(websocket: WebSocket) -> None:
        session = websocket.scope["session"]
        assert sw.current() is session
        await websocket.accept()
        try:
            while True:
                command = await websocket.receive_text()
                if command == "fail":
                    session["n"] = 999
                    raise RuntimeError("websocket handler failed")
                session["n"] = session.get("n", 0) + 1
                await websocket.send_text(str(session["n"]))
        except WebSocketDisconnect:
            pass

    routes = [
        Route("/count", count),
        Route("/peek", peek),
        Route("/boom", boom),
        Route("/error-page", error_page),
        Route("/logout", logout),
        Route("/static", static),
        Route("/stream", stream),
        WebSocketRoute("/ws", socket),
    ]
    return Starlette(routes=routes)


@pytest.fixture
def store(clock: Clock) -> CountingProxy:
    return CountingProxy(AsyncMemoryStore(MemoryStore(clock=clock)))


@pytest.fixture
def manager(store: CountingProxy, clock: Clock) -> sw.AsyncSessionManager:
    return sw.AsyncSessionManager(store, secret_key=SECRET, clock=clock)


@pytest.fixture
def client(manager: sw.AsyncSessionManager) -> Iterator[TestClient]:
    app = SessionMiddleware(make_app(manager), manager, secure=False)
    with TestClient(app) as client:  # runs lifespan: shutdown closes the manager
        yield client


def test_a_counter_is_kept_across_requests(client: TestClient) -> None:
    assert [client.get("/count").text for _ in range(3)] == ["1", "2", "3"]
    assert client.get("/peek").text == "3"


def test_the_cookie_is_set_once_with_safe_attributes(manager: sw.AsyncSessionManager) -> None:
    app = SessionMiddleware(make_app(manager), manager)
    with TestClient(app, base_url="https://testserver") as client:
        header = client.get("/count").headers["set-cookie"]
        for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=1209600"):
            assert attribute in header
        assert "set-cookie" not in client.get("/count").headers
        assert client.get("/peek").text == "2"


def test_a_visitor_whose_session_stays_empty_gets_no_cookie_and_no_write(
    client: TestClient, store: CountingProxy
) -> None:
    response = client.get("/peek")
    assert "set-cookie" not in response.headers
    assert store.calls == []


def test_responses_that_read_or_set_the_session_vary_on_cookie(client: TestClient) -> None:
    assert client.get("/count").headers["vary"] == "Cookie"
    assert client.get("/peek").headers["vary"] == "Cookie"


def test_a_page_that_ignores_the_session_does_not_vary_or_write(
    client: TestClient, store: CountingProxy
) -> None:
    client.get("/count")
    store.calls.clear()
    response = client.get("/static")
    assert "vary" not in response.headers
    assert store.calls == ["load"]  # the async manager loads at open


def test_an_exception_leaves_the_stored_session_as_it_was(
    client: TestClient, store: CountingProxy
) -> None:
    client.get("/count")
    writes = store.writes()
    with pytest.raises(RuntimeError, match="app failed"):
        client.get("/boom")
    assert store.writes() == writes
    assert client.get("/peek").text == "1"


def test_a_5xx_response_is_not_saved_and_sets_no_cookie(
    client: TestClient, store: CountingProxy
) -> None:
    client.get("/count")
    writes = store.writes()
    response = client.get("/error-page")
    assert response.status_code == 503
    assert "set-cookie" not in response.headers
    assert store.writes() == writes
    assert client.get("/peek").text == "1"


def test_invalidating_deletes_the_cookie_and_the_record(
    client: TestClient, store: CountingProxy
) -> None:
    client.get("/count")
    response = client.get("/logout")
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert "session" not in client.cookies
    assert store.calls_to("delete") == 1
    assert client.get("/peek").text == "0"


@pytest.mark.parametrize(
    "cookie", ["", "garbage", "x" * 5000, "a.b.c", "%00%01", '"quoted"'], ids=str.__len__
)
def test_a_bad_cookie_is_a_fresh_session_without_store_call(
    manager: sw.AsyncSessionManager, store: CountingProxy, cookie: str
) -> None:
    app = SessionMiddleware(make_app(manager), manager, secure=False)
    with TestClient(app) as client:
        response = client.get("/peek", headers={"cookie": f"session={cookie}"})
        assert response.status_code == 200
        assert response.text == "0"
    assert store.calls == []


def test_the_session_cookie_is_found_among_several_cookie_headers(
    client: TestClient,
) -> None:
    cookie = client.get("/count").cookies["session"]
    client.cookies.clear()
    # HTTP/2 clients may send one Cookie header per cookie.
    headers = [("cookie", "theme=dark"), ("cookie", f"session={cookie}"), ("cookie", "x=1")]
    response = client.get("/count", headers=httpx.Headers(headers))
    assert response.text == "2"


def test_a_store_failure_while_saving_becomes_a_500(clock: Clock) -> None:
    class ReadOnly(sw.StoreProxy):
        async def save_if_version(self, call: Any, record: Any, expected: int) -> bool:
            raise sw.StoreError("read-only file system")

    store = ReadOnly(AsyncMemoryStore(MemoryStore(clock=clock)))
    manager = sw.AsyncSessionManager(store, secret_key=SECRET, clock=clock)
    with TestClient(SessionMiddleware(make_app(manager), manager)) as client:
        response = client.get("/count")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
    assert "set-cookie" not in response.headers


def test_changes_after_a_streamed_response_started_are_not_saved(client: TestClient) -> None:
    assert client.get("/stream").text == "firstsecond"
    assert client.get("/peek").text == "1"


def test_an_app_that_never_responds_saves_nothing(
    manager: sw.AsyncSessionManager, store: CountingProxy
) -> None:
    async def silent(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["session"]["n"] = 1

    async def main() -> None:
        middleware = SessionMiddleware(silent, manager)
        scope = {"type": "http", "headers": [], "method": "GET", "path": "/"}
        await middleware(scope, _never_called, _never_called)

    asyncio.run(main())
    assert store.writes() == 0


async def _never_called(*args: Any) -> Any:
    raise AssertionError("unexpected ASGI call")


def test_current_is_reset_after_the_request(client: TestClient) -> None:
    client.get("/count")
    with pytest.raises(LookupError):
        sw.current()


# -- current() per task --------------------------------------------------------


def test_concurrent_requests_each_see_their_own_session(
    manager: sw.AsyncSessionManager,
) -> None:
    both_inside = asyncio.Barrier(2) if hasattr(asyncio, "Barrier") else None

    async def whoami(request: Request) -> Response:
        session = sw.current()
        if both_inside is not None:
            await both_inside.wait()  # both requests are inside the app at once
        await asyncio.sleep(0)
        assert sw.current() is session is request.scope["session"]
        session["name"] = request.query_params["name"]
        return PlainTextResponse(sw.current()["name"])

    app = SessionMiddleware(Starlette(routes=[Route("/", whoami)]), manager, secure=False)

    async def main() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                client.get("/", params={"name": "ada"}),
                client.get("/", params={"name": "bob"}),
            )
        await manager.close()
        return [r.text for r in responses]

    assert asyncio.run(asyncio.wait_for(main(), 10)) == ["ada", "bob"]


# -- websocket -----------------------------------------------------------------


def test_a_websocket_gets_the_session_of_its_cookie(client: TestClient) -> None:
    client.get("/count")
    with client.websocket_connect("/ws") as websocket:
        websocket.send_text("count")
        assert websocket.receive_text() == "2"


def test_websocket_changes_are_saved_when_it_closes_normally(client: TestClient) -> None:
    client.get("/count")
    with client.websocket_connect("/ws") as websocket:
        websocket.send_text("count")
        websocket.receive_text()
    assert client.get("/peek").text == "2"


def test_websocket_changes_are_forgotten_when_the_handler_fails(
    client: TestClient, store: CountingProxy
) -> None:
    client.get("/count")
    writes = store.writes()
    with (
        pytest.raises(RuntimeError, match="websocket handler failed"),
        client.websocket_connect("/ws") as websocket,
    ):
        websocket.send_text("fail")
        websocket.receive_text()
    assert store.writes() == writes
    assert client.get("/peek").text == "1"


# -- lifespan ------------------------------------------------------------------


def make_tracked_manager(store: CountingProxy, clock: Clock) -> sw.AsyncSessionManager:
    # A flush interval longer than any test: queued visits are written at shutdown.
    tracker = sw.VisitTracker(interval=60)
    return sw.AsyncSessionManager(
        store, secret_key=SECRET, clock=clock, idle_timeout=600, visit_tracker=tracker
    )


def test_lifespan_shutdown_flushes_queued_visits(store: CountingProxy, clock: Clock) -> None:
    manager = make_tracked_manager(store, clock)
    app = SessionMiddleware(make_app(manager), manager, secure=False)
    with TestClient(app) as client:
        client.get("/count")
        clock.advance(300)  # half the idle timeout: the visit is worth recording
        assert client.get("/peek").text == "1"
        assert store.calls_to("touch_many") == 0  # queued, not written by the request
    assert store.calls_to("touch_many") == 1


def test_an_app_without_lifespan_support_still_gets_the_manager_closed(
    store: CountingProxy, clock: Clock
) -> None:
    manager = make_tracked_manager(store, clock)

    async def http_only(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise RuntimeError("only http here")
        await make_app(manager)(scope, receive, send)

    with TestClient(SessionMiddleware(http_only, manager, secure=False)) as client:
        client.get("/count")
        clock.advance(300)
        client.get("/peek")
    assert store.calls_to("touch_many") == 1


def test_the_apps_own_lifespan_handlers_still_run(manager: sw.AsyncSessionManager) -> None:
    events: list[str] = []

    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    import contextlib

    app = Starlette(lifespan=contextlib.asynccontextmanager(lifespan))
    with TestClient(SessionMiddleware(app, manager)):
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


# -- a real server -------------------------------------------------------------


def test_a_counter_through_a_real_uvicorn_server(store: CountingProxy, clock: Clock) -> None:
    manager = make_tracked_manager(store, clock)
    app = SessionMiddleware(make_app(manager), manager, secure=False)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert [http.get("/count").text for _ in range(3)] == ["1", "2", "3"]
            clock.advance(300)
            assert http.get("/peek").text == "3"
    finally:
        server.should_exit = True
        thread.join(10)
    assert not thread.is_alive()
    assert store.calls_to("touch_many") == 1  # uvicorn's lifespan shutdown flushed


def test_sessionware_asgi_is_reachable_from_the_package() -> None:
    assert sw.asgi.SessionMiddleware is SessionMiddleware


def test_the_asgi_middleware_imports_no_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sessionware.asgi; "
        "bad = [m for m in ('starlette', 'fastapi', 'uvicorn', 'httpx') if m in sys.modules]; "
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"

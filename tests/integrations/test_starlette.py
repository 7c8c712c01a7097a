"""The Starlette integration as a drop-in for ``starlette.middleware.sessions``.

The first group ports the behaviours Starlette's own test suite checks for its
``SessionMiddleware`` (tests/middleware/test_session.py) to ours; the second checks
what changes with the data kept server-side.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret
from starlette.middleware import Middleware
from starlette.middleware import sessions as starlette_sessions
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

import sessionware as sw
from sessionware.integrations.starlette import SessionDict, SessionMiddleware
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from ..conftest import SECRET, Clock


async def view_session(request: Request) -> JSONResponse:
    return JSONResponse({"session": request.session})


async def update_session(request: Request) -> JSONResponse:
    request.session.update(await request.json())
    return JSONResponse({"session": request.session})


async def inplace_update_session(request: Request) -> JSONResponse:
    session = request.session
    session |= await request.json()
    return JSONResponse({"session": request.session})


async def popitem_session(request: Request) -> JSONResponse:
    request.session.popitem()
    return JSONResponse({"session": request.session})


async def pop_session(request: Request) -> JSONResponse:
    return JSONResponse({"value": request.scope["session"].pop("a")})


async def clear_session(request: Request) -> JSONResponse:
    request.session.clear()
    return JSONResponse({"session": request.session})


async def no_session_access(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


ROUTES = [
    Route("/view_session", view_session),
    Route("/update_session", update_session, methods=["POST"]),
    Route("/inplace_update_session", inplace_update_session, methods=["POST"]),
    Route("/popitem_session", popitem_session, methods=["POST"]),
    Route("/pop_session", pop_session, methods=["POST"]),
    Route("/clear_session", clear_session, methods=["POST"]),
    Route("/no_session", no_session_access),
]


def make_app(**options: Any) -> Starlette:
    options.setdefault("secret_key", SECRET)
    return Starlette(routes=ROUTES, middleware=[Middleware(SessionMiddleware, **options)])


def cookie_attributes(response: httpx.Response) -> list[str]:
    """The attributes of the Set-Cookie header, lower-cased (they are case-insensitive)."""
    return [part.lower() for part in response.headers["set-cookie"].split("; ")[1:]]


# -- the behaviours Starlette's own tests check ------------------------------------


def test_session_is_viewed_updated_and_cleared() -> None:
    client = TestClient(make_app())
    assert client.get("/view_session").json() == {"session": {}}

    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}
    assert f"max-age={14 * 24 * 3600}" in cookie_attributes(response)

    assert client.get("/view_session").json() == {"session": {"some": "data"}}
    assert client.post("/clear_session").json() == {"session": {}}
    assert client.get("/view_session").json() == {"session": {}}


@pytest.mark.parametrize("partitioned", [False, True])
def test_partitioned_cookie(partitioned: bool) -> None:
    app = make_app(https_only=True, same_site="none", partitioned=partitioned)
    client = TestClient(app, base_url="https://testserver")
    response = client.post("/update_session", json={"some": "data"})
    assert ("partitioned" in cookie_attributes(response)) is partitioned
    response = client.post("/clear_session")
    assert ("partitioned" in cookie_attributes(response)) is partitioned


def test_an_expired_session_reads_as_empty(clock: Clock) -> None:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    manager = sw.AsyncSessionManager(store, secret_key=SECRET, max_age=60, clock=clock)
    client = TestClient(make_app(manager=manager))
    client.post("/update_session", json={"some": "data"})
    clock.advance(61)
    assert client.get("/view_session").json() == {"session": {}}


def test_max_age_is_the_session_lifetime() -> None:
    middleware = SessionMiddleware(make_app(), secret_key=SECRET, max_age=60)
    assert middleware.manager is not None
    assert middleware.manager.core.policy.max_age == 60


def test_https_only_cookies_do_not_come_back_over_http() -> None:
    app = make_app(https_only=True)
    secure_client = TestClient(app, base_url="https://testserver")
    unsecure_client = TestClient(app, base_url="http://testserver")

    assert unsecure_client.get("/view_session").json() == {"session": {}}
    response = unsecure_client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}
    assert unsecure_client.get("/view_session").json() == {"session": {}}

    assert secure_client.get("/view_session").json() == {"session": {}}
    secure_client.post("/update_session", json={"some": "data"})
    assert secure_client.get("/view_session").json() == {"session": {"some": "data"}}
    assert secure_client.post("/clear_session").json() == {"session": {}}
    assert secure_client.get("/view_session").json() == {"session": {}}


def test_cookie_path_of_a_mounted_app() -> None:
    second_app = make_app(path="/second_app")
    app = Starlette(routes=[Mount("/second_app", app=second_app)])
    client = TestClient(app, base_url="http://testserver/second_app")
    response = client.post("/update_session", json={"some": "data"})
    assert response.status_code == 200
    assert "path=/second_app" in cookie_attributes(response)


def test_an_invalid_cookie_gives_an_empty_session() -> None:
    app = make_app()
    TestClient(app).post("/update_session", json={"some": "data"})
    client = TestClient(app, cookies={"session": "invalid"})
    assert client.get("/view_session").json() == {"session": {}}


def test_max_age_none_gives_a_browser_session_cookie() -> None:
    client = TestClient(make_app(max_age=None))
    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}
    assert not any(a.startswith("max-age") for a in cookie_attributes(response))
    assert client.get("/view_session").json() == {"session": {"some": "data"}}
    client.cookies.delete("session")
    assert client.get("/view_session").json() == {"session": {}}


@pytest.mark.parametrize("max_age", [0, -1])
def test_a_non_positive_max_age_expires_the_cookie_at_once_and_stores_nothing(
    max_age: int,
) -> None:
    store = AsyncMemoryStore()
    client = TestClient(make_app(store=store, max_age=max_age))
    response = client.post("/update_session", json={"some": "data"})
    assert response.json() == {"session": {"some": "data"}}
    assert f"max-age={max_age}" in cookie_attributes(response)
    assert store.sync_store.count() == 0
    value = re.search(r"session=([^;]*);", response.headers["set-cookie"])
    assert value is not None
    client = TestClient(make_app(store=store, max_age=max_age), cookies={"session": value[1]})
    assert client.get("/view_session").json() == {"session": {}}


def test_domain_cookie() -> None:
    client = TestClient(make_app(domain=".example.com"))
    response = client.post("/update_session", json={"some": "data"})
    assert "domain=.example.com" in cookie_attributes(response)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"max_age": None},
        {"max_age": 0},
        {"path": "/app", "domain": ".example.com", "same_site": "strict"},
        {"https_only": True, "same_site": "none", "partitioned": True},
    ],
)
def test_set_cookie_attributes_are_spelled_as_starlettes_own(options: dict[str, Any]) -> None:
    def attributes(middleware: Any, secret: str, **extra: Any) -> list[str]:
        app = Starlette(
            routes=ROUTES, middleware=[Middleware(middleware, secret_key=secret, **extra)]
        )
        client = TestClient(app, base_url="https://testserver")
        response = client.post("/update_session", json={"some": "data"})
        cookie: str = response.headers["set-cookie"]
        return cookie.split("; ")[1:]

    ours = attributes(SessionMiddleware, SECRET, **options)
    assert ours == attributes(starlette_sessions.SessionMiddleware, SECRET, **options)


def test_a_cleared_sessions_deletion_cookie_is_spelled_as_starlettes_own() -> None:
    def deletion(middleware: Any) -> str:
        app = Starlette(routes=ROUTES, middleware=[Middleware(middleware, secret_key=SECRET)])
        client = TestClient(app)
        client.post("/update_session", json={"some": "data"})
        cookie: str = client.post("/clear_session").headers["set-cookie"]
        return cookie

    assert deletion(SessionMiddleware) == deletion(starlette_sessions.SessionMiddleware)


def test_a_cookie_without_secure_set_over_https_logs_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sessionware import cookie_io

    cookie_io._warned_insecure.discard("starlette")
    client = TestClient(make_app(), base_url="https://testserver")
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        client.post("/update_session", json={"some": "data"})
    assert [r.getMessage() for r in caplog.records if "Secure" in r.getMessage()] == [
        "starlette: the session cookie is set without the Secure flag on an https request; "
        "turn on the integration's secure-cookie setting so it never travels over http"
    ]


def test_an_https_only_cookie_over_https_logs_no_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from sessionware import cookie_io

    cookie_io._warned_insecure.discard("starlette")
    client = TestClient(make_app(https_only=True), base_url="https://testserver")
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        client.post("/update_session", json={"some": "data"})
    assert "Secure" not in caplog.text


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_sessions_are_kept_on_either_anyio_backend(backend: Literal["asyncio", "trio"]) -> None:
    client = TestClient(make_app(), backend=backend)
    client.post("/update_session", json={"some": "data"})
    assert client.get("/view_session").json() == {"session": {"some": "data"}}


def test_set_cookie_only_when_the_session_is_created() -> None:
    client = TestClient(make_app())
    assert "set-cookie" in client.post("/update_session", json={"some": "data"}).headers
    response = client.get("/view_session")
    assert response.json() == {"session": {"some": "data"}}
    assert "set-cookie" not in response.headers


def test_vary_cookie_only_when_the_session_is_used() -> None:
    client = TestClient(make_app())
    response = client.post("/update_session", json={"some": "data"})
    assert "cookie" in response.headers.get("vary", "").lower()
    assert "cookie" in client.get("/view_session").headers.get("vary", "").lower()
    assert "cookie" not in client.get("/no_session").headers.get("vary", "").lower()


@pytest.mark.anyio
@pytest.mark.parametrize("session_data", [{"a": "1"}, {"a": "1", "b": "2"}])
async def test_vary_cookie_on_session_pop(session_data: dict[str, str]) -> None:
    transport = httpx.ASGITransport(make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post("/update_session", json=session_data)
        assert response.json() == {"session": session_data}
        response = await client.post("/pop_session")
        assert response.json() == {"value": "1"}
        assert "cookie" in response.headers.get("vary", "").lower()
        remaining = {k: v for k, v in session_data.items() if k != "a"}
        assert (await client.get("/view_session")).json() == {"session": remaining}


def test_session_dict_tracks_modification() -> None:
    def fresh() -> SessionDict:
        return SessionDict({"a": "1"})

    session = fresh()
    assert not session.modified
    session["c"] = "3"
    assert session.modified

    session = fresh()
    del session["a"]
    assert session.modified

    session = fresh()
    session.clear()
    assert session.modified

    session = fresh()
    session.pop("a")
    assert session.modified
    assert session.accessed

    session = fresh()
    session.pop("missing", None)
    assert not session.modified
    assert not session.accessed

    session = fresh()
    session.setdefault("b", "2")
    assert session.modified

    session = fresh()
    session.setdefault("a", "2")
    assert not session.modified


@pytest.mark.parametrize(
    ("path", "data", "expected"),
    [
        ("/inplace_update_session", {"c": "3"}, {"a": "1", "b": "2", "c": "3"}),
        ("/popitem_session", None, {"a": "1"}),
    ],
)
def test_mutations_persist(
    path: str, data: dict[str, str] | None, expected: dict[str, str]
) -> None:
    client = TestClient(make_app())
    response = client.post("/update_session", json={"a": "1", "b": "2"})
    assert response.json() == {"session": {"a": "1", "b": "2"}}
    assert client.post(path, json=data).json() == {"session": expected}
    assert client.get("/view_session").json() == {"session": expected}


# -- what is different with the data server-side -----------------------------------


def test_the_cookie_carries_a_signed_id_not_the_data() -> None:
    client = TestClient(make_app())
    client.post("/update_session", json={"secret": "s3cr3t-value"})
    cookie = client.cookies["session"]
    assert "s3cr3t" not in cookie
    assert re.fullmatch(r"[\w-]{43}\.\d+\.[\w-]{43}", cookie)


def test_clearing_deletes_the_stored_session_and_the_cookie() -> None:
    store = AsyncMemoryStore()
    client = TestClient(make_app(store=store))
    client.post("/update_session", json={"some": "data"})
    assert store.sync_store.count() == 1
    response = client.post("/clear_session")
    assert "expires=thu, 01 jan 1970 00:00:00 gmt" in cookie_attributes(response)
    assert "session" not in client.cookies
    assert store.sync_store.count() == 0


def test_new_data_after_a_clear_is_kept_under_a_new_id() -> None:
    async def relogin(request: Request) -> JSONResponse:
        request.session.clear()
        request.session["user"] = "ada"
        return JSONResponse({"session": request.session})

    store = AsyncMemoryStore()
    app = Starlette(
        routes=[*ROUTES, Route("/relogin", relogin, methods=["POST"])],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET, store=store)],
    )
    client = TestClient(app)
    client.post("/update_session", json={"cart": [1]})
    old_cookie = client.cookies["session"]
    client.post("/relogin")
    assert client.cookies["session"] != old_cookie
    assert client.get("/view_session").json() == {"session": {"user": "ada"}}
    assert store.sync_store.count() == 1  # the old record is gone


def test_nested_changes_are_saved_without_reassignment() -> None:
    async def add_to_cart(request: Request) -> JSONResponse:
        request.session["cart"].append(len(request.session["cart"]))
        return JSONResponse({"session": request.session})

    app = Starlette(
        routes=[*ROUTES, Route("/add", add_to_cart, methods=["POST"])],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET)],
    )
    client = TestClient(app)
    client.post("/update_session", json={"cart": []})
    client.post("/add")
    client.post("/add")
    assert client.get("/view_session").json() == {"session": {"cart": [0, 1]}}


def test_writes_through_the_sessionware_session_are_kept_too() -> None:
    async def both(request: Request) -> JSONResponse:
        request.session["via_request"] = 1
        sw.current()["via_current"] = 2
        request.scope["sessionware.session"]["via_scope"] = 3
        return JSONResponse({})

    app = Starlette(
        routes=[*ROUTES, Route("/both", both)],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET)],
    )
    client = TestClient(app)
    client.get("/both")
    expected = {"via_request": 1, "via_current": 2, "via_scope": 3}
    assert client.get("/view_session").json() == {"session": expected}


def test_a_change_to_request_session_reaches_the_sessionware_session_at_once() -> None:
    seen: list[Any] = []

    async def write_then_look(request: Request) -> JSONResponse:
        request.session["color"] = "blue"
        del request.session["size"]
        seen.append(dict(sw.current()))
        return JSONResponse({})

    app = Starlette(
        routes=[*ROUTES, Route("/write", write_then_look)],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET)],
    )
    client = TestClient(app)
    client.post("/update_session", json={"size": "L", "kept": 1})
    client.get("/write")
    assert seen == [{"kept": 1, "color": "blue"}]


def test_mark_modified_saves_a_session_whose_values_did_not_change() -> None:
    async def touch(request: Request) -> JSONResponse:
        session = request.session
        assert isinstance(session, SessionDict)
        session.mark_modified()
        return JSONResponse({})

    store = AsyncMemoryStore()
    app = Starlette(
        routes=[*ROUTES, Route("/touch", touch)],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET, store=store)],
    )
    client = TestClient(app)
    client.post("/update_session", json={"some": "data"})
    (key,) = store.sync_store.ids()
    version = store.sync_store.load(key).version  # type: ignore[union-attr]
    client.get("/touch")
    assert store.sync_store.load(key).version == version + 1  # type: ignore[union-attr]


def test_a_standalone_session_dict_changes_only_itself() -> None:
    session = SessionDict({"a": "1"})
    session["b"] = "2"
    session.clear()
    assert session == {}
    assert session.modified


def test_a_secret_object_is_accepted_as_secret_key() -> None:
    client = TestClient(make_app(secret_key=Secret("from the environment: 4b1e9c0d7a2f58e3")))
    client.post("/update_session", json={"some": "data"})
    assert client.get("/view_session").json() == {"session": {"some": "data"}}


def test_a_store_url_is_opened_on_first_use() -> None:
    middleware = SessionMiddleware(make_app(), secret_key=SECRET, store="memory:///lazy")
    assert middleware.manager is None
    client = TestClient(make_app(store="memory:///lazy"))
    client.post("/update_session", json={"some": "data"})
    assert client.get("/view_session").json() == {"session": {"some": "data"}}


def test_a_given_manager_is_used(clock: Clock) -> None:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    manager = sw.AsyncSessionManager(store, secret_key=SECRET, clock=clock)
    client = TestClient(make_app(secret_key=None, manager=manager))
    client.post("/update_session", json={"some": "data"})
    assert store.sync_store.count() == 1


def test_lifespan_shutdown_closes_the_manager(clock: Clock) -> None:
    closed: list[bool] = []

    class Closing(sw.StoreProxy):
        async def close(self, call: Any) -> None:
            closed.append(True)
            await call()

    store = Closing(AsyncMemoryStore(MemoryStore(clock=clock)))
    manager = sw.AsyncSessionManager(store, secret_key=SECRET, clock=clock)
    with TestClient(make_app(manager=manager)) as client:
        client.post("/update_session", json={"some": "data"})
        assert closed == []
    assert closed == [True]


def test_a_websocket_sees_the_session() -> None:
    async def whoami(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(dict(websocket.session))
        await websocket.close()

    app = Starlette(
        routes=[*ROUTES, WebSocketRoute("/ws", whoami)],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET)],
    )
    client = TestClient(app)
    client.post("/update_session", json={"user": "ada"})
    with client.websocket_connect("/ws") as websocket:
        assert websocket.receive_json() == {"user": "ada"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"same_site": "none", "https_only": False}, "Secure"),
        ({"secret_key": None}, "secret_key"),
        ({"session_cookie": "bad name"}, "cookie name"),
        ({"store": "memory://", "manager": object()}, "not both"),
    ],
)
def test_bad_configuration_is_refused(options: dict[str, Any], message: str) -> None:
    options.setdefault("secret_key", SECRET)
    with pytest.raises((ValueError, TypeError), match=message):
        SessionMiddleware(make_app(), **options)


# -- starsessions' rolling=True: a sliding "remember me" ------------------------------


def test_rolling_makes_max_age_restart_with_each_request() -> None:
    middleware = SessionMiddleware(make_app(), secret_key=SECRET, max_age=60, rolling=True)
    assert middleware.manager is not None
    policy = middleware.manager.core.policy
    assert (policy.idle_timeout, policy.max_age) == (60, None)


def test_a_rolling_session_re_sends_its_cookie_on_every_response() -> None:
    # starsessions: "rolling: the cookie is sent with every response, so the
    # session lifetime is extended on each request".
    client = TestClient(make_app(max_age=60, rolling=True))
    created = client.post("/update_session", json={"some": "data"})
    response = client.get("/view_session")
    assert response.json() == {"session": {"some": "data"}}
    assert "max-age=60" in cookie_attributes(response)
    assert response.cookies["session"] == created.cookies["session"]


def test_without_rolling_a_read_only_response_sets_no_cookie() -> None:
    client = TestClient(make_app(max_age=60))
    client.post("/update_session", json={"some": "data"})
    assert "set-cookie" not in client.get("/view_session").headers


def test_a_rolling_session_in_use_outlives_max_age_from_creation(clock: Clock) -> None:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    manager = sw.AsyncSessionManager(
        store, secret_key=SECRET, idle_timeout=60, max_age=None, clock=clock
    )
    client = TestClient(make_app(manager=manager, max_age=60, rolling=True))
    client.post("/update_session", json={"some": "data"})
    for _ in range(5):  # 200 s in all, a request every 40 s
        clock.advance(40)
        assert client.get("/view_session").json() == {"session": {"some": "data"}}
    clock.advance(61)
    assert client.get("/view_session").json() == {"session": {}}


def test_a_rolling_session_that_was_cleared_gets_its_cookie_deleted() -> None:
    client = TestClient(make_app(max_age=60, rolling=True))
    client.post("/update_session", json={"some": "data"})
    response = client.post("/clear_session")
    assert response.headers["set-cookie"].startswith("session=null;")
    assert "expires=thu, 01 jan 1970 00:00:00 gmt" in cookie_attributes(response)
    assert client.get("/view_session").json() == {"session": {}}

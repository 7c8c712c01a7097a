"""From starsessions (its Redis store, writing real sessions) to sessionware's
Starlette integration: ``sessionware import-sessions starsessions``, then the
middleware's transition mode (``transition_from="starsessions"``)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starsessions import SessionAutoloadMiddleware
from starsessions import SessionMiddleware as StarsessionsMiddleware
from starsessions.stores.redis import RedisStore

from sessionware.integrations.starlette import SessionMiddleware
from sessionware.stores.threaded import ThreadedStore

from ..conftest import SECRET, CountingProxy
from .conftest import Import, deletions, tomorrow, yesterday


async def login(request: Request) -> PlainTextResponse:
    request.session["user"] = "ada"
    request.session["cart"] = [1, 2]
    return PlainTextResponse("")


async def whoami(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.session.get('user')} {request.session.get('cart')}")


ROUTES = [Route("/login", login, methods=["POST"]), Route("/whoami", whoami)]


def peer_client(redis_url: str, prefix: str) -> TestClient:
    store = RedisStore(connection=Redis.from_url(redis_url), prefix=prefix)
    middleware = [
        Middleware(StarsessionsMiddleware, store=store, lifetime=3600, cookie_https_only=False),
        Middleware(SessionAutoloadMiddleware),
    ]
    return TestClient(Starlette(routes=ROUTES, middleware=middleware))


@pytest.fixture
def peer_cookie(redis_url: str, redis_prefix: str, run_import: Import, target_url: str) -> str:
    """A user logged in under starsessions, whose sessions were then imported."""
    with peer_client(redis_url, redis_prefix) as client:  # one event loop: redis.asyncio's
        client.post("/login")
        assert client.get("/whoami").text == "ada [1, 2]"
        cookie: str = client.cookies["session"]
    result = run_import("starsessions", target_url, "--from", redis_url, "--prefix", redis_prefix)
    assert result.exit_code == 0, result.output
    assert "imported 1" in result.stdout
    assert "verified: 1 of 1" in result.stdout
    return cookie


@pytest.fixture
def make_client(target: CountingProxy) -> Any:
    def make(until: float, **options: Any) -> TestClient:
        middleware = Middleware(
            SessionMiddleware,
            secret_key=SECRET,
            store=ThreadedStore(target),
            transition_from="starsessions",
            transition_until=until,
            **options,
        )
        return TestClient(Starlette(routes=ROUTES, middleware=[middleware]))

    return make


def test_a_user_logged_in_under_starsessions_stays_logged_in(
    make_client: Any, peer_cookie: str
) -> None:
    client = make_client(until=tomorrow())
    response = client.get("/whoami", headers={"cookie": f"session={peer_cookie}"})
    assert response.text == "ada [1, 2]"
    assert response.cookies["session"] != peer_cookie  # a sessionware signed id now
    assert client.get("/whoami").text == "ada [1, 2]"


def test_a_starsessions_cookie_of_another_name_is_deleted_once_converted(
    make_client: Any, peer_cookie: str
) -> None:
    client = make_client(until=tomorrow(), session_cookie="sw", transition_cookie="session")
    client.cookies.set("session", peer_cookie, domain="testserver.local")  # as a browser holds it
    response = client.get("/whoami")
    assert response.text == "ada [1, 2]"
    assert len(deletions(response.headers.get_list("set-cookie"), "session")) == 1
    assert "session" not in client.cookies
    assert client.get("/whoami").text == "ada [1, 2]"  # on sessionware's cookie alone


def test_a_starsessions_cookie_converts_once(make_client: Any, peer_cookie: str) -> None:
    first = make_client(until=tomorrow())
    first.cookies["session"] = peer_cookie
    assert first.get("/whoami").text == "ada [1, 2]"
    replay = make_client(until=tomorrow())
    replay.cookies["session"] = peer_cookie
    assert replay.get("/whoami").text == "None None"


def test_a_forged_starsessions_cookie_gets_a_fresh_session_and_no_write(
    make_client: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_client(until=tomorrow())
    client.cookies["session"] = "0" * 32
    writes = target.writes()
    assert client.get("/whoami").text == "None None"
    assert target.writes() == writes


def test_after_the_transition_a_starsessions_cookie_is_refused(
    make_client: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_client(until=yesterday())
    client.cookies["session"] = peer_cookie
    writes = target.writes()
    assert client.get("/whoami").text == "None None"
    assert target.writes() == writes


def test_an_unreadable_stored_session_is_skipped_and_the_others_imported(
    redis_url: str, redis_prefix: str, run_import: Import, target_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.set(redis_prefix + "f" * 32, b"not json", ex=60)
    client.close()
    with peer_client(redis_url, redis_prefix) as peer:
        peer.post("/login")
    result = run_import("starsessions", target_url, "--from", redis_url, "--prefix", redis_prefix)
    assert result.exit_code == 0, result.output
    assert "imported 1" in result.stdout

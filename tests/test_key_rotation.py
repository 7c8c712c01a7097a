"""Key rotation retires the old key: a cookie verified by a fallback key is re-issued,
once, signed with the current key, through the WSGI and ASGI middleware."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from werkzeug.test import Client

import sessionware as sw
from sessionware import asgi, wsgi
from sessionware.core.lifecycle import SessionCore
from sessionware.core.signing import CookieSigner
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import Clock, CountingProxy, cookie_for
from .test_asgi import make_app
from .test_wsgi import counter_app

OLD_KEY = "the key being retired: 1f0c9a7e3b5d28f4c6a1e9b0"
NEW_KEY = "the current signing key: 8d3b6f0a2c9e41d7b5f3a8c2"


@pytest.fixture
def memory(clock: Clock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def old_cookie(memory: MemoryStore, clock: Clock) -> str:
    """A stored session (n=5) whose cookie was signed before the rotation."""
    return cookie_for(sw.SessionManager(memory, secret_key=OLD_KEY, clock=clock), n=5)


def is_current(value: str) -> bool:
    return CookieSigner(NEW_KEY).unsign(value) is not None


# -- the signer and the core ----------------------------------------------------


def test_a_value_verified_by_a_fallback_key_is_reported_stale_even_from_the_cache() -> None:
    old_value = CookieSigner(OLD_KEY).sign("A" * 43, 1_800_000_000)
    rotated = CookieSigner([NEW_KEY, OLD_KEY])
    first, again = rotated.unsign(old_value), rotated.unsign(old_value)
    assert first is not None
    assert first.stale
    assert again is not None
    assert again.stale


def test_a_value_signed_with_the_current_key_is_not_stale() -> None:
    rotated = CookieSigner([NEW_KEY, OLD_KEY])
    signed = rotated.unsign(rotated.sign("A" * 43, 1_800_000_000))
    assert signed is not None
    assert not signed.stale


def test_the_core_gives_an_old_key_session_a_current_key_cookie_for_the_same_id() -> None:
    core = SessionCore(secret_key=[NEW_KEY, OLD_KEY], idle_timeout=None, max_age=None)
    old_value = CookieSigner(OLD_KEY).sign("A" * 43, 1_800_000_000)
    session = core.open(old_value, 1_800_000_010)
    assert session.cookie_value is not None
    assert is_current(session.cookie_value)
    resigned = core.signer.unsign(session.cookie_value)
    assert resigned is not None
    assert resigned.key == session.key


# -- WSGI -----------------------------------------------------------------------


@pytest.fixture
def wsgi_store(memory: MemoryStore) -> CountingProxy:
    return CountingProxy(memory)


@pytest.fixture
def wsgi_client(wsgi_store: CountingProxy, clock: Clock) -> Iterator[Client]:
    manager = sw.SessionManager(wsgi_store, secret_key=[NEW_KEY, OLD_KEY], clock=clock)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        environ["sessionware.manager"] = manager
        return counter_app(environ, start_response)

    yield Client(wsgi.SessionMiddleware(app, manager))
    manager.close()


def test_wsgi_reissues_an_old_key_cookie_on_a_read_only_request_without_a_write(
    wsgi_client: Client, wsgi_store: CountingProxy, old_cookie: str
) -> None:
    wsgi_client.set_cookie("session", old_cookie)
    response = wsgi_client.get("/peek")
    assert response.text == "5"
    new_cookie = wsgi_client.get_cookie("session")
    assert new_cookie is not None
    assert is_current(new_cookie.value)
    assert wsgi_store.writes() == 0


def test_wsgi_reissues_only_once(wsgi_client: Client, old_cookie: str) -> None:
    wsgi_client.set_cookie("session", old_cookie)
    assert "Set-Cookie" in wsgi_client.get("/peek").headers
    assert "Set-Cookie" not in wsgi_client.get("/peek").headers
    assert "Set-Cookie" not in wsgi_client.get("/count").headers


def test_wsgi_reissues_an_old_key_cookie_on_a_request_that_changes_the_session(
    wsgi_client: Client, old_cookie: str
) -> None:
    wsgi_client.set_cookie("session", old_cookie)
    assert wsgi_client.get("/count").text == "6"
    new_cookie = wsgi_client.get_cookie("session")
    assert new_cookie is not None
    assert is_current(new_cookie.value)


def test_after_the_reissue_the_old_key_can_be_dropped(
    wsgi_client: Client, memory: MemoryStore, old_cookie: str, clock: Clock
) -> None:
    wsgi_client.set_cookie("session", old_cookie)
    wsgi_client.get("/peek")
    new_cookie = wsgi_client.get_cookie("session")
    assert new_cookie is not None
    retired = sw.SessionManager(memory, secret_key=NEW_KEY, clock=clock)
    with retired.scope(new_cookie.value) as session:
        assert session["n"] == 5


def test_wsgi_does_not_reissue_a_cookie_whose_session_is_gone(
    wsgi_client: Client, memory: MemoryStore, old_cookie: str
) -> None:
    memory.delete_all()
    wsgi_client.set_cookie("session", old_cookie)
    response = wsgi_client.get("/peek")
    assert response.text == "0"
    assert "Set-Cookie" not in response.headers


# -- ASGI -----------------------------------------------------------------------


@pytest.fixture
def asgi_store(memory: MemoryStore) -> CountingProxy:
    return CountingProxy(AsyncMemoryStore(memory))


@pytest.fixture
def asgi_client(asgi_store: CountingProxy, clock: Clock) -> Iterator[TestClient]:
    manager = sw.AsyncSessionManager(asgi_store, secret_key=[NEW_KEY, OLD_KEY], clock=clock)
    app = asgi.SessionMiddleware(make_app(manager), manager)
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def test_asgi_reissues_an_old_key_cookie_once_without_a_write(
    asgi_client: TestClient, asgi_store: CountingProxy, old_cookie: str
) -> None:
    response = asgi_client.get("/peek", headers={"cookie": f"session={old_cookie}"})
    assert response.text == "5"
    new_value = response.headers["set-cookie"].split(";")[0].removeprefix("session=")
    assert is_current(new_value)
    again = asgi_client.get("/peek", headers={"cookie": f"session={new_value}"})
    assert "set-cookie" not in again.headers
    assert asgi_store.writes() == 0


def test_asgi_does_not_reissue_a_cookie_whose_session_is_gone(
    asgi_client: TestClient, memory: MemoryStore, old_cookie: str
) -> None:
    memory.delete_all()
    response = asgi_client.get("/peek", headers={"cookie": f"session={old_cookie}"})
    assert response.text == "0"
    assert "set-cookie" not in response.headers

"""The admin as an ASGI app mounted in a Starlette application whose own sessions
are sessionware's: an administrator is a visitor whose session says so."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import sessionware as sw
from sessionware.admin import AdminConfigurationError, AsyncAdminApp
from sessionware.integrations.starlette import SessionMiddleware
from sessionware.stores.listing import async_newest_records
from sessionware.stores.memory import AsyncMemoryStore

from .support import SECRET, async_logged_in, token_in


def is_admin(request: Request) -> bool:
    return request.session.get("role") == "admin"


async def become_admin(request: Request) -> PlainTextResponse:
    request.session["role"] = "admin"
    return PlainTextResponse("you are an administrator now")


@pytest.fixture
def manager() -> sw.AsyncSessionManager:
    return sw.AsyncSessionManager(AsyncMemoryStore(), secret_key=SECRET)


@pytest.fixture
def client(manager: sw.AsyncSessionManager) -> Iterator[TestClient]:
    routes = [
        Route("/become-admin", become_admin, methods=["POST"]),
        Mount("/sessions-admin", app=AsyncAdminApp(manager, authorize=is_admin)),
    ]
    app = SessionMiddleware(Starlette(routes=routes), manager=manager)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def admin(client: TestClient) -> TestClient:
    client.post("/become-admin")
    return client


def test_the_asgi_admin_refuses_to_start_without_an_authorizer(
    manager: sw.AsyncSessionManager,
) -> None:
    with pytest.raises(AdminConfigurationError):
        AsyncAdminApp(manager)


def test_a_visitor_who_is_not_an_administrator_is_refused(client: TestClient) -> None:
    response = client.get("/sessions-admin/")

    assert response.status_code == 403


def test_an_administrator_sees_the_page_mounted_under_its_prefix(admin: TestClient) -> None:
    response = admin.get("/sessions-admin/")

    assert response.status_code == 200
    assert 'src="static/admin.js"' in response.text
    assert "Path=/sessions-admin/" in response.headers["set-cookie"]
    assert admin.get("/sessions-admin/static/admin.js").status_code == 200


def test_an_administrator_revokes_a_user(
    admin: TestClient, manager: sw.AsyncSessionManager
) -> None:
    alice = admin.portal.call(async_logged_in, manager, "alice")  # type: ignore[union-attr]
    token = token_in(admin.get("/sessions-admin/").text)

    response = admin.post(
        "/sessions-admin/revoke", json={"user": "alice"}, headers={"X-CSRF-Token": token}
    )

    assert response.json()["removed"] == 1
    session = admin.portal.call(manager.open, alice)  # type: ignore[union-attr]
    assert session.user_id is None


def test_a_revoke_without_the_csrf_token_is_refused(
    admin: TestClient, manager: sw.AsyncSessionManager
) -> None:
    admin.portal.call(async_logged_in, manager, "alice")  # type: ignore[union-attr]
    admin.get("/sessions-admin/")

    response = admin.post("/sessions-admin/revoke", json={"user": "alice"})

    assert response.status_code == 403
    assert admin.portal.call(manager.store.count) == 2  # type: ignore[union-attr]


def test_the_asgi_admin_lists_sessions(admin: TestClient, manager: sw.AsyncSessionManager) -> None:
    admin.portal.call(async_logged_in, manager, "alice")  # type: ignore[union-attr]

    table = admin.get("/sessions-admin/sessions", params={"user": "ali"}).text

    assert 'data-user="alice"' in table


class StoreWithoutListing:
    """A store of one's own without the optional ``RecordListing`` part (``newest``):
    the memory store's other operations."""

    def __init__(self, store: AsyncMemoryStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        if name in ("newest", "delete_if_version"):
            raise AttributeError(name)
        return getattr(self.store, name)


def put_sessions(store: AsyncMemoryStore, count: int) -> None:
    """``count`` sessions, written oldest first: store order is not newest first."""
    for n in range(count):
        asyncio.run(store.save(sw.Record(f"{n:040x}", b"{}", 1000.0 + n, 4e9, 1, f"user{n:02d}")))


def test_the_table_of_a_store_without_newest_is_newest_first(
    manager: sw.AsyncSessionManager,
) -> None:
    store = manager.store
    assert isinstance(store, AsyncMemoryStore)
    put_sessions(store, 25)
    own = StoreWithoutListing(store)
    app = AsyncAdminApp(manager, authorize=lambda request: True, store=own)

    first = TestClient(app).get("/sessions").text

    assert 'data-user="user24"' in first
    assert 'data-user="user00"' not in first  # on page 2


def test_the_newest_of_a_store_without_newest_are_the_limits_worth(
    manager: sw.AsyncSessionManager,
) -> None:
    store = manager.store
    assert isinstance(store, AsyncMemoryStore)
    put_sessions(store, 10)

    newest = asyncio.run(async_newest_records(StoreWithoutListing(store), 3))

    assert [record.user_id for record in newest] == ["user09", "user08", "user07"]


def test_an_oversized_body_is_refused(admin: TestClient) -> None:
    token = token_in(admin.get("/sessions-admin/").text)

    response = admin.post(
        "/sessions-admin/revoke", content=b"x" * 20_000, headers={"X-CSRF-Token": token}
    )

    assert response.status_code == 413


def test_the_asgi_admin_served_on_its_own_answers_the_lifespan_protocol(
    manager: sw.AsyncSessionManager,
) -> None:
    app = AsyncAdminApp(manager, authorize=lambda request: False)
    with TestClient(app) as client:  # startup and shutdown: both answered
        assert client.get("/").status_code == 403

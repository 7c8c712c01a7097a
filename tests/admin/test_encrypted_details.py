"""The admin's details of sessions encrypted at rest: read through the manager's
record layer (decrypted with its keys, an old key's record too), so the key names
show, the values only with ``show_values=True``, and a record no key of the manager
opens is a page that says so, never a 500. WSGI and ASGI flavours."""

from __future__ import annotations

import asyncio

from starlette.testclient import TestClient
from werkzeug.test import Client

import sessionware as sw
from sessionware.admin import AdminApp, AsyncAdminApp
from sessionware.core.encryption import new_encryption_key
from sessionware.stores.memory import AsyncMemoryStore

from .support import SECRET, key_of, logged_in

CARD = "4111-1111-1111-1111"


def encrypted(store: sw.Store, *keys: str) -> sw.SessionManager:
    return sw.SessionManager(store, secret_key=SECRET, encryption_keys=list(keys))


def details(app: AdminApp, key: str) -> tuple[int, str]:
    response = Client(app).get("/session", query_string={"key": key})
    return response.status_code, response.get_data(as_text=True)


def test_the_values_of_an_encrypted_session_show_when_configured_to(store: sw.Store) -> None:
    manager = encrypted(store, new_encryption_key())
    cookie = logged_in(manager, "alice", card_number=CARD)

    app = AdminApp(manager, authorize=lambda request: True, show_values=True)
    status, page = details(app, key_of(manager, cookie))

    assert status == 200
    assert "card_number" in page
    assert CARD in page


def test_a_session_sealed_with_an_old_key_shows_its_keys_after_a_rotation(
    store: sw.Store,
) -> None:
    old = new_encryption_key()
    logged_in(encrypted(store, old), "alice", card_number=CARD)
    rotated = encrypted(store, new_encryption_key(), old)
    (key,) = store.ids()

    status, page = details(AdminApp(rotated, authorize=lambda request: True), key)

    assert status == 200
    assert "card_number" in page
    assert CARD not in page


def test_a_session_sealed_with_an_unknown_key_is_a_page_saying_so(store: sw.Store) -> None:
    logged_in(encrypted(store, new_encryption_key()), "alice", card_number=CARD)
    stranger = encrypted(store, new_encryption_key())
    (key,) = store.ids()

    status, page = details(AdminApp(stranger, authorize=lambda request: True), key)

    assert status == 200
    assert "could not be read with the manager's codec and encryption keys" in page
    assert "card_number" not in page


async def async_encrypted_session(manager: sw.AsyncSessionManager) -> str:
    async with manager.scope(None) as session:
        session["card_number"] = CARD
        await manager.login(session, "alice")
    return session.key


def test_the_asgi_admin_shows_an_encrypted_sessions_keys_not_its_values() -> None:
    manager = sw.AsyncSessionManager(
        AsyncMemoryStore(), secret_key=SECRET, encryption_keys=[new_encryption_key()]
    )
    key = asyncio.run(async_encrypted_session(manager))

    hidden = TestClient(AsyncAdminApp(manager, authorize=lambda request: True))
    shown = TestClient(AsyncAdminApp(manager, authorize=lambda request: True, show_values=True))
    page = hidden.get("/session", params={"key": key}).text

    assert "card_number" in page
    assert CARD not in page
    assert CARD in shown.get("/session", params={"key": key}).text

"""With ``encryption_keys`` set, no store holds a session's plaintext: each store's
raw contents (its files, rows, Redis values, in-memory records) are searched for a
marker value the session holds, sync and async. Real servers on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

import sessionware as sw
from sessionware.core.encryption import new_encryption_key
from tests.stores.every_store import (  # the fixtures the tests ask for
    Place,
    async_place_fixture,  # noqa: F401
    sqlite_url,  # noqa: F401
    sync_place_fixture,  # noqa: F401
)

from ..conftest import SECRET

MARKER = "plaintext-marker-7f3a"
KEYS = [new_encryption_key()]


def test_no_store_keeps_an_encrypted_sessions_plaintext(sync_place: tuple[Any, Place]) -> None:
    store, where = sync_place
    manager = sw.SessionManager(store, secret_key=SECRET, encryption_keys=KEYS, visit_tracker=False)
    with manager.scope(None) as session:
        session["note"] = MARKER
    manager.login(session, "alice")
    manager.save_changes(session)
    with manager.scope(session.cookie_value) as again:
        assert again["note"] == MARKER
    contents = where.raw(store)
    assert contents  # the search looked at the session's bytes
    assert MARKER.encode() not in contents


def test_the_same_store_without_keys_would_show_the_marker(sync_place: tuple[Any, Place]) -> None:
    store, where = sync_place
    manager = sw.SessionManager(store, secret_key=SECRET, visit_tracker=False)
    with manager.scope(None) as session:
        session["note"] = MARKER
    assert MARKER.encode() in where.raw(store)  # so the search above can find it


@pytest.mark.anyio
async def test_no_async_store_keeps_an_encrypted_sessions_plaintext(
    async_place: tuple[Any, Place],
) -> None:
    store, where = async_place
    manager = sw.AsyncSessionManager(
        store, secret_key=SECRET, encryption_keys=KEYS, visit_tracker=False
    )
    async with manager.scope(None) as session:
        session["note"] = MARKER
    async with manager.scope(session.cookie_value) as again:
        assert again["note"] == MARKER
        again["more"] = MARKER * 2
    contents = where.raw(store)
    assert contents
    assert MARKER.encode() not in contents

"""Typed sessions on every store, sync and async: the typed object round-trips, a
record of an older schema version is migrated, and stored data that violates the
schema is a fresh session (logged, removed), never an error or the data."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest

import sessionware as sw
from tests.stores.every_store import (  # the fixtures the tests ask for
    Place,
    async_place_fixture,  # noqa: F401
    sqlite_url,  # noqa: F401
    sync_place_fixture,  # noqa: F401
)

from ..conftest import SECRET


class Cart(msgspec.Struct):
    items: list[str] = []
    total: int = 0


def up_1_2(data: dict[str, Any]) -> dict[str, Any]:
    return {"items": data.get("items", "").split(","), "total": 0}


OPTIONS: dict[str, Any] = {
    "secret_key": SECRET,
    "schema": Cart,
    "schema_version": 2,
    "migrations": {1: up_1_2},
    "visit_tracker": False,
}


def replaced(record: sw.Record | None, data: bytes) -> sw.Record:
    assert record is not None
    return msgspec.structs.replace(record, data=data, version=record.version + 1)


def test_a_typed_session_round_trips_migrates_and_refuses_bad_data(
    sync_place: tuple[Any, Place], caplog: pytest.LogCaptureFixture
) -> None:
    store, _ = sync_place
    manager = sw.SessionManager(store, **OPTIONS)
    with manager.scope(None) as session:
        session.typed.items.append("apple")
    cookie, key = session.cookie_value, session.key
    with manager.scope(cookie) as again:
        assert again.typed == Cart(items=["apple"])
    store.save(replaced(store.load(key), b'[1,{"items":"fig,kiwi"}]'))
    with manager.scope(cookie) as migrated:
        assert migrated.typed == Cart(items=["fig", "kiwi"])
    store.save(replaced(store.load(key), b'[2,{"items":"not a list"}]'))
    with caplog.at_level(logging.WARNING, logger="sessionware"), manager.scope(cookie) as bad:
        assert bad.is_new
        assert bad.typed == Cart()
    assert store.load(key) is None
    assert any(key in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_an_async_typed_session_round_trips_migrates_and_refuses_bad_data(
    async_place: tuple[Any, Place], caplog: pytest.LogCaptureFixture
) -> None:
    store, _ = async_place
    manager = sw.AsyncSessionManager(store, **OPTIONS)
    async with manager.scope(None) as session:
        session.typed.total = 3
    cookie, key = session.cookie_value, session.key
    async with manager.scope(cookie) as again:
        assert again.typed == Cart(total=3)
    await store.save(replaced(await store.load(key), b'{"items":"pear"}'))
    async with manager.scope(cookie) as migrated:
        assert migrated.typed == Cart(items=["pear"])
    await store.save(replaced(await store.load(key), b'[2,{"total":"three"}]'))
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        async with manager.scope(cookie) as bad:
            assert bad.is_new
    assert await store.load(key) is None

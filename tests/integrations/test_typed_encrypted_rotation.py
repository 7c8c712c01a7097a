"""Typed and encrypted together through Starlette, across a key rotation and a
schema upgrade at once: a record sealed with the old key at schema version 1 is
opened, migrated to version 2, and re-sealed with the new key by the next write,
which the old key alone can no longer open."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import sessionware as sw
from sessionware.core.encryption import DecryptionError, RecordCipher, new_encryption_key
from sessionware.integrations.starlette import SessionMiddleware
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from ..conftest import SECRET

OLD_KEY, NEW_KEY = new_encryption_key(), new_encryption_key()


class CartV1(msgspec.Struct):
    items: list[str] = []


class Cart(msgspec.Struct):
    products: list[str] = []


def items_to_products(data: dict[str, object]) -> dict[str, object]:
    return {"products": data.get("items", [])}


def starlette_client(manager: sw.AsyncSessionManager[Any]) -> TestClient:
    async def add(request: Request) -> PlainTextResponse:
        cart = request.scope["sessionware.session"].typed
        (cart.items if isinstance(cart, CartV1) else cart.products).append("apple")
        return PlainTextResponse("added")

    async def show(request: Request) -> PlainTextResponse:
        cart: Cart = request.scope["sessionware.session"].typed
        return PlainTextResponse(",".join(cart.products))

    app = Starlette(routes=[Route("/add", add), Route("/show", show)])
    return TestClient(SessionMiddleware(app, manager=manager))


def stored_payload(store: MemoryStore, *keys: str) -> bytes:
    """The only record's payload, opened with ``keys`` alone."""
    (record,) = store._records.values()
    return RecordCipher(list(keys)).open(record.id, record.data)


def test_an_old_key_v1_record_is_migrated_and_resealed_with_the_new_key() -> None:
    store = MemoryStore()
    before = sw.AsyncSessionManager(
        AsyncMemoryStore(store), secret_key=SECRET, schema=CartV1, encryption_keys=[OLD_KEY]
    )
    client = starlette_client(before)
    client.get("/add")
    assert msgspec.json.decode(stored_payload(store, OLD_KEY)) == [1, {"items": ["apple"]}, {}]

    after = sw.AsyncSessionManager(
        AsyncMemoryStore(store),
        secret_key=SECRET,
        schema=Cart,
        schema_version=2,
        migrations={1: items_to_products},
        encryption_keys=[NEW_KEY, OLD_KEY],
    )
    rotated = starlette_client(after)
    rotated.cookies = client.cookies
    assert rotated.get("/show").text == "apple"  # read with the old key, migrated

    # That read-only request re-sealed the record (an old key's record is saved once).
    assert msgspec.json.decode(stored_payload(store, NEW_KEY)) == [2, {"products": ["apple"]}, {}]
    with pytest.raises(DecryptionError):
        stored_payload(store, OLD_KEY)
    rotated.get("/add")
    assert rotated.get("/show").text == "apple,apple"

"""Typed sessions through Django's ASGI handler (``AsyncClient``): async views read
``await request.session.atyped()`` (or ``request.session.typed`` once the session is
loaded), sync views under the async handler read ``request.session.typed``, with
``SESSIONWARE_SCHEMA`` set, through Django's session middleware and sessionware's,
on the memory and sqlite stores. Stored data that violates the schema is a fresh
session (200, logged, the record removed), never a 500 and never the old data."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, override_settings
from django.urls import path

from sessionware.integrations.django import close_stores, get_store
from sessionware.stores.base import Store

from .test_typed_integrations import Cart, add_and_show

# The record of a Cart session whose ``items`` is not a list: no migration repairs it.
VIOLATING_DATA = b'[1,{"items":"not a list"},{}]'


async def async_add(request: HttpRequest) -> HttpResponse:
    cart: Cart = await request.session.atyped()
    await request.session.aset("_note", "kept")  # Django's mapping, beside the fields
    return HttpResponse(add_and_show(cart, True))


async def async_show(request: HttpRequest) -> HttpResponse:
    note = await request.session.aget("_note")
    cart: Cart = request.session.typed  # loaded by aget: no I/O on the event loop
    return HttpResponse(add_and_show(cart, False) + f";{note}")


def sync_add(request: HttpRequest) -> HttpResponse:
    return HttpResponse(add_and_show(request.session.typed, True))


urlpatterns = [
    path("async-add", async_add),
    path("async-show", async_show),
    path("sync-add", sync_add),
]

MIDDLEWARES = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "sessionware.integrations.django.SessionMiddleware",
]


@pytest.fixture(params=["memory", "sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 's.db'}"


@pytest.fixture(params=MIDDLEWARES)
def typed_store(request: pytest.FixtureRequest, store_url: str) -> Iterator[Store]:
    with override_settings(
        SESSIONWARE_STORE=store_url,
        SESSIONWARE_SCHEMA=f"{Cart.__module__}.Cart",
        MIDDLEWARE=[request.param],
        ROOT_URLCONF=__name__,
    ):
        close_stores()
        yield get_store()
        close_stores()


def violate_schema(store: Store) -> None:
    """Overwrite every stored record with data the schema refuses."""
    for key in list(store.ids()):
        record = store.load(key)
        assert record is not None
        store.save(msgspec.structs.replace(record, data=VIOLATING_DATA))


def decode_logged(caplog: pytest.LogCaptureFixture) -> bool:
    return any("does not decode" in record.getMessage() for record in caplog.records)


@pytest.mark.anyio
async def test_an_async_view_saves_a_typed_session(typed_store: Store) -> None:
    client = AsyncClient()
    await client.get("/async-add")
    await client.get("/async-add")
    assert (await client.get("/async-show")).content == b"apple,apple;kept"


@pytest.mark.anyio
async def test_a_sync_view_under_the_asgi_handler_saves_a_typed_session(
    typed_store: Store,
) -> None:
    client = AsyncClient()
    await client.get("/sync-add")
    assert (await client.get("/sync-add")).content == b"apple,apple"
    assert (await client.get("/async-show")).content == b"apple,apple;None"


@pytest.mark.anyio
@pytest.mark.parametrize("view", ["/async-add", "/sync-add"])
async def test_a_schema_violation_under_the_async_client_is_a_fresh_session(
    typed_store: Store, view: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = AsyncClient()
    await client.get(view)
    await client.get(view)
    violate_schema(typed_store)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        response = await client.get(view)
    assert response.status_code == 200
    assert response.content == b"apple"  # a fresh cart, not the stored one
    assert decode_logged(caplog)


@pytest.mark.anyio
async def test_the_fresh_session_after_a_violation_is_saved_under_a_new_key(
    typed_store: Store,
) -> None:
    client = AsyncClient()
    first = await client.get("/async-add")
    old_key = first.cookies["sessionid"].value
    violate_schema(typed_store)
    fresh = await client.get("/async-add")
    assert fresh.cookies["sessionid"].value != old_key
    assert (await client.get("/async-show")).content == b"apple;kept"
    assert typed_store.count() == 1  # the violating record was removed

"""Typed sessions through every integration: the app reads and changes
``session.typed`` (a ``Cart``), the change is saved, the framework's own mapping API
keeps working beside it (Flask's ``permanent`` and ``flash``, Starlette's
``request.session``, Django's ``request.session``), and stored data that violates
the schema is a fresh session (200, logged), never a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import msgspec
import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client as DjangoClient
from django.test import override_settings
from django.urls import path
from fastapi import Depends, FastAPI
from flask import Flask, flash, get_flashed_messages, session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client
from werkzeug.wrappers import Response

import sessionware as sw
from sessionware.asgi import SessionMiddleware as ASGIMiddleware
from sessionware.core.session import Session
from sessionware.integrations.django import close_stores, get_store
from sessionware.integrations.fastapi import get_session
from sessionware.integrations.flask import SessionInterface
from sessionware.integrations.starlette import SessionMiddleware as StarletteMiddleware
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.wsgi import SessionMiddleware as WSGIMiddleware

from ..conftest import SECRET


class Cart(msgspec.Struct):
    items: list[str] = []


def typed_manager(store: MemoryStore) -> sw.SessionManager[Cart]:
    return sw.SessionManager(store, secret_key=SECRET, schema=Cart, visit_tracker=False)


def async_typed_manager(store: MemoryStore) -> sw.AsyncSessionManager[Cart]:
    return sw.AsyncSessionManager(
        AsyncMemoryStore(store), secret_key=SECRET, schema=Cart, visit_tracker=False
    )


def violate_schema(store: MemoryStore) -> None:
    for key, record in list(store._records.items()):
        bad = b'[1,{"items":"not a list"},{}]'
        store._records[key] = msgspec.structs.replace(record, data=bad)


def assert_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert any("does not decode" in r.getMessage() for r in caplog.records)


def add_and_show(typed: Cart, add: bool) -> str:
    if add:
        typed.items.append("apple")
    return ",".join(typed.items)


# -- the clients: /add appends "apple", /show shows the items ---------------------------


def wsgi_client(store: MemoryStore) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        current: Session[Cart] = sw.current()
        body = add_and_show(current.typed, environ["PATH_INFO"] == "/add")
        return Response(body)(environ, start_response)

    return Client(WSGIMiddleware(app, typed_manager(store), secure=False))


def flask_client(store: MemoryStore) -> Any:
    app = Flask(__name__)
    app.session_interface = SessionInterface(typed_manager(store))

    @app.route("/add")
    def add() -> str:
        session.permanent = True  # Flask's own keys live beside the schema's fields
        flash("added")
        return add_and_show(sw.current().typed, True)

    @app.route("/show")
    def show() -> str:
        assert session.permanent
        flashed = [str(message) for message in get_flashed_messages()]
        return add_and_show(sw.current().typed, False) + "".join(flashed)

    return app.test_client()


def asgi_client(store: MemoryStore) -> TestClient:
    async def endpoint(request: Request) -> PlainTextResponse:
        current: Session[Cart] = sw.current()
        return PlainTextResponse(add_and_show(current.typed, request.url.path == "/add"))

    app = Starlette(routes=[Route("/add", endpoint), Route("/show", endpoint)])
    return TestClient(ASGIMiddleware(app, async_typed_manager(store), secure=False))


def starlette_client(store: MemoryStore) -> TestClient:
    async def endpoint(request: Request) -> PlainTextResponse:
        request.session["_seen"] = True  # the dict view, beside the typed fields
        typed: Cart = request.scope["sessionware.session"].typed
        return PlainTextResponse(add_and_show(typed, request.url.path == "/add"))

    app = Starlette(routes=[Route("/add", endpoint), Route("/show", endpoint)])
    return TestClient(StarletteMiddleware(app, manager=async_typed_manager(store)))


TypedSession = Annotated[Session[Cart], Depends(get_session)]


def fastapi_client(store: MemoryStore) -> TestClient:
    app = FastAPI()

    @app.get("/add", response_class=PlainTextResponse)
    async def add(session: TypedSession) -> str:
        return add_and_show(session.typed, True)

    @app.get("/show", response_class=PlainTextResponse)
    async def show(session: TypedSession) -> str:
        return add_and_show(session.typed, False)

    app.add_middleware(StarletteMiddleware, manager=async_typed_manager(store))
    return TestClient(app)


CLIENTS = {
    "wsgi": wsgi_client,
    "flask": flask_client,
    "asgi": asgi_client,
    "starlette": starlette_client,
    "fastapi": fastapi_client,
}


def text_of(response: Any) -> str:
    text = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    return str(text)


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_a_typed_session_is_saved_through_the_integration(kind: str) -> None:
    store = MemoryStore()
    client = CLIENTS[kind](store)
    client.get("/add")
    client.get("/add")
    assert text_of(client.get("/show")).startswith("apple,apple")


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_a_schema_violation_in_stored_data_is_a_fresh_session(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    client = CLIENTS[kind](store)
    client.get("/add")
    violate_schema(store)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        response = client.get("/add")
    assert response.status_code == 200
    assert text_of(response) == "apple"
    assert_logged(caplog)


# -- Django: SESSIONWARE_SCHEMA and request.session.typed -----------------------------------


def django_add(request: HttpRequest) -> HttpResponse:
    request.session["_note"] = "kept"  # Django's mapping, beside the fields
    return HttpResponse(add_and_show(request.session.typed, True))


def django_show(request: HttpRequest) -> HttpResponse:
    assert request.session["_note"] == "kept"
    return HttpResponse(add_and_show(request.session.typed, False))


urlpatterns = [path("add", django_add), path("show", django_show)]


@pytest.fixture
def django_store() -> Iterator[MemoryStore]:
    with override_settings(
        SESSIONWARE_STORE="memory://",
        SESSIONWARE_SCHEMA=f"{__name__}.Cart",
        ROOT_URLCONF=__name__,
    ):
        close_stores()
        store = get_store()
        assert isinstance(store, MemoryStore)
        yield store
    close_stores()


def test_django_saves_a_typed_session(django_store: MemoryStore) -> None:
    client = DjangoClient()
    client.get("/add")
    client.get("/add")
    assert client.get("/show").content == b"apple,apple"


def test_django_treats_a_schema_violation_as_a_fresh_session(
    django_store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    client = DjangoClient()
    client.get("/add")
    violate_schema(django_store)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        response = client.get("/add")
    assert response.status_code == 200
    assert response.content == b"apple"
    assert_logged(caplog)

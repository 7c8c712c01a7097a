"""Encryption at rest through every integration: what the app stores reaches the
store sealed, reads back, and a tampered record gives the request a fresh session
(200, logged), never a 500 and never the data. WSGI and Flask on the sync manager;
the ASGI middleware and Starlette on the async one; Django by its setting."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from flask import Flask, session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client
from werkzeug.wrappers import Response

import sessionware as sw
from sessionware.asgi import SessionMiddleware as ASGIMiddleware
from sessionware.core.encryption import new_encryption_key
from sessionware.integrations.django import close_stores, get_store
from sessionware.integrations.flask import SessionInterface
from sessionware.integrations.starlette import SessionMiddleware as StarletteMiddleware
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.wsgi import SessionMiddleware as WSGIMiddleware

from ..conftest import SECRET

MARKER = "secret-marker-9c1d"
KEYS = [new_encryption_key()]


def sealed_everywhere(store: MemoryStore) -> bool:
    records = list(store._records.values())
    return bool(records) and all(MARKER.encode() not in r.data for r in records)


def tamper_all(store: MemoryStore) -> None:
    for key, record in list(store._records.items()):
        flipped = record.data[:-1] + bytes([record.data[-1] ^ 1])
        store._records[key] = msgspec.structs.replace(record, data=flipped)


def assert_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert any("does not decode" in r.getMessage() for r in caplog.records)


# -- sync: WSGI, Flask ----------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    current = sw.current()
    if environ["PATH_INFO"] == "/set":
        current["note"] = MARKER
    return Response(str(current.get("note")))(environ, start_response)


@pytest.fixture
def sync_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def sync_manager(sync_store: MemoryStore) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(
        sync_store, secret_key=SECRET, encryption_keys=KEYS, visit_tracker=False
    )
    yield manager
    manager.close()


def flask_client(manager: sw.SessionManager) -> Any:
    app = Flask(__name__)
    app.session_interface = SessionInterface(manager)

    @app.route("/set")
    def set_note() -> str:
        session["note"] = MARKER
        return "set"

    @app.route("/get")
    def get_note() -> str:
        return str(session.get("note"))

    return app.test_client()


def wsgi_client(manager: sw.SessionManager) -> Any:
    return Client(WSGIMiddleware(wsgi_app, manager, secure=False))


@pytest.mark.parametrize("make_client", [wsgi_client, flask_client], ids=["wsgi", "flask"])
def test_sync_integrations_store_sealed_and_read_back(
    make_client: Any, sync_store: MemoryStore, sync_manager: sw.SessionManager
) -> None:
    client = make_client(sync_manager)
    client.get("/set")
    assert sealed_everywhere(sync_store)
    assert client.get("/get").get_data(as_text=True) == MARKER


@pytest.mark.parametrize("make_client", [wsgi_client, flask_client], ids=["wsgi", "flask"])
def test_sync_integrations_answer_a_tampered_record_with_a_fresh_session(
    make_client: Any,
    sync_store: MemoryStore,
    sync_manager: sw.SessionManager,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(sync_manager)
    client.get("/set")
    tamper_all(sync_store)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        response = client.get("/get")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "None"
    assert_logged(caplog)


# -- Django ---------------------------------------------------------------------


@pytest.fixture
def django_store() -> Iterator[MemoryStore]:
    with override_settings(SESSIONWARE_STORE="memory://", SESSIONWARE_ENCRYPTION_KEYS=KEYS):
        close_stores()
        store = get_store()
        assert isinstance(store, MemoryStore)
        yield store
    close_stores()


def test_django_stores_sealed_and_reads_back(django_store: MemoryStore) -> None:
    client = DjangoClient()
    client.get(f"/set/note/{MARKER}")
    assert sealed_everywhere(django_store)
    assert client.get("/get/note").content.decode() == repr(MARKER)


def test_django_answers_a_tampered_record_with_a_fresh_session(
    django_store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    client = DjangoClient()
    client.get(f"/set/note/{MARKER}")
    tamper_all(django_store)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        response = client.get("/get/note")
    assert response.status_code == 200
    assert response.content.decode() == "None"
    assert_logged(caplog)


# -- async: ASGI, Starlette -------------------------------------------------------


async def starlette_set(request: Request) -> PlainTextResponse:
    request.session["note"] = MARKER
    return PlainTextResponse("set")


async def starlette_get(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(request.session.get("note")))


def asgi_client(manager: sw.AsyncSessionManager) -> TestClient:
    async def set_note(request: Request) -> PlainTextResponse:
        sw.current()["note"] = MARKER
        return PlainTextResponse("set")

    async def get_note(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(sw.current().get("note")))

    app = Starlette(routes=[Route("/set", set_note), Route("/get", get_note)])
    return TestClient(ASGIMiddleware(app, manager, secure=False))


def starlette_client(manager: sw.AsyncSessionManager) -> TestClient:
    app = Starlette(routes=[Route("/set", starlette_set), Route("/get", starlette_get)])
    return TestClient(StarletteMiddleware(app, manager=manager))


@pytest.fixture
def async_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def async_manager(async_store: MemoryStore) -> sw.AsyncSessionManager:
    return sw.AsyncSessionManager(
        AsyncMemoryStore(async_store),
        secret_key=SECRET,
        encryption_keys=KEYS,
        visit_tracker=False,
    )


@pytest.mark.parametrize("make_client", [asgi_client, starlette_client], ids=["asgi", "starlette"])
def test_async_integrations_store_sealed_and_read_back(
    make_client: Any, async_store: MemoryStore, async_manager: sw.AsyncSessionManager
) -> None:
    with make_client(async_manager) as client:
        client.get("/set")
        assert sealed_everywhere(async_store)
        assert client.get("/get").text == MARKER


@pytest.mark.parametrize("make_client", [asgi_client, starlette_client], ids=["asgi", "starlette"])
def test_async_integrations_answer_a_tampered_record_with_a_fresh_session(
    make_client: Any,
    async_store: MemoryStore,
    async_manager: sw.AsyncSessionManager,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with make_client(async_manager) as client:
        client.get("/set")
        tamper_all(async_store)
        with caplog.at_level(logging.WARNING, logger="sessionware"):
            response = client.get("/get")
        assert response.status_code == 200
        assert response.text == "None"
    assert_logged(caplog)

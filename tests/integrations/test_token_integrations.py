"""Session tokens through the integrations: Starlette (and FastAPI on it), Flask
and Django. Each: a header-only client gets its token in the response header and
no cookie, comes back with it, and a request carrying both a cookie and a token or
a malformed token header is a clear 400, logged, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import AsyncClient, override_settings
from django.test import Client as DjangoClient
from fastapi import FastAPI
from flask import Flask, session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import sessionware as sw
from sessionware.integrations.django import close_stores
from sessionware.integrations.fastapi import SessionDep
from sessionware.integrations.flask import SessionInterface
from sessionware.integrations.starlette import SessionMiddleware as StarletteMiddleware
from sessionware.stores.memory import MemoryStore

from ..conftest import SECRET

DJANGO_MIDDLEWARE = ["sessionware.integrations.django.SessionMiddleware"]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def token(self) -> str:
        return self.headers["authorization"].removeprefix("Bearer ")


Call = Callable[..., Answer]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- the apps: /set?value stores it, /get shows it ------------------------------------------


def starlette_call(**options: Any) -> Call:
    async def set_note(request: Request) -> PlainTextResponse:
        request.session["note"] = request.url.query
        return PlainTextResponse("set")

    async def get_note(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(request.session.get("note")))

    app = Starlette(routes=[Route("/set", set_note), Route("/get", get_note)])
    client = TestClient(StarletteMiddleware(app, secret_key=SECRET, **options))
    return httpx_call(client)


def fastapi_call(**options: Any) -> Call:
    app = FastAPI()

    @app.get("/set", response_class=PlainTextResponse)
    async def set_note(request: Request, session: SessionDep) -> str:
        session["note"] = request.url.query
        return "set"

    @app.get("/get", response_class=PlainTextResponse)
    async def get_note(session: SessionDep) -> str:
        return str(session.get("note"))

    app.add_middleware(StarletteMiddleware, secret_key=SECRET, **options)
    return httpx_call(TestClient(app))


def httpx_call(client: TestClient) -> Call:
    def call(path: str, headers: dict[str, str] | None = None) -> Answer:
        client.cookies.clear()
        response = client.get(path, headers=headers)
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, lowered, response.text)

    return call


def flask_call(**options: Any) -> Call:
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET, visit_tracker=False)
    app = Flask(__name__)
    app.session_interface = SessionInterface(manager, **options)

    @app.route("/set")
    def set_note() -> str:
        session["note"] = app.extensions.get("q") or ""
        return "set"

    @app.before_request
    def note_query() -> None:
        from flask import request

        app.extensions["q"] = request.query_string.decode()

    @app.route("/get")
    def get_note() -> str:
        return str(session.get("note"))

    client = app.test_client(use_cookies=False)

    def call(path: str, headers: dict[str, str] | None = None) -> Answer:
        response = client.get(path, headers=headers or {})
        lowered = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, lowered, response.get_data(as_text=True))

    return call


def django_call(token_header: str, token_only: bool = False) -> Call:
    client = DjangoClient()

    def call(path: str, headers: dict[str, str] | None = None) -> Answer:
        client.cookies.clear()
        if path.startswith("/set?"):
            path = f"/set/note/{path.removeprefix('/set?')}"
        elif path == "/get":
            path = "/get/note"
        with override_settings(
            SESSIONWARE_TOKEN_HEADER=token_header,
            SESSIONWARE_TOKEN_ONLY=token_only,
            MIDDLEWARE=DJANGO_MIDDLEWARE,
        ):
            response = client.get(path, headers=headers or {})
        lowered = {k.lower(): v for k, v in response.headers.items()}
        for morsel in response.cookies.values():
            lowered["set-cookie"] = morsel.OutputString()
        text = response.content.decode().strip("'")
        return Answer(response.status_code, lowered, text)

    return call


INTEGRATIONS: dict[str, Callable[..., Call]] = {
    "starlette": starlette_call,
    "fastapi": fastapi_call,
    "flask": flask_call,
    "django": django_call,
}


@pytest.fixture(params=sorted(INTEGRATIONS))
def integration(request: pytest.FixtureRequest) -> Iterator[Callable[..., Call]]:
    if request.param == "django":
        with override_settings(SESSIONWARE_STORE="memory://"):
            close_stores()
            yield INTEGRATIONS["django"]
        close_stores()
        return
    yield INTEGRATIONS[request.param]


def test_a_header_only_client_gets_its_token_and_no_cookie(
    integration: Callable[..., Call],
) -> None:
    call = integration(token_header="Authorization", token_only=True)
    answer = call("/set?apple")
    assert answer.status == 200
    assert answer.headers["authorization"].startswith("Bearer ")
    assert "set-cookie" not in answer.headers
    assert call("/get", bearer(answer.token())).text == "apple"


def test_a_header_only_client_ignores_a_cookie(integration: Callable[..., Call]) -> None:
    cookie_answer = integration(token_header="Authorization")("/set?apple")
    cookie = cookie_answer.headers["set-cookie"].split(";")[0]
    call = integration(token_header="Authorization", token_only=True)
    assert call("/get", {"Cookie": cookie}).text == "None"


def test_alongside_a_cookie_and_a_token_together_are_refused_with_400(
    integration: Callable[..., Call], caplog: pytest.LogCaptureFixture
) -> None:
    call = integration(token_header="Authorization")
    first = call("/set?apple")
    cookie = first.headers["set-cookie"].split(";")[0]
    with caplog.at_level(logging.WARNING):
        answer = call("/get", {"Cookie": cookie, **bearer(first.token())})
    assert answer.status == 400
    assert any("both" in r.getMessage() for r in caplog.records)


def test_alongside_a_token_client_gets_no_cookie(integration: Callable[..., Call]) -> None:
    call = integration(token_header="Authorization")
    token = call("/set?apple").token()
    answer = call("/set?pear", bearer(token))
    assert "set-cookie" not in answer.headers
    assert call("/get", bearer(token)).text == "pear"


@pytest.mark.parametrize("value", ["Bearer", "Bearer a b", "Bearer <x>", "Bearer x, Bearer y"])
def test_a_malformed_token_header_is_refused_with_400(
    integration: Callable[..., Call], caplog: pytest.LogCaptureFixture, value: str
) -> None:
    call = integration(token_header="Authorization", token_only=True)
    with caplog.at_level(logging.WARNING):
        answer = call("/get", {"Authorization": value})
    assert answer.status == 400
    assert any("answering 400" in r.getMessage() for r in caplog.records)


def test_a_forged_token_is_a_fresh_session(integration: Callable[..., Call]) -> None:
    call = integration(token_header="Authorization", token_only=True)
    token = call("/set?apple").token()
    answer = call("/get", bearer(token[:-3] + "xyz"))
    assert answer.status == 200
    assert answer.text == "None"


def test_a_custom_header_carries_the_raw_token(integration: Callable[..., Call]) -> None:
    call = integration(token_header="X-Session-Token", token_only=True)
    token = call("/set?apple").headers["x-session-token"]
    assert call("/get", {"X-Session-Token": token}).text == "apple"


def test_django_exempts_a_token_request_from_csrf_but_not_a_cookie_request() -> None:
    csrf = ["django.middleware.csrf.CsrfViewMiddleware"]
    client = DjangoClient(enforce_csrf_checks=True)
    with override_settings(
        SESSIONWARE_STORE="memory://",
        SESSIONWARE_TOKEN_HEADER="Authorization",
        MIDDLEWARE=[*DJANGO_MIDDLEWARE, *csrf],
    ):
        close_stores()
        first = client.get("/set/note/apple")
        token = first.headers["Authorization"].removeprefix("Bearer ")
        client.cookies.clear()  # a header-only client keeps the token alone
        assert client.post("/set/note/pear", headers=bearer(token)).status_code == 200
        cookie_client = DjangoClient(enforce_csrf_checks=True)
        cookie_client.get("/set/note/apple")
        assert cookie_client.post("/set/note/pear").status_code == 403
    close_stores()


@pytest.mark.anyio
async def test_django_under_asgi_serves_tokens_and_refuses_a_malformed_header() -> None:
    client = AsyncClient()
    with override_settings(
        SESSIONWARE_STORE="memory://",
        SESSIONWARE_TOKEN_HEADER="Authorization",
        SESSIONWARE_TOKEN_ONLY=True,
        MIDDLEWARE=DJANGO_MIDDLEWARE,
    ):
        close_stores()
        first = await client.get("/async-count")
        assert "sessionid" not in first.cookies
        auth = {"Authorization": first.headers["Authorization"]}
        assert (await client.get("/async-count", headers=auth)).content == b"2"
        bad = await client.get("/async-count", headers={"Authorization": "Bearer a b"})
        assert bad.status_code == 400
    close_stores()

"""``sessionware.integrations.django.SessionMiddleware``, the drop-in for Django's.

``test_django.py`` runs every end-to-end test through both middlewares; these are the
cases where the drop-in takes a shortcut Django's does not (reading the cookie,
setting ``Vary``, staying on the event loop) and must still answer as Django's does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings

from sessionware.integrations.django import SessionMiddleware, SessionStore, close_stores

DROP_IN = "sessionware.integrations.django.SessionMiddleware"


@pytest.fixture(autouse=True)
def drop_in() -> Iterator[None]:
    with override_settings(MIDDLEWARE=[DROP_IN], SESSIONWARE_STORE="memory://"):
        yield
        close_stores()


def _stored_session(**data: Any) -> str:
    session = SessionStore()
    session.update(data)
    session.save()
    key = session.session_key
    assert isinstance(key, str)
    return key


def test_it_is_a_django_session_middleware_for_checks_that_look_for_one() -> None:
    assert issubclass(SessionMiddleware, DjangoSessionMiddleware)


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies")
def test_it_serves_djangos_own_engines_too() -> None:
    client = Client()
    client.get("/set/color/blue")
    assert client.get("/get/color").content == b"'blue'"


def test_a_repeated_cookie_name_gives_the_last_value_as_djangos_parser_does() -> None:
    key = _stored_session(color="blue")
    header = f"{settings.SESSION_COOKIE_NAME}=not-a-known-key; {settings.SESSION_COOKIE_NAME}={key}"
    assert Client().get("/get/color", HTTP_COOKIE=header).content == b"'blue'"


def test_a_quoted_cookie_value_is_unquoted_as_djangos_parser_does() -> None:
    key = _stored_session(color="blue")
    header = f'other="a;b"; {settings.SESSION_COOKIE_NAME}="{key}"'
    assert Client().get("/get/color", HTTP_COOKIE=header).content == b"'blue'"


def test_a_cookie_among_others_is_found() -> None:
    key = _stored_session(color="blue")
    header = f"csrftoken=abc; {settings.SESSION_COOKIE_NAME}={key}; theme=dark"
    assert Client().get("/get/color", HTTP_COOKIE=header).content == b"'blue'"


def test_cookies_a_test_put_on_the_request_are_the_ones_used() -> None:
    key = _stored_session(color="blue")
    request = RequestFactory().get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = key
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    assert request.session.session_key == key


def test_a_vary_header_the_view_set_is_extended_with_cookie() -> None:
    client = Client()
    client.get("/set/color/blue")
    response = client.get("/vary-and-read")
    assert response.content == b"'blue'"
    assert response.headers["Vary"] == "Accept-Encoding, Cookie"


def test_a_read_only_request_sets_no_cookie() -> None:
    client = Client()
    client.get("/set/color/blue")
    response = client.get("/get/color")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert response.headers["Vary"] == "Cookie"


@override_settings(SESSION_SAVE_EVERY_REQUEST=True)
def test_save_every_request_refreshes_the_cookie_of_a_read_only_request() -> None:
    client = Client()
    client.get("/set/color/blue")
    response = client.get("/get/color")
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


def test_the_cookie_expires_one_cookie_age_from_now() -> None:
    age = settings.SESSION_COOKIE_AGE
    before = time.time()
    cookie = Client().get("/set/color/blue").cookies[settings.SESSION_COOKIE_NAME]
    expires = parsedate_to_datetime(cookie["expires"]).timestamp()
    assert cookie["max-age"] == age
    assert before + age - 1 <= expires <= time.time() + age


@pytest.mark.anyio
async def test_an_asgi_read_only_request_varies_on_cookie_and_sets_none() -> None:
    client = AsyncClient()
    await client.get("/set/color/blue")
    response = await client.get("/get/color")
    assert response.content == b"'blue'"
    assert response.headers["Vary"] == "Cookie"
    assert settings.SESSION_COOKIE_NAME not in response.cookies


@pytest.mark.anyio
async def test_an_asgi_save_of_a_session_deleted_meanwhile_is_interrupted() -> None:
    client = AsyncClient()
    await client.get("/set/color/blue")
    response = await client.get("/deleted-meanwhile")
    assert response.status_code == 400  # SessionInterrupted


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _djangos_rendering(value: str, **options: Any) -> str:
    response = HttpResponse()
    response.set_cookie(settings.SESSION_COOKIE_NAME, value, **options)
    rendered: str = response.cookies[settings.SESSION_COOKIE_NAME].output(header="")
    return rendered


@pytest.mark.parametrize(
    "cookie_settings",
    [
        {},
        {"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_SAMESITE": "Strict"},
        {"SESSION_COOKIE_DOMAIN": ".example.com", "SESSION_COOKIE_PATH": "/app"},
        {"SESSION_COOKIE_HTTPONLY": False, "SESSION_COOKIE_SAMESITE": None},
    ],
)
def test_the_set_cookie_header_is_the_one_djangos_set_cookie_renders(
    cookie_settings: dict[str, Any],
) -> None:
    with override_settings(**cookie_settings):
        response = Client().get("/set/color/blue")
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        expected = _djangos_rendering(
            cookie.value,
            max_age=cookie["max-age"],
            expires=cookie["expires"],
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE or None,
            httponly=settings.SESSION_COOKIE_HTTPONLY or None,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
        assert cookie.output(header="") == expected


def test_a_session_cookie_changed_after_the_middleware_renders_the_change() -> None:
    def outer(request: Any) -> HttpResponse:
        response = SessionMiddleware(lambda r: _set_color(r))(request)
        response.cookies[settings.SESSION_COOKIE_NAME]["path"] = "/elsewhere"
        return response

    request = RequestFactory().get("/")
    rendered = outer(request).cookies[settings.SESSION_COOKIE_NAME].output(header="")
    assert "Path=/elsewhere" in rendered


def _set_color(request: Any) -> HttpResponse:
    request.session["color"] = "blue"
    return HttpResponse()

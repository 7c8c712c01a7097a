"""Django's engine keeps sessionware's security promises (issue 12).

Revocation is final through Django's API too (``flush``, ``cycle_key``, auth's
login and ``revoke_user``), a cookie signed with a retired ``SECRET_KEY`` is
re-issued with the current one, and a Secure-less cookie on https is warned about.
Two requests "in two processes" are two ``SessionStore`` objects whose managers
have their own store connections: the same server or file under two URLs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.test import Client, override_settings

from sessionware import cookie_io
from sessionware.integrations.django import SessionStore, close_stores, get_manager, get_store
from tests.servers import postgres_url as postgres_url  # fixtures
from tests.servers import redis_url as redis_url

Connection = Callable[[], contextlib.AbstractContextManager[Any]]
DROP_IN = "sessionware.integrations.django.SessionMiddleware"
OLD_KEY = "the-retired-django-secret-key-0123456789-abcdefghij"
NEW_KEY = "the-current-django-secret-key-9876543210-zyxwvutsrq"


@pytest.fixture(params=["sqlite", "redis", "postgresql"])
def two_connections(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Connection, Connection]]:
    """Settings contexts for request A and request B: one store, two connections."""
    if request.param == "sqlite":
        urls = (f"sqlite:///{tmp_path}/sessions.db", f"sqlite:///{tmp_path}/./sessions.db")
    elif request.param == "redis":
        base = request.getfixturevalue("redis_url")
        url = f"{base}?prefix=sessionware-django-security:"
        urls = (url, url.replace("127.0.0.1", "localhost"))
    else:
        url = f"{request.getfixturevalue('postgres_url')}?table=sessionware_django_security"
        urls = (url, url.replace("127.0.0.1", "localhost"))
    assert urls[0] != urls[1]
    with override_settings(SESSIONWARE_STORE=urls[0]):
        get_store().delete_all()
    yield (
        lambda: override_settings(SESSIONWARE_STORE=urls[0]),
        lambda: override_settings(SESSIONWARE_STORE=urls[1]),
    )
    with override_settings(SESSIONWARE_STORE=urls[0]):
        get_store().delete_all()
    close_stores()


def _stored_session(connection: Connection, **data: Any) -> str:
    with connection():
        session = SessionStore()
        session.update(data)
        session.save()
    key = session.session_key
    assert isinstance(key, str)
    return key


def _loaded(connection: Connection, key: str) -> SessionStore:
    with connection():
        session = SessionStore(key)
        assert session["cart"] == [1]  # request A has read its session
    return session


def test_cycle_key_after_a_flush_elsewhere_does_not_bring_the_session_back(
    two_connections: tuple[Connection, Connection],
) -> None:
    a, b = two_connections
    key = _stored_session(a, cart=[1])
    request_a = _loaded(a, key)
    with b():
        SessionStore(key).flush()  # request B: a logout
    with a():
        request_a.cycle_key()
        assert request_a.session_key is None  # a fresh session...
        assert dict(request_a.items()) == {}
        request_a["after"] = True
        with pytest.raises(UpdateError):  # ...whose save is interrupted, as Django's
            request_a.save()
        assert get_store().count() == 0


def test_a_save_after_a_flush_elsewhere_is_interrupted_not_recreated(
    two_connections: tuple[Connection, Connection],
) -> None:
    a, b = two_connections
    key = _stored_session(a, cart=[1])
    request_a = _loaded(a, key)
    with b():
        SessionStore(key).flush()
    with a():
        request_a["cart"] = [1, 2]
        with pytest.raises(UpdateError):
            request_a.save()
        assert get_store().count() == 0


def test_revoke_user_deletes_every_session_django_logged_that_user_into(
    two_connections: tuple[Connection, Connection],
) -> None:
    a, b = two_connections
    for _ in range(2):
        _stored_session(a, _auth_user_id="42", cart=[1])
    other = _stored_session(a, _auth_user_id="7", cart=[1])
    with b():
        assert get_manager().revoke_user("42") == 2
    with a():
        assert get_store().count() == 1
        assert SessionStore(other)["cart"] == [1]


# -- through the middleware -------------------------------------------------------------------


@pytest.fixture
def memory_store() -> Iterator[None]:
    with override_settings(SESSIONWARE_STORE="memory://"):
        yield
        close_stores()


@pytest.mark.usefixtures("memory_store")
@override_settings(MIDDLEWARE=[DROP_IN])
def test_djangos_login_binds_the_session_to_the_user() -> None:
    client = Client()
    client.get("/set/color/blue")
    response = client.get("/set/_auth_user_id/42")  # what auth.login stores
    key = response.cookies[settings.SESSION_COOKIE_NAME].value
    assert get_manager().revoke_user("42") == 1
    assert SessionStore(key).get("color") is None


def _session_under_the_old_key() -> str:
    with override_settings(SECRET_KEY=OLD_KEY):
        return _stored_session(contextlib.nullcontext, color="blue")


@pytest.mark.usefixtures("memory_store")
@pytest.mark.parametrize("path", ["/get/color", "/set/color/red"])
@pytest.mark.parametrize(
    "middleware", [DROP_IN, "django.contrib.sessions.middleware.SessionMiddleware"]
)
def test_a_cookie_signed_by_a_fallback_key_is_reissued_with_the_current_key(
    middleware: str, path: str
) -> None:
    if middleware != DROP_IN and path == "/get/color":
        pytest.skip("Django's middleware only sets the cookie on requests that save")
    old_cookie = _session_under_the_old_key()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    with override_settings(
        SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[OLD_KEY], MIDDLEWARE=[middleware]
    ):
        response = client.get(path)
        new_cookie = response.cookies[settings.SESSION_COOKIE_NAME].value
        assert new_cookie != old_cookie
        assert settings.SESSION_COOKIE_NAME not in client.get("/get/color").cookies  # once
    with override_settings(SECRET_KEY=NEW_KEY):  # the old key retired
        assert SessionStore(new_cookie).get("color") in ("blue", "red")
        assert SessionStore(old_cookie).get("color") is None


@pytest.fixture
def warnings_reset() -> Iterator[None]:
    cookie_io._warned_insecure.discard("django")
    yield
    cookie_io._warned_insecure.discard("django")


@pytest.mark.usefixtures("memory_store", "warnings_reset")
@override_settings(MIDDLEWARE=[DROP_IN])
@pytest.mark.parametrize(
    ("secure_setting", "https", "warned"),
    [
        (False, True, True),
        (True, True, False),
        (False, False, False),
    ],
)
def test_a_secure_less_session_cookie_on_https_is_warned_about(
    caplog: pytest.LogCaptureFixture, secure_setting: bool, https: bool, warned: bool
) -> None:
    with (
        override_settings(SESSION_COOKIE_SECURE=secure_setting),
        caplog.at_level(logging.WARNING, logger="sessionware"),
    ):
        Client().get("/set/color/blue", secure=https)
    assert any("Secure" in r.getMessage() for r in caplog.records) is warned


# -- the manager's listeners see Django's requests --------------------------------------------


class _Seen:
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_create(self, session: Any) -> None:
        self.events.append("create")

    def on_save(self, session: Any) -> None:
        self.events.append("save")

    def on_regenerate(self, session: Any, old_key: str) -> None:
        self.events.append("regenerate")

    def on_invalidate(self, session: Any) -> None:
        self.events.append("invalidate")


@pytest.mark.usefixtures("memory_store")
@override_settings(MIDDLEWARE=[DROP_IN])
def test_django_requests_reach_the_managers_listeners() -> None:
    seen = _Seen()
    get_manager().add_listener(seen)
    client = Client()
    client.get("/set/color/blue")
    client.get("/cycle")
    client.get("/flush")
    assert seen.events == ["create", "save", "regenerate", "save", "invalidate"]


@pytest.mark.usefixtures("memory_store")
@override_settings(MIDDLEWARE=[DROP_IN])
def test_a_read_that_moves_the_expiry_resends_the_cookie() -> None:
    import time

    from sessionware.core.record import Record

    key = _stored_session(contextlib.nullcontext, color="blue")
    store = get_store()
    (stored_key,) = store.ids()
    record = store.load(stored_key)
    assert record is not None
    half_gone = time.time() + settings.SESSION_COOKIE_AGE / 2  # the visit throttle is due
    store.save(Record(record.id, record.data, record.created_at, half_gone, record.version))
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    response = client.get("/get/color")
    assert response.content == b"'blue'"
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie.value == key
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_COOKIE_NAME not in client.get("/get/color").cookies

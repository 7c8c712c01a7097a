"""Every integration passes every ``CookieOptions`` field through to its cookie.

Each integration maps its own settings onto ``CookieOptions`` (WSGI and ASGI their
keyword arguments, Starlette its middleware's, Flask ``SESSION_COOKIE_*`` config,
Django ``SESSION_COOKIE_*`` settings), and the ``Set-Cookie`` headers it sends are
the ones those options render. A field added to ``CookieOptions`` fails
``test_every_field_is_mapped_or_declared_not_applicable`` until each integration
maps it (or says why it cannot).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask
import pytest
from django.test import Client as DjangoClient
from django.test import override_settings
from starlette.testclient import TestClient
from werkzeug.test import Client

import sessionware as sw
from sessionware import asgi, wsgi
from sessionware.cookies import CookieOptions
from sessionware.integrations import starlette
from sessionware.integrations.django import close_stores
from sessionware.integrations.django import middleware as django_middleware
from sessionware.integrations.flask import SessionInterface
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from ..conftest import SECRET
from ..test_asgi import make_app as make_asgi_app
from ..test_wsgi import counter_app
from .test_starlette import make_app as make_starlette_app

FIELDS = {f.name for f in dataclasses.fields(CookieOptions) if f.init}
NOW = 1_900_000_000  # the clock of Flask's and Django's expiry, frozen
LIFETIME = 600
#: A value other than every integration's default, per field.
CHANGED: dict[str, Any] = {
    "name": "app_session",
    "path": "/app",
    "domain": "example.com",
    "secure": True,  # Starlette, Flask and Django default to False (a bool is flipped)
    "httponly": False,
    "samesite": "Strict",
    "partitioned": True,
    "max_age": LIFETIME,
    "expires": NOW + LIFETIME,
}
#: The request that creates a session, then the one that ends it.
Exchange = Callable[[dict[str, Any], pytest.MonkeyPatch], tuple[str, str]]


@dataclass(frozen=True)
class Integration:
    name: str
    #: CookieOptions field -> the integration's own setting for it.
    settings: dict[str, str]
    #: Fields the integration has no setting for, and why.
    not_applicable: dict[str, str]
    #: The CookieOptions its settings (named by CookieOptions field) map to.
    options: Callable[[dict[str, Any]], CookieOptions]
    exchange: Exchange


def _renamed(integration: str, changes: dict[str, Any]) -> dict[str, Any]:
    settings = INTEGRATIONS[integration].settings
    return {settings[field]: value for field, value in changes.items()}


# -- WSGI and ASGI: keyword arguments ---------------------------------------------

MIDDLEWARE_ARGS = {
    "name": "cookie_name",
    "path": "path",
    "domain": "domain",
    "secure": "secure",
    "httponly": "httponly",
    "samesite": "samesite",
    "partitioned": "partitioned",
    "max_age": "cookie_max_age",
}
MIDDLEWARE_NA = {
    "expires": "a fixed Max-Age (the manager's max_age) instead",
    "spelling": "sessionware's own",
}


def _wsgi(changes: dict[str, Any]) -> wsgi.SessionMiddleware:
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET)
    return wsgi.SessionMiddleware(counter_app, manager, **_renamed("wsgi", changes))


def _wsgi_exchange(changes: dict[str, Any], _: pytest.MonkeyPatch) -> tuple[str, str]:
    app = _wsgi(changes)
    set_cookie = Client(app).get("/count").headers["Set-Cookie"]
    cookie = set_cookie.split(";")[0]

    def logout(environ: Any, start_response: Any) -> Any:
        environ["sessionware.manager"] = app.manager
        return counter_app(environ, start_response)

    app.app = logout
    deletion = Client(app, use_cookies=False).get("/logout", headers={"Cookie": cookie})
    return set_cookie, deletion.headers["Set-Cookie"]


def _asgi(changes: dict[str, Any]) -> asgi.SessionMiddleware:
    manager = sw.AsyncSessionManager(AsyncMemoryStore(), secret_key=SECRET)
    return asgi.SessionMiddleware(make_asgi_app(manager), manager, **_renamed("asgi", changes))


def _asgi_exchange(changes: dict[str, Any], _: pytest.MonkeyPatch) -> tuple[str, str]:
    with TestClient(_asgi(changes)) as client:
        set_cookie = client.get("/count").headers["set-cookie"]
        client.cookies.clear()
        cookie = set_cookie.split(";")[0]
        deletion = client.get("/logout", headers={"Cookie": cookie}).headers["set-cookie"]
    return set_cookie, deletion


# -- Starlette: its middleware's arguments ----------------------------------------

STARLETTE_ARGS = {
    "name": "session_cookie",
    "path": "path",
    "domain": "domain",
    "secure": "https_only",
    "samesite": "same_site",
    "partitioned": "partitioned",
    "max_age": "max_age",
}


def _starlette_args(changes: dict[str, Any]) -> dict[str, Any]:
    args = _renamed("starlette", changes)
    if "same_site" in args:
        args["same_site"] = args["same_site"].lower()  # Starlette's spelling of it
    return args


def _starlette(changes: dict[str, Any]) -> CookieOptions:
    middleware = starlette.SessionMiddleware(
        make_starlette_app(), secret_key=SECRET, **_starlette_args(changes)
    )
    return middleware.cookie


def _starlette_exchange(changes: dict[str, Any], _: pytest.MonkeyPatch) -> tuple[str, str]:
    client = TestClient(make_starlette_app(**_starlette_args(changes)))
    set_cookie = client.post("/update_session", json={"some": "data"}).headers["set-cookie"]
    client.cookies.clear()
    cookie = set_cookie.split(";")[0]
    deletion = client.post("/clear_session", headers={"Cookie": cookie}).headers["set-cookie"]
    return set_cookie, deletion


# -- Flask: SESSION_COOKIE_* config ------------------------------------------------

FLASK_CONFIG = {
    "name": "SESSION_COOKIE_NAME",
    "path": "SESSION_COOKIE_PATH",
    "domain": "SESSION_COOKIE_DOMAIN",
    "secure": "SESSION_COOKIE_SECURE",
    "httponly": "SESSION_COOKIE_HTTPONLY",
    "samesite": "SESSION_COOKIE_SAMESITE",
    "partitioned": "SESSION_COOKIE_PARTITIONED",
    "expires": "PERMANENT_SESSION_LIFETIME (from now, for a permanent session)",
}


def _flask_app(changes: dict[str, Any]) -> flask.Flask:
    app = flask.Flask(__name__)
    config = {FLASK_CONFIG[k]: v for k, v in changes.items() if k != "expires"}
    app.config.update(config)
    if "expires" in changes:
        app.config["PERMANENT_SESSION_LIFETIME"] = changes["expires"] - NOW
    app.session_interface = SessionInterface(sw.SessionManager(MemoryStore(), secret_key=SECRET))

    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        flask.session.permanent = "expires" in changes
        return ""

    @app.get("/clear")
    def clear() -> str:
        flask.session.clear()
        return ""

    return app


def _flask(changes: dict[str, Any]) -> CookieOptions:
    app = _flask_app(changes)
    interface = app.session_interface
    assert isinstance(interface, SessionInterface)
    return interface.cookie_options(app, changes.get("expires"))


def _flask_exchange(changes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setattr(time, "time", lambda: float(NOW))
    client = _flask_app(changes).test_client(use_cookies=False)
    set_cookie = client.get("/set").headers["Set-Cookie"]
    cookie = set_cookie.split(";")[0]
    deletion = client.get("/clear", headers={"Cookie": cookie}).headers["Set-Cookie"]
    return set_cookie, deletion


# -- Django: SESSION_COOKIE_* settings ---------------------------------------------

DJANGO_SETTINGS = {
    "name": "SESSION_COOKIE_NAME",
    "path": "SESSION_COOKIE_PATH",
    "domain": "SESSION_COOKIE_DOMAIN",
    "secure": "SESSION_COOKIE_SECURE",
    "httponly": "SESSION_COOKIE_HTTPONLY",
    "samesite": "SESSION_COOKIE_SAMESITE",
    "partitioned": "SESSION_COOKIE_PARTITIONED",
    "max_age": "SESSION_COOKIE_AGE (the session's expiry age)",
    "expires": "SESSION_COOKIE_AGE (from now)",
}
DJANGO_DROP_IN = "sessionware.integrations.django.SessionMiddleware"


def _django_settings(changes: dict[str, Any]) -> dict[str, Any]:
    settings = {
        DJANGO_SETTINGS[k]: v for k, v in changes.items() if k not in ("max_age", "expires")
    }
    if "max_age" in changes:
        settings["SESSION_COOKIE_AGE"] = changes["max_age"]
    return settings


def _django(changes: dict[str, Any]) -> CookieOptions:
    with override_settings(**_django_settings(changes)):
        return django_middleware.cookie_options(changes.get("max_age"), changes.get("expires"))


def _django_exchange(changes: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setattr(time, "time", lambda: float(NOW))
    settings = _django_settings(changes)
    with override_settings(MIDDLEWARE=[DJANGO_DROP_IN], SESSIONWARE_STORE="memory://", **settings):
        try:
            client = DjangoClient()
            response = client.get("/set/color/blue")
            name = changes.get("name", "sessionid")
            set_cookie = response.cookies[name].OutputString()
            value = response.cookies[name].value
            response = DjangoClient().get("/flush", HTTP_COOKIE=f"{name}={value}")
            deletion = response.cookies[name].OutputString()
        finally:
            close_stores()
    return set_cookie, deletion


INTEGRATIONS = {
    "wsgi": Integration(
        "wsgi", MIDDLEWARE_ARGS, MIDDLEWARE_NA, lambda c: _wsgi(c).cookie, _wsgi_exchange
    ),
    "asgi": Integration(
        "asgi", MIDDLEWARE_ARGS, MIDDLEWARE_NA, lambda c: _asgi(c).cookie, _asgi_exchange
    ),
    "starlette": Integration(
        "starlette",
        STARLETTE_ARGS,
        {
            "httponly": "Starlette's cookie is always HttpOnly",
            "expires": "a fixed Max-Age (max_age) instead",
            "spelling": "Starlette's",
        },
        _starlette,
        _starlette_exchange,
    ),
    "flask": Integration(
        "flask",
        FLASK_CONFIG,
        {"max_age": "Flask's cookie has Expires only", "spelling": "werkzeug's"},
        _flask,
        _flask_exchange,
    ),
    "django": Integration(
        "django", DJANGO_SETTINGS, {"spelling": "Django's"}, _django, _django_exchange
    ),
}


@pytest.fixture(params=sorted(INTEGRATIONS))
def integration(request: pytest.FixtureRequest) -> Integration:
    return INTEGRATIONS[request.param]


def test_every_field_is_mapped_or_declared_not_applicable(integration: Integration) -> None:
    assert set(integration.settings) | set(integration.not_applicable) == FIELDS
    assert not set(integration.settings) & set(integration.not_applicable)


@pytest.mark.parametrize("field", sorted(CHANGED))
def test_each_setting_reaches_its_field(integration: Integration, field: str) -> None:
    if field not in integration.settings:
        pytest.skip(integration.not_applicable[field])
    default = getattr(integration.options({}), field)
    expected = not default if isinstance(default, bool) else CHANGED[field]
    changes = {field: expected}
    if field == "expires" and integration.name == "django":
        changes["max_age"] = LIFETIME  # Django's expires goes with its max_age
    options = integration.options(changes)
    if field == "samesite":
        assert options.samesite is not None
        assert options.samesite.lower() == str(expected).lower()
    else:
        assert getattr(options, field) == expected
    assert default != expected  # the change did it


def test_the_set_cookie_headers_are_the_ones_the_options_render(
    integration: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    changes = {field: CHANGED[field] for field in integration.settings}
    options = integration.options(changes)
    set_cookie, deletion = integration.exchange(changes, monkeypatch)
    value = set_cookie.split(";")[0].split("=", 1)[1]
    assert set_cookie == options.header(value)
    assert deletion == options.deletion()


def test_partitioned_reaches_the_header_in_every_integration(
    integration: Integration, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_cookie, deletion = integration.exchange({"partitioned": True, "secure": True}, monkeypatch)
    assert "partitioned" in set_cookie.lower().split("; ")
    assert "partitioned" in deletion.lower().split("; ")


# -- Django's spelling: the Morsels Django's set_cookie / delete_cookie leave -----


@pytest.mark.parametrize(
    "attributes",
    [
        {},
        {"secure": True, "samesite": "Strict", "max_age": 60, "expires": NOW},
        {"domain": ".example.com", "path": "/app", "httponly": False, "samesite": None},
        {"name": "__Secure-sid", "samesite": "none", "secure": True},
    ],
)
def test_djangos_spelling_is_the_morsel_djangos_set_cookie_leaves(
    attributes: dict[str, Any],
) -> None:
    from email.utils import formatdate

    from django.http import HttpResponse

    options = CookieOptions(
        **{"name": "sessionid", "secure": False, **attributes}, spelling="django"
    )
    expected = HttpResponse()
    expected.set_cookie(
        options.name,
        "v",
        max_age=options.max_age,
        expires=None if options.expires is None else formatdate(options.expires, usegmt=True),
        path=options.path,
        domain=options.domain,
        secure=options.secure or None,
        httponly=options.httponly or None,
        samesite=options.samesite,
    )
    morsel = options.morsel("v")
    assert morsel.OutputString() == expected.cookies[options.name].OutputString()
    assert options.header("v") == morsel.OutputString()
    assert {k: v for k, v in morsel.items() if k != "partitioned"} == dict(
        expected.cookies[options.name]
    )
    expected = HttpResponse()
    expected.delete_cookie(
        options.name, path=options.path, domain=options.domain, samesite=options.samesite
    )
    deletion = options.deletion_morsel()
    assert deletion.OutputString() == expected.cookies[options.name].OutputString()
    assert options.deletion() == deletion.OutputString()


def test_a_django_morsel_changed_later_renders_the_change() -> None:
    morsel = CookieOptions("sessionid", partitioned=True, spelling="django").morsel("v")
    morsel["path"] = "/elsewhere"
    assert morsel.OutputString() == (
        "sessionid=v; HttpOnly; Partitioned; Path=/elsewhere; SameSite=Lax; Secure"
    )


def test_a_session_cookie_the_django_view_set_is_updated_as_djangos_set_cookie_does() -> None:
    from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory

    def view(request: HttpRequest) -> HttpResponse:
        request.session["color"] = "blue"
        response = HttpResponse()
        response.set_cookie("sessionid", "from-the-view", domain="example.com", secure=True)
        return response

    def rendered(middleware: Any) -> str:
        response = middleware(view)(RequestFactory().get("/"))
        rendered: str = response.cookies["sessionid"].OutputString()
        return rendered.partition(";")[2]

    try:
        ours = rendered(django_middleware.SessionMiddleware)
        assert ours == rendered(DjangoSessionMiddleware)
        assert "Domain=example.com" in ours
    finally:
        close_stores()

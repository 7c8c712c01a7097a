"""Django: its SessionMiddleware with its own backends vs sessionware's engine.

Django's backends run through Django's own ``SessionMiddleware``; sessionware runs
as its users install it: its engine (``SESSION_ENGINE =
"sessionware.integrations.django"``, ``SESSIONWARE_STORE`` set to the store being
measured) behind its drop-in ``sessionware.integrations.django.SessionMiddleware``
(the same ``request.session`` and the same save/cookie decisions as Django's).
Django is configured once per process with every database/cache the backends
need; each contestant gets its own middleware subclass bound to its SessionStore.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import sessionware as sw

from ..payload import IDLE_TIMEOUT, SECRET
from ..stores import POSTGRES_URL, REDIS_URL, RunContext, StoreSpec, discard
from ..timing import Batch, repeat
from . import Contestant, Skip, counter, init_view, read_view, wsgi_contestant

NAME = "Django"
_THIS = sys.modules[__name__]
_state: dict[str, Any] = {}


def available() -> str | None:
    return None if importlib.util.find_spec("django") else "Django is not installed"


def setup(ctx: RunContext) -> None:
    if _state:
        return
    import django
    from django.conf import settings

    databases: dict[str, Any] = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.path.join(ctx.workdir, "django.db"),
            "CONN_MAX_AGE": None,
        }
    }
    schema = ctx.unique("django_bench")
    if _pg_ready():
        from sqlalchemy.engine import make_url

        url = make_url(POSTGRES_URL)
        databases["pg"] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.database,
            "USER": url.username,
            "PASSWORD": url.password or "",
            "HOST": url.host,
            "PORT": url.port or 5432,
            "OPTIONS": {"options": f"-c search_path={schema}"},
            "CONN_MAX_AGE": None,
        }
    settings.configure(
        DEBUG=False,
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.sessions"],
        DATABASES=databases,
        DATABASE_ROUTERS=[f"{__name__}.Router"],
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "redis": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": ctx.unique("django_bench"),
            },
        },
        SESSION_COOKIE_AGE=int(IDLE_TIMEOUT),
        SESSION_COOKIE_SECURE=True,
        SESSION_FILE_PATH=os.path.join(ctx.workdir, "django_sessions"),
        USE_TZ=True,
    )
    os.makedirs(settings.SESSION_FILE_PATH, exist_ok=True)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "sessions", database="default", verbosity=0)
    if "pg" in databases:
        from django.db import connections

        with connections["pg"].cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        call_command("migrate", "sessions", database="pg", verbosity=0)
        _state["pg_schema"] = schema
    _state["configured"] = True


def _pg_ready() -> bool:
    from ..stores import _reachable

    return importlib.util.find_spec("psycopg") is not None and _reachable("127.0.0.1", 5432)


def cleanup() -> None:
    schema = _state.get("pg_schema")
    if schema:
        from django.db import connections

        with connections["pg"].cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connections["pg"].close()


class Router:
    """Sends the db session backend's queries to the database being measured."""

    target = "default"

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return Router.target if model._meta.app_label == "sessions" else None

    db_for_write = db_for_read


_next_number = counter()


def _session(request: Any) -> Any:
    return request.session if hasattr(request, "session") else sw.current()


def _view(kind: str) -> Callable[[Any], Any]:
    def view(request: Any) -> Any:
        from django.http import HttpResponse

        if kind == "init":
            init_view(_session(request))
        elif kind == "read":
            read_view(_session(request))
        elif kind == "write":
            _session(request)["counter"] = _next_number()
        return HttpResponse("ok")

    return view


def _urlpatterns() -> list[Any]:
    from django.urls import path

    return [path(name, _view(name)) for name in ("bare", "init", "read", "write")]


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":
        patterns = _urlpatterns()
        _THIS.urlpatterns = patterns  # type: ignore[attr-defined]
        return patterns
    raise AttributeError(name)


def _handler(middleware: list[str]) -> Any:
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler()


def bare() -> Batch:
    from ..driver import wsgi_environ, wsgi_request

    return repeat(wsgi_request(_handler([]), wsgi_environ("/bare")))


def sessionware(manager: sw.SessionManager, spec: StoreSpec, ctx: RunContext) -> Contestant:
    from django.conf import settings

    from sessionware.integrations import django as engine
    from sessionware.integrations.django import engine as state

    # The engine opens its store from the URL itself: a fresh target of the same
    # store (a dbm file or an in-process store cannot be shared with the manager's).
    url = spec.url(ctx)
    settings.SESSIONWARE_STORE = url
    state._current = None  # the /init request builds the manager of this URL

    def close() -> None:
        engine.close_stores()
        discard(spec, url)

    # What a sessionware user installs: its engine and its drop-in SessionMiddleware
    # (same request.session, same decisions as Django's, less work per request).
    contestant = _django(
        "sessionware (Django SESSION_ENGINE + SessionMiddleware)",
        engine.SessionStore,
        f"SESSION_ENGINE=sessionware.integrations.django, SESSIONWARE_STORE={spec.name} URL, "
        "MIDDLEWARE=[sessionware.integrations.django.SessionMiddleware]",
        middleware=engine.SessionMiddleware,
    )
    contestant.close = close
    # Two sessionware contestants (the store as it is, and with the near cache on)
    # run in the same rounds: each batch runs on its own manager.
    mine = state._current
    contestant.read = _pinned(contestant.read, mine)
    contestant.write = _pinned(contestant.write, mine)
    return contestant


def _pinned(batch: Batch, manager: Any) -> Batch:
    from sessionware.integrations.django import engine as state

    def pinned(count: int) -> object:
        state._current = manager
        return batch(count)

    return pinned


def _django(
    label: str,
    store_class: Any,
    note: str,
    database: str = "default",
    middleware: Any = None,
) -> Contestant:
    """``store_class`` behind Django's ``SessionMiddleware`` (or ``middleware``)."""
    from django.contrib.sessions.middleware import SessionMiddleware

    class Middleware(middleware or SessionMiddleware):  # type: ignore[misc]
        def __init__(self, get_response: Any) -> None:
            super().__init__(get_response)
            self.SessionStore = store_class

    name = "Middleware_" + "".join(c if c.isalnum() else "_" for c in label)
    setattr(_THIS, name, Middleware)
    app = _handler([f"{__name__}.{name}"])
    Router.target = database  # the /init request too
    contestant = wsgi_contestant(
        label, app, "sessionid", note + "; SESSION_SAVE_EVERY_REQUEST=False (default)"
    )
    contestant.read = _routed(contestant.read, database)
    contestant.write = _routed(contestant.write, database)
    return contestant


def _routed(batch: Batch, database: str) -> Batch:
    def routed(count: int) -> object:
        Router.target = database
        return batch(count)

    return routed


def peers(store: str, ctx: RunContext) -> Iterator[Contestant | Skip]:
    from django.contrib.sessions.backends import cache, db, file, signed_cookies

    if store == "memory":
        yield _django(
            "Django cache (LocMemCache)", cache.SessionStore, "SESSION_ENGINE=cache, LocMemCache"
        )
        yield _django(
            "Django signed_cookies (no store; reference)",
            signed_cookies.SessionStore,
            "SESSION_ENGINE=signed_cookies: the session lives in the cookie",
        )
    elif store == "files":
        yield _django("Django file", file.SessionStore, "SESSION_ENGINE=file, temp dir")
    elif store == "sqlite":
        yield _django(
            "Django db (sqlite)",
            db.SessionStore,
            "SESSION_ENGINE=db on sqlite3, CONN_MAX_AGE=None (persistent connection)",
        )
    elif store == "postgresql":
        if "pg_schema" in _state:
            yield _django(
                "Django db (postgresql)",
                db.SessionStore,
                "SESSION_ENGINE=db on PostgreSQL (psycopg 3), own schema, CONN_MAX_AGE=None",
                "pg",
            )
        else:
            yield Skip("Django db (postgresql)", "PostgreSQL or psycopg unavailable")
    elif store == "redis":

        class RedisCacheStore(cache.SessionStore):
            def __init__(self, session_key: str | None = None) -> None:
                super().__init__(session_key)
                from django.core.cache import caches

                self._cache = caches["redis"]

        yield _django(
            "Django cache (RedisCache)",
            RedisCacheStore,
            "SESSION_ENGINE=cache with django.core.cache.backends.redis.RedisCache",
        )
    elif store == "mariadb":
        yield Skip("Django db (mariadb)", "Django's MySQL backend needs mysqlclient, not installed")

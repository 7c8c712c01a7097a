"""Flask: Flask-Session backends vs sessionware under the same minimal Flask app."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import sessionware as sw

from ..payload import IDLE_TIMEOUT, SECRET
from ..stores import MYSQL_URL, POSTGRES_URL, REDIS_URL, RunContext, StoreSpec
from ..timing import Batch, repeat
from . import Contestant, Skip, counter, init_view, read_view, wsgi_contestant

NAME = "Flask"


def available() -> str | None:
    return None if importlib.util.find_spec("flask") else "Flask is not installed"


def _app(get_session: Callable[[], Any], config: dict[str, Any] | None = None) -> Any:
    import flask
    from flask.sessions import SessionInterface

    class NoSessions(SessionInterface):
        """Flask without its cookie session: the baseline, and the app sessionware's
        WSGI middleware wraps (as sessionware's Flask integration would replace it)."""

        def open_session(self, app: Any, request: Any) -> None:
            return None

        def save_session(self, app: Any, session: Any, response: Any) -> None:
            return None

    app = flask.Flask("sessionware_bench")
    app.config.update(SECRET_KEY=SECRET, **(config or {}))
    if config is None:
        app.session_interface = NoSessions()
    next_number = counter()

    @app.get("/bare")
    def bare() -> str:
        return "ok"

    @app.get("/init")
    def init() -> str:
        init_view(get_session())
        return "ok"

    @app.get("/read")
    def read() -> str:
        read_view(get_session())
        return "ok"

    @app.get("/write")
    def write() -> str:
        get_session()["counter"] = next_number()
        return "ok"

    return app


def setup(ctx: RunContext) -> None:
    pass


def cleanup() -> None:
    pass


def bare() -> Batch:
    from ..driver import wsgi_environ, wsgi_request

    return repeat(wsgi_request(_app(lambda: None), wsgi_environ("/bare")))


def sessionware(manager: sw.SessionManager, spec: StoreSpec, ctx: RunContext) -> Contestant:
    import flask

    from sessionware.integrations.flask import init_app

    app = _app(lambda: flask.session, {"SESSION_COOKIE_SECURE": True})
    init_app(app, manager)
    return wsgi_contestant(
        "sessionware (Flask integration)",
        app,
        "session",
        "sessionware.integrations.flask.init_app(app, manager): flask.session backed by the "
        "benchmark's store, idle_timeout=1800",
    )


def _flask_session(
    label: str, config: dict[str, Any], note: str, close: Callable[[], None] = lambda: None
) -> Contestant:
    import flask
    import flask_session

    base = {
        "SESSION_PERMANENT": True,
        "SESSION_USE_SIGNER": False,
        "PERMANENT_SESSION_LIFETIME": timedelta(seconds=IDLE_TIMEOUT),
        "SESSION_COOKIE_SECURE": True,
    }
    base.update(config)
    app = _app(lambda: flask.session, base)
    flask_session.Session(app)
    return wsgi_contestant(label, app, "session", note + "; other settings default", close)


def peers(store: str, ctx: RunContext) -> Iterator[Contestant | Skip]:
    if importlib.util.find_spec("flask_session") is None:
        yield Skip("Flask-Session", "flask-session is not installed (the bench extra)")
        return
    if store == "memory":
        from cachelib import SimpleCache

        yield _flask_session(
            "Flask-Session cachelib SimpleCache",
            {"SESSION_TYPE": "cachelib", "SESSION_CACHELIB": SimpleCache()},
            "SESSION_TYPE=cachelib, SimpleCache()",
        )
    elif store == "files":
        from cachelib import FileSystemCache

        directory = os.path.join(ctx.workdir, ctx.unique("flask_session"))
        yield _flask_session(
            "Flask-Session cachelib FileSystemCache",
            {
                "SESSION_TYPE": "cachelib",
                "SESSION_CACHELIB": FileSystemCache(directory, threshold=500),
            },
            "SESSION_TYPE=cachelib, FileSystemCache(dir, threshold=500) as documented",
        )
    elif store == "redis":
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        prefix = ctx.unique("flask_session") + ":"
        yield _flask_session(
            "Flask-Session redis",
            {"SESSION_TYPE": "redis", "SESSION_REDIS": client, "SESSION_KEY_PREFIX": prefix},
            "SESSION_TYPE=redis, redis-py client (hiredis), unique SESSION_KEY_PREFIX",
            lambda: _delete_prefix(client, prefix),
        )
    elif store in ("sqlite", "postgresql", "mariadb"):
        yield from _sqlalchemy(store, ctx)


def _sqlalchemy(store: str, ctx: RunContext) -> Iterator[Contestant | Skip]:
    if importlib.util.find_spec("flask_sqlalchemy") is None:
        yield Skip("Flask-Session sqlalchemy", "flask-sqlalchemy is not installed")
        return
    url = {
        "sqlite": "sqlite:///" + os.path.join(ctx.workdir, ctx.unique("flask_session") + ".db"),
        "postgresql": POSTGRES_URL,
        "mariadb": MYSQL_URL,
    }[store]
    table = ctx.unique("flask_sessions")
    config = {
        "SESSION_TYPE": "sqlalchemy",
        "SQLALCHEMY_DATABASE_URI": url,
        "SESSION_SQLALCHEMY_TABLE": table,
    }

    def drop() -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()

    yield _flask_session(
        "Flask-Session sqlalchemy",
        config,
        f"SESSION_TYPE=sqlalchemy (Flask-SQLAlchemy), {store}, own table",
        drop,
    )


def _delete_prefix(client: Any, prefix: str) -> None:
    for key in client.scan_iter(match=prefix + "*", count=1000):
        client.unlink(key)
    client.close()

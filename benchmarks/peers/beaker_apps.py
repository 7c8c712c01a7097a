"""Beaker: its SessionMiddleware (plain WSGI) vs sessionware's WSGI middleware."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sessionware as sw

from ..payload import IDLE_TIMEOUT, SECRET
from ..stores import MYSQL_URL, POSTGRES_URL, REDIS_URL, RunContext, StoreSpec
from ..timing import Batch, repeat
from . import Contestant, Skip, counter, init_view, read_view, wsgi_contestant

NAME = "plain WSGI"
_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "2")]


def available() -> str | None:
    return None


def _app(get_session: Callable[[dict[str, Any]], Any], save: bool) -> Any:
    next_number = counter()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path != "/bare":
            session = get_session(environ)
            if path == "/init":
                init_view(session)
            elif path == "/read":
                read_view(session)
            else:
                session["counter"] = next_number()
            if save and path != "/read":
                session.save()
        start_response("200 OK", list(_HEADERS))
        return [b"ok"]

    return app


def setup(ctx: RunContext) -> None:
    pass


def cleanup() -> None:
    pass


def bare() -> Batch:
    from ..driver import wsgi_environ, wsgi_request

    return repeat(wsgi_request(_app(lambda environ: None, False), wsgi_environ("/bare")))


def sessionware(manager: sw.SessionManager, spec: StoreSpec, ctx: RunContext) -> Contestant:
    app = sw.wsgi.SessionMiddleware(_app(lambda e: e["sessionware.session"], False), manager)
    return wsgi_contestant("sessionware (WSGI middleware)", app, "session", "sessionware.wsgi")


def _beaker(
    label: str, options: dict[str, Any], note: str, close: Callable[[], None] = lambda: None
) -> Contestant:
    from beaker.middleware import SessionMiddleware

    settings = {
        "session.key": "beaker.session.id",
        "session.secret": SECRET,
        "session.timeout": int(IDLE_TIMEOUT),
        "session.httponly": True,
        "session.secure": False,
        "session.data_serializer": "json",
    }
    settings.update(options)
    app = SessionMiddleware(_app(lambda e: e["beaker.session"], True), settings)
    return wsgi_contestant(
        label,
        app,
        "beaker.session.id",
        note + "; session.timeout=1800, data_serializer=json, signed id, explicit save() on writes",
        close,
    )


def peers(store: str, ctx: RunContext) -> Iterator[Contestant | Skip]:
    if importlib.util.find_spec("beaker") is None:
        yield Skip("Beaker", "beaker is not installed (the bench extra)")
        return
    if store == "memory":
        yield _beaker("Beaker memory", {"session.type": "memory"}, "session.type=memory")
    elif store in ("files", "dbm"):
        kind = "file" if store == "files" else "dbm"
        directory = os.path.join(ctx.workdir, ctx.unique("beaker"))
        yield _beaker(
            f"Beaker {kind}",
            {
                "session.type": kind,
                "session.data_dir": directory,
                "session.lock_dir": directory + "-lock",
            },
            f"session.type={kind}, data_dir and lock_dir in a temp dir",
        )
    elif store == "redis":
        yield _beaker(
            "Beaker ext:redis",
            {"session.type": "ext:redis", "session.url": REDIS_URL},
            "session.type=ext:redis (redis-py), keys expire with the timeout",
        )
    elif store in ("sqlite", "postgresql", "mariadb"):
        url = {
            "sqlite": "sqlite:///" + os.path.join(ctx.workdir, ctx.unique("beaker") + ".db"),
            "postgresql": POSTGRES_URL,
            "mariadb": MYSQL_URL,
        }[store]
        table = ctx.unique("beaker_cache")
        try:
            yield _beaker(
                "Beaker ext:database",
                {"session.type": "ext:database", "session.url": url, "session.table_name": table},
                f"session.type=ext:database (SQLAlchemy), {store}, own table",
                lambda: _drop(url, table),
            )
        except Exception as exc:
            yield Skip("Beaker ext:database", f"does not run here: {type(exc).__name__}: {exc}")


def _drop(url: str, table: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()

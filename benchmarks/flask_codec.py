"""Flask's tagged JSON codec vs the JSON codec, on the request benchmark's shape.

``python -m benchmarks.flask_codec [--quick] [--stores memory,sqlite]``

The same 1 KB session, read-only and writing requests, through the Flask
integration and through ``sessionware.wsgi.SessionMiddleware`` (scenario 2), with
a manager on the JSON codec and one on ``TaggedJSONCodec``, all side by side in
the same rounds. Reported: each request's session cost (median per-round
difference from the bare app) and the tagged codec's extra cost over JSON, in µs
and as a share of the JSON session cost. The Flask integration makes the tagged
codec its default only while that share stays within 10 %.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

import sessionware as sw
from sessionware.integrations.flask import TaggedJSONCodec, init_app
from sessionware.wsgi import SessionMiddleware

from .context import stored_session
from .driver import wsgi_environ, wsgi_request
from .payload import IDLE_TIMEOUT, SECRET
from .scenarios.per_request import bare_app, make_write_app, read_app
from .timing import Batch, Budget, compare_batches, repeat

BUDGETS = {
    "full": Budget(rounds=201, round_ms=10, warmup_ms=200),
    "quick": Budget(rounds=15, round_ms=30, warmup_ms=60),
}
CODECS = ("json", "flask")
#: The tagged codec may cost at most this share of the JSON session cost.
DEFAULT_THRESHOLD = 0.10


def _manager(url: str, codec: str) -> sw.SessionManager:
    chosen: Any = TaggedJSONCodec() if codec == "flask" else "json"
    return sw.SessionManager(
        sw.open_store(url), secret_key=SECRET, idle_timeout=IDLE_TIMEOUT, codec=chosen
    )


def _flask_app(manager: sw.SessionManager | None) -> Any:
    import flask
    from flask.sessions import SessionInterface

    class NoSessions(SessionInterface):
        def open_session(self, app: Any, request: Any) -> None:
            return None

        def save_session(self, app: Any, session: Any, response: Any) -> None:
            return None

    app = flask.Flask("sessionware_codec_bench")
    app.config.update(SECRET_KEY=SECRET, SESSION_COOKIE_SECURE=True)
    numbers = count()

    @app.get("/read")
    def read() -> str:
        flask.session.get("user")
        return "ok"

    @app.get("/write")
    def write() -> str:
        flask.session["counter"] = next(numbers)
        return "ok"

    app.add_url_rule("/bare", "bare", lambda: "ok")
    if manager is None:
        app.session_interface = NoSessions()
    else:
        init_app(app, manager)
    return app


def contenders(url: str) -> tuple[dict[str, Batch], list[sw.SessionManager]]:
    batches: dict[str, Batch] = {
        "flask bare": repeat(wsgi_request(_flask_app(None), wsgi_environ("/bare"))),
        "wsgi bare": repeat(wsgi_request(bare_app, wsgi_environ())),
    }
    managers = []
    for codec in CODECS:
        manager = _manager(url, codec)
        managers.append(manager)
        cookie = stored_session(manager)
        app = _flask_app(manager)
        for what in ("read", "write"):
            environ = wsgi_environ(f"/{what}", cookie=cookie)
            batches[f"flask {what} {codec}"] = repeat(wsgi_request(app, environ))
        environ = wsgi_environ(cookie=cookie)
        middleware: dict[str, Callable[..., Iterable[bytes]]] = {
            "read": SessionMiddleware(read_app, manager),
            "write": SessionMiddleware(make_write_app(), manager),
        }
        for what, wrapped in middleware.items():
            batches[f"wsgi {what} {codec}"] = repeat(wsgi_request(wrapped, environ))
    return batches, managers


def measure(url: str, budget: Budget) -> list[dict[str, Any]]:
    batches, managers = contenders(url)
    try:
        result = compare_batches(batches, budget)
    finally:
        for manager in managers:
            manager.close()
    rows = []
    for path in ("flask", "wsgi"):
        for what in ("read", "write"):
            json_us = result.difference_us(f"{path} {what} json", f"{path} bare")
            flask_us = result.difference_us(f"{path} {what} flask", f"{path} bare")
            extra = result.difference_us(f"{path} {what} flask", f"{path} {what} json")
            rows.append(
                {
                    "path": path,
                    "request": what,
                    "json_us": json_us,
                    "flask_us": flask_us,
                    "extra_us": extra,
                    "extra_share": extra / json_us if json_us > 0 else float("inf"),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--stores", default="memory,sqlite")
    args = parser.parse_args(argv)
    budget = BUDGETS["quick" if args.quick else "full"]
    with tempfile.TemporaryDirectory() as workdir:
        for store in args.stores.split(","):
            url = "memory://" if store == "memory" else f"sqlite:///{os.path.join(workdir, 's.db')}"
            print(f"{store}: session cost per request (µs), JSON vs Flask tagged JSON")
            for row in measure(url, budget):
                print(
                    f"  {row['path']:5} {row['request']:5}  json {row['json_us']:6.1f}"
                    f"  flask {row['flask_us']:6.1f}  extra {row['extra_us']:+5.1f}"
                    f" ({row['extra_share']:+.0%})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

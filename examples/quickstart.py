"""A counter kept in a server-side session: the smallest sessionware program.

Run it: python examples/quickstart.py   (then open http://127.0.0.1:8000/ and reload)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any
from wsgiref.simple_server import make_server

import sessionware as sw

store = sw.open_store("memory://")
# In a real app the secret comes from configuration, never from source code.
SECRET_KEY = os.environ.get("SESSION_SECRET", "development only: not secret, change it")
manager = sw.SessionManager(store, secret_key=SECRET_KEY)


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    session = sw.current()
    session["visits"] = session.get("visits", 0) + 1
    body = f"You have been here {session['visits']} time(s).\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


wrapped = sw.wsgi.SessionMiddleware(app, manager, secure=False)  # plain http on localhost

if __name__ == "__main__":
    if "--once" in sys.argv:  # a self-check: two requests through the middleware
        from wsgiref.util import setup_testing_defaults

        cookie = ""
        for _ in range(2):
            environ: dict[str, Any] = {"HTTP_COOKIE": cookie}
            setup_testing_defaults(environ)
            sent: list[tuple[str, str]] = []

            def start_response(
                status: str, headers: list[tuple[str, str]], exc: Any = None, sent: Any = sent
            ) -> Any:
                sent.extend(headers)

            body = b"".join(wrapped(environ, start_response))
            cookie = next((v.split(";")[0] for k, v in sent if k == "Set-Cookie"), cookie)
            print(body.decode().strip())
        sys.exit(0)
    with make_server("127.0.0.1", 8000, wrapped) as server:
        print("serving on http://127.0.0.1:8000/ (Ctrl-C to stop)")
        server.serve_forever()

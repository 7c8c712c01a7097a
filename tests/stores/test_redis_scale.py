"""Four worker processes x 2,000 requests through the WSGI middleware against one
standalone Redis: no lost sessions, no lost updates, no errors."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from werkzeug.test import Client

import sessionware as sw
from sessionware.wsgi import SessionMiddleware
from tests.conftest import SECRET

from .redis_helpers import unique_prefix

WORKERS = 4
REQUESTS = 2_000
SESSIONS_PER_WORKER = 25
SHARED_EVERY = 10  # every 10th request of a worker also bumps its key in one shared session


def counter_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``/incr`` adds one to the session's ``key`` (from the query) and returns it."""
    session = environ["sessionware.session"]
    key = environ.get("QUERY_STRING") or "n"
    if environ["PATH_INFO"] == "/incr":
        session[key] = session.get(key, 0) + 1
    body = str(session.get(key, 0)).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def make_app(url: str, prefix: str) -> tuple[SessionMiddleware, sw.SessionManager]:
    manager = sw.SessionManager(sw.open_store(url, prefix=prefix), secret_key=SECRET)
    return SessionMiddleware(counter_app, manager, secure=False), manager


def client_with_cookie(app: SessionMiddleware, cookie: str) -> Client:
    client = Client(app)
    client.set_cookie("session", cookie, domain="localhost")
    return client


def run_worker(url: str, prefix: str, worker: int, shared_cookie: str) -> dict[str, Any]:
    """One worker process: its own sessions, counted locally and checked at the end."""
    app, manager = make_app(url, prefix)
    clients = [Client(app) for _ in range(SESSIONS_PER_WORKER)]
    shared = client_with_cookie(app, shared_cookie)
    expected = [0] * SESSIONS_PER_WORKER
    problems: list[str] = []
    shared_count = 0
    for i in range(REQUESTS):
        slot = i % SESSIONS_PER_WORKER
        response = clients[slot].get("/incr")
        expected[slot] += 1
        if response.status_code != 200 or response.text != str(expected[slot]):
            problems.append(f"request {i}: {response.status_code} {response.text!r}")
        if i % SHARED_EVERY == 0:
            response = shared.get(f"/incr?w{worker}")
            shared_count += 1
            if response.status_code != 200 or response.text != str(shared_count):
                problems.append(f"shared {i}: {response.status_code} {response.text!r}")
    # Every session still holds exactly this worker's count.
    for slot, client in enumerate(clients):
        response = client.get("/read")
        if response.text != str(expected[slot]):
            problems.append(f"session {slot}: read {response.text!r}, wrote {expected[slot]}")
    manager.close()
    return {"problems": problems[:20], "shared": shared_count}


@pytest.mark.slow
def test_four_processes_of_two_thousand_requests_lose_nothing(redis_url: str) -> None:
    prefix = unique_prefix("scale")
    app, manager = make_app(redis_url, prefix)
    try:
        first = Client(app).get("/incr?start")
        shared_cookie = first.headers["Set-Cookie"].split(";")[0].partition("=")[2]
        context = multiprocessing.get_context("spawn")
        with context.Pool(WORKERS) as pool:
            pending = pool.starmap_async(
                run_worker, [(redis_url, prefix, w, shared_cookie) for w in range(WORKERS)]
            )
            results = pending.get(timeout=150)
        assert [r["problems"] for r in results] == [[]] * WORKERS
        assert manager.store.count() == WORKERS * SESSIONS_PER_WORKER + 1
        # Concurrent writers to one session each kept their own key (compare-and-set).
        shared = client_with_cookie(app, shared_cookie)
        for worker, result in enumerate(results):
            assert shared.get(f"/read?w{worker}").text == str(result["shared"])
    finally:
        manager.store.delete_all()
        manager.close()

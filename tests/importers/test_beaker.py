"""From Beaker (its file store, writing real sessions through its own middleware)
to ``sessionware.wsgi``: ``sessionware import-sessions beaker``, then
``sessionware.integrations.beaker.TransitionMiddleware``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from beaker.middleware import SessionMiddleware as BeakerMiddleware
from beaker.session import SignedCookie
from werkzeug.test import Client

import sessionware as sw
from sessionware.importers.beaker import BACKENDS
from sessionware.integrations.beaker import TransitionMiddleware

from ..conftest import SECRET, CountingProxy
from .conftest import Import, tomorrow, yesterday

BEAKER_SECRET = "beaker-validate-secret"
BEAKER_COOKIE = "beaker.session.id"


def login(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    session = environ["beaker.session"]
    session["user"] = "ada"
    session["cart"] = [1, 2]
    session.save()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b""]


def whoami(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    session = sw.wsgi.session_of(environ)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{session.get('user')} {session.get('cart')}".encode()]


@pytest.fixture
def backend() -> str:
    """Beaker's back end (the first test runs them all)."""
    return "file"


@pytest.fixture
def source(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where that back end keeps its sessions, as ``--from`` names it."""
    if backend == "file":
        yield str(tmp_path / "beaker")
    elif backend == "ext:database":
        yield f"sqlite:///{tmp_path / 'beaker.db'}"
    else:
        # Beaker's Redis keys have no prefix: a database of the test's own.
        url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/13"
        yield url
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match="beaker_cache:*"):
            client.delete(key)  # the sessions this test's Beaker wrote
        client.close()


@pytest.fixture
def peer_cookie(backend: str, source: str, run_import: Import, target_url: str) -> str:
    """A user logged in under Beaker, whose sessions were then imported."""
    options = {
        "session.type": backend,
        "session.data_dir" if backend == "file" else "session.url": source,
        "session.secret": BEAKER_SECRET,
        "session.timeout": 3600,
    }
    client = Client(BeakerMiddleware(login, options))
    client.get("/")
    cookie = client.get_cookie(BEAKER_COOKIE)
    assert cookie is not None
    result = run_import(
        "beaker", target_url, "--from", source, "--backend", backend, "--timeout", "3600"
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "imported 1" in result.stdout
    assert "verified: 1 of 1" in result.stdout
    return cookie.value


@pytest.fixture
def make_client(target: CountingProxy) -> Iterator[Any]:
    managers = []

    def make(until: float) -> Client:
        manager = sw.SessionManager(target, secret_key=SECRET)
        managers.append(manager)
        app = TransitionMiddleware(
            whoami, manager, transition_until=until, beaker_secret=BEAKER_SECRET, secure=False
        )
        return Client(app)

    yield make
    for manager in managers:
        manager.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_user_logged_in_under_beaker_stays_logged_in(make_client: Any, peer_cookie: str) -> None:
    client = make_client(until=tomorrow())
    client.set_cookie(BEAKER_COOKIE, peer_cookie)
    response = client.get("/")
    assert response.text == "ada [1, 2]"
    cookies = response.headers.getlist("Set-Cookie")
    assert any(cookie.startswith("session=") for cookie in cookies)
    assert any(cookie.startswith(f"{BEAKER_COOKIE}=;") for cookie in cookies)  # deleted
    assert client.get_cookie(BEAKER_COOKIE) is None
    assert client.get("/").text == "ada [1, 2]"


def test_a_beaker_cookie_converts_once(make_client: Any, peer_cookie: str) -> None:
    first = make_client(until=tomorrow())
    first.set_cookie(BEAKER_COOKIE, peer_cookie)
    assert first.get("/").text == "ada [1, 2]"
    replay = make_client(until=tomorrow())
    replay.set_cookie(BEAKER_COOKIE, peer_cookie)
    assert replay.get("/").text == "None None"


def test_a_forged_beaker_cookie_gets_a_fresh_session_and_no_write(
    make_client: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_client(until=tomorrow())
    session_id = peer_cookie[40:]
    client.set_cookie(BEAKER_COOKIE, "0" * 40 + session_id)  # the right id, a forged signature
    writes = target.writes()
    assert client.get("/").text == "None None"
    assert target.writes() == writes
    assert target.calls_to("load") == 0  # refused before any lookup


def test_an_unknown_beaker_cookie_gets_a_fresh_session_and_no_write(
    make_client: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_client(until=tomorrow())
    _, unknown = SignedCookie(BEAKER_SECRET).value_encode("f" * 32)  # signed, never imported
    client.set_cookie(BEAKER_COOKIE, unknown)
    writes = target.writes()
    assert client.get("/").text == "None None"
    assert target.writes() == writes
    assert target.calls_to("load") == 1  # looked up among the imported sessions


def test_after_the_transition_a_beaker_cookie_is_refused(
    make_client: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_client(until=yesterday())
    client.set_cookie(BEAKER_COOKIE, peer_cookie)
    writes = target.writes()
    assert client.get("/").text == "None None"
    assert target.writes() == writes

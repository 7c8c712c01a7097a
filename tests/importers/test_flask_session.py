"""From Flask-Session (its Redis backend, writing real sessions) to sessionware's
Flask integration: ``sessionware import-sessions flask-session``, then the
integration's transition mode (``SESSIONWARE_TRANSITION_FROM = "flask-session"``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
import redis
from flask_session import Session as FlaskSessionExtension
from flask_sqlalchemy import SQLAlchemy

from sessionware.importers.flask_session import BACKENDS
from sessionware.integrations.flask import init_app

from ..conftest import SECRET, CountingProxy
from .conftest import Import, tomorrow, yesterday


def peer_app(backend: str, source: str, prefix: str, use_signer: bool) -> flask.Flask:
    """The app as it ran on Flask-Session: a login that Flask-Login would write."""
    app = flask.Flask("peer")
    app.config.update(
        SECRET_KEY=SECRET,
        SESSION_TYPE=backend,
        SESSION_KEY_PREFIX=prefix,
        SESSION_USE_SIGNER=use_signer,
    )
    if backend == "redis":
        app.config["SESSION_REDIS"] = redis.Redis.from_url(source)
    elif backend == "filesystem":
        app.config["SESSION_FILE_DIR"] = source
    else:
        app.config["SQLALCHEMY_DATABASE_URI"] = source
        app.config["SESSION_SQLALCHEMY"] = SQLAlchemy(app)
    FlaskSessionExtension(app)

    @app.post("/login")
    def login() -> str:
        flask.session["_user_id"] = "7"
        flask.session["cart"] = [1, 2]
        return flask.session.sid  # type: ignore[attr-defined,no-any-return]

    return app


@pytest.fixture
def backend() -> str:
    """Flask-Session's backend (the first test runs them all)."""
    return "redis"


@pytest.fixture
def use_signer() -> bool:
    """Flask-Session's SESSION_USE_SIGNER (deprecated there, still seen in the wild)."""
    return False


@pytest.fixture
def source(backend: str, redis_url: str, tmp_path: Path) -> str:
    """Where that backend keeps its sessions, as ``--from`` names it."""
    if backend == "redis":
        return redis_url
    if backend == "filesystem":
        return str(tmp_path / "flask_session")
    return f"sqlite:///{tmp_path / 'flask_session.db'}"


@pytest.fixture
def make_app(
    target: CountingProxy, redis_prefix: str, backend: str, use_signer: bool
) -> Iterator[Any]:
    """The app after the switch: sessionware, in transition mode until ``until``."""
    interfaces = []

    def make(until: float) -> flask.testing.FlaskClient:
        app = flask.Flask("switched")
        app.config.update(
            SECRET_KEY=SECRET,
            SESSION_TYPE=backend,
            SESSION_KEY_PREFIX=redis_prefix,
            SESSION_USE_SIGNER=use_signer,
            SESSIONWARE_TRANSITION_FROM="flask-session",
            SESSIONWARE_TRANSITION_UNTIL=until,
        )
        interfaces.append(init_app(app, store=target))

        @app.get("/whoami")
        def whoami() -> str:
            return f"{flask.session.get('_user_id')} {flask.session.get('cart')}"

        return app.test_client()

    yield make
    for interface in interfaces:
        interface.manager.close()


@pytest.fixture
def peer_cookie(
    backend: str,
    source: str,
    redis_prefix: str,
    use_signer: bool,
    run_import: Import,
    target_url: str,
) -> str:
    """A user logged in under Flask-Session, whose sessions were then imported."""
    client = peer_app(backend, source, redis_prefix, use_signer).test_client()
    sid = client.post("/login").text
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.value.startswith(sid)  # signed: "<sid>.<signature>"
    result = run_import(
        "flask-session", target_url, "--from", source, "--backend", backend,
        "--prefix", redis_prefix, "--codec", "flask",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "imported 1" in result.stdout
    assert "verified: 1 of 1" in result.stdout
    return cookie.value


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_user_logged_in_under_flask_session_stays_logged_in(
    make_app: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_app(until=tomorrow())
    client.set_cookie("session", peer_cookie)
    response = client.get("/whoami")
    assert response.text == "7 [1, 2]"
    new_cookie = client.get_cookie("session")
    assert new_cookie is not None
    assert new_cookie.value != peer_cookie  # a sessionware signed id now
    assert client.get("/whoami").text == "7 [1, 2]"
    assert len(target.ids_for_user("7")) == 1  # bound to the user: revoke_user finds it


def test_a_flask_session_cookie_converts_once(
    make_app: Any, peer_cookie: str, target: CountingProxy
) -> None:
    first = make_app(until=tomorrow())
    first.set_cookie("session", peer_cookie)
    assert first.get("/whoami").text == "7 [1, 2]"
    replay = make_app(until=tomorrow())
    replay.set_cookie("session", peer_cookie)
    assert replay.get("/whoami").text == "None None"


def test_a_forged_flask_session_cookie_gets_a_fresh_session_and_no_write(
    make_app: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_app(until=tomorrow())
    client.set_cookie("session", "x" * 43)
    writes = target.writes()
    assert client.get("/whoami").text == "None None"
    assert target.writes() == writes


def test_after_the_transition_a_flask_session_cookie_is_refused(
    make_app: Any, peer_cookie: str, target: CountingProxy
) -> None:
    client = make_app(until=yesterday())
    client.set_cookie("session", peer_cookie)
    writes = target.writes()
    assert client.get("/whoami").text == "None None"
    assert target.writes() == writes


def test_importing_again_skips_what_is_there(
    peer_cookie: str, run_import: Import, redis_url: str, redis_prefix: str, target_url: str
) -> None:
    result = run_import("flask-session", target_url, "--from", redis_url, "--prefix", redis_prefix)
    assert result.exit_code == 0, result.output
    assert "imported 0, already imported 1" in result.stdout
    assert "verified: 1 of 1" in result.stdout


@pytest.mark.parametrize("use_signer", [True])
def test_a_signed_flask_session_cookie_converts_and_a_forged_signature_does_not(
    make_app: Any, peer_cookie: str, target: CountingProxy
) -> None:
    forged = make_app(until=tomorrow())
    forged.set_cookie("session", peer_cookie[:-4] + "AAAA")
    assert forged.get("/whoami").text == "None None"
    assert target.calls_to("load") == 0  # refused before any lookup
    client = make_app(until=tomorrow())
    client.set_cookie("session", peer_cookie)
    assert client.get("/whoami").text == "7 [1, 2]"

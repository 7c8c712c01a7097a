"""From Flask's own signed cookie sessions to sessionware's Flask integration:
nothing to import (the cookie holds the data); the transition mode
(``SESSIONWARE_TRANSITION_FROM = "flask"``) reads the cookie as Flask does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flask
import pytest
from markupsafe import Markup

from sessionware.integrations.flask import init_app

from ..conftest import SECRET, CountingProxy
from .conftest import Import, deletions, tomorrow, yesterday


def peer_cookie(secret_key: str = SECRET) -> str:
    """The cookie Flask's cookie sessions gave a user who logged in."""
    app = flask.Flask("peer")
    app.secret_key = secret_key

    @app.post("/login")
    def login() -> str:
        flask.session["_user_id"] = "7"
        flask.session["greeting"] = Markup("<b>hi</b>")
        flask.session["pair"] = ("warning", "saved")
        return ""

    client = app.test_client()
    client.post("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


@pytest.fixture
def make_client(target: CountingProxy) -> Iterator[Any]:
    interfaces = []

    def make(until: float, **config: Any) -> flask.testing.FlaskClient:
        app = flask.Flask("switched")
        app.config.update(
            SECRET_KEY=SECRET,
            SESSIONWARE_TRANSITION_FROM="flask",
            SESSIONWARE_TRANSITION_UNTIL=until,
            **config,
        )
        interfaces.append(init_app(app, store=target))

        @app.get("/whoami")
        def whoami() -> str:
            session = flask.session
            greeting = session.get("greeting")
            return f"{session.get('_user_id')} {type(greeting).__name__} {session.get('pair')}"

        return app.test_client()

    yield make
    for interface in interfaces:
        interface.manager.close()


def test_a_user_logged_in_with_flasks_cookie_sessions_stays_logged_in(
    make_client: Any, target: CountingProxy
) -> None:
    client = make_client(until=tomorrow())
    old = peer_cookie()
    client.set_cookie("session", old)
    assert client.get("/whoami").text == "7 Markup ('warning', 'saved')"
    new = client.get_cookie("session")
    assert new is not None
    assert new.value != old
    assert client.get("/whoami").text == "7 Markup ('warning', 'saved')"
    assert len(target.ids_for_user("7")) == 1


def test_a_flask_cookie_of_another_name_is_deleted_once_converted(
    make_client: Any, target: CountingProxy
) -> None:
    client = make_client(
        until=tomorrow(), SESSION_COOKIE_NAME="sw", SESSIONWARE_TRANSITION_COOKIE="session"
    )
    client.set_cookie("session", peer_cookie())
    response = client.get("/whoami")
    assert response.text == "7 Markup ('warning', 'saved')"
    assert len(deletions(response.headers.getlist("Set-Cookie"), "session")) == 1
    assert client.get_cookie("session") is None
    assert client.get("/whoami").text == "7 Markup ('warning', 'saved')"  # on "sw" alone


def test_a_forged_flask_cookie_gets_a_fresh_session_and_no_write(
    make_client: Any, target: CountingProxy
) -> None:
    client = make_client(until=tomorrow())
    client.set_cookie("session", peer_cookie("another-secret-key-of-32-bytes-or-more!!"))
    assert client.get("/whoami").text == "None NoneType None"
    assert target.writes() == 0


def test_after_the_transition_a_flask_cookie_is_refused(
    make_client: Any, target: CountingProxy
) -> None:
    client = make_client(until=yesterday())
    client.set_cookie("session", peer_cookie())
    assert client.get("/whoami").text == "None NoneType None"
    assert target.writes() == 0


def test_flask_cookie_sessions_have_nothing_to_import(run_import: Import, target_url: str) -> None:
    result = run_import("flask", target_url)
    assert result.exit_code == 2
    assert "nothing to import" in result.output

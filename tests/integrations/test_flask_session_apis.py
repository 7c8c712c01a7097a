"""The Flask-Session APIs apps call, as Flask-Session documents them, with
sessionware's Flask integration: ``session.sid``,
``app.session_interface.regenerate(session)`` and ``SESSION_PERMANENT``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import flask
import pytest

from sessionware.integrations.flask import init_app

from ..conftest import SECRET


@pytest.fixture
def make_app() -> Iterator[Any]:
    interfaces = []

    def make(**config: Any) -> flask.Flask:
        app = flask.Flask(__name__)
        app.config.update(SECRET_KEY=SECRET, SESSIONWARE_STORE="memory://", **config)
        interfaces.append(init_app(app))

        @app.get("/set")
        def set_value() -> str:
            flask.session["value"] = "42"
            return flask.session.sid  # type: ignore[attr-defined,no-any-return]

        @app.get("/sid")
        def sid() -> str:
            return flask.session.sid  # type: ignore[attr-defined,no-any-return]

        @app.get("/login")
        def login() -> str:
            flask.session["user"] = "ada"
            app.session_interface.regenerate(flask.session)  # type: ignore[attr-defined]
            return ""

        @app.get("/get")
        def get_value() -> str:
            return f"{flask.session.get('value')} {flask.session.get('user')}"

        return app

    yield make
    for interface in interfaces:
        interface.manager.close()


def expires_of(response: Any) -> str | None:
    match = re.search(r"(?i)\bexpires=([^;]+)", response.headers["Set-Cookie"])
    return None if match is None else match.group(1)


def test_session_sid_names_one_session_across_its_requests(make_app: Any) -> None:
    client = make_app().test_client()
    sid = client.get("/set").text
    assert len(sid) >= 43  # 256 bits, url-safe
    assert client.get("/sid").text == sid
    assert make_app().test_client().get("/set").text != sid


def test_regenerate_gives_a_new_id_and_keeps_the_data(make_app: Any) -> None:
    # Flask-Session: "regenerate the session id ... to prevent session fixation".
    app = make_app()
    client = app.test_client()
    client.get("/set")
    old_cookie = client.get_cookie("session")
    assert old_cookie is not None
    response = client.get("/login")
    new_cookie = client.get_cookie("session")
    assert new_cookie is not None
    assert new_cookie.value != old_cookie.value
    assert "Set-Cookie" in response.headers
    assert client.get("/get").text == "42 ada"
    stale = app.test_client()
    stale.set_cookie("session", old_cookie.value)
    assert stale.get("/get").text == "None None"  # the old id is gone


def test_session_permanent_is_true_by_default_in_a_flask_session_app(make_app: Any) -> None:
    # Flask-Session: SESSION_PERMANENT "Default: True"; its apps set SESSION_TYPE.
    response = make_app(SESSION_TYPE="redis").test_client().get("/set")
    assert expires_of(response) is not None


def test_session_permanent_false_gives_a_browser_session_cookie(make_app: Any) -> None:
    response = make_app(SESSION_TYPE="redis", SESSION_PERMANENT=False).test_client().get("/set")
    assert expires_of(response) is None


def test_a_plain_flask_app_keeps_flasks_non_permanent_default(make_app: Any) -> None:
    assert expires_of(make_app().test_client().get("/set")) is None


def test_session_permanent_true_works_without_session_type(make_app: Any) -> None:
    assert expires_of(make_app(SESSION_PERMANENT=True).test_client().get("/set")) is not None

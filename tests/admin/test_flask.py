"""The admin as a Flask blueprint in an app whose sessions are sessionware's: an
administrator is a visitor whose Flask session says so."""

from __future__ import annotations

import flask
import pytest
from flask.testing import FlaskClient

import sessionware as sw
from sessionware.admin import AdminConfigurationError
from sessionware.admin.flask import blueprint
from sessionware.integrations.flask import SessionInterface

from .support import is_logged_out, logged_in, token_in


def is_admin(request: flask.Request) -> bool:
    return flask.session.get("role") == "admin"


@pytest.fixture
def app(manager: sw.SessionManager) -> flask.Flask:
    app = flask.Flask(__name__)
    app.session_interface = SessionInterface(manager)

    @app.post("/become-admin")
    def become_admin() -> str:
        flask.session["role"] = "admin"
        return "you are an administrator now"

    app.register_blueprint(blueprint(manager, authorize=is_admin), url_prefix="/sessions-admin")
    return app


@pytest.fixture
def admin(app: flask.Flask) -> FlaskClient:
    client = app.test_client()
    client.post("/become-admin")
    return client


def test_the_blueprint_refuses_to_be_made_without_an_authorizer(
    manager: sw.SessionManager,
) -> None:
    with pytest.raises(AdminConfigurationError):
        blueprint(manager)


def test_a_visitor_who_is_not_an_administrator_is_refused(app: flask.Flask) -> None:
    assert app.test_client().get("/sessions-admin/").status_code == 403


def test_the_authorizer_receives_flasks_request(manager: sw.SessionManager) -> None:
    seen: list[object] = []

    def authorize(request: object) -> bool:
        seen.append(request)
        return True

    app = flask.Flask(__name__)
    app.register_blueprint(blueprint(manager, authorize=authorize), url_prefix="/a")

    app.test_client().get("/a/")

    assert isinstance(seen[0], flask.Request)


def test_an_administrator_sees_the_page_under_the_blueprints_prefix(admin: FlaskClient) -> None:
    response = admin.get("/sessions-admin/")

    assert response.status_code == 200
    assert "Path=/sessions-admin/" in response.headers["Set-Cookie"]
    assert admin.get("/sessions-admin/static/admin.css").status_code == 200


def test_an_administrator_revokes_a_user(admin: FlaskClient, manager: sw.SessionManager) -> None:
    alice = logged_in(manager, "alice")
    token = token_in(admin.get("/sessions-admin/").text)

    response = admin.post(
        "/sessions-admin/revoke", json={"user": "alice"}, headers={"X-CSRF-Token": token}
    )

    assert response.get_json()["removed"] == 1
    assert is_logged_out(manager, alice)


def test_a_revoke_without_the_csrf_token_is_refused(
    admin: FlaskClient, manager: sw.SessionManager
) -> None:
    alice = logged_in(manager, "alice")
    admin.get("/sessions-admin/")

    response = admin.post("/sessions-admin/revoke", json={"user": "alice"})

    assert response.status_code == 403
    assert not is_logged_out(manager, alice)


def test_an_oversized_body_is_refused(admin: FlaskClient) -> None:
    token = token_in(admin.get("/sessions-admin/").text)

    response = admin.post(
        "/sessions-admin/revoke", data=b"x" * 20_000, headers={"X-CSRF-Token": token}
    )

    assert response.status_code == 413

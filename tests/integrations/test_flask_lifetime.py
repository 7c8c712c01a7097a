"""``PERMANENT_SESSION_LIFETIME`` with Flask's meaning: it slides.

Flask re-signs a permanent session's cookie on every request
(``SESSION_REFRESH_EACH_REQUEST``) and checks the signature's age against the
lifetime, so a session lives ``PERMANENT_SESSION_LIFETIME`` after its *last*
request. ``init_app`` keeps that meaning; ``SESSIONWARE_MAX_AGE`` caps it from
creation and ``SESSIONWARE_LIFETIME = "absolute"`` counts it from creation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import flask
import pytest

from sessionware.integrations.flask import init_app, manager_from_config
from sessionware.stores.memory import MemoryStore

from ..conftest import SECRET, Clock

HOUR = 3600


@pytest.fixture
def make_client(clock: Clock) -> Iterator[Any]:
    managers = []

    def make(**config: Any) -> flask.testing.FlaskClient:
        app = flask.Flask(__name__)
        app.config.update(
            SECRET_KEY=SECRET, PERMANENT_SESSION_LIFETIME=timedelta(hours=1), **config
        )
        manager = manager_from_config(
            app, MemoryStore(clock=clock), clock=clock, visit_tracker=False
        )
        managers.append(manager)
        init_app(app, manager)

        @app.get("/login")
        def login() -> str:
            flask.session.permanent = True
            flask.session["user"] = "ada"
            return ""

        @app.get("/")
        def whoami() -> str:
            return str(flask.session.get("user"))

        return app.test_client()

    yield make
    for manager in managers:
        manager.close()


def test_a_permanent_session_in_active_use_outlives_the_lifetime_from_creation(
    make_client: Any, clock: Clock
) -> None:
    client = make_client()
    client.get("/login")
    for _ in range(9):  # three hours, a request every 20 minutes
        clock.advance(HOUR / 3)
        assert client.get("/").text == "ada"


def test_a_session_ends_one_lifetime_after_its_last_request(make_client: Any, clock: Clock) -> None:
    client = make_client()
    client.get("/login")
    clock.advance(HOUR / 2)
    assert client.get("/").text == "ada"
    clock.advance(HOUR + 1)
    assert client.get("/").text == "None"


def test_sessionware_max_age_caps_an_active_session_from_creation(
    make_client: Any, clock: Clock
) -> None:
    client = make_client(SESSIONWARE_MAX_AGE=2 * HOUR)
    client.get("/login")
    for _ in range(5):  # 1 h 40 min
        clock.advance(HOUR / 3)
        assert client.get("/").text == "ada"
    clock.advance(HOUR / 3)  # 2 h after the login
    assert client.get("/").text == "None"


def test_an_absolute_lifetime_counts_from_creation(make_client: Any, clock: Clock) -> None:
    client = make_client(SESSIONWARE_LIFETIME="absolute")
    client.get("/login")
    clock.advance(HOUR / 2)
    assert client.get("/").text == "ada"
    clock.advance(HOUR / 2)
    assert client.get("/").text == "None"


def test_an_unknown_lifetime_meaning_is_refused() -> None:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SESSIONWARE_LIFETIME="forever")
    with pytest.raises(ValueError, match="SESSIONWARE_LIFETIME must be 'sliding' or 'absolute'"):
        manager_from_config(app, "memory://")

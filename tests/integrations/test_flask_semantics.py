"""Flask integration: the semantics Flask's own session tests check.

Each test states one behaviour of Flask's cookie sessions (``tests/test_basic.py``,
``test_testing.py`` in Flask's sdist) that sessionware's server-side sessions keep:
``accessed`` and ``Vary: Cookie``, keys from ``SECRET_KEY``/``SECRET_KEY_FALLBACKS``,
Flask's null session, ``session_transaction()``, and Flask's tagged values.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import flask
import pytest
from flask.globals import request_ctx
from flask.json.tag import JSONTag, TaggedJSONSerializer
from markupsafe import Markup

import sessionware as sw
from sessionware import cookie_io
from sessionware.core.codecs import JsonCodec
from sessionware.integrations.flask import SessionInterface, TaggedJSONCodec, init_app

from ..conftest import SECRET

OLD_KEY = "the-old-secret-key-of-this-flask-app-0001"
NEW_KEY = "the-new-secret-key-of-this-flask-app-0002"
OTHER_KEY = "another-secret-key-for-this-flask-app-003"


@pytest.fixture
def store() -> Iterator[Any]:
    store = sw.open_store("memory://")
    yield store
    store.close()


def app_on(store: Any, **config: Any) -> flask.Flask:
    """An app as ``init_app`` sets it up: keys from the app, Flask's tagged JSON."""
    app = flask.Flask(__name__)
    app.config.update(TESTING=True, **config)
    init_app(app, store=store)
    return app


def json_app(store: Any) -> flask.Flask:
    """An app whose own manager uses the plain JSON codec."""
    app = flask.Flask(__name__)
    app.testing = True
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None, codec="json")
    app.session_interface = SessionInterface(manager)
    return app


def cookie_value(client: Any) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    value: str = cookie.value
    return value


# -- accessed and Vary: Cookie ---------------------------------------------------------


def test_a_request_that_does_not_use_the_session_leaves_it_unaccessed(store: Any) -> None:
    app = app_on(store, SECRET_KEY=SECRET)
    app.add_url_rule("/nothing", "nothing", lambda: "")
    client = app.test_client()
    with client:
        response = client.get("/nothing")
        assert not request_ctx._session.accessed  # type: ignore[union-attr]
        assert not request_ctx._session.modified  # type: ignore[union-attr]
    assert "cookie" not in response.vary


def test_a_request_that_reads_the_session_is_accessed_and_varies(store: Any) -> None:
    app = app_on(store, SECRET_KEY=SECRET)
    app.add_url_rule("/", "read", lambda: str(flask.session.get("value")))
    client = app.test_client()
    with client:
        response = client.get("/")
        assert request_ctx._session.accessed  # type: ignore[union-attr]
        assert not request_ctx._session.modified  # type: ignore[union-attr]
    assert "cookie" in response.vary


# -- keys from the app: SECRET_KEY, SECRET_KEY_FALLBACKS, no key ------------------------


def rotating_app(store: Any) -> flask.Flask:
    app = app_on(store, SECRET_KEY=OLD_KEY)

    @app.post("/")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    app.add_url_rule("/", "read", lambda: dict(flask.session))
    return app


def test_a_cookie_signed_with_a_fallback_key_opens_the_same_session(store: Any) -> None:
    app = rotating_app(store)
    client = app.test_client()
    client.post("/")
    app.secret_key = NEW_KEY
    app.config["SECRET_KEY_FALLBACKS"] = [OLD_KEY]
    assert client.get("/").json == {"a": 1}


def test_a_cookie_signed_with_a_fallback_key_is_reissued_with_the_current_key(
    store: Any,
) -> None:
    app = rotating_app(store)
    client = app.test_client()
    client.post("/")
    old_cookie = cookie_value(client)
    app.secret_key = NEW_KEY
    app.config["SECRET_KEY_FALLBACKS"] = [OLD_KEY]
    response = client.get("/")  # reads only, and a browser (not permanent) session
    assert response.headers["Set-Cookie"].startswith("session=")
    new_cookie = cookie_value(client)
    assert new_cookie != old_cookie
    # The re-issued cookie needs no fallback: the old key can be retired.
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/").json == {"a": 1}


def test_a_fallback_signed_cookie_is_reissued_even_by_a_request_not_using_the_session(
    store: Any,
) -> None:
    app = rotating_app(store)
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    app.add_url_rule("/nothing", "nothing", lambda: "")
    client = app.test_client()
    client.post("/")
    old_cookie = cookie_value(client)
    app.secret_key = NEW_KEY
    app.config["SECRET_KEY_FALLBACKS"] = [OLD_KEY]
    response = client.get("/nothing")
    assert response.headers["Set-Cookie"].startswith("session=")
    assert cookie_value(client) != old_cookie
    assert "Set-Cookie" not in client.get("/nothing").headers  # once only


def test_a_cookie_signed_with_a_key_no_longer_listed_is_a_fresh_session(store: Any) -> None:
    app = rotating_app(store)
    client = app.test_client()
    client.post("/")
    app.secret_key = OTHER_KEY
    assert client.get("/").json == {}


def test_without_a_secret_key_flask_gives_its_null_session(store: Any) -> None:
    app = app_on(store)
    with app.test_request_context():
        assert flask.session.get("missing") is None
        with pytest.raises(RuntimeError, match="session is unavailable because no secret key"):
            flask.session["foo"] = 42
        with pytest.raises(RuntimeError, match="session is unavailable because no secret key"):
            flask.session.pop("foo")


def test_without_a_secret_key_session_transaction_says_no_session_opened(store: Any) -> None:
    app = app_on(store)
    with (
        app.test_client() as client,
        pytest.raises(RuntimeError, match="Session backend did not open a session"),
        client.session_transaction(),
    ):
        pass


def test_a_manager_of_ones_own_signs_without_an_app_secret(store: Any) -> None:
    app = json_app(store)  # no app.secret_key: the manager's key signs
    app.add_url_rule("/", "count", lambda: str(flask.session.setdefault("n", 7)))
    assert app.test_client().get("/").text == "7"


# -- Secure cookies --------------------------------------------------------------------


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cookie_io, "_warned_insecure", set())


@pytest.mark.usefixtures("fresh_warnings")
@pytest.mark.parametrize(
    ("secure", "scheme", "warned"), [(False, "https", 1), (False, "http", 0), (True, "https", 0)]
)
def test_a_cookie_without_secure_on_an_https_request_is_warned_about_once(
    store: Any, caplog: pytest.LogCaptureFixture, secure: bool, scheme: str, warned: int
) -> None:
    app = app_on(store, SECRET_KEY=SECRET, SESSION_COOKIE_SECURE=secure)
    app.add_url_rule("/", "set", lambda: str(flask.session.setdefault("n", 1)))
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        for _ in range(2):
            app.test_client().get("/", base_url=f"{scheme}://localhost")
    messages = [r.getMessage() for r in caplog.records if "Secure flag" in r.getMessage()]
    assert len(messages) == warned
    assert all(message.startswith("flask:") for message in messages)


# -- Flask's tagged values through init_app's default codec -------------------------------


def test_init_app_keeps_flasks_tagged_types_by_default(store: Any) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    the_uuid = uuid.uuid4()
    app = app_on(store, SECRET_KEY=SECRET)

    @app.get("/")
    def set_values() -> tuple[str, int]:
        flask.session.update(
            t=(1, 2, 3),
            b=b"\xff",
            m=Markup("<html>"),
            u=the_uuid,
            d=now,
            t_tag={" t": "not-a-tuple"},
            di_t_tag={" t__": "not-a-tuple"},
            di_tag={" di": "not-a-dict"},
        )
        return "", 204

    client = app.test_client()
    client.get("/")
    with client.session_transaction() as session:  # read back from the store
        assert session["t"] == (1, 2, 3)
        assert session["b"] == b"\xff"
        assert type(session["m"]) is Markup
        assert session["u"] == the_uuid
        assert session["d"] == now
        assert session["t_tag"] == {" t": "not-a-tuple"}
        assert session["di_t_tag"] == {" t__": "not-a-tuple"}
        assert session["di_tag"] == {" di": "not-a-dict"}


def flashing_app(app: flask.Flask) -> flask.Flask:
    @app.get("/")
    def index() -> str:
        flask.flash(Markup("<b>saved</b>"), "warning")
        flask.flash("plain")
        return ""

    @app.get("/show")
    def show() -> list[Any]:
        messages = flask.get_flashed_messages(with_categories=True)
        return [[type(pair).__name__, type(pair[1]).__name__, *pair] for pair in messages]

    return app


@pytest.mark.parametrize("make_app", ["init_app", "json manager"])
def test_flashed_markup_and_category_pairs_come_back_as_flashed(store: Any, make_app: str) -> None:
    app = app_on(store, SECRET_KEY=SECRET) if make_app == "init_app" else json_app(store)
    client = flashing_app(app).test_client()
    assert client.get("/").status_code == 200
    assert client.get("/show").json == [
        ["tuple", "Markup", "warning", "<b>saved</b>"],
        ["tuple", "str", "message", "plain"],
    ]
    assert client.get("/show").json == []


def test_with_the_json_codec_a_value_it_cannot_store_fails_at_assignment(store: Any) -> None:
    app = json_app(store)
    with (
        app.test_request_context(),
        pytest.raises(TypeError, match=r"'m' \(Markup\).*SESSIONWARE_CODEC = 'flask'"),
    ):
        flask.session["m"] = Markup("<b>bold</b>")


def test_with_the_json_codec_a_value_changed_in_place_fails_at_save_naming_the_codec(
    store: Any,
) -> None:
    app = json_app(store)

    @app.get("/")
    def index() -> str:
        flask.session.setdefault("items", [])
        flask.session["items"].append(Markup("<b>bold</b>"))
        return ""

    with pytest.raises(TypeError, match="SESSIONWARE_CODEC"):
        app.test_client().get("/")


def test_with_the_json_codec_values_json_keeps_are_stored_as_given(store: Any) -> None:
    app = json_app(store)
    app.add_url_rule("/", "set", lambda: str(flask.session.setdefault("cart", [1, {"a": None}])))
    app.add_url_rule("/read", "read", lambda: flask.session["cart"])
    client = app.test_client()
    client.get("/")
    assert client.get("/read").json == [1, {"a": None}]


# -- the codec itself -----------------------------------------------------------------


def test_the_tagged_codec_writes_plain_sessions_exactly_as_the_json_codec() -> None:
    data = {"user": "ada", "roles": ["reader"], "cart": [1, 2.5, None, True], "x": {"y": "z"}}
    assert TaggedJSONCodec().encode(data) == JsonCodec().encode(data)


def test_the_tagged_codec_reads_what_flasks_own_serializer_wrote() -> None:
    data = {"t": (1, (2, b"\x00")), "m": [Markup("<i>")], " t": {" di": 1}}
    payload = TaggedJSONSerializer().dumps(data).encode()
    assert TaggedJSONCodec().decode(payload) == data


def test_flask_reads_what_the_tagged_codec_wrote() -> None:
    data = {"u": uuid.UUID(int=7), "nested": {"t": (1,)}}
    assert TaggedJSONSerializer().loads(TaggedJSONCodec().encode(data).decode()) == data


def test_a_session_whose_only_key_looks_like_a_tag_round_trips() -> None:
    codec = TaggedJSONCodec()
    assert codec.decode(codec.encode({" t": [1, 2]})) == {" t": [1, 2]}


def test_a_tag_registered_on_the_codecs_serializer_is_used() -> None:
    class TagFrozenset(JSONTag):
        key = " fs"

        def check(self, value: Any) -> bool:
            return isinstance(value, frozenset)

        def to_json(self, value: Any) -> Any:
            return sorted(value)

        def to_python(self, value: Any) -> Any:
            return frozenset(value)

    codec = TaggedJSONCodec()
    codec.serializer.register(TagFrozenset, index=0)
    assert codec.decode(codec.encode({"f": frozenset({2, 1})})) == {"f": frozenset({1, 2})}


def test_a_value_neither_json_nor_a_tag_represents_is_a_type_error_at_encode() -> None:
    with pytest.raises(TypeError, match="object"):
        TaggedJSONCodec().encode({"o": object()})

"""Flask integration, driven through Flask's own test client.

Many tests follow the session tests in Flask's ``tests/test_basic.py``, so the
behaviour Flask users rely on with cookie sessions holds with server-side ones.
"""

from __future__ import annotations

import importlib.util
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import flask
import pytest
from markupsafe import Markup
from werkzeug.http import parse_date

import sessionware as sw
from sessionware.core.codecs import CodecError
from sessionware.integrations.flask import (
    FlaskSession,
    SessionInterface,
    TaggedJSONCodec,
    init_app,
)

from ..conftest import SECRET, CountingProxy

# The embedded sqlite store joins in once it is on main.
STORE_URLS = ["memory://"]
if importlib.util.find_spec("sessionware.stores.sqlite") is not None:
    STORE_URLS.append("sqlite")


@pytest.fixture(params=STORE_URLS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CountingProxy]:
    url = request.param
    if url == "sqlite":
        url = f"sqlite:///{tmp_path / 'sessions.db'}"
    store = CountingProxy(sw.open_store(url))
    yield store
    store.close()


@pytest.fixture
def manager(store: CountingProxy) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
    yield manager
    manager.close()


@pytest.fixture
def app(manager: sw.SessionManager) -> flask.Flask:
    app = flask.Flask(__name__)
    app.testing = True
    app.secret_key = SECRET
    app.session_interface = SessionInterface(manager)
    return app


@pytest.fixture
def client(app: flask.Flask) -> flask.testing.FlaskClient:
    return app.test_client()


def set_cookie_of(response: Any) -> str | None:
    value: str | None = response.headers.get("Set-Cookie")
    return value


# -- the basics ---------------------------------------------------------------------


def test_a_value_set_in_one_request_is_read_in_the_next(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.post("/set")
    def set_value() -> str:
        assert not flask.session.modified
        flask.session["value"] = flask.request.form["value"]
        assert flask.session.modified
        return "value set"

    @app.get("/get")
    def get_value() -> str:
        value: str = flask.session.get("value", "None")
        assert not flask.session.modified
        return value

    assert client.post("/set", data={"value": "42"}).data == b"value set"
    assert client.get("/get").data == b"42"


def test_the_cookie_carries_a_signed_id_and_the_data_stays_in_the_store(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    @app.get("/")
    def index() -> str:
        flask.session["secret_plan"] = "world domination"
        return ""

    cookie = set_cookie_of(client.get("/"))
    assert cookie is not None
    assert cookie.startswith("session=")
    assert "world" not in cookie
    assert store.count() == 1


def test_flask_session_wraps_the_sessionware_session_that_current_returns(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    seen: list[Any] = []

    @app.get("/")
    def index() -> str:
        wrapper = flask.session._get_current_object()  # type: ignore[attr-defined]
        assert isinstance(wrapper, FlaskSession)
        assert isinstance(wrapper, flask.sessions.SessionMixin)
        seen.append((wrapper.session, sw.current()))
        sw.current()["via_current"] = True
        return ""

    @app.get("/read")
    def read() -> str:
        return repr(flask.session.get("via_current"))

    client.get("/")
    assert seen[0][0] is seen[0][1]
    assert client.get("/read").data == b"True"


def test_current_is_reset_when_the_request_ends(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    app.add_url_rule("/", "index", lambda: "ok")
    client.get("/")
    with pytest.raises(LookupError):
        sw.current()


def test_current_is_reset_when_the_view_raises(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/")
    def index() -> str:
        raise RuntimeError("view failed")

    with pytest.raises(RuntimeError):
        client.get("/")
    with pytest.raises(LookupError):
        sw.current()


def test_one_interface_can_serve_several_apps(manager: sw.SessionManager) -> None:
    interface = SessionInterface(manager)
    for _ in range(3):
        app = flask.Flask(__name__)
        app.session_interface = interface
        app.add_url_rule("/", "index", lambda: repr(sw.current().get("x")))
        assert app.test_client().get("/").data == b"None"
        with pytest.raises(LookupError):
            sw.current()


def test_session_new_is_true_only_until_the_session_is_stored(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/")
    def index() -> str:
        was_new = flask.session.new
        flask.session["seen"] = True
        return repr(was_new)

    assert client.get("/").data == b"True"
    assert client.get("/").data == b"False"


# -- cookie settings (as in Flask's test_basic) -------------------------------------


def test_session_cookie_settings_come_from_flask_config(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    app.config.update(
        SERVER_NAME="www.example.com:8080",
        APPLICATION_ROOT="/test",
        SESSION_COOKIE_DOMAIN=".example.com",
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_NAME="app_session",
    )

    @app.get("/")
    def index() -> str:
        flask.session["testing"] = 42
        return "Hello World"

    cookie = client.get("/", "http://www.example.com:8080/test/").headers["Set-Cookie"].lower()
    assert cookie.startswith("app_session=")
    assert "domain=example.com" in cookie
    assert "path=/;" in cookie
    assert "secure" in cookie
    assert "httponly" not in cookie
    assert "samesite=lax" in cookie


@pytest.mark.parametrize("permanent", [False, True])
@pytest.mark.parametrize(
    "config",
    [
        {},
        {"SESSION_COOKIE_DOMAIN": "example.com", "SESSION_COOKIE_SECURE": True},
        {"SESSION_COOKIE_HTTPONLY": False, "SESSION_COOKIE_SAMESITE": "Strict"},
        {"SESSION_COOKIE_PATH": "/some path", "SESSION_COOKIE_PARTITIONED": True},
    ],
)
def test_the_set_cookie_header_is_the_one_werkzeug_renders(
    app: flask.Flask, client: flask.testing.FlaskClient, config: dict[str, Any], permanent: bool
) -> None:
    app.config.update(config)

    @app.get("/")
    def index() -> str:
        flask.session["a"] = 1
        flask.session.permanent = permanent
        return ""

    header = client.get("/").headers["Set-Cookie"]
    name, _, rest = header.partition("=")
    value = rest.split(";", 1)[0]
    expires = re.search(r"Expires=([^;]+)", header)
    expected = flask.Response()
    interface = app.session_interface
    expected.set_cookie(
        name,
        value,
        expires=expires.group(1) if expires else None,
        httponly=interface.get_cookie_httponly(app),
        domain=interface.get_cookie_domain(app),
        path=interface.get_cookie_path(app),
        secure=interface.get_cookie_secure(app),
        partitioned=interface.get_cookie_partitioned(app),
        samesite=interface.get_cookie_samesite(app),
    )
    assert header == expected.headers["Set-Cookie"]
    assert (expires is not None) == permanent


def test_the_cookie_path_follows_application_root(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    app.config.update(APPLICATION_ROOT="/bar")

    @app.get("/")
    def index() -> str:
        flask.session["testing"] = 42
        return "Hello World"

    cookie = client.get("/").headers["Set-Cookie"].lower()
    assert "path=/bar" in cookie


@pytest.mark.parametrize(("samesite", "expected"), [(None, None), ("Strict", "strict")])
def test_samesite_follows_config(
    app: flask.Flask,
    client: flask.testing.FlaskClient,
    samesite: str | None,
    expected: str | None,
) -> None:
    app.config.update(SESSION_COOKIE_SAMESITE=samesite)

    @app.get("/")
    def index() -> str:
        flask.session["testing"] = 42
        return ""

    cookie = client.get("/").headers["Set-Cookie"].lower()
    if expected is None:
        assert "samesite" not in cookie
    else:
        assert f"samesite={expected}" in cookie


def test_an_invalid_samesite_setting_is_an_error(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    app.config.update(SESSION_COOKIE_SAMESITE="invalid")

    @app.get("/")
    def index() -> str:
        flask.session["testing"] = 42
        return ""

    with pytest.raises(ValueError, match="SameSite"):
        client.get("/")


# -- permanence and refresh -----------------------------------------------------------


def test_a_permanent_session_cookie_expires_after_the_permanent_lifetime(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/")
    def index() -> str:
        flask.session["test"] = 42
        flask.session.permanent = True
        return ""

    @app.get("/test")
    def test() -> str:
        return str(flask.session.permanent)

    cookie = client.get("/").headers["Set-Cookie"]
    match = re.search(r"(?i)\bexpires=([^;]+)", cookie)
    assert match is not None
    expires = parse_date(match.group(1))
    assert expires is not None
    expected = datetime.now(timezone.utc) + app.permanent_session_lifetime
    assert abs(expires - expected) < timedelta(minutes=1)
    assert client.get("/test").data == b"True"


def test_a_non_permanent_session_gets_a_browser_session_cookie(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/")
    def index() -> str:
        flask.session["test"] = 42
        flask.session.permanent = False
        return ""

    cookie = client.get("/").headers["Set-Cookie"]
    assert not re.search(r"(?i)\bexpires=", cookie)
    assert "Max-Age" not in cookie


@pytest.mark.parametrize(
    ("permanent", "refresh_each_request", "expect_header"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_a_read_only_request_refreshes_the_cookie_only_for_permanent_sessions(
    app: flask.Flask,
    permanent: bool,
    refresh_each_request: bool,
    expect_header: bool,
) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh_each_request

    @app.get("/bump")
    def bump() -> str:
        value = flask.session["foo"] = flask.session.get("foo", 0) + 1
        flask.session.permanent = permanent
        return str(value)

    @app.get("/read")
    def read() -> str:
        return str(flask.session.get("foo", 0))

    client = app.test_client()
    assert client.get("/bump").data == b"1"
    first_cookie = client.get_cookie("session")
    assert client.get("/bump").data == b"2"
    assert client.get("/bump").data == b"3"
    response = client.get("/read")
    assert response.data == b"3"
    assert (response.headers.get("Set-Cookie") is not None) == expect_header
    # Refreshing re-sends the same id; it never changes while the session lives.
    assert first_cookie is not None
    assert client.get_cookie("session").value == first_cookie.value  # type: ignore[union-attr]


def test_a_request_that_does_not_touch_the_session_costs_no_store_round_trip(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False

    @app.get("/login")
    def login() -> str:
        flask.session["user"] = "ada"
        flask.session.permanent = True
        return ""

    app.add_url_rule("/static-page", "static_page", lambda: "static")
    client.get("/login")
    store.calls.clear()
    response = client.get("/static-page")
    assert store.calls == []
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


def test_an_untouched_permanent_session_is_refreshed_and_varies_as_flask_does(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    # Flask's test_session_refresh_vary: SESSION_REFRESH_EACH_REQUEST (on by
    # default) re-sends a permanent session's cookie on every request.
    @app.get("/login")
    def login() -> str:
        flask.session["user_id"] = 1
        flask.session.permanent = True
        return ""

    app.add_url_rule("/ignored", "ignored", lambda: "")
    first = client.get("/login").headers["Set-Cookie"]
    response = client.get("/ignored")
    assert response.headers["Vary"] == "Cookie"
    assert response.headers["Set-Cookie"].split(";")[0] == first.split(";")[0]
    assert "Expires=" in response.headers["Set-Cookie"]


def test_an_untouched_browser_session_is_neither_refreshed_nor_varied(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/login")
    def login() -> str:
        flask.session["user_id"] = 1
        return ""

    app.add_url_rule("/ignored", "ignored", lambda: "")
    client.get("/login")
    response = client.get("/ignored")
    assert "Set-Cookie" not in response.headers
    assert "Vary" not in response.headers


# -- modification and saving ------------------------------------------------------------


def test_changes_made_in_after_request_are_saved(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.after_request
    def modify_session(response: flask.Response) -> flask.Response:
        flask.session["foo"] = 42
        return response

    @app.get("/")
    def dump_session_contents() -> str:
        return repr(flask.session.get("foo"))

    assert client.get("/").data == b"None"
    assert client.get("/").data == b"42"


def test_in_place_changes_to_nested_values_are_saved_without_setting_modified(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/add/<int:item>")
    def add(item: int) -> str:
        flask.session.setdefault("cart", [])
        flask.session["cart"].append(item)
        return ""

    @app.get("/cart")
    def cart() -> str:
        return repr(flask.session.get("cart"))

    client.get("/add/1")
    client.get("/add/2")
    assert client.get("/cart").data == b"[1, 2]"


def test_setting_a_value_marks_the_session_modified_even_if_it_is_unchanged(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    @app.get("/again")
    def set_again() -> str:
        flask.session["a"] = 1
        return repr(flask.session.modified)  # as Flask's own session answers

    client.get("/set")
    response = client.get("/again")
    assert response.data == b"True"
    assert response.headers.get("Set-Cookie") is not None


def test_setting_modified_forces_a_save_of_unchanged_data(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    @app.get("/touch")
    def touch() -> str:
        flask.session.modified = True
        return ""

    client.get("/set")
    store.calls.clear()
    response = client.get("/touch")
    assert store.calls_to("save_if_version") == 1
    assert response.headers.get("Set-Cookie") is not None


def test_a_read_only_request_writes_nothing(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    app.add_url_rule("/read", "read", lambda: repr(flask.session.get("a")))
    client.get("/set")
    store.calls.clear()
    assert client.get("/read").data == b"1"
    assert store.writes() == 0


def test_a_session_that_stays_empty_gets_no_cookie_and_no_write(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    app.add_url_rule("/", "index", lambda: repr(flask.session.get("nothing")))
    response = client.get("/")
    assert response.data == b"None"
    assert "Set-Cookie" not in response.headers
    assert store.writes() == 0
    assert store.count() == 0


def test_clear_deletes_the_stored_session_and_the_cookie(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    @app.get("/logout")
    def logout() -> str:
        flask.session.clear()
        return ""

    client.get("/set")
    assert store.count() == 1
    response = client.get("/logout")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=;")
    assert "Expires=Thu, 01 Jan 1970" in cookie
    assert response.headers["Vary"] == "Cookie"
    assert store.count() == 0
    assert client.get_cookie("session") is None


def test_invalidating_through_the_manager_removes_the_cookie(
    app: flask.Flask, client: flask.testing.FlaskClient, manager: sw.SessionManager
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    @app.get("/logout")
    def logout() -> str:
        manager.invalidate(sw.current())
        return ""

    client.get("/set")
    response = client.get("/logout")
    assert response.headers["Set-Cookie"].startswith("session=;")
    assert client.get_cookie("session") is None


def test_regenerating_sends_a_new_cookie_and_keeps_the_data(
    app: flask.Flask, client: flask.testing.FlaskClient, manager: sw.SessionManager
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    @app.get("/login")
    def login() -> str:
        manager.login(sw.current(), "user-7")
        return ""

    app.add_url_rule("/read", "read", lambda: repr(flask.session.get("a")))
    client.get("/set")
    before = client.get_cookie("session")
    client.get("/login")
    after = client.get_cookie("session")
    assert before is not None
    assert after is not None
    assert before.value != after.value
    assert client.get("/read").data == b"1"
    assert manager.revoke_user("user-7") == 1


# -- Vary: Cookie (as in Flask's test_basic) -----------------------------------------------


@pytest.mark.parametrize(
    ("path", "vary"),
    [
        ("/set", "Cookie"),
        ("/get", "Cookie"),
        ("/getitem", "Cookie"),
        ("/setdefault", "Cookie"),
        ("/vary-cookie-header-set", "Cookie"),
        ("/vary-header-set", "Accept-Encoding, Accept-Language, Cookie"),
        ("/no-vary-header", None),
    ],
)
def test_responses_that_use_the_session_vary_on_cookie(
    app: flask.Flask, client: flask.testing.FlaskClient, path: str, vary: str | None
) -> None:
    @app.get("/set")
    def set_session() -> str:
        flask.session["test"] = "test"
        return ""

    @app.get("/get")
    def get() -> str:
        return str(flask.session.get("test"))

    @app.get("/getitem")
    def getitem() -> str:
        return str(flask.session["test"])

    @app.get("/setdefault")
    def setdefault() -> str:
        return str(flask.session.setdefault("test", "default"))

    @app.get("/vary-cookie-header-set")
    def vary_cookie_header_set() -> flask.Response:
        response = flask.Response()
        response.vary.add("Cookie")
        flask.session["test"] = "test"
        return response

    @app.get("/vary-header-set")
    def vary_header_set() -> flask.Response:
        response = flask.Response()
        response.vary.update(("Accept-Encoding", "Accept-Language"))
        flask.session["test"] = "test"
        return response

    app.add_url_rule("/no-vary-header", "no_vary_header", lambda: "")
    client.get("/set")
    response = client.get(path)
    if vary is None:
        assert "Vary" not in response.headers
    else:
        assert response.headers.get_all("Vary") == [vary]


# -- failures forget their changes -------------------------------------------------------


def test_a_5xx_response_saves_nothing(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    @app.get("/unavailable")
    def unavailable() -> tuple[str, int]:
        flask.session["n"] = 999
        return "try later", 503

    response = client.get("/unavailable")
    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
    assert store.writes() == 0


def test_a_5xx_response_keeps_the_stored_data(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["n"] = 1
        return ""

    @app.get("/fail")
    def fail() -> tuple[str, int]:
        flask.session["n"] = 999
        return "oops", 500

    app.add_url_rule("/read", "read", lambda: repr(flask.session.get("n")))
    client.get("/set")
    client.get("/fail")
    assert client.get("/read").data == b"1"


def test_an_exception_handled_as_a_500_saves_nothing(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    app.testing = False

    @app.get("/boom")
    def boom() -> str:
        flask.session["n"] = 999
        raise RuntimeError("view failed")

    response = client.get("/boom")
    assert response.status_code == 500
    assert store.writes() == 0


def test_an_exception_that_propagates_saves_nothing(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    forgotten: list[sw.Session] = []

    class Listener:
        def on_forget(self, session: sw.Session) -> None:
            forgotten.append(session)

    app.session_interface.manager.add_listener(Listener())  # type: ignore[attr-defined]

    @app.get("/boom")
    def boom() -> str:
        flask.session["n"] = 999
        raise RuntimeError("view failed")

    with pytest.raises(RuntimeError):
        client.get("/boom")
    assert store.writes() == 0
    assert len(forgotten) == 1


def test_a_value_the_codec_cannot_store_fails_the_request_and_stores_nothing(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    app.testing = False

    @app.get("/")
    def index() -> str:
        flask.session["obj"] = object()
        return ""

    assert client.get("/").status_code == 500
    assert store.count() == 0


def test_a_store_failure_while_saving_becomes_a_500(
    app: flask.Flask, manager: sw.SessionManager
) -> None:
    class BrokenSaves(sw.StoreProxy):
        def save_if_version(self, call: Any, record: Any, expected: int) -> bool:
            raise sw.StoreUnavailable("memory://", "store is down")

    broken: sw.StoreProxy = BrokenSaves(manager.store)
    manager.store = broken
    app.testing = False

    @app.get("/")
    def index() -> str:
        flask.session["a"] = 1
        return "ok"

    response = app.test_client().get("/")
    assert response.status_code == 500
    assert "Set-Cookie" not in response.headers


# -- bad cookies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cookie",
    ["garbage", "a.b.c", "x" * 5000, "", "eyJ0ZXN0Ijo0Mn0.ZZZ.signature"],
)
def test_a_forged_or_malformed_cookie_gives_a_fresh_session(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy, cookie: str
) -> None:
    app.add_url_rule("/", "index", lambda: repr(dict(flask.session)))
    assert client.get("/", headers={"Cookie": f"session={cookie}"}).data == b"{}"
    assert store.calls_to("load") == 0


def test_a_cookie_of_a_deleted_session_gives_a_fresh_session(
    app: flask.Flask, client: flask.testing.FlaskClient, store: CountingProxy
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["a"] = 1
        return ""

    app.add_url_rule("/read", "read", lambda: repr(dict(flask.session)))
    client.get("/set")
    store.delete_all()
    assert client.get("/read").data == b"{}"


# -- flashing (as in Flask's test_basic) --------------------------------------------------


def test_flash_marks_the_session_modified(app: flask.Flask) -> None:
    with app.test_request_context():
        assert not flask.session.modified
        flask.flash("Zap")
        assert flask.session.modified
        flask.flash("Zip")
        assert list(flask.get_flashed_messages()) == ["Zap", "Zip"]


def test_flashed_messages_survive_to_the_next_request_only(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/")
    def index() -> str:
        flask.flash("Hello World")
        flask.flash("Careful", "error")
        return ""

    @app.get("/show")
    def show() -> str:
        # Flashes are kept in Flask's tagged form with any codec: pairs stay tuples.
        pairs = cast("list[tuple[str, str]]", flask.get_flashed_messages(with_categories=True))
        return "; ".join(f"{category}: {message}" for category, message in pairs)

    client.get("/")
    assert client.get("/show").data == b"message: Hello World; error: Careful"
    assert client.get("/show").data == b""


# -- the test client's session_transaction ------------------------------------------------


def test_session_transaction_writes_a_session_the_next_request_reads(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    app.add_url_rule("/", "index", lambda: repr(flask.session.get("user")))
    with client.session_transaction() as session:
        session["user"] = "ada"
    assert client.get("/").data == b"'ada'"
    with client.session_transaction() as session:
        assert session["user"] == "ada"
    with pytest.raises(LookupError):
        sw.current()


# -- codecs ---------------------------------------------------------------------------


def test_the_default_json_codec_returns_values_in_their_json_form(
    app: flask.Flask, client: flask.testing.FlaskClient
) -> None:
    @app.get("/set")
    def set_value() -> str:
        flask.session["t"] = (1, 2, 3)
        return ""

    app.add_url_rule("/read", "read", lambda: repr(flask.session["t"]))
    client.get("/set")
    assert client.get("/read").data == b"[1, 2, 3]"


def test_the_tagged_json_codec_keeps_flasks_special_types(store: CountingProxy) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    the_uuid = uuid.uuid4()
    app = flask.Flask(__name__)
    app.testing = True
    manager = sw.SessionManager(
        store, secret_key=SECRET, idle_timeout=None, codec=TaggedJSONCodec()
    )
    app.session_interface = SessionInterface(manager)

    @app.get("/")
    def dump_session_contents() -> tuple[str, int]:
        flask.session["t"] = (1, 2, 3)
        flask.session["b"] = b"\xff"
        flask.session["m"] = Markup("<html>")
        flask.session["u"] = the_uuid
        flask.session["d"] = now
        flask.session["t_tag"] = {" t": "not-a-tuple"}
        return "", 204

    client = app.test_client()
    client.get("/")
    with client.session_transaction() as session:
        assert session["t"] == (1, 2, 3)
        assert session["b"] == b"\xff"
        assert type(session["m"]) is Markup
        assert session["u"] == the_uuid
        assert session["d"] == now
        assert session["t_tag"] == {" t": "not-a-tuple"}
    manager.close()


def test_the_tagged_json_codec_rejects_bytes_that_are_not_a_session() -> None:
    codec = TaggedJSONCodec()
    with pytest.raises(CodecError, match="not Flask tagged JSON"):
        codec.decode(b"[1, 2]")
    with pytest.raises(CodecError):
        codec.decode(b"{not json")


# -- init_app ----------------------------------------------------------------------------


def test_init_app_builds_a_manager_from_flask_config() -> None:
    app = flask.Flask(__name__)
    app.config.update(
        SECRET_KEY=SECRET,
        SESSIONWARE_STORE="memory://",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=2),
        SESSIONWARE_IDLE_TIMEOUT=600,
        SESSIONWARE_MAX_AGE=86400,
    )
    interface = init_app(app)
    assert app.session_interface is interface
    assert app.extensions["sessionware"] is interface
    policy = interface.manager.core.policy
    assert policy.max_age == 86400
    assert policy.idle_timeout == 600

    @app.get("/")
    def index() -> str:
        flask.session["n"] = flask.session.get("n", 0) + 1
        return str(flask.session["n"])

    client = app.test_client()
    assert client.get("/").data == b"1"
    assert client.get("/").data == b"2"
    interface.manager.close()


def test_init_app_accepts_a_store_or_a_url() -> None:
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = SECRET
    store = sw.open_store("memory://")
    assert init_app(app, store=store).manager.store is store
    assert init_app(app, store="memory://").manager.store is not store


def test_init_app_uses_a_given_manager(manager: sw.SessionManager) -> None:
    app = flask.Flask(__name__)
    assert init_app(app, manager).manager is manager


def test_without_a_secret_key_a_write_raises_flasks_own_error() -> None:
    # As with Flask's cookie sessions: the app starts, reads see an empty (null)
    # session, and the first write says what is missing.
    app = flask.Flask(__name__)
    app.config["SESSIONWARE_STORE"] = "memory://"
    init_app(app)
    with app.test_request_context():
        assert flask.session.get("missing") is None
        assert app.session_interface.is_null_session(flask.session._get_current_object())  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="session is unavailable because no secret key"):
            flask.session["user"] = "ada"


def test_a_secret_key_set_after_init_app_is_used() -> None:
    app = flask.Flask(__name__)
    app.config["SESSIONWARE_STORE"] = "memory://"
    init_app(app)
    app.secret_key = SECRET

    @app.get("/")
    def count() -> str:
        flask.session["n"] = flask.session.get("n", 0) + 1
        return str(flask.session["n"])

    client = app.test_client()
    assert client.get("/").text == "1"
    assert client.get("/").text == "2"


def test_init_app_refuses_a_short_secret_key_naming_the_setting() -> None:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="dev", SESSIONWARE_STORE="memory://")
    with pytest.raises(ValueError, match=r"SECRET_KEY.*32 bytes"):
        init_app(app)


def test_init_app_picks_flasks_tagged_json_codec_on_request() -> None:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, SESSIONWARE_CODEC="flask", SESSIONWARE_STORE="memory://")
    assert isinstance(init_app(app).manager.core.codec, TaggedJSONCodec)


def test_cookies_signed_with_a_fallback_secret_still_open() -> None:
    store = sw.open_store("memory://")
    old_app = flask.Flask(__name__)
    old_app.config["SECRET_KEY"] = "the-old-secret-key-long-enough-0000000"
    init_app(old_app, store=store)
    new_app = flask.Flask(__name__)
    new_app.config.update(
        SECRET_KEY="the-new-secret-key-long-enough-0000000",
        SECRET_KEY_FALLBACKS=["the-old-secret-key-long-enough-0000000"],
    )
    init_app(new_app, store=store)

    @old_app.get("/")
    def set_value() -> str:
        flask.session["user"] = "ada"
        return ""

    new_app.add_url_rule("/", "index", lambda: repr(flask.session.get("user")))
    old_client = old_app.test_client()
    old_client.get("/")
    cookie = old_client.get_cookie("session")
    assert cookie is not None
    new_client = new_app.test_client()
    new_client.set_cookie("session", cookie.value)
    assert new_client.get("/").data == b"'ada'"

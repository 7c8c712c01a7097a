"""The demo app, in-process through werkzeug's test client: the shop, CSRF, the
admin dashboard and its metrics feed; and ``sessionware demo``'s error paths."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

import sessionware as sw
from sessionware.cli.demo.app import DemoApp

from .conftest import Run, key_of, put, single_error_line

SECRET = "demo-test-secret-key-long-enough-000000"


@pytest.fixture
def store() -> Any:
    return sw.open_store("memory://")


@pytest.fixture
def app(store: Any) -> Iterator[DemoApp]:
    app = DemoApp(store, SECRET, store_url="memory://")
    yield app
    app.close()


def browser(app: DemoApp) -> Client:
    return Client(app)


def csrf_of(client: Client, path: str = "/") -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match is not None
    return match.group(1)


def post(client: Client, path: str, **form: str) -> TestResponse:
    token = form.pop("csrf", None)
    form["csrf"] = token if token is not None else csrf_of(client)
    return client.post(path, data=form)


def login(client: Client, name: str) -> None:
    response = post(client, "/login", name=name)
    assert response.status_code == 303


# -- the shop ----------------------------------------------------------------------------


def test_a_first_visit_shows_the_login_form(app: DemoApp) -> None:
    page = browser(app).get("/")

    assert page.status_code == 200
    assert 'id="login-form"' in page.text


def test_login_binds_the_session_to_the_user(app: DemoApp, store: Any) -> None:
    client = browser(app)

    login(client, "alice")

    assert 'Hello, <span id="user-name">alice</span>' in client.get("/").text
    assert len(store.ids_for_user("alice")) == 1


def test_login_gives_the_session_a_new_id(app: DemoApp) -> None:
    client = browser(app)
    client.get("/")
    before = client.get_cookie("session")
    assert before is not None

    login(client, "alice")

    after = client.get_cookie("session")
    assert after is not None
    assert after.value != before.value


def test_login_rotates_the_csrf_token(app: DemoApp) -> None:
    client = browser(app)
    before = csrf_of(client)

    login(client, "alice")

    assert csrf_of(client) != before


def test_a_post_without_the_csrf_token_is_forbidden(app: DemoApp, store: Any) -> None:
    client = browser(app)
    client.get("/")

    response = client.post("/login", data={"name": "alice"})

    assert response.status_code == 403
    assert store.ids_for_user("alice") == []


def test_a_csrf_token_of_another_session_is_forbidden(app: DemoApp, store: Any) -> None:
    attacker, victim = browser(app), browser(app)
    attackers_token = csrf_of(attacker)
    victim.get("/")

    response = post(victim, "/login", name="mallory", csrf=attackers_token)

    assert response.status_code == 403
    assert store.ids_for_user("mallory") == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 41, "tab\x07bell"])
def test_login_rejects_a_bad_name(app: DemoApp, name: str) -> None:
    client = browser(app)

    response = post(client, "/login", name=name)

    assert response.status_code == 400


def test_the_cart_keeps_items_in_the_session(app: DemoApp, store: Any) -> None:
    client = browser(app)
    post(client, "/cart/add", item="apple")
    post(client, "/cart/add", item="apple")
    post(client, "/cart/add", item="tea")
    post(client, "/cart/remove", item="apple")

    page = client.get("/").text

    assert re.search(r'data-item="apple">\s*<td>Apple</td>\s*<td class="num">1</td>', page)
    assert 'data-item="tea"' in page
    [key] = list(store.ids())
    assert b'"cart":{"apple":1,"tea":1}' in store.load(key).data


def test_the_cart_survives_logging_in(app: DemoApp) -> None:
    client = browser(app)
    post(client, "/cart/add", item="bread")

    login(client, "alice")

    assert 'data-item="bread"' in client.get("/").text


def test_adding_an_unknown_item_is_a_bad_request(app: DemoApp) -> None:
    client = browser(app)

    assert post(client, "/cart/add", item="<script>").status_code == 400


def test_an_oversized_form_is_refused(app: DemoApp) -> None:
    client = browser(app)

    response = post(client, "/login", name="a", padding="x" * 20_000)

    assert response.status_code == 413


def test_logout_deletes_the_session(app: DemoApp, store: Any) -> None:
    client = browser(app)
    login(client, "alice")

    response = post(client, "/logout")

    assert response.headers["Location"] == "/?notice=logged-out"
    assert store.count() == 0
    assert "You are logged out." in client.get(response.headers["Location"]).text


def test_logout_everywhere_ends_the_users_other_sessions(app: DemoApp, store: Any) -> None:
    laptop, phone, other = browser(app), browser(app), browser(app)
    login(laptop, "alice")
    login(phone, "alice")
    login(other, "bob")

    post(laptop, "/logout-everywhere")

    assert 'id="login-form"' in phone.get("/").text
    assert store.ids_for_user("alice") == []
    assert len(store.ids_for_user("bob")) == 1


def test_a_notice_parameter_cannot_inject_text(app: DemoApp) -> None:
    page = browser(app).get("/?notice=Your+account+is+locked").text

    assert "locked" not in page


def test_pages_carry_security_headers(app: DemoApp) -> None:
    response = browser(app).get("/")

    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_session_cookie_is_httponly_and_lax(app: DemoApp) -> None:
    response = browser(app).get("/")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_unknown_pages_are_404(app: DemoApp) -> None:
    assert browser(app).get("/nowhere").status_code == 404


# -- the admin dashboard ---------------------------------------------------------------------


def test_the_dashboard_lists_live_sessions(app: DemoApp) -> None:
    login(browser(app), "alice")
    login(browser(app), "bob")

    page = browser(app).get("/admin").text

    assert 'data-user="alice"' in page
    assert 'data-user="bob"' in page


def test_the_dashboard_searches_by_user(app: DemoApp) -> None:
    login(browser(app), "alice")
    login(browser(app), "bob")

    page = browser(app).get("/admin?user=ALI").text

    assert 'data-user="alice"' in page
    assert 'data-user="bob"' not in page


def test_the_dashboard_pages_the_table(app: DemoApp, store: Any) -> None:
    for n in range(25):
        put(store, n, user=f"user{n:02d}", created_ago=1000 - n)

    first = browser(app).get("/admin").text
    second = browser(app).get("/admin?page=2").text

    assert "page 1 of 2" in first
    assert 'data-user="user24"' in first  # newest first
    assert 'data-user="user00"' in second
    assert 'data-user="user24"' not in second


def test_revoking_a_user_from_the_dashboard_logs_them_out(app: DemoApp) -> None:
    user, admin = browser(app), browser(app)
    login(user, "alice")
    post(user, "/cart/add", item="apple")

    response = post(admin, "/admin/revoke", csrf=csrf_of(admin, "/admin"), user="alice")

    assert response.status_code == 303
    assert "Revoked 1 session(s) of alice." in admin.get("/admin").text
    page = user.get("/").text
    assert 'id="login-form"' in page
    assert 'id="cart-empty"' in page


def test_deleting_one_session_from_the_dashboard(app: DemoApp, store: Any) -> None:
    put(store, 1, user="alice")
    put(store, 2, user="alice")
    admin = browser(app)

    post(admin, "/admin/delete", csrf=csrf_of(admin, "/admin"), key=key_of(1))

    assert store.load(key_of(1)) is None
    assert store.load(key_of(2)) is not None


def test_deleting_a_malformed_key_is_a_bad_request(app: DemoApp, store: Any) -> None:
    put(store, 1)  # so that the table has a form to take the token from
    admin = browser(app)

    response = post(admin, "/admin/delete", csrf=csrf_of(admin, "/admin"), key="../x")

    assert response.status_code == 400


def test_admin_actions_need_the_csrf_token(app: DemoApp, store: Any) -> None:
    put(store, 1, user="alice")
    admin = browser(app)
    admin.get("/admin")

    response = admin.post("/admin/revoke", data={"user": "alice"})

    assert response.status_code == 403
    assert store.ids_for_user("alice") == [key_of(1)]


def test_the_metrics_feed_counts_requests_and_store_operations(app: DemoApp) -> None:
    client = browser(app)
    login(client, "alice")

    feed = client.get("/admin/metrics.json").json

    assert feed is not None
    assert feed["live_sessions"] == 1
    assert feed["snapshot"]["events"]["on_visit"] == 2  # the page with the form, the login
    assert feed["snapshot"]["operations"]["save_if_version"]["count"] >= 1
    assert {"p50_ms", "p95_ms", "p99_ms"} <= set(feed["snapshot"]["operations"]["load"])


def test_the_metrics_feed_does_not_measure_itself(app: DemoApp) -> None:
    client = browser(app)

    client.get("/admin/metrics.json")
    response = client.get("/admin/metrics.json")

    assert response.json is not None
    assert response.json["snapshot"]["events"]["on_visit"] == 0
    assert "Set-Cookie" not in response.headers


def test_static_files_are_served(app: DemoApp) -> None:
    response = browser(app).get("/static/dashboard.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"


@pytest.mark.parametrize("name", ["missing.js", "..%2fapp.py", "app.py"])
def test_other_static_names_are_404(app: DemoApp, name: str) -> None:
    assert browser(app).get(f"/static/{name}").status_code == 404


# -- the command -------------------------------------------------------------------------------


def test_demo_with_an_unknown_store_scheme_is_a_usage_error(run: Run) -> None:
    result = run("demo", "--store", "nosuchstore://x", "--port", "0")

    assert result.exit_code == 2
    assert single_error_line(result).startswith("Error: no session store")


def test_demo_on_a_port_in_use_fails_with_one_line(run: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run("demo", "--store", "memory://", "--port", str(port))

    assert result.exit_code == 1
    assert single_error_line(result).startswith(f"Error: cannot listen on 127.0.0.1:{port}")


def test_demo_with_a_store_in_a_missing_directory_fails_with_one_line(
    run: Run, tmp_path: Path
) -> None:
    result = run("demo", "--store", f"sqlite:///{tmp_path}/no/such/dir/s.db", "--port", "0")

    assert result.exit_code == 1
    assert single_error_line(result).startswith("Error: ")

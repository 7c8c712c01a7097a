"""The demo app, in-process through werkzeug's test client: the shop, CSRF, the
admin dashboard mounted at /admin/ (``sessionware.admin``, loopback clients only)
and its metrics feed; and ``sessionware demo``'s error paths."""

from __future__ import annotations

import json
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


def browser(app: DemoApp, address: str = "127.0.0.1", **headers: str) -> Client:
    """A browser on ``address`` (this machine by default), sending ``headers``."""

    def from_address(environ: dict[str, Any], start_response: Any) -> Any:
        environ["REMOTE_ADDR"] = address
        for name, value in headers.items():
            environ[f"HTTP_{name.upper()}"] = value
        return app(environ, start_response)

    return Client(from_address)


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


# -- what a stray hit leaves ------------------------------------------------------------------


def test_the_favicon_is_served_without_a_session(app: DemoApp, store: Any) -> None:
    response = browser(app).get("/favicon.ico")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "Set-Cookie" not in response.headers
    assert store.count() == 0


def test_a_404_page_stores_no_session(app: DemoApp, store: Any) -> None:
    response = browser(app).get("/no/such/page")

    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers
    assert store.count() == 0


def test_a_refused_post_stores_no_session(app: DemoApp, store: Any) -> None:
    response = browser(app).post("/cart/add", data={"item": "apple"})

    assert response.status_code == 403
    assert store.count() == 0


# -- the admin dashboard ---------------------------------------------------------------------


def admin_token(client: Client) -> str:
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', client.get("/admin/").text)
    assert match is not None
    return match.group(1)


def admin_post(client: Client, path: str, token: str | None = "", **body: str) -> TestResponse:
    """POST ``body`` as JSON with the admin page's token (``None``: without one)."""
    headers = {} if token is None else {"X-CSRF-Token": token or admin_token(client)}
    return client.post(path, data=json.dumps(body), headers=headers)


def test_the_dashboard_lists_live_sessions(app: DemoApp) -> None:
    login(browser(app), "alice")
    login(browser(app), "bob")

    page = browser(app).get("/admin/").text

    assert 'data-user="alice"' in page
    assert 'data-user="bob"' in page


def test_the_dashboard_refuses_a_client_on_another_machine(app: DemoApp) -> None:
    login(browser(app), "alice")

    response = browser(app, "203.0.113.9").get("/admin/")

    assert response.status_code == 403
    assert "alice" not in response.text


def test_the_dashboard_refuses_a_request_relayed_by_a_proxy(app: DemoApp) -> None:
    relayed = browser(app, x_forwarded_for="203.0.113.9")

    assert relayed.get("/admin/").status_code == 403
    assert relayed.get("/admin/metrics.json").status_code == 403


def test_the_dashboard_stores_no_session_of_its_own(app: DemoApp, store: Any) -> None:
    admin = browser(app)

    admin.get("/admin/")
    admin.get("/admin/metrics.json")

    assert store.count() == 0


def test_the_live_sessions_tile_agrees_with_the_table(app: DemoApp) -> None:
    login(browser(app), "alice")
    admin = browser(app)

    page = admin.get("/admin/").text
    feed = admin.get("/admin/metrics.json").json

    assert '<span class="value" id="live-sessions">1</span>' in page
    assert 'data-matched="1" data-live="1"' in page
    assert feed is not None
    assert feed["live_sessions"] == 1


def test_the_dashboard_searches_by_user_without_a_page_load(app: DemoApp) -> None:
    login(browser(app), "alice")
    login(browser(app), "bob")

    table = browser(app).get("/admin/sessions?user=ALI").text

    assert 'data-user="alice"' in table
    assert 'data-user="bob"' not in table
    assert "<html" not in table  # a fragment the page swaps in


def test_the_dashboard_pages_the_table(app: DemoApp, store: Any) -> None:
    for n in range(25):
        put(store, n, user=f"user{n:02d}", created_ago=1000 - n)

    first = browser(app).get("/admin/").text
    second = browser(app).get("/admin/sessions?page=2").text

    assert "page 1 of 2" in first
    assert 'data-user="user24"' in first  # newest first
    assert 'data-user="user00"' in second
    assert 'data-user="user24"' not in second


def test_requests_and_store_operations_are_charted_apart(app: DemoApp) -> None:
    page = browser(app).get("/admin/").text

    assert '<svg id="chart-requests"' in page
    assert '<svg id="chart-operations"' in page


def test_revoking_a_user_from_the_dashboard_logs_them_out(app: DemoApp) -> None:
    user, admin = browser(app), browser(app)
    login(user, "alice")
    post(user, "/cart/add", item="apple")

    response = admin_post(admin, "/admin/revoke", user="alice")

    assert response.json == {"removed": 1, "message": "Revoked 1 session(s) of alice."}
    page = user.get("/").text
    assert 'id="login-form"' in page
    assert 'id="cart-empty"' in page


def test_deleting_one_session_from_the_dashboard(app: DemoApp, store: Any) -> None:
    put(store, 1, user="alice")
    put(store, 2, user="alice")

    response = admin_post(browser(app), "/admin/delete", key=key_of(1))

    assert response.json == {"removed": 1, "message": "Session deleted."}
    assert store.load(key_of(1)) is None
    assert store.load(key_of(2)) is not None


def test_deleting_a_malformed_key_is_a_bad_request(app: DemoApp) -> None:
    response = admin_post(browser(app), "/admin/delete", key="../x")

    assert response.status_code == 400


def test_admin_actions_need_the_csrf_token(app: DemoApp, store: Any) -> None:
    put(store, 1, user="alice")
    admin = browser(app)
    admin.get("/admin/")

    response = admin_post(admin, "/admin/revoke", token=None, user="alice")

    assert response.status_code == 403
    assert store.ids_for_user("alice") == [key_of(1)]


def test_the_dashboard_shows_no_session_values(app: DemoApp, store: Any) -> None:
    put(store, 1, user="alice", data=b'{"card":"4111-1111"}')

    detail = browser(app).get(f"/admin/session?key={key_of(1)}").text

    assert "card" in detail
    assert "4111" not in detail


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
    assert response.json["snapshot"]["operations"]["load"]["count"] == 0
    assert "Set-Cookie" not in response.headers


def test_static_files_are_served(app: DemoApp) -> None:
    response = browser(app).get("/static/demo.css")

    assert response.status_code == 200
    assert response.mimetype == "text/css"


@pytest.mark.parametrize("name", ["missing.css", "..%2fapp.py", "app.py"])
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

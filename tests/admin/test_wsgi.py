"""The admin as a WSGI app mounted under /admin: who gets in, the CSRF token, the
sessions table, revoke, delete, one session's details and the metrics feed.

The behaviours of the request handler are tested here, through the WSGI flavour;
the other flavours' modules test what is theirs (mounting, the request object the
authorizer receives)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client, TestResponse
from werkzeug.wrappers import Request, Response

import sessionware as sw
from sessionware.admin import AdminApp, AdminConfigurationError
from sessionware.admin._sync.operations import SCAN_LIMIT
from sessionware.admin.csrf import COOKIE_NAME
from sessionware.metrics import Metrics

from .support import ADMIN_SECRET, is_logged_out, key_of, logged_in, token_in

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

ADMIN_HEADER = {"Authorization": "Bearer let-me-in"}


def is_admin(request: Request) -> bool:
    return request.headers.get("Authorization") == "Bearer let-me-in"


def host_app(environ: Any, start_response: Any) -> Any:
    return Response("the host application")(environ, start_response)


class AdminClient:
    """A browser of the host app, which mounts the admin at /admin."""

    def __init__(self, app: WSGIApplication, *, authorized: bool = True) -> None:
        self.client = Client(DispatcherMiddleware(host_app, {"/admin": app}))
        self.headers = dict(ADMIN_HEADER) if authorized else {}

    def get(self, path: str, **query: str) -> TestResponse:
        return self.client.get(path, query_string=query, headers=self.headers)

    def token(self) -> str:
        return token_in(self.get("/admin/").text)

    def post(self, path: str, body: dict[str, Any], token: str | None = "") -> TestResponse:
        """POST ``body`` as JSON; ``token``: the page's by default, None for none."""
        headers = dict(self.headers)
        if token == "":
            token = self.token()
        if token is not None:
            headers["X-CSRF-Token"] = token
        return self.client.post(path, data=json.dumps(body), headers=headers)


@pytest.fixture
def app(manager: sw.SessionManager, metrics: Metrics) -> AdminApp:
    return AdminApp(manager, authorize=is_admin, metrics=metrics, secret_key=ADMIN_SECRET)


@pytest.fixture
def admin(app: AdminApp) -> AdminClient:
    return AdminClient(app)


@pytest.fixture
def alice(manager: sw.SessionManager) -> str:
    return logged_in(manager, "alice")


# -- no default access -------------------------------------------------------------------


def test_the_admin_refuses_to_start_without_an_authorizer(manager: sw.SessionManager) -> None:
    with pytest.raises(AdminConfigurationError, match="no default access"):
        AdminApp(manager)


def test_the_admin_refuses_an_authorizer_that_cannot_be_called(
    manager: sw.SessionManager,
) -> None:
    with pytest.raises(AdminConfigurationError):
        AdminApp(manager, authorize=True)  # type: ignore[arg-type]


def test_the_configuration_error_is_a_type_error() -> None:
    assert issubclass(AdminConfigurationError, TypeError)
    assert issubclass(AdminConfigurationError, sw.SessionwareError)


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/sessions", "/admin/metrics.json", "/admin/static/admin.js"]
)
def test_an_unauthorized_read_is_forbidden(app: AdminApp, alice: str, path: str) -> None:
    response = AdminClient(app, authorized=False).get(path)

    assert response.status_code == 403
    assert "alice" not in response.text


def test_an_unauthorized_revoke_is_forbidden_even_with_a_valid_token(
    app: AdminApp, admin: AdminClient, manager: sw.SessionManager, alice: str
) -> None:
    stranger = AdminClient(app, authorized=False)
    stranger.client = admin.client  # the admin's cookies, without the admin's credentials

    response = stranger.post("/admin/revoke", {"user": "alice"}, token=admin.token())

    assert response.status_code == 403
    assert not is_logged_out(manager, alice)


def test_an_authorizer_answer_other_than_true_is_a_refusal(manager: sw.SessionManager) -> None:
    app = AdminApp(manager, authorize=lambda request: "yes")  # type: ignore[arg-type, return-value]

    assert AdminClient(app).get("/admin/").status_code == 403


def test_the_authorizer_receives_the_werkzeug_request(manager: sw.SessionManager) -> None:
    seen: list[object] = []

    def authorize(request: object) -> bool:
        seen.append(request)
        return True

    app = AdminApp(manager, authorize=authorize)

    AdminClient(app).get("/admin/")

    assert isinstance(seen[0], Request)


# -- CSRF ------------------------------------------------------------------------------------


def test_a_revoke_without_the_csrf_token_is_forbidden(
    admin: AdminClient, manager: sw.SessionManager, alice: str
) -> None:
    admin.get("/admin/")

    response = admin.post("/admin/revoke", {"user": "alice"}, token=None)

    assert response.status_code == 403
    assert not is_logged_out(manager, alice)


def test_a_delete_with_a_wrong_csrf_token_is_forbidden(
    admin: AdminClient, manager: sw.SessionManager, alice: str
) -> None:
    admin.get("/admin/")

    response = admin.post("/admin/delete", {"key": key_of(manager, alice)}, token="0" * 64)

    assert response.status_code == 403
    assert not is_logged_out(manager, alice)


def test_a_token_without_its_cookie_is_forbidden(
    app: AdminApp, admin: AdminClient, manager: sw.SessionManager, alice: str
) -> None:
    token = admin.token()
    elsewhere = AdminClient(app)  # authorized, but not the browser that got the token

    response = elsewhere.post("/admin/revoke", {"user": "alice"}, token=token)

    assert response.status_code == 403
    assert not is_logged_out(manager, alice)


def test_a_token_signed_by_another_admin_key_is_forbidden(
    manager: sw.SessionManager, alice: str
) -> None:
    first = AdminApp(manager, authorize=is_admin, secret_key=ADMIN_SECRET)
    second = AdminApp(manager, authorize=is_admin, secret_key=ADMIN_SECRET[::-1])
    serving = [first]
    browser = AdminClient(lambda environ, start: serving[0](environ, start))
    token = browser.token()
    serving[0] = second  # a restart with another key, the browser's cookie kept

    assert browser.post("/admin/revoke", {"user": "alice"}, token=token).status_code == 403
    assert not is_logged_out(manager, alice)


def test_the_csrf_cookie_is_httponly_strict_and_limited_to_the_admin(admin: AdminClient) -> None:
    cookie = admin.get("/admin/").headers["Set-Cookie"]

    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/admin/" in cookie


def test_the_csrf_cookie_is_set_once(admin: AdminClient) -> None:
    first = admin.token()

    response = admin.get("/admin/")

    assert "Set-Cookie" not in response.headers
    assert token_in(response.text) == first


# -- the page and the table ----------------------------------------------------------------


def test_the_admin_makes_no_session_of_its_own(admin: AdminClient, store: sw.Store) -> None:
    admin.get("/admin/")
    admin.get("/admin/metrics.json")

    assert store.count() == 0


def test_the_live_tile_and_the_table_agree(admin: AdminClient, manager: sw.SessionManager) -> None:
    logged_in(manager, "alice")
    logged_in(manager, "bob")

    page = admin.get("/admin/").text

    assert '<span class="value" id="live-sessions">2</span>' in page
    assert 'data-matched="2" data-live="2"' in page
    assert admin.get("/admin/metrics.json").json["live_sessions"] == 2  # type: ignore[index]


def test_the_page_lists_live_sessions(admin: AdminClient, manager: sw.SessionManager) -> None:
    logged_in(manager, "alice")
    logged_in(manager, "bob")

    page = admin.get("/admin/").text

    assert 'data-user="alice"' in page
    assert 'data-user="bob"' in page


def test_without_a_trailing_slash_the_admin_redirects_to_its_page(admin: AdminClient) -> None:
    response = admin.get("/admin")

    assert response.status_code == 308
    assert response.headers["Location"] == "/admin/"


def test_the_search_finds_users_by_part_of_their_name(
    admin: AdminClient, manager: sw.SessionManager
) -> None:
    logged_in(manager, "alice")
    logged_in(manager, "bob")

    table = admin.get("/admin/sessions", user="ALI").text

    assert 'data-user="alice"' in table
    assert 'data-user="bob"' not in table
    assert "<html" not in table  # a fragment, swapped into the page


def test_the_table_is_paged_newest_first(
    admin: AdminClient, store: sw.Store, manager: sw.SessionManager
) -> None:
    for n in range(25):
        store.save(sw.Record(f"{n:040x}", b"{}", 1000.0 + n, 4e9, 1, f"user{n:02d}"))

    first = admin.get("/admin/sessions").text
    second = admin.get("/admin/sessions", page="2").text

    assert "page 1 of 2" in first
    assert 'data-user="user24"' in first
    assert 'data-user="user00"' in second
    assert 'data-user="user24"' not in second


def test_the_table_shows_the_newest_sessions_when_the_store_holds_more_than_it_reads(
    admin: AdminClient, store: sw.Store
) -> None:
    for n in range(SCAN_LIMIT + 1):  # written oldest first: store order is not newest first
        store.save(sw.Record(f"{n:040x}", b"{}", 1000.0 + n, 4e9, 1, f"user{n:04d}"))

    table = admin.get("/admin/sessions").text

    assert f'data-user="user{SCAN_LIMIT:04d}"' in table
    assert 'data-user="user0000"' not in table
    assert "only the newest sessions of the store were read" in table


def test_a_search_finds_the_newest_match_when_the_store_holds_more_than_it_reads(
    admin: AdminClient, store: sw.Store
) -> None:
    for n in range(SCAN_LIMIT + 1):
        user = "carol" if n == SCAN_LIMIT else f"user{n:04d}"
        store.save(sw.Record(f"{n:040x}", b"{}", 1000.0 + n, 4e9, 1, user))

    table = admin.get("/admin/sessions", user="car").text

    assert 'data-user="carol"' in table


def test_a_user_name_is_escaped(admin: AdminClient, manager: sw.SessionManager) -> None:
    logged_in(manager, "<script>alert(1)</script>")

    page = admin.get("/admin/").text

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page


def test_pages_carry_security_headers(admin: AdminClient) -> None:
    response = admin.get("/admin/")

    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


# -- revoke and delete ----------------------------------------------------------------------


def test_revoking_a_user_logs_out_every_session_of_theirs(
    admin: AdminClient, manager: sw.SessionManager
) -> None:
    laptop, phone = logged_in(manager, "alice"), logged_in(manager, "alice")
    bob = logged_in(manager, "bob")

    response = admin.post("/admin/revoke", {"user": "alice"})

    assert response.status_code == 200
    assert response.json == {"removed": 2, "message": "Revoked 2 session(s) of alice."}
    assert is_logged_out(manager, laptop)
    assert is_logged_out(manager, phone)
    assert not is_logged_out(manager, bob)


def test_deleting_one_session(admin: AdminClient, manager: sw.SessionManager) -> None:
    laptop, phone = logged_in(manager, "alice"), logged_in(manager, "alice")

    response = admin.post("/admin/delete", {"key": key_of(manager, laptop)})

    assert response.json == {"removed": 1, "message": "Session deleted."}
    assert is_logged_out(manager, laptop)
    assert not is_logged_out(manager, phone)


def test_deleting_a_session_drops_its_queued_visit(
    admin: AdminClient, manager: sw.SessionManager, alice: str
) -> None:
    key = key_of(manager, alice)
    assert manager.visit_tracker is not None
    manager.visit_tracker.record(key, 4e9)

    admin.post("/admin/delete", {"key": key})

    assert manager.visit_tracker.pending_expiry(key) is None


@pytest.mark.parametrize("key", ["../etc/passwd", "A" * 40, "", 7])
def test_deleting_a_malformed_key_is_a_bad_request(admin: AdminClient, key: object) -> None:
    assert admin.post("/admin/delete", {"key": key}).status_code == 400


def test_a_revoke_without_a_user_is_a_bad_request(admin: AdminClient) -> None:
    assert admin.post("/admin/revoke", {}).status_code == 400


def test_an_oversized_body_is_refused(admin: AdminClient) -> None:
    response = admin.post("/admin/revoke", {"user": "x" * 20_000})

    assert response.status_code == 413


def test_a_change_by_get_is_not_allowed(admin: AdminClient) -> None:
    assert admin.get("/admin/revoke", user="alice").status_code == 405


# -- one session's details --------------------------------------------------------------------


def test_details_show_the_keys_but_not_the_values_by_default(
    admin: AdminClient, manager: sw.SessionManager
) -> None:
    cookie = logged_in(manager, "alice", card_number="4111-1111-1111-1111")

    detail = admin.get("/admin/session", key=key_of(manager, cookie)).text

    assert "card_number" in detail
    assert "4111" not in detail


def test_details_show_the_values_when_configured_to(
    manager: sw.SessionManager, metrics: Metrics
) -> None:
    app = AdminApp(manager, authorize=is_admin, show_values=True)
    cookie = logged_in(manager, "alice", card_number="4111-1111-1111-1111")

    detail = AdminClient(app).get("/admin/session", key=key_of(manager, cookie)).text

    assert "4111-1111-1111-1111" in detail


def test_details_of_an_encrypted_session_show_its_keys(store: sw.Store) -> None:
    from sessionware.core.encryption import new_encryption_key

    manager = sw.SessionManager(
        store, secret_key=ADMIN_SECRET, encryption_keys=[new_encryption_key()]
    )
    cookie = logged_in(manager, "alice", card_number="4111-1111-1111-1111")

    detail = AdminClient(AdminApp(manager, authorize=is_admin)).get(
        "/admin/session", key=key_of(manager, cookie)
    )

    assert "card_number" in detail.text
    assert "4111" not in detail.text
    manager.close()


def test_no_page_shows_a_value_by_default(admin: AdminClient, manager: sw.SessionManager) -> None:
    logged_in(manager, "alice", secret_note="launch codes")

    pages = [admin.get("/admin/").text, admin.get("/admin/sessions").text]

    assert all("launch codes" not in page for page in pages)


def test_details_of_a_missing_session_are_404(admin: AdminClient) -> None:
    assert admin.get("/admin/session", key="0" * 40).status_code == 404


# -- the metrics feed ---------------------------------------------------------------------------


def test_the_feed_counts_requests_and_store_operations(
    admin: AdminClient, manager: sw.SessionManager
) -> None:
    cookie = logged_in(manager, "alice")
    dict(manager.open(cookie))

    feed = admin.get("/admin/metrics.json").json

    assert feed is not None
    assert feed["live_sessions"] == 1
    assert feed["snapshot"]["events"]["on_visit"] == 2
    assert feed["snapshot"]["operations"]["save_if_version"]["count"] >= 1
    assert {"p50_ms", "p95_ms", "p99_ms"} <= set(feed["snapshot"]["operations"]["load"])


def test_the_feed_has_visit_tracker_and_cache_figures(
    admin: AdminClient, manager: sw.SessionManager
) -> None:
    alice, bob = logged_in(manager, "alice"), logged_in(manager, "bob")
    manager.revoke_user("bob")
    dict(manager.open(alice))  # the sync manager loads on first access
    dict(manager.open(bob))

    feed = admin.get("/admin/metrics.json").json

    assert feed is not None
    assert set(feed["visits"]) >= {"queued", "flushed", "dropped", "pending", "failed_flushes"}
    assert feed["cache"] == {"found": 1, "missing": 1, "fast_tier_sessions": None}


def test_the_feed_counts_the_sessions_of_a_tiered_stores_fast_tier(store: sw.Store) -> None:
    from sessionware.stores.tiered import TieredStore

    tiered = TieredStore(sw.open_store("memory://"), store, single_process=True)
    manager = sw.SessionManager(tiered, secret_key="tiered-" + "k3y-" * 10)
    dict(manager.open(logged_in(manager, "alice")))  # read through: now in the fast tier
    app = AdminApp(manager, authorize=is_admin)

    feed = AdminClient(app).get("/admin/metrics.json").json

    assert feed is not None
    assert feed["cache"]["fast_tier_sessions"] == 1
    manager.close()


def test_without_metrics_the_page_has_no_charts(manager: sw.SessionManager) -> None:
    app = AdminApp(manager, authorize=is_admin)

    page = AdminClient(app).get("/admin/").text

    assert "chart-requests" not in page
    assert AdminClient(app).get("/admin/metrics.json").json["snapshot"] is None  # type: ignore[index]


def test_requests_and_store_operations_have_charts_of_their_own(admin: AdminClient) -> None:
    page = admin.get("/admin/").text

    assert '<svg id="chart-requests"' in page
    assert '<svg id="chart-operations"' in page


def test_static_files_are_served(admin: AdminClient) -> None:
    response = admin.get("/admin/static/admin.js")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"


@pytest.mark.parametrize("name", ["missing.js", "..%2fwsgi.py", "wsgi.py"])
def test_other_static_names_are_404(admin: AdminClient, name: str) -> None:
    assert admin.get(f"/admin/static/{name}").status_code == 404

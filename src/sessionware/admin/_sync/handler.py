# Generated from src/sessionware/admin/_async/handler.py by scripts/unasync.py. Do not edit.
"""``AdminHandler``: one admin request in, one response out, whatever the
framework. Every request is first put to the authorizer; every state-changing
one must carry the CSRF token; nothing else decides who may do what."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...stores.base import Store
from ..csrf import HEADER, CsrfCookie, CsrfGuard
from ..feed import CHARTED_OPERATIONS, feed_body, near_cache_figures, near_cache_of
from ..listing import is_store_key
from ..messages import MAX_BODY, AdminRequest, AdminResponse
from ..rendering import Pages, static_file
from ..settings import AdminOptions, AdminSettings, Authorizer
from .operations import AdminOperations

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ... import SessionManager

__all__ = ["AdminHandler"]

READS = frozenset({"/", "/sessions", "/session", "/metrics.json"})
CHANGES = frozenset({"/revoke", "/delete"})


class AdminHandler:
    """``AdminHandler(manager, authorize=is_admin)``: the admin over an
    ``SessionManager``, each flavour's app or views around it. Raises
    ``AdminConfigurationError`` without ``authorize``. ``store``: where the
    dashboard reads sessions (default: the manager's store). Other options:
    ``AdminSettings``."""

    def __init__(
        self,
        manager: SessionManager,
        *,
        authorize: Authorizer | None = None,
        store: Store | None = None,
        **options: Unpack[AdminOptions],
    ) -> None:
        self.settings = AdminSettings(authorize=authorize, **options)
        self.manager = manager
        self.operations = AdminOperations(manager, store)
        self.csrf = CsrfGuard(self.settings.secret_key)
        self.pages = Pages()

    def handle(self, request: AdminRequest) -> AdminResponse:
        if not self.settings.allows(request.native):
            return _refused("You are not allowed to use this sessions admin.")
        method, path = request.method, request.path
        if path == "":
            return AdminResponse.redirect(request.base)
        if method in ("GET", "HEAD") and path in READS:
            return self._read(request)
        if method in ("GET", "HEAD") and path.startswith("/static/"):
            return _static(path.removeprefix("/static/"))
        if method == "POST" and path in CHANGES:
            if not self.csrf.accepts(request.headers.get("cookie"), request.headers.get(HEADER)):
                return _refused("Missing or wrong CSRF token: reload the page.", as_json=True)
            if len(request.body) > MAX_BODY:
                return AdminResponse.json({"error": "Request body too large."}, 413)
            return self._change(request)
        if path in READS or path in CHANGES:
            allow = "GET, HEAD" if path in READS else "POST"
            return AdminResponse(405, b"Method not allowed.", headers=[("Allow", allow)])
        return AdminResponse(404, b"Not found.")

    def _read(self, request: AdminRequest) -> AdminResponse:
        path = request.path
        if path == "/":
            return self.page(request)
        if path == "/sessions":
            return self.sessions(request)
        if path == "/session":
            return self.session(request)
        return self.feed(request)

    def _change(self, request: AdminRequest) -> AdminResponse:
        if request.path == "/revoke":
            return self.revoke(request)
        return self.delete(request)

    # -- reads ---------------------------------------------------------------------

    def page(self, request: AdminRequest) -> AdminResponse:
        nonce = self.csrf.nonce_of(request.headers.get("cookie"))
        fresh = nonce is None
        if nonce is None:
            nonce = self.csrf.new_nonce()
        listing = self.operations.listing(request.query.get("user", "").strip(), 1)
        text = self.pages.render(
            "admin.html",
            title=self.settings.title,
            csrf=self.csrf.token(nonce),
            listing=listing,
            operations=CHARTED_OPERATIONS,
            charts=self.settings.metrics is not None,
            near_cache=near_cache_figures(near_cache_of(self.manager.store)),
        )
        response = AdminResponse.html(text)
        if fresh:
            response.cookie = CsrfCookie(nonce, request.base, request.secure)
        return response

    def sessions(self, request: AdminRequest) -> AdminResponse:
        page = _page_number(request.query.get("page", "1"))
        listing = self.operations.listing(request.query.get("user", "").strip(), page)
        return AdminResponse.html(self.pages.render("_sessions.html", listing=listing))

    def session(self, request: AdminRequest) -> AdminResponse:
        show = self.settings.show_values
        detail = self.operations.detail(request.query.get("key", ""), show_values=show)
        if detail is None:
            return AdminResponse(404, b"No live session with that key.")
        return AdminResponse.html(self.pages.render("_detail.html", detail=detail))

    def feed(self, request: AdminRequest) -> AdminResponse:
        live = self.operations.live_count()
        cached = self.operations.fast_tier_count()
        tracker = self.manager.visit_tracker
        near_cache = near_cache_of(self.manager.store)
        body = feed_body(time.time(), live, self.settings.metrics, tracker, cached, near_cache)
        return AdminResponse.json(body)

    # -- changes -------------------------------------------------------------------

    def revoke(self, request: AdminRequest) -> AdminResponse:
        user = (request.json() or {}).get("user")
        if not isinstance(user, str) or not user:
            return AdminResponse.json({"error": "No user given."}, 400)
        removed = self.operations.revoke(user)
        return AdminResponse.json(
            {"removed": removed, "message": f"Revoked {removed} session(s) of {user}."}
        )

    def delete(self, request: AdminRequest) -> AdminResponse:
        key = (request.json() or {}).get("key")
        if not isinstance(key, str) or not is_store_key(key):
            return AdminResponse.json({"error": "Not a session key."}, 400)
        removed = self.operations.delete(key)
        message = "Session deleted." if removed else "That session was already gone."
        return AdminResponse.json({"removed": removed, "message": message})


def _refused(message: str, *, as_json: bool = False) -> AdminResponse:
    if as_json:
        return AdminResponse.json({"error": message}, 403)
    return AdminResponse(403, message.encode())


def _page_number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 9 else 1


def _static(name: str) -> AdminResponse:
    found = static_file(name)
    if found is None:
        return AdminResponse(404, b"Not found.")
    content, content_type = found
    return AdminResponse(200, content, content_type)

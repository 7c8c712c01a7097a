"""The demo: a tiny shop whose cart lives in a sessionware session, plus the
``sessionware.admin`` dashboard mounted at /admin/, fed by
``sessionware.metrics.Metrics``.

``DemoApp(store, secret_key)`` is a WSGI application. The shop's pages go through
``sessionware.wsgi.SessionMiddleware``; the admin, the static files and the
favicon do not, so they make no session and the dashboard does not count its
own polling as traffic. The admin lets in loopback clients only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ... import SessionManager
from ...admin.wsgi import AdminApp
from ...errors import redact_url
from ...metrics import Metrics
from ...stores.base import Store
from ...wsgi import SessionMiddleware, session_of
from .security import check_csrf, csrf_token, loopback_only, rotate_csrf, secure

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ...core.session import Session

__all__ = ["CATALOG", "DemoApp"]

CATALOG = {
    "apple": "Apple",
    "bread": "Bread",
    "cheese": "Cheese",
    "coffee": "Coffee",
    "tea": "Tea",
}
# Fixed texts chosen by a query parameter, so a link cannot make the page say anything else.
NOTICES = {
    "logged-out": "You are logged out.",
    "logged-out-everywhere": "You are logged out on every device.",
}
MAX_NAME = 40
MAX_FORM_BYTES = 16 * 1024
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}

Handler = Callable[[Request, "Session"], Response]

PAGES = Map(
    [
        Rule("/", endpoint="index", methods=["GET"]),
        Rule("/login", endpoint="login", methods=["POST"]),
        Rule("/logout", endpoint="logout", methods=["POST"]),
        Rule("/logout-everywhere", endpoint="logout_everywhere", methods=["POST"]),
        Rule("/cart/add", endpoint="cart_add", methods=["POST"]),
        Rule("/cart/remove", endpoint="cart_remove", methods=["POST"]),
    ]
)
#: Served without a session: files only.
FILES = Map(
    [
        Rule("/static/<name>", endpoint="static"),
        Rule("/favicon.ico", endpoint="favicon"),
    ]
)


class DemoApp:
    """The demo WSGI application over ``store`` (an open ``Store``); ``close()``
    flushes queued visits and closes it."""

    def __init__(
        self, store: Store, secret_key: str, *, store_url: str = "", idle_timeout: float = 1800
    ) -> None:
        self.store_url = redact_url(store_url) if store_url else repr(store)
        self.store = store  # unwrapped: the dashboard's own reads are not metered
        self.metrics = Metrics()
        self.manager = SessionManager(
            self.metrics.wrap_store(self.store), secret_key=secret_key, idle_timeout=idle_timeout
        )
        self.manager.add_listener(self.metrics)
        self.templates = Environment(
            loader=PackageLoader("sessionware.cli.demo", "templates"),
            autoescape=select_autoescape(default=True),
        )
        # Plain http on localhost: a Secure cookie would never come back.
        self.pages = SessionMiddleware(self._pages, self.manager, secure=False)
        self.admin = AdminApp(
            self.manager,
            authorize=loopback_only,
            store=self.store,
            metrics=self.metrics,
            title=f"Admin dashboard: {self.store_url}",
        )
        self._app = DispatcherMiddleware(self._site, {"/admin": self.admin})

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self._app(environ, start_response)

    def _site(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            endpoint, args = FILES.bind_to_environ(environ).match()
        except HTTPException:
            return self.pages(environ, start_response)
        try:
            response = _static(args["name"] if endpoint == "static" else "favicon.svg")
        except HTTPException as exc:
            response = exc.get_response()
        return secure(response)(environ, start_response)

    def close(self) -> None:
        self.manager.close()

    # -- plumbing ------------------------------------------------------------------

    def _pages(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_FORM_BYTES
        request.max_form_memory_size = MAX_FORM_BYTES
        session = session_of(environ)
        try:
            endpoint, _ = PAGES.bind_to_environ(environ).match()
            if request.method == "POST":
                check_csrf(request, session)
            handler: Handler = getattr(self, f"page_{endpoint}")
            response = handler(request, session)
        except HTTPException as exc:
            response = self._error_page(exc, session)
        return secure(response)(environ, start_response)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        body = self.templates.get_template(template).render(catalog=CATALOG, **context)
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def _error_page(self, exc: HTTPException, session: Session) -> Response:
        # No form, so no CSRF token: a stray hit must not make a session.
        return self.render(
            "error.html", status=exc.code or 500, title=exc.name, message=exc.description
        )

    # -- the shop --------------------------------------------------------------------

    def page_index(self, request: Request, session: Session) -> Response:
        return self.render(
            "index.html",
            user=session.user_id,
            cart=_cart(session),
            csrf=csrf_token(session),
            notice=NOTICES.get(request.args.get("notice", ""), ""),
        )

    def page_login(self, request: Request, session: Session) -> Response:
        name = " ".join(request.form.get("name", "").split())
        if not name or len(name) > MAX_NAME or not name.isprintable():
            raise BadRequest(f"A name is 1 to {MAX_NAME} printable characters.")
        self.manager.login(session, name)  # new id: a session fixation defence
        rotate_csrf(session)
        return redirect("/", code=303)

    def page_logout(self, request: Request, session: Session) -> Response:
        self.manager.invalidate(session)
        return redirect("/?notice=logged-out", code=303)

    def page_logout_everywhere(self, request: Request, session: Session) -> Response:
        user = session.user_id
        if user is not None:
            self.manager.revoke_user(user)
        self.manager.invalidate(session)
        return redirect("/?notice=logged-out-everywhere", code=303)

    def page_cart_add(self, request: Request, session: Session) -> Response:
        item = _catalog_item(request)
        cart = _cart(session)
        cart[item] = cart.get(item, 0) + 1
        session["cart"] = cart
        return redirect("/", code=303)

    def page_cart_remove(self, request: Request, session: Session) -> Response:
        item = _catalog_item(request)
        cart = _cart(session)
        if cart.get(item, 0) > 1:
            cart[item] -= 1
        else:
            cart.pop(item, None)
        session["cart"] = cart
        return redirect("/", code=303)


def _cart(session: Session) -> dict[str, int]:
    cart = session.get("cart")
    if not isinstance(cart, dict):
        return {}
    return {item: n for item, n in cart.items() if item in CATALOG and isinstance(n, int)}


def _catalog_item(request: Request) -> str:
    item = request.form.get("item", "")
    if item not in CATALOG:
        raise BadRequest("No such item.")
    return item


def _static(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    content_type = STATIC_TYPES.get(suffix)
    folder = resources.files("sessionware.cli.demo").joinpath("static")
    if content_type is None or "/" in name or not folder.joinpath(name).is_file():
        raise NotFound()
    response = Response(folder.joinpath(name).read_bytes(), content_type=content_type)
    response.headers["Cache-Control"] = "no-cache"
    return response

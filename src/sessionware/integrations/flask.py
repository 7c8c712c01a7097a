"""Flask: server-side sessions behind Flask's own ``session`` proxy.

::

    from flask import Flask, session
    from sessionware.integrations.flask import init_app

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "a long random secret"
    app.config["SESSIONWARE_STORE"] = "redis://localhost:6379/0"
    init_app(app)

or, with a manager you built yourself,
``app.session_interface = SessionInterface(manager)``.

Flask's cookie settings (``SESSION_COOKIE_*``), ``session.permanent``,
``PERMANENT_SESSION_LIFETIME``, ``SESSION_REFRESH_EACH_REQUEST``, ``SECRET_KEY``
with ``SECRET_KEY_FALLBACKS``, flashing and the test client's
``session_transaction()`` work as they do with Flask's cookie sessions, and the
values Flask's tagged JSON keeps (tuples, bytes, ``Markup``, ``UUID``,
``datetime``) come back as they were stored; the cookie only carries a signed
session id. ``PERMANENT_SESSION_LIFETIME`` slides as Flask's does (a session lives
that long after its last request; ``SESSIONWARE_MAX_AGE`` caps it from creation).
Flask-Session's ``session.sid``, ``app.session_interface.regenerate(session)`` and
``SESSION_PERMANENT`` work as there. Differences worth knowing:

- The session is loaded on first use. A request that never touches ``session``
  costs no store round trip when ``SESSION_REFRESH_EACH_REQUEST`` is off; when it
  is on (Flask's default) the session is loaded at the end of such a request to
  learn whether it is permanent, as Flask refreshes a permanent session's cookie.
- Changes are found by comparing data, so ``session["cart"].append(3)`` is saved
  without ``session.modified = True`` (setting it still forces a save).
- A response with status 500 or above, or a request that raises, saves nothing.
- A stored session that becomes empty (``session.clear()``) is deleted from the
  store and its cookie removed, as Flask removes an emptied cookie session.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, Request, Response, request_tearing_down
from flask import request as current_request
from flask.sansio.app import App
from flask.sessions import SessionInterface as FlaskSessionInterface
from flask.sessions import SessionMixin

from .._sync.manager import SaveInFlight, SessionManager
from .._sync.transition import Transition
from ..cookie_io import read_cookie, warn_if_insecure
from ..cookies import CookieOptions, cached_options
from ..core.signing import CookieSigner
from ..core.tokens import TokenOptions
from ..stores.base import StoreLike
from .flask_codec import TaggedJSONCodec
from .flask_config import DEFAULT_STORE, app_signer, manager_from_config, permanent_by_default
from .flask_tokens import open_credential, send_token
from .flask_transition import adopt, delete_peer_cookie, transition_from_config
from .flask_wrapper import CODEC_HINT, FlaskSession, value_guard

__all__ = [
    "DEFAULT_STORE",
    "FlaskSession",
    "SessionInterface",
    "TaggedJSONCodec",
    "init_app",
    "manager_from_config",
]


ENVIRON_KEY = "sessionware.session"
_WRAPPER_KEY = "sessionware.flask_session"
_WATCHING_KEY = "sessionware.teardown"
#: Set by ``SavesFinished``: it reads the outcome of the write left in flight.
_FINISHING_KEY = "sessionware.finishes_saves"
_IN_FLIGHT_KEY = "sessionware.save_in_flight"
#: Signers kept for the key sets an interface that follows the app has seen.
_SIGNER_CACHE_SIZE = 8


class SessionInterface(FlaskSessionInterface):
    """Set as ``app.session_interface``: Flask's session, stored by ``manager``.

    Cookie attributes come from the app's ``SESSION_COOKIE_*`` settings, as for
    Flask's own sessions.

    ``keys_from_app=True`` (what ``init_app`` sets up) signs cookies with the app's
    ``SECRET_KEY`` and verifies them with ``SECRET_KEY_FALLBACKS`` too, read at each
    request as Flask reads them, in place of the manager's own keys; without a
    secret key, Flask's null session answers (and raises Flask's own "The session
    is unavailable because no secret key was set" on a write). Such an interface
    follows one set of keys at a time: give apps with different secrets an
    interface each. Otherwise the manager's keys sign and the app needs none.
    """

    def __init__(
        self,
        manager: SessionManager,
        *,
        keys_from_app: bool = False,
        token_header: str | TokenOptions | None = None,
        token_only: bool = False,
        transition: Transition | None = None,
    ) -> None:
        self.manager = manager
        #: In transition mode (``flask_transition``): the peer's cookies it converts.
        self.transition = transition
        #: Session tokens for API clients (docs/tokens.md); None: cookies only.
        self.token = TokenOptions.of(token_header, token_only)
        self.keys_from_app = keys_from_app
        self._app_keys: tuple[Any, ...] | None = None
        self._signers: dict[tuple[Any, ...], CookieSigner] = {}
        self._guard = value_guard(manager.core.codec)

    # -- keys ---------------------------------------------------------------------

    def signing_keys(self, app: Flask) -> list[str | bytes]:
        """The keys of a ``keys_from_app`` interface: the first signs, all verify.

        ``SECRET_KEY`` then ``SECRET_KEY_FALLBACKS``, as Flask uses them (each must
        pass sessionware's key rule: 32 bytes or more, not predictable)."""
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or ()
        return [app.secret_key, *fallbacks]

    def _follow_app_keys(self, app: Flask) -> bool:
        """Point the manager's signer at the app's current keys; False when the app
        has no secret key (Flask then gives the request a null session)."""
        secret = app.secret_key
        if not secret:
            return False
        fallbacks = app.config.get("SECRET_KEY_FALLBACKS")
        keys = (secret, *fallbacks) if fallbacks else (secret,)
        if keys != self._app_keys:  # the same objects as last time: no work
            signer = self._signers.get(keys)
            if signer is None:
                signer = app_signer(self.signing_keys(app))
                if len(self._signers) >= _SIGNER_CACHE_SIZE:
                    self._signers.clear()
                self._signers[keys] = signer
            self.manager.core.signer = signer
            self._app_keys = keys
        return True

    # -- a request ------------------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> FlaskSession | None:
        if self.keys_from_app and not self._follow_app_keys(app):
            return None  # Flask's null session, with Flask's error on a write
        self._watch_teardown(app)
        cookie_value = _request_cookie(request, self.get_cookie_name(app)) or None
        if self.token is not None:
            cookie_value = open_credential(
                self.token, request, cookie_value if self.token.cookies else None
            )
        session = self.manager.open(cookie_value)
        if self.transition is not None:
            name = self.get_cookie_name(app)
            session = adopt(self.transition, request, name, cookie_value) or session
        wrapper = FlaskSession(session, cookie_value, self._guard)
        if permanent_by_default(app):
            wrapper.permanent_default = True
        environ = request.environ
        previous = environ.get(_WRAPPER_KEY)
        if isinstance(previous, FlaskSession):
            # Opened twice for one request (the test client's session_transaction).
            previous._unbind()
        environ[ENVIRON_KEY] = wrapper.session
        environ[_WRAPPER_KEY] = wrapper
        wrapper._bind()
        return wrapper

    def regenerate(self, session: SessionMixin) -> None:
        """Flask-Session's ``app.session_interface.regenerate(session)``: a new id
        for the same data, the old one deleted at the end of the request (call it
        at login, against session fixation). An empty session is left alone, as
        Flask-Session leaves it."""
        if isinstance(session, FlaskSession) and session:
            self.manager.regenerate(session.session)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FlaskSession):  # a null session or a foreign one
            return
        environ = current_request.environ
        finish_in_flight(environ)  # saved twice: an error page follows
        inner = session.session
        # Read before anything below touches the data; what saving reads is not the
        # application's access, so ``accessed`` is left as the request made it.
        varied = session.accessed
        accessed = inner.accessed
        try:
            self._save(app, session, response, varied, environ)
        finally:
            inner.accessed = accessed

    def _save(
        self,
        app: Flask,
        session: FlaskSession,
        response: Response,
        varied: bool,
        environ: dict[str, Any],
    ) -> None:
        if varied:
            _vary_on_cookie(response)
        session._finished = True
        inner = session.session
        if response.status_code >= 500:
            self.manager.forget_changes(inner)
            return
        # A session this request never used is loaded below only when a re-signed
        # cookie is due or Flask would refresh the cookie of a permanent session.
        if (
            not inner.loaded
            and inner.cookie_value is None
            and not app.config["SESSION_REFRESH_EACH_REQUEST"]
        ):
            return
        if not inner and inner.user_id is None:
            self._end_empty(app, session, response)
            return
        # Flask's rule: set the cookie when modified, or refresh a permanent one.
        set_cookie = self.should_set_cookie(app, session)
        try:
            in_flight = self.manager.start_save(inner)
        except TypeError as exc:
            if self._guard is None:
                raise
            raise TypeError(f"{exc}; {CODEC_HINT}") from exc
        # The rest of the request (these headers, Flask's teardown) runs while the
        # store writes; ``SavesFinished`` reads the outcome before the response
        # leaves, or it is read here when the app's wsgi_app is not wrapped. Should
        # the write find the session deleted meanwhile, the cookie sent names a
        # record that is gone: the next request gets a fresh session.
        try:
            value = in_flight.cookie_value
            if value is None and set_cookie and not inner.is_new:
                value = session.cookie_value  # same session, same cookie: refresh it
            # A value from saving is always sent: a new or regenerated session's
            # cookie, or one re-signed because a fallback key verified it.
            if value is not None:
                self._set_cookie(app, session, response, value)
                if not varied:
                    _vary_on_cookie(response)
        finally:
            if environ.get(_FINISHING_KEY):
                environ[_IN_FLIGHT_KEY] = in_flight
            else:
                in_flight.finish()

    def _end_empty(self, app: Flask, session: FlaskSession, response: Response) -> None:
        """An emptied session is deleted, and its cookie with it, as Flask does."""
        inner = session.session
        if not inner.invalidated:
            if inner.is_new and not inner.modified:
                return  # stayed empty: nothing stored, no cookie
            self.manager.invalidate(inner)
        elif session.cookie_value is None:
            return
        if self.token is not None and not send_token(self.token, response, None):
            return
        response.headers.add("Set-Cookie", self.cookie_options(app).deletion())
        _vary_on_cookie(response)

    def _set_cookie(
        self, app: Flask, session: FlaskSession, response: Response, value: str
    ) -> None:
        if self.token is not None and not send_token(self.token, response, value):
            return
        options = self.cookie_options(app, self._expires(app, session))
        if not options.secure:
            https = current_request.environ.get("wsgi.url_scheme") == "https"
            warn_if_insecure(False, https, "flask")
        response.headers.add("Set-Cookie", options.header(value))
        if self.transition is not None:
            delete_peer_cookie(current_request, response, options, session.session)

    def cookie_options(self, app: Flask, expires: int | None = None) -> CookieOptions:
        """The session cookie's options, from Flask's ``get_cookie_*`` methods (the
        ``SESSION_COOKIE_*`` settings) and ``expires`` (Unix seconds), spelled as
        werkzeug renders Flask's cookie. Made once per second and configuration:
        the expiry only changes with the clock's second."""
        return cached_options(
            "flask",
            self.get_cookie_name(app),
            self.get_cookie_path(app),
            self.get_cookie_domain(app),
            self.get_cookie_secure(app),
            self.get_cookie_httponly(app),
            self.get_cookie_samesite(app),
            self.get_cookie_partitioned(app),
            None,  # no Max-Age: Flask sets Expires only
            expires,
        )

    def _expires(self, app: Flask, session: FlaskSession) -> int | None:
        """Flask's cookie expiry (``get_expiration_time``) in whole seconds."""
        if not session.permanent:
            return None
        if type(self).get_expiration_time is not FlaskSessionInterface.get_expiration_time:
            expires: datetime | None = self.get_expiration_time(app, session)
            return None if expires is None else int(expires.timestamp())
        return int(time.time() + app.permanent_session_lifetime.total_seconds())

    # -- the end of a request ---------------------------------------------------

    def _watch_teardown(self, app: App) -> None:
        # Flask does not call save_session when an exception propagates, so the
        # request's teardown is where current() is reset and changes forgotten.
        # The interfaces watching an app are noted on the app itself (not by id:
        # an id can be reused by a later app), where checking is a dict lookup.
        watching: tuple[SessionInterface, ...] = app.extensions.get(_WATCHING_KEY, ())
        if self not in watching:
            request_tearing_down.connect(self._tear_down, app)
            app.extensions[_WATCHING_KEY] = (*watching, self)

    def _tear_down(self, sender: App, exc: BaseException | None = None, **_: Any) -> None:
        wrapper = current_request.environ.pop(_WRAPPER_KEY, None)
        if not isinstance(wrapper, FlaskSession):
            return
        if not wrapper._finished:
            wrapper._finished = True
            self.manager.forget_changes(wrapper.session)
        wrapper._unbind()


class SavesFinished:
    """``app.wsgi_app`` wrapped by ``init_app``: a session write sent during the
    request (``SessionManager.start_save``) is answered here, once Flask is done
    with the request and before the response leaves, so the store works while
    Flask finishes. Should the answer be a failure, the exception reaches the
    WSGI server, which sends a 500 in place of the response."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ[_FINISHING_KEY] = True
        try:
            body = self.wsgi_app(environ, start_response)
        except BaseException:
            finish_in_flight(environ)
            raise
        try:
            finish_in_flight(environ)
        except BaseException:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            raise
        return body


def finish_in_flight(environ: dict[str, Any]) -> None:
    """Read the outcome of the request's write in flight, if one is."""
    in_flight: SaveInFlight | None = environ.pop(_IN_FLIGHT_KEY, None)
    if in_flight is not None:
        in_flight.finish()


def _request_cookie(request: Request, name: str) -> str | None:
    """``request.cookies.get(name)``, without werkzeug's parse of every cookie (it
    walks the whole WSGI environ first) when the header can only give the same
    answer: printable ASCII, no quoting, the name once, a value without spaces."""
    if "cookies" in request.__dict__:  # parsed already: the same answer for free
        value: str | None = request.cookies.get(name)
        return value
    header = request.environ.get("HTTP_COOKIE")
    if not header:
        return None
    if _plain(header) and header.count(name) < 2:
        value = read_cookie(header, name)
        if value is None or " " not in value:
            return value
    value = request.cookies.get(name)
    return value


def _plain(header: str) -> bool:
    return header.isascii() and header.isprintable() and '"' not in header


def _vary_on_cookie(response: Response) -> None:
    """``response.vary.add("Cookie")``, without parsing and rewriting the header
    when it is absent or says just that."""
    present = response.headers.getlist("Vary")
    if not present:
        response.headers.add("Vary", "Cookie")
    elif present != ["Cookie"]:
        response.vary.add("Cookie")


def init_app(
    app: Flask,
    manager: SessionManager | None = None,
    *,
    store: StoreLike | str | None = None,
    token_header: str | TokenOptions | None = None,
    token_only: bool = False,
) -> SessionInterface:
    """Make ``app`` keep its sessions server-side; returns the installed interface.

    Without ``manager``, one is built from ``app.config`` (see
    ``manager_from_config``) and the interface follows the app's ``SECRET_KEY`` and
    ``SECRET_KEY_FALLBACKS`` (``keys_from_app``), so a secret set or rotated later
    is used as Flask would use it; with ``manager``, its keys sign.
    The interface is ``app.extensions["sessionware"]`` (its ``.manager``).
    ``token_header``/``token_only``: session tokens for API clients (docs/tokens.md).
    """
    keys_from_app = manager is None
    if manager is None:
        manager = manager_from_config(app, store)
    interface = SessionInterface(
        manager,
        keys_from_app=keys_from_app,
        token_header=token_header,
        token_only=token_only,
        transition=transition_from_config(app, manager),
    )
    if keys_from_app:
        interface._follow_app_keys(app)  # a key sessionware refuses fails here, early
    app.session_interface = interface
    app.extensions["sessionware"] = interface
    if not isinstance(app.wsgi_app, SavesFinished):
        app.wsgi_app = SavesFinished(app.wsgi_app)  # type: ignore[method-assign]
    interface._watch_teardown(app)
    return interface

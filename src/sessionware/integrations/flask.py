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
``PERMANENT_SESSION_LIFETIME`` and ``SESSION_REFRESH_EACH_REQUEST`` work as they do
with Flask's cookie sessions; the cookie only carries a signed session id.
Differences worth knowing:

- The session is loaded on first use, so a request that never touches ``session``
  costs no store round trip, and its cookie is not refreshed either.
- Changes are found by comparing data, so ``session["cart"].append(3)`` is saved
  without ``session.modified = True`` (setting it still forces a save).
- A response with status 500 or above, or a request that raises, saves nothing.
- A stored session that becomes empty (``session.clear()``) is deleted from the
  store and its cookie removed, as Flask removes an emptied cookie session.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from contextvars import Token
from datetime import datetime
from typing import Any

from flask import Flask, Request, Response, request_tearing_down
from flask import request as current_request
from flask.json.tag import TaggedJSONSerializer
from flask.sansio.app import App
from flask.sessions import SessionInterface as FlaskSessionInterface
from flask.sessions import SessionMixin
from werkzeug.http import dump_cookie

from .._sync.manager import SessionManager
from ..context import current_session
from ..cookies import read_cookie
from ..core.codecs import Codec, CodecError
from ..core.session import Session
from ..stores.registry import open_store

__all__ = [
    "DEFAULT_STORE",
    "FlaskSession",
    "SessionInterface",
    "TaggedJSONCodec",
    "init_app",
    "manager_from_config",
]

logger = logging.getLogger("sessionware")

#: The store ``init_app`` opens when ``SESSIONWARE_STORE`` is not configured.
DEFAULT_STORE = "sqlite:///sessions.db"

ENVIRON_KEY = "sessionware.session"
_WRAPPER_KEY = "sessionware.flask_session"
_WATCHING_KEY = "sessionware.teardown"
_MISSING: Any = object()


class FlaskSession(SessionMixin):
    """What ``flask.session`` is: Flask's ``SessionMixin`` around a ``sessionware.Session``.

    ``permanent`` lives in the data under ``"_permanent"``, as in Flask.
    ``modified`` is True once a value was set or deleted through it (as Flask's own
    session says), when the data differs from what was loaded (an in-place change of
    a nested value), or when a save was forced by setting it; ``new`` is True for a
    session not stored yet.
    ``.session`` is the underlying ``sessionware.Session`` (also ``sessionware.current()``).
    """

    def __init__(self, session: Session, cookie_value: str | None) -> None:
        self.session = session
        self.cookie_value = cookie_value  # what the request sent
        self._accessed = False
        self._written = False  # a value was set or deleted through this wrapper
        self._token: Token[Session] | None = None
        self._finished = False

    # Flask 3.1.3+ marks the session accessed whenever the proxy is used; older
    # versions expect the session to notice reads itself: support both.
    @property
    def accessed(self) -> bool:
        return self._accessed or self.session.accessed

    @accessed.setter
    def accessed(self, value: bool) -> None:
        self._accessed = value

    @property
    def modified(self) -> bool:
        # A write through flask.session answers without encoding the data to compare.
        return self._written or self.session.modified

    @modified.setter
    def modified(self, value: bool) -> None:
        self.session.modified = value
        if not value:
            self._written = False

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.session.is_new

    def __getitem__(self, key: str) -> Any:
        return self.session[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.session[key] = value
        self._written = True

    def __delitem__(self, key: str) -> None:
        del self.session[key]
        self._written = True

    def __iter__(self) -> Iterator[str]:
        return iter(self.session)

    def __len__(self) -> int:
        return len(self.session)

    def __contains__(self, key: object) -> bool:
        return key in self.session

    def get(self, key: str, default: Any = None) -> Any:
        return self.session.get(key, default)

    def pop(self, key: str, default: Any = _MISSING) -> Any:
        if key in self.session:
            self._written = True
        if default is _MISSING:
            return self.session.pop(key)
        return self.session.pop(key, default)

    def clear(self) -> None:
        self.session.clear()
        self._written = True

    def __repr__(self) -> str:
        return f"<FlaskSession {self.session!r}>"

    def _bind(self) -> None:
        self._token = current_session.set(self.session)

    def _unbind(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            try:
                current_session.reset(token)
            except ValueError:
                # Bound in another context (a copied one): nothing to undo here.
                logger.debug("sessionware.current() was bound in another context")


class TaggedJSONCodec:
    """Flask's own session serializer as a codec: JSON that keeps tuples, bytes,
    ``Markup``, ``UUID`` and ``datetime`` values, as Flask's cookie sessions do.

    Slower than the default msgspec JSON; choose it with
    ``SESSIONWARE_CODEC = "flask"`` (or ``codec=TaggedJSONCodec()``) when the app
    stores such values.
    """

    name = "flask-tagged-json"

    def __init__(self) -> None:
        self._serializer = TaggedJSONSerializer()

    def encode(self, data: dict[str, Any]) -> bytes:
        return self._serializer.dumps(data).encode()

    def decode(self, payload: bytes) -> dict[str, Any]:
        try:
            data = self._serializer.loads(payload.decode())
        except (ValueError, TypeError, KeyError) as exc:
            raise CodecError(str(exc)) from exc
        if not isinstance(data, dict):
            raise CodecError("stored session is not a mapping")
        return data


class SessionInterface(FlaskSessionInterface):
    """Set as ``app.session_interface``: Flask's session, stored by ``manager``.

    Cookie attributes come from the app's ``SESSION_COOKIE_*`` settings, as for
    Flask's own sessions.
    """

    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    def open_session(self, app: Flask, request: Request) -> FlaskSession:
        self._watch_teardown(app)
        cookie_value = _request_cookie(request, self.get_cookie_name(app)) or None
        wrapper = FlaskSession(self.manager.open(cookie_value), cookie_value)
        environ = request.environ
        previous = environ.get(_WRAPPER_KEY)
        if isinstance(previous, FlaskSession):
            # Opened twice for one request (the test client's session_transaction).
            previous._unbind()
        environ[ENVIRON_KEY] = wrapper.session
        environ[_WRAPPER_KEY] = wrapper
        wrapper._bind()
        return wrapper

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FlaskSession):  # a null session or a foreign one
            return
        # Read before anything below touches the data.
        varied = session.accessed
        if varied:
            _vary_on_cookie(response)
        session._finished = True
        if response.status_code >= 500:
            self.manager.forget_changes(session.session)
            return
        inner = session.session
        if not inner.loaded:
            return  # never used by this request: nothing to save or refresh
        if not inner and inner.user_id is None:
            self._end_empty(app, session, response)
            return
        # Flask's rule: set the cookie when modified, or refresh a permanent one.
        set_cookie = self.should_set_cookie(app, session)
        value = self.manager.save_changes(inner)
        if value is None and set_cookie and not inner.is_new:
            value = session.cookie_value  # same session, same cookie: refresh it
        if value is not None:
            self._set_cookie(app, session, response, value)
            if not varied:
                _vary_on_cookie(response)

    def _end_empty(self, app: Flask, session: FlaskSession, response: Response) -> None:
        """An emptied session is deleted, and its cookie with it, as Flask does."""
        inner = session.session
        if not inner.invalidated:
            if inner.is_new and not inner.modified:
                return  # stayed empty: nothing stored, no cookie
            self.manager.invalidate(inner)
        elif session.cookie_value is None:
            return
        response.delete_cookie(
            self.get_cookie_name(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
            partitioned=self.get_cookie_partitioned(app),
            samesite=self.get_cookie_samesite(app),
            httponly=self.get_cookie_httponly(app),
        )
        _vary_on_cookie(response)

    def _set_cookie(
        self, app: Flask, session: FlaskSession, response: Response, value: str
    ) -> None:
        # werkzeug's dump_cookie renders the attributes (once per second and
        # configuration: they only change with the clock's second); the value, a
        # signed id, is cookie-safe as it is, so it needs no quoting.
        attributes = _cookie_attributes(
            self._expires(app, session),
            self.get_cookie_path(app),
            self.get_cookie_domain(app),
            self.get_cookie_secure(app),
            self.get_cookie_httponly(app),
            self.get_cookie_samesite(app),
            self.get_cookie_partitioned(app),
        )
        response.headers.add("Set-Cookie", f"{self.get_cookie_name(app)}={value}{attributes}")

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


@functools.lru_cache(maxsize=16)
def _cookie_attributes(
    expires: int | None,
    path: str,
    domain: str | None,
    secure: bool,
    httponly: bool,
    samesite: str | None,
    partitioned: bool,
) -> str:
    """The ``; Expires=...; Path=/...`` part of the session's ``Set-Cookie``, as
    werkzeug renders it."""
    rendered = dump_cookie(
        "",
        expires=expires,
        path=path,
        domain=domain,
        secure=secure,
        httponly=httponly,
        samesite=samesite,
        partitioned=partitioned,
    )
    return rendered[1:]  # without the "=" of the empty name and value


def init_app(
    app: Flask, manager: SessionManager | None = None, *, store: Any = None
) -> SessionInterface:
    """Make ``app`` keep its sessions server-side; returns the installed interface.

    Without ``manager``, one is built from ``app.config``: the store from ``store``
    (a store or a URL) or ``SESSIONWARE_STORE`` (default ``sqlite:///sessions.db``), the secret
    from ``SECRET_KEY`` (plus ``SECRET_KEY_FALLBACKS`` to verify old cookies),
    ``max_age`` from ``PERMANENT_SESSION_LIFETIME`` and ``idle_timeout`` from
    ``SESSIONWARE_IDLE_TIMEOUT`` (seconds; default None, since Flask has no idle
    timeout) and the codec from ``SESSIONWARE_CODEC`` ("json", the default;
    "flask" for Flask's tagged JSON, see ``TaggedJSONCodec``).
    The manager is ``app.extensions["sessionware"].manager``.
    """
    if manager is None:
        manager = manager_from_config(app, store)
    interface = SessionInterface(manager)
    app.session_interface = interface
    app.extensions["sessionware"] = interface
    interface._watch_teardown(app)
    return interface


def manager_from_config(app: Flask, store: Any = None) -> SessionManager:
    """A ``SessionManager`` configured from ``app.config`` (see ``init_app``)."""
    config = app.config
    secret = config.get("SECRET_KEY")
    if not secret:
        raise RuntimeError("sessionware needs app.config['SECRET_KEY'] to sign session cookies")
    fallbacks = config.get("SECRET_KEY_FALLBACKS") or []
    if store is None or isinstance(store, str):
        store = open_store(store or config.get("SESSIONWARE_STORE") or DEFAULT_STORE)
    codec: str | Codec = config.get("SESSIONWARE_CODEC", "json")
    if codec == "flask":
        codec = TaggedJSONCodec()
    return SessionManager(
        store,
        secret_key=[secret, *fallbacks],
        max_age=app.permanent_session_lifetime.total_seconds(),
        idle_timeout=config.get("SESSIONWARE_IDLE_TIMEOUT"),
        codec=codec,
    )

"""WSGI middleware: the session cookie in, the session cookie out.

The session is saved when the application has produced its status and headers
(before the body is sent, since the cookie is a header), and only for a non-5xx
response; an exception or a 5xx forgets its changes. A store error while saving
turns the response into a 500 instead of being lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .context import current_session
from .cookie_io import CookieMiddleware, read_cookie, varies_on_cookie, warn_if_insecure
from .core.tokens import TokenRefused

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ._sync.manager import SessionManager
    from .core.session import Session

    _Middleware = CookieMiddleware[WSGIApplication, SessionManager]
else:
    _Middleware = CookieMiddleware  # _typeshed exists for type checkers only

__all__ = ["SessionMiddleware"]

logger = logging.getLogger("sessionware")
ENVIRON_KEY = "sessionware.session"
_VARY_COOKIE = ("Vary", "Cookie")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
OptExcInfo = ExcInfo | tuple[None, None, None] | None


class SessionMiddleware(_Middleware):
    """Wraps a WSGI app; ``environ["sessionware.session"]`` and
    ``sessionware.current()`` give the request's session.

    The cookie's attributes are the keyword arguments (``cookies.CookieArguments``:
    ``cookie_name``, ``secure``, ``httponly``, ``samesite``, ``path``, ``domain``,
    ``partitioned`` and ``cookie_max_age``, by default the manager's ``max_age``), or
    ``cookie``: a ``CookieOptions`` used as it is instead of them (see
    ``cookie_io.CookieMiddleware``, which also takes ``warn_as``)."""

    warns_as = "sessionware.wsgi.SessionMiddleware"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.token is not None:
            return self._call_with_token(environ, start_response)
        cookie_value = read_cookie(environ.get("HTTP_COOKIE"), self.cookie.name)
        session = self.open_session(environ, cookie_value)
        response = _Response(self, session, cookie_value is not None, start_response)
        return self._serve(environ, session, response)

    def _serve(
        self, environ: WSGIEnvironment, session: Session, response: _Response
    ) -> Iterable[bytes]:
        """Run the app on ``session``; ``response`` saves it as the headers go out."""
        environ[ENVIRON_KEY] = session
        if self._insecure_where is not None and environ.get("wsgi.url_scheme") == "https":
            response.insecure_where = self._insecure_where
        token = current_session.set(session)
        try:
            body = self.app(environ, response.start_response)
        except BaseException:
            self.manager.forget_changes(session)
            raise
        finally:
            current_session.reset(token)
        return response.finish(body)

    def open_session(self, environ: WSGIEnvironment, cookie_value: str | None) -> Session:
        """The request's session (a subclass may find it elsewhere: a transition)."""
        return self.manager.open(cookie_value)

    def _call_with_token(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """``__call__`` with session tokens on: the session from the cookie or the
        token header (400 when both, or a duplicated or malformed header)."""
        options = self.token
        assert options is not None
        cookie_value = None
        if options.cookies:
            cookie_value = read_cookie(environ.get("HTTP_COOKIE"), self.cookie.name)
        header = environ.get(options.environ_key)
        try:
            opened, via_token = options.credential(
                cookie_value, () if header is None else (header,)
            )
        except TokenRefused as exc:
            logger.warning("answering 400: %s", exc)
            return _refuse(start_response, str(exc))
        session = self.open_session(environ, opened)
        response = _TokenResponse(self, session, cookie_value is not None, start_response)
        response.via_token = via_token
        return self._serve(environ, session, response)

    def token_session_headers(
        self, session: Session, had_cookie: bool, status: str, via_token: bool
    ) -> list[tuple[str, str]]:
        """``session_headers`` with session tokens on: the token header for a client
        that uses it, ``Set-Cookie`` only for one that does not."""
        options = self.token
        assert options is not None
        headers = []
        if status[:1] == "5":
            self.manager.forget_changes(session)
        else:
            cookie_value = self.manager.save_changes(session)
            if cookie_value is not None or session.invalidated:
                if options.sends_cookie(via_token):
                    set_cookie = self.cookie.after_save(session, cookie_value, had_cookie)
                    if set_cookie is not None:
                        headers.append(("Set-Cookie", set_cookie))
                sent = options.after_save(cookie_value, session.invalidated, via_token, had_cookie)
                if sent is not None:
                    headers.append((options.sent_as, sent))
        if headers or session.accessed:
            headers.append(("Vary", options.vary))
        return headers

    def session_headers(
        self, session: Session, had_cookie: bool, status: str, insecure_where: str | None = None
    ) -> list[tuple[str, str]]:
        """Save or forget by ``status``; the headers to add to the response
        (``insecure_where``: an https request whose cookie would lack ``Secure``)."""
        set_cookie = None
        if status[:1] == "5":
            self.manager.forget_changes(session)
        else:
            cookie_value = self.manager.save_changes(session)
            # A returning visitor's request has nothing to set: the common case.
            if cookie_value is not None or session.invalidated:
                set_cookie = self.cookie.after_save(session, cookie_value, had_cookie)
                if insecure_where is not None and cookie_value is not None:
                    warn_if_insecure(False, True, insecure_where)
        if set_cookie is None:
            return [_VARY_COOKIE] if varies_on_cookie(session, None) else []
        return [("Set-Cookie", set_cookie), _VARY_COOKIE]


@dataclass(slots=True, eq=False)
class _Response:
    """Holds the app's status and headers until the session is saved.

    Apps that call ``start_response`` before returning (nearly all) get their
    session saved after the call, so a store failure can still become a 500;
    apps that call it lazily from their body iterator are saved at that moment.
    """

    _middleware: SessionMiddleware
    _session: Session
    _had_cookie: bool
    _start_response: StartResponse
    pending: tuple[str, list[tuple[str, str]], OptExcInfo] | None = field(default=None, init=False)
    sent: bool = field(default=False, init=False)
    _returned: bool = field(default=False, init=False)
    insecure_where: str | None = field(default=None, init=False)

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: OptExcInfo = None,
        /,
    ) -> Callable[[bytes], object]:
        if self.sent:
            # Headers went out already; PEP 3333 has the server re-raise exc_info.
            return self._start_response(status, headers, exc_info)
        self.pending = (status, headers, exc_info)
        if self._returned:
            return self._send_headers()  # called lazily from the body iterator
        return self._write_through

    def _write_through(self, data: bytes) -> object:
        write = self._send_headers()
        return write(data)

    def _send_headers(self) -> Callable[[bytes], object]:
        assert self.pending is not None
        status, headers, exc_info = self.pending
        self.pending = None
        self.sent = True
        return self._start_response(status, headers + self._session_headers(status), exc_info)

    def _session_headers(self, status: str) -> list[tuple[str, str]]:
        return self._middleware.session_headers(
            self._session, self._had_cookie, status, self.insecure_where
        )

    def finish(self, body: Iterable[bytes]) -> Iterable[bytes]:
        self._returned = True
        if self.pending is None:
            return body
        try:
            self._send_headers()
        except Exception:
            logger.exception("saving the session failed; answering 500")
            close = getattr(body, "close", None)
            if close is not None:
                close()
            self._start_response(
                "500 Internal Server Error",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "21")],
            )
            return [b"Internal Server Error"]
        return body

    def __repr__(self) -> str:
        return f"<_Response pending={self.pending is not None}>"


@dataclass(slots=True, eq=False)
class _TokenResponse(_Response):
    """``_Response`` for a middleware with session tokens: its headers are the
    token's (``token_session_headers``)."""

    via_token: bool = field(default=False, init=False)

    def _session_headers(self, status: str) -> list[tuple[str, str]]:
        return self._middleware.token_session_headers(
            self._session, self._had_cookie, status, self.via_token
        )


def _refuse(start_response: StartResponse, reason: str) -> list[bytes]:
    """A 400 naming why the request's session credentials were refused."""
    body = f"Bad Request: {reason}".encode()
    start_response(
        "400 Bad Request",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]


def session_of(environ: dict[str, Any]) -> Session:
    """The request's session from a WSGI environ."""
    session: Session = environ[ENVIRON_KEY]
    return session

"""ASGI middleware: the session cookie in, the session cookie out. No framework needed.

HTTP: the session is opened before the app runs (``scope["session"]`` and
``sessionware.current()``) and saved when the app sends ``http.response.start``,
before that message goes out, so ``Set-Cookie`` and ``Vary: Cookie`` can still be
added. A 5xx response, an exception before the response started, or an app that
returns without responding forgets the request's changes. A store error while
saving turns the response into a 500 (the app's own messages are then dropped).
Changes made after the response started (while a body streams) are not saved.

WebSocket: the session is opened at connect and saved when the app returns
normally (the connection has closed); an exception forgets the changes. A
handshake response is long gone by then, so a *new* session created during a
websocket is saved but its cookie never reaches the browser: create sessions in
HTTP requests and let websockets use them.

Lifespan: passed through to the app; on shutdown the manager is closed (queued
visit touches are flushed, the flusher stops, the store is closed) before
``lifespan.shutdown.complete`` is forwarded. Apps without lifespan support are
covered too: the middleware then answers the lifespan protocol itself.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .context import current_session
from .cookie_io import CookieMiddleware, read_cookie, varies_on_cookie, warn_if_insecure
from .core.tokens import TokenOptions, TokenRefused

if TYPE_CHECKING:
    from ._async.manager import AsyncSaveInFlight, AsyncSessionManager
    from .cookies import CookieOptions
    from .core.session import Session

__all__ = ["SessionMiddleware", "session_of"]

logger = logging.getLogger("sessionware")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_VARY_COOKIE = (b"vary", b"Cookie")


def cookie_header(scope: Scope) -> str | None:
    """The request's ``Cookie`` header; several (as HTTP/2 sends) are joined by ``; ``."""
    found: str | None = None
    for name, value in scope.get("headers") or ():
        if name == b"cookie":
            text = value.decode("latin-1")
            found = text if found is None else f"{found}; {text}"
    return found


class SessionMiddleware(CookieMiddleware[ASGIApp, "AsyncSessionManager"]):
    """Wraps an ASGI app; ``scope["session"]`` and ``sessionware.current()`` give the
    connection's session. Cookie attributes as in ``sessionware.wsgi``: the keyword
    arguments, or ``cookie``, a ``CookieOptions`` used as it is instead of them (an
    integration's, rendered in its framework's spelling). ``warn_as``: the name the
    warning about a Secure-less cookie set on an https request gives."""

    warns_as = "sessionware.asgi.SessionMiddleware"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _open(self, scope: Scope) -> SessionExchange:
        """The connection's session; ``TokenRefused`` for ambiguous credentials."""
        if self.token is not None:
            return await self._open_with_token(scope, self.token)
        cookie_value = read_cookie(cookie_header(scope), self.cookie.name)
        session = await self.manager.open(cookie_value)
        exchange = SessionExchange(self.manager, self.cookie, session, cookie_value is not None)
        if self._insecure_where is not None and scope.get("scheme") == "https":
            exchange.insecure_where = self._insecure_where
        scope["session"] = session
        return exchange

    async def _open_with_token(self, scope: Scope, options: TokenOptions) -> SessionExchange:
        cookie_value = None
        if options.cookies:
            cookie_value = read_cookie(cookie_header(scope), self.cookie.name)
        name = options.asgi_name
        values = [v.decode("latin-1") for n, v in scope.get("headers") or () if n == name]
        opened, via_token = options.credential(cookie_value, values)
        session = await self.manager.open(opened)
        exchange = TokenExchange(self.manager, self.cookie, session, cookie_value is not None)
        exchange.token = options
        exchange.via_token = via_token
        scope["session"] = session
        return exchange

    # -- http -----------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            exchange = await self._open(scope)
        except TokenRefused as exc:
            logger.warning("answering 400: %s", exc)
            await _answer(send, 400, f"Bad Request: {exc}")
            return
        exchange.downstream = send
        token = current_session.set(exchange.session)
        try:
            await self.app(scope, receive, exchange.send_http)
        except BaseException:
            if not exchange.settled:
                await exchange.forget()
            await exchange.release_start()  # as it would have left before the failure
            raise
        finally:
            current_session.reset(token)
        if not exchange.settled:
            await exchange.forget()  # no response: nothing the client saw to keep
        await exchange.release_start()  # an app that sent no body: the start alone

    # -- websocket ------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            exchange = await self._open(scope)
        except TokenRefused as exc:
            logger.warning("refusing a websocket: %s", exc)
            await receive()  # websocket.connect; closing before accepting answers 403
            await send({"type": "websocket.close", "code": 1008})
            return
        token = current_session.set(exchange.session)
        try:
            await self.app(scope, receive, send)
        except BaseException:
            await exchange.forget()
            raise
        finally:
            current_session.reset(token)
        try:
            await exchange.manager.save_changes(exchange.session)
        except Exception:
            logger.exception("saving the session of a websocket failed")
            raise

    # -- lifespan -------------------------------------------------------------

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = False

        async def receive_noting() -> Message:
            nonlocal received
            received = True
            return await receive()

        async def send_closing_first(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self._close()
            await send(message)

        try:
            await self.app(scope, receive_noting, send_closing_first)
        except Exception:
            if received:
                raise
            logger.debug("the app does not speak lifespan; sessionware answers it")
        if not received:
            await self._serve_lifespan(receive, send)

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _close(self) -> None:
        try:
            await self.manager.close()
        except Exception:
            logger.exception("closing the session manager at shutdown failed")


class _Forgotten(enum.Enum):
    FORGOTTEN = enum.auto()  # a 5xx: the request's changes were dropped


FORGOTTEN: Final = _Forgotten.FORGOTTEN


class _SaveFailed(Exception):
    """The store failed to save the session; the response becomes a 500."""


@dataclass(slots=True, eq=False)
class SessionExchange:
    """One connection's session and the decisions taken on it."""

    manager: AsyncSessionManager
    cookie: CookieOptions
    session: Session
    had_cookie: bool
    settled: bool = field(default=False, init=False)  # saved or forgotten
    #: A failed save answered 500 instead of the app.
    replaced: bool = field(default=False, init=False)
    downstream: Send | None = field(default=None, init=False)
    #: Set on an https request whose cookie lacks ``Secure``: warn if one is set.
    insecure_where: str | None = field(default=None, init=False)
    #: A write sent, its answer unread (``start_save``), and the
    #: ``http.response.start`` that waits for it: both until the app's next message.
    in_flight: AsyncSaveInFlight | None = field(default=None, init=False)
    held_start: Message | None = field(default=None, init=False)

    def forget(self) -> Awaitable[None]:
        # The manager's coroutine, not a coroutine of its own: one frame less.
        self.settled = True
        return self.manager.forget_changes(self.session)

    async def send_http(self, message: Message) -> None:
        send = self.downstream
        assert send is not None
        if self.held_start is not None:
            await self.release_start()
        if message["type"] == "http.response.start":
            try:
                await self._add_session_headers(message)
            except _SaveFailed:
                self.replaced = True
                await _answer_500(send)
                return
            if self.in_flight is not None:
                # Sent when the store has answered, at the app's next message
                # (its body): the app's work up to then overlaps the store's.
                self.held_start = message
                return
        elif self.replaced:
            return  # the 500 went out instead of this response
        await send(message)

    async def release_start(self) -> None:
        """The write in flight answered: the held ``http.response.start`` goes on,
        or a 500 instead of it when the store failed. (Nothing held: nothing.)"""
        held, in_flight = self.held_start, self.in_flight
        if held is None or in_flight is None:
            return
        self.held_start = self.in_flight = None
        send = self.downstream
        assert send is not None
        try:
            await in_flight.finish()
        except Exception:
            logger.exception("saving the session failed; answering 500")
            self.replaced = True
            await _answer_500(send)
            return
        await send(held)

    async def _saved(self, status: int) -> str | _Forgotten | None:
        """Forget on a 5xx, else save: the signed id to send back, or None.
        ``_SaveFailed`` (logged) when the store failed. A write the store can
        answer later (``start_save``) is left in ``in_flight``: its cookie value
        is known now."""
        if status >= 500:
            await self.forget()
            return FORGOTTEN
        self.settled = True
        try:
            in_flight = await self.manager.start_save(self.session)
        except Exception:
            logger.exception("saving the session failed; answering 500")
            raise _SaveFailed from None
        if in_flight.pending:
            self.in_flight = in_flight
        return in_flight.cookie_value

    async def _add_session_headers(self, message: Message) -> None:
        """Save or forget by status; add the headers."""
        session = self.session
        set_cookie = None
        cookie_value = await self._saved(message["status"])
        if cookie_value is not FORGOTTEN and (cookie_value is not None or session.invalidated):
            set_cookie = self.cookie.after_save(session, cookie_value, self.had_cookie)
            if self.insecure_where is not None and cookie_value is not None:
                warn_if_insecure(False, True, self.insecure_where)
        if varies_on_cookie(session, set_cookie):
            headers = list(message.get("headers") or ())
            if set_cookie is not None:
                headers.append((b"set-cookie", set_cookie.encode("latin-1")))
            headers.append(_VARY_COOKIE)
            message["headers"] = headers


@dataclass(slots=True, eq=False)
class TokenExchange(SessionExchange):
    """``SessionExchange`` for a middleware with session tokens: the token header for
    a client that uses it, ``Set-Cookie`` only for one that does not."""

    token: TokenOptions | None = field(default=None, init=False)
    via_token: bool = field(default=False, init=False)

    async def _add_session_headers(self, message: Message) -> None:
        session, options = self.session, self.token
        assert options is not None
        added: list[tuple[bytes, bytes]] = []
        cookie_value = await self._saved(message["status"])
        if cookie_value is not FORGOTTEN and (cookie_value is not None or session.invalidated):
            via_token, invalidated = self.via_token, session.invalidated
            if options.sends_cookie(via_token):
                set_cookie = self.cookie.after_save(session, cookie_value, self.had_cookie)
                if set_cookie is not None:
                    added.append((b"set-cookie", set_cookie.encode("latin-1")))
            sent = options.after_save(cookie_value, invalidated, via_token, self.had_cookie)
            if sent is not None:
                added.append((options.sent_as.lower().encode(), sent.encode("latin-1")))
        if added or session.accessed:
            added.append((b"vary", options.vary.encode()))
            message["headers"] = [*(message.get("headers") or ()), *added]


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _answer_500(send: Send) -> None:
    # Fresh messages each time: outer middleware may edit the headers in place.
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", b"21"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"Internal Server Error"})


def session_of(scope: Scope) -> Session:
    """The connection's session from an ASGI scope."""
    session: Session = scope["session"]
    return session

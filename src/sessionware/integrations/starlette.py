"""A drop-in replacement for ``starlette.middleware.sessions.SessionMiddleware``.

Change one import line and the app keeps working, with the session data kept
server-side (the cookie carries only a signed id)::

    from sessionware.integrations.starlette import SessionMiddleware

    app.add_middleware(SessionMiddleware, secret_key="...", store="redis://localhost/0")

The constructor takes Starlette's arguments (``secret_key``, ``session_cookie``,
``max_age``, ``path``, ``same_site``, ``https_only``, ``domain``, ``partitioned``)
with Starlette's meaning, plus ``store=`` (a URL for ``sessionware.open_async_store``
or an async store; ``memory://`` by default) or ``manager=`` (an
``AsyncSessionManager``, whose own secret and lifetimes are then used). The
``Set-Cookie`` header is spelled as Starlette spells it (``path=/; Max-Age=...;
httponly; samesite=lax``...). It runs on asyncio and trio.

``request.session`` is a ``dict`` as in Starlette: reading, writing, ``pop``,
``update``, ``|=``... are saved when the response starts. Differences worth knowing:

- ``max_age`` is the session's absolute lifetime (from its creation) and the
  cookie's ``Max-Age``; ``max_age=None`` gives a browser-session cookie, and the
  stored data then expires after 14 days without a visit (``idle_timeout=``).
  ``max_age=0`` or negative: as in Starlette, the cookie expires at once; nothing
  is stored, so the session lasts one request (the cookie's value is ``null``).
- The cookie is set when a session is created (or its id changes), not again on
  each change: its data is in the store. ``rolling=True`` (starsessions'): ``max_age``
  restarts with every request (an idle timeout, not an age) and every response
  re-sends a stored session's cookie, so a "remember me" cookie slides too.
- ``request.session.clear()`` deletes the stored session and the cookie; clearing
  and then storing new values (a typical login) keeps the data under a new id.
- ``transition_from="starsessions"`` with ``transition_until=`` (a datetime):
  until then, starsessions' cookies convert into sessionware sessions (see
  ``starlette_transition``), after ``sessionware import-sessions starsessions``;
  ``transition_cookie=``: starsessions' cookie name, if not ``session_cookie``.
- ``same_site="none"`` needs ``https_only=True`` (browsers drop such cookies
  otherwise).
- ``token_header="Authorization"`` (or any header) also carries the session as a
  token for API clients, ``token_only=True`` as a token alone (no cookie): see
  ``sessionware.asgi`` and docs/tokens.md.
- ``scope["sessionware.session"]`` is the underlying ``sessionware.Session``
  (also ``sessionware.current()``) and ``scope["sessionware.manager"]`` the manager,
  for ``manager.login(...)`` and friends. Changes made through either the Session
  or ``request.session`` are saved; a change to ``request.session`` reaches the
  Session at once, but ``request.session`` (a copy made when the request began)
  does not show changes made to the Session directly.

Built by composition: this middleware configures a ``sessionware.asgi.SessionMiddleware``
(which opens, saves and forgets the session and writes the cookie) around a small
app that hands the user's app the ``dict`` view and applies what the view asks for
(a clear, a read that makes the response vary on the cookie) before the save.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._async.manager import AsyncSessionManager
from ..asgi import ASGIApp, Message, Receive, Scope, Send
from ..asgi import SessionMiddleware as ASGISessionMiddleware
from ..cookies import CookieOptions, cached_options
from ..core.expiry import lifetime_limits
from ..core.rolling import resend_cookie
from ..core.tokens import TokenOptions
from ..stores.base import AsyncStoreLike
from ..stores.registry import open_async_store
from .starlette_transition import TransitionMiddleware, transition_for

if TYPE_CHECKING:
    from ..core.session import Session

__all__ = ["SessionDict", "SessionMiddleware"]

BROWSER_SESSION_IDLE_TIMEOUT = 14 * 24 * 60 * 60
_MEMORY_URL = "memory://"
#: The name the insecure-cookie warning gives (``https_only=False`` on an https request).
WARN_AS = "starlette"


class SessionMiddleware:
    """Starlette's ``SessionMiddleware`` with the data in a sessionware store."""

    def __init__(
        self,
        app: ASGIApp,
        secret_key: str | Any | None = None,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,  # 14 days, in seconds
        path: str = "/",
        same_site: str = "lax",
        https_only: bool = False,
        domain: str | None = None,
        partitioned: bool = False,
        *,
        store: str | AsyncStoreLike | None = None,
        manager: AsyncSessionManager | None = None,
        idle_timeout: float | None = None,
        rolling: bool = False,
        token_header: str | TokenOptions | None = None,
        token_only: bool = False,
        transition_from: str | None = None,
        transition_until: datetime | float | str | None = None,
        transition_cookie: str | None = None,
    ) -> None:
        if manager is None and secret_key is None:
            raise TypeError("SessionMiddleware needs a secret_key (or a manager)")
        if manager is not None and store is not None:
            raise TypeError("give store= or manager=, not both (a manager has its store)")
        # Starlette's max_age <= 0: a cookie that expires at once, so nothing to keep.
        self._one_request = max_age is not None and max_age <= 0
        lifetime = None if self._one_request else max_age
        if lifetime is None and idle_timeout is None:
            idle_timeout = BROWSER_SESSION_IDLE_TIMEOUT
        # rolling (starsessions'): max_age restarts with each request, an idle timeout.
        idle, absolute = lifetime_limits(lifetime, sliding=rolling, idle_timeout=idle_timeout)
        self.rolling = rolling and lifetime is not None
        if (transition_from is None) != (transition_until is None):
            raise TypeError("give transition_from= and transition_until= together")
        self._transition = (transition_from, transition_until)
        self._transition_cookie = transition_cookie
        #: Session tokens (``sessionware.asgi``'s ``token_header``/``token_only``).
        self.token = TokenOptions.of(token_header, token_only)
        self._manager_options: dict[str, Any] = {
            # Starlette's secret_key may be a starlette.datastructures.Secret.
            "secret_key": _secret(secret_key),
            "max_age": absolute,
            "idle_timeout": idle,
        }
        self._store = _MEMORY_URL if store is None or self._one_request else store
        # Set-Cookie as Starlette's middleware spells it, so tests, proxies and
        # scripts that match Starlette's header keep matching. CookieOptions' fields
        # in order, as Flask and Django map theirs: name, path, domain, secure,
        # httponly (always, in Starlette), samesite, partitioned, max_age, expires
        # (none: Starlette sets Max-Age only).
        self.cookie = cached_options(
            "starlette",
            session_cookie,
            path,
            domain,
            https_only,
            True,
            same_site,
            partitioned,
            max_age,
            None,
        )
        self.app = app
        self._inner: ASGISessionMiddleware | None = None
        if manager is None and not isinstance(self._store, str):
            manager = AsyncSessionManager(self._store, **self._manager_options)
        elif manager is None and self._store == _MEMORY_URL:
            from ..stores.memory import AsyncMemoryStore

            manager = AsyncSessionManager(AsyncMemoryStore(), **self._manager_options)
        if manager is not None:
            self._inner = self._around(manager)

    @property
    def manager(self) -> AsyncSessionManager | None:
        """The manager (None until a store given by URL is opened, on first use)."""
        return None if self._inner is None else self._inner.manager

    def _around(self, manager: AsyncSessionManager) -> ASGISessionMiddleware:
        """The ASGI middleware that keeps the session, around the app's dict view."""
        view = _RequestSession(self.app, manager, self.cookie if self._one_request else None)
        view.rolling = self.rolling
        peer, until = self._transition
        if peer is None or until is None:
            return ASGISessionMiddleware(
                view, manager, cookie=self.cookie, warn_as=WARN_AS, token_header=self.token
            )
        inner = TransitionMiddleware(
            view, manager, cookie=self.cookie, warn_as=WARN_AS, token_header=self.token
        )
        cookie_name = self._transition_cookie or self.cookie.name
        inner.transition = transition_for(manager, peer, until, cookie_name)
        return inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inner = self._inner or await self._open()
        await inner(scope, receive, send)

    async def _open(self) -> ASGISessionMiddleware:
        """Open the store named by URL on first use (opening it is asynchronous)."""
        url = self._store
        assert isinstance(url, str)  # a store given as an object made the manager at once
        store = await open_async_store(url)
        if self._inner is None:
            self._inner = self._around(AsyncSessionManager(store, **self._manager_options))
        else:  # another request opened it meanwhile
            await store.close()
        return self._inner


def _secret(secret_key: Any) -> Any:
    """Keys as sessionware takes them; a Starlette ``Secret`` becomes its str."""
    if secret_key is None or isinstance(secret_key, (str, bytes, list, tuple)):
        return secret_key
    return str(secret_key)


class _RequestSession:
    """The app as ``sessionware.asgi.SessionMiddleware`` calls it: hands it
    ``request.session`` (a ``SessionDict`` over the connection's Session) and, before
    the response starts (a websocket: once the app returns), applies what the view
    asks for, so that the ASGI middleware's save sees it."""

    def __init__(
        self, app: ASGIApp, manager: AsyncSessionManager, one_request: CookieOptions | None
    ) -> None:
        self.app = app
        self.manager = manager
        #: Set when Starlette's max_age <= 0: the view stands alone, nothing is saved,
        #: and a changed session only gets Starlette's at-once-expired cookie.
        self.one_request = one_request
        #: starsessions' rolling=True: every response re-sends a stored session's cookie.
        self.rolling = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        session: Session = scope["session"]
        view = self._expose(scope, session)
        if kind == "websocket":
            await self.app(scope, receive, send)
            await self._settle(view, session)
            return

        async def send_settled(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 500:
                await self._settle(view, session, message)
            await send(message)

        await self.app(scope, receive, send_settled)

    def _expose(self, scope: Scope, session: Session) -> SessionDict:
        view = SessionDict(session.to_dict())
        if self.one_request is None:
            view._session = session
        session.accessed = False  # copying it for the app is not the app reading it
        scope["session"] = view
        scope["sessionware.session"] = session
        scope["sessionware.manager"] = self.manager
        return view

    async def _settle(
        self, view: SessionDict, session: Session, message: Message | None = None
    ) -> None:
        if view.accessed:
            session.accessed = True  # the response depends on the cookie: Vary
        if self.one_request is not None:
            if message is not None and view.modified and view:
                headers = list(message.get("headers") or ())
                headers.append((b"set-cookie", self.one_request.header("null").encode()))
                message["headers"] = headers
            return
        if view.cleared and not session.is_new:
            # A cleared stored session is deleted, or moves to a new id if new data
            # was stored after the clear (a login).
            if session:
                await self.manager.regenerate(session)
            else:
                await self.manager.invalidate(session)  # the cookie is deleted too
        if self.rolling:
            resend_cookie(self.manager.core.signer, session)


class SessionDict(dict[str, Any]):
    """``request.session``: a real ``dict`` (JSON responses and templates take it as
    is) that notes which keys the app changed and, in a request, passes each change
    on to the request's ``sessionware.Session`` as it happens. ``accessed``/
    ``modified`` and ``mark_accessed``/``mark_modified`` as in Starlette's own
    ``Session``.

    The flags are class-level defaults, as in Starlette's ``Session``: making one is
    a plain ``dict`` copy, and only a request that changes it pays for the rest.
    """

    accessed: bool = False
    cleared: bool = False
    _changed: set[str] | None = None
    _session: Session | None = None  # where changes go (None: a standalone dict)

    @property
    def changed(self) -> AbstractSet[str]:
        """The keys set or deleted since the session was loaded (or cleared)."""
        return self._changed or _NO_KEYS

    @property
    def modified(self) -> bool:
        return self.cleared or bool(self._changed)

    def _change(self, keys: Iterable[str]) -> None:
        self.accessed = True
        if self._changed is None:
            self._changed = set(keys)
        else:
            self._changed.update(keys)

    def mark_accessed(self) -> None:
        self.accessed = True

    def mark_modified(self) -> None:
        """Save the session even if no value changed."""
        self._change(self)
        if self._session is not None:
            self._session.modified = True

    def __setitem__(self, key: str, value: Any) -> None:
        if self._session is not None:
            self._session[key] = value  # first: it refuses keys a codec cannot store
        self._change((key,))
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._change((key,))
        if self._session is not None:
            self._session.pop(key, None)

    def clear(self) -> None:
        self.accessed = True
        self.cleared = True
        self._changed = None
        if self._session is not None:
            self._session.clear()
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self._change((key,))
            if self._session is not None:
                self._session.pop(key, None)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self._change((item[0],))
        if self._session is not None:
            self._session.pop(item[0], None)
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return super().__getitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        items = dict(*args, **kwargs)
        for key, value in items.items():
            self[key] = value

    # dict's own |= would bypass __setitem__. The ignore: mypy checks an __ior__
    # against typeshed's overloaded, generic dict.__or__, which no override matches.
    def __ior__(self, other: Any) -> SessionDict:  # type: ignore[override,misc]
        self.update(other)
        return self


_NO_KEYS: frozenset[str] = frozenset()

"""A drop-in replacement for ``starlette.middleware.sessions.SessionMiddleware``.

Change one import line and the app keeps working, with the session data kept
server-side (the cookie carries only a signed id)::

    from sessionware.integrations.starlette import SessionMiddleware

    app.add_middleware(SessionMiddleware, secret_key="...", store="redis://localhost/0")

The constructor takes Starlette's arguments (``secret_key``, ``session_cookie``,
``max_age``, ``path``, ``same_site``, ``https_only``, ``domain``, ``partitioned``)
plus ``store=`` (a URL for ``sessionware.open_async_store`` or an async store;
``memory://`` by default) or ``manager=`` (an ``AsyncSessionManager``, whose own
secret and lifetimes are then used).

``request.session`` is a ``dict`` as in Starlette: reading, writing, ``pop``,
``update``, ``|=``... are saved when the response starts. Differences worth knowing:

- ``max_age`` is the session's absolute lifetime (from its creation) and the
  cookie's ``Max-Age``; ``max_age=None`` gives a browser-session cookie, and the
  stored data then expires after 14 days without a visit (``idle_timeout=``).
- ``request.session.clear()`` deletes the stored session and the cookie; clearing
  and then storing new values (a typical login) keeps the data under a new id.
- ``same_site="none"`` needs ``https_only=True`` (browsers drop such cookies
  otherwise); a non-positive ``max_age`` is refused.
- ``scope["sessionware.session"]`` is the underlying ``sessionware.Session``
  (also ``sessionware.current()``) and ``scope["sessionware.manager"]`` the manager,
  for ``manager.login(...)`` and friends. Changes made through either the Session
  or ``request.session`` are saved; reading one does not show the other's changes
  made in the same request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._async.manager import AsyncSessionManager
from ..asgi import ASGIApp, Scope, SessionExchange
from ..asgi import SessionMiddleware as _ASGISessionMiddleware
from ..cookies import CookieSettings
from ..stores.registry import open_async_store

if TYPE_CHECKING:
    from ..core.session import Session

__all__ = ["SessionDict", "SessionMiddleware"]

BROWSER_SESSION_IDLE_TIMEOUT = 14 * 24 * 60 * 60
_MEMORY_URL = "memory://"


class SessionMiddleware(_ASGISessionMiddleware):
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
        store: str | Any | None = None,
        manager: AsyncSessionManager | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        if max_age is not None and max_age <= 0:
            raise ValueError(f"max_age must be positive or None, not {max_age!r}")
        if manager is None and secret_key is None:
            raise TypeError("SessionMiddleware needs a secret_key (or a manager)")
        if manager is not None and store is not None:
            raise TypeError("give store= or manager=, not both (a manager has its store)")
        self._manager_options: dict[str, Any] = {
            # Starlette's secret_key may be a starlette.datastructures.Secret.
            "secret_key": _secret(secret_key),
            "max_age": max_age,
            "idle_timeout": (
                idle_timeout
                if idle_timeout is not None or max_age is not None
                else BROWSER_SESSION_IDLE_TIMEOUT
            ),
        }
        self._store = _MEMORY_URL if store is None else store
        if manager is None and not isinstance(self._store, str):
            manager = AsyncSessionManager(store, **self._manager_options)
        elif manager is None and self._store == _MEMORY_URL:
            from ..stores.memory import AsyncMemoryStore

            manager = AsyncSessionManager(AsyncMemoryStore(), **self._manager_options)
        cookie = CookieSettings(
            session_cookie,
            secure=https_only,
            httponly=True,
            samesite=same_site,
            path=path,
            domain=domain,
            max_age=max_age,
            partitioned=partitioned,
        )
        self._configure(app, manager, cookie)

    async def _manager(self) -> AsyncSessionManager:
        """Open the store named by URL on first use (opening it is asynchronous)."""
        if self.manager is None:
            store = await open_async_store(self._store)
            if self.manager is None:
                self.manager = AsyncSessionManager(store, **self._manager_options)
            else:  # another request opened it meanwhile
                await store.close()
        return self.manager

    def _exchange(
        self, manager: AsyncSessionManager, session: Session, had_cookie: bool
    ) -> SessionExchange:
        return _StarletteExchange(manager, self.cookie, session, had_cookie)


def _secret(secret_key: Any) -> Any:
    """Keys as sessionware takes them; a Starlette ``Secret`` becomes its str."""
    if secret_key is None or isinstance(secret_key, (str, bytes, list, tuple)):
        return secret_key
    return str(secret_key)


class _StarletteExchange(SessionExchange):
    """Hands the app a ``SessionDict`` and carries its changes into the Session."""

    __slots__ = ("view",)

    def expose(self, scope: Scope) -> None:
        session = self.session
        self.view = SessionDict(session.to_dict())
        session.accessed = False  # copying it for the app is not the app reading it
        scope["session"] = self.view
        scope["sessionware.session"] = session
        scope["sessionware.manager"] = self.manager

    async def save(self) -> str | None:
        await self._apply_view()
        return await super().save()

    async def _apply_view(self) -> None:
        view, session, manager = self.view, self.session, self.manager
        if view.cleared and not session.is_new:
            if not view:
                await manager.invalidate(session)  # the cookie is deleted too
                return
            await manager.regenerate(session)  # new data after a clear: a new id
        if view.cleared:
            session.clear()
        changed = view.changed
        if changed:
            # In the view's order, so the stored dict keeps the order the app sees.
            for key, value in view.items():
                if key in changed:
                    session[key] = value
            for key in changed.difference(view):
                session.pop(key, None)
        if view.accessed:
            session.accessed = True  # the response depends on the cookie


class SessionDict(dict[str, Any]):
    """``request.session``: a real ``dict`` (JSON responses and templates take it as
    is) that notes which keys the app changed. ``accessed``/``modified`` and
    ``mark_accessed``/``mark_modified`` as in Starlette's own ``Session``."""

    __slots__ = ("accessed", "changed", "cleared")

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.accessed = False
        self.cleared = False
        self.changed: set[str] = set()

    @property
    def modified(self) -> bool:
        return self.cleared or bool(self.changed)

    def mark_accessed(self) -> None:
        self.accessed = True

    def mark_modified(self) -> None:
        """Save every key, as if each had been set again."""
        self.accessed = True
        self.changed.update(self)

    def __setitem__(self, key: str, value: Any) -> None:
        self.accessed = True
        self.changed.add(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.accessed = True
        self.changed.add(key)

    def clear(self) -> None:
        self.accessed = True
        self.cleared = True
        self.changed.clear()
        super().clear()

    def pop(self, key: str, *default: Any) -> Any:
        if key in self:
            self.accessed = True
            self.changed.add(key)
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self.accessed = True
        self.changed.add(item[0])
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return super().__getitem__(key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        items = dict(*args, **kwargs)
        self.accessed = True
        self.changed.update(items)
        super().update(items)

    def __ior__(self, other: Any) -> SessionDict:  # type: ignore[override,misc]
        self.update(other)
        return self

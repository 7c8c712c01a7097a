"""Django's ``SessionStore`` as a thin adapter over ``sessionware.SessionManager``.

Every decision (signing, loading, compare-and-set with merge, what a concurrent
deletion means, listeners, visit tracking) is the manager's, as for WSGI, ASGI,
Flask and Starlette; this module only maps Django's ``SessionBase`` contract onto
it:

- ``session_key`` is the manager's signed cookie value (``<id>.<created>.<mac>``):
  a key without a genuine signature never reaches the store.
- ``save()`` is ``manager.save_changes``; a session deleted meanwhile raises
  ``UpdateError`` (Django's middleware turns it into ``SessionInterrupted``).
- ``cycle_key()`` is ``manager.regenerate`` plus a save, ``flush()`` and
  ``delete()`` are ``manager.invalidate``; storing ``_auth_user_id`` (Django's
  login) binds the session with ``manager.login``, so ``manager.revoke_user(id)``
  logs that user out everywhere.
- Django's per-session expiry (``set_expiry``, ``SESSION_COOKIE_AGE``) becomes the
  record's expiry through a store proxy; a save with no lifetime left deletes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.utils.module_loading import import_string

from ...core.codecs import CodecError, JsonCodec
from ...core.session import Session
from .async_methods import WorkerThreadMethods
from .engine import get_manager, record_expiry, setting
from .transition import adopt

__all__ = ["AUTH_USER_KEY", "SessionStore"]

#: The session key under which ``django.contrib.auth`` keeps the user's id.
AUTH_USER_KEY = "_auth_user_id"

_codec = JsonCodec()
_security_log = logging.getLogger("django.security.SuspiciousSession")


class SessionStore(WorkerThreadMethods, SessionBase):
    """``SessionBase`` whose mapping is the manager's ``Session``."""

    def __init__(self, session_key: str | None = None) -> None:
        # SessionBase.__init__ minus its per-instance import of SESSION_SERIALIZER
        # (this engine stores what the manager's codec writes).
        self._session_key = session_key
        self.accessed = self.modified = False
        self._interrupted = False  # the record was deleted under this request

    # -- the key and the mapping ------------------------------------------------

    def _get_session_key(self) -> str | None:
        return self.__dict__.get("_key")

    def _set_session_key(self, value: str | None) -> None:
        self.__dict__["_key"] = value if self._validate_session_key(value) else None

    session_key = property(_get_session_key)
    _session_key = property(_get_session_key, _set_session_key)

    def _get_session(self, no_load: bool = False) -> Session:
        self.accessed = True
        cache: Session | None = self.__dict__.get("_session_cache")
        if cache is None:
            if no_load or self.__dict__["_key"] is None:
                cache = get_manager().open(None)
            else:
                cache = self.load()
            self._session_cache = cache
        return cache

    _session = property(_get_session)

    @property
    def typed(self) -> Any:
        """The data as ``SESSIONWARE_SCHEMA`` (docs/typed-sessions.md). Reading it
        marks the session modified, since Django saves only modified sessions and
        the object may be changed in place; the manager writes only what changed."""
        self.modified = True
        return self._get_session().typed

    async def atyped(self) -> Any:
        """``typed`` for async views: the session is loaded in a worker thread, as
        ``aget`` loads it, instead of by the store on the event loop."""
        session = await self._aget_session()
        self.modified = True
        return session.typed

    # SessionBase's versions through ``_session`` and Django's lazy settings, with
    # fewer Python calls: they are most of what the engine costs a request.
    def get(self, key: str, default: Any = None) -> Any:
        return self._get_session().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._get_session()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._get_session()

    def __setitem__(self, key: str, value: Any) -> None:
        self._get_session()[key] = value
        self.modified = True

    def get_session_cookie_age(self) -> int:
        age: int = setting("SESSION_COOKIE_AGE")
        return age

    def get_expire_at_browser_close(self) -> bool:
        if (expiry := self.get("_session_expiry")) is None:
            return bool(setting("SESSION_EXPIRE_AT_BROWSER_CLOSE"))
        return bool(expiry == 0)

    def get_expiry_age(self, **kwargs: Any) -> int:
        """As SessionBase's, without reading the clock when the session has no
        expiry of its own (the common case, asked twice per save)."""
        if not kwargs:
            expiry = self.get("_session_expiry")
            if not expiry:
                return self.get_session_cookie_age()
            kwargs = {"expiry": expiry}
        age: int = super().get_expiry_age(**kwargs)
        return age

    async def _aget_session(self, no_load: bool = False) -> Session:
        if no_load or "_session_cache" in self.__dict__ or self.__dict__["_key"] is None:
            return self._get_session(no_load)  # no I/O in that
        self.accessed = True
        cache = self._session_cache = await self.aload()
        return cache

    def clear(self) -> None:
        # SessionBase swaps in a plain dict; the manager's Session must stay.
        self._get_session().clear()
        self.modified = True

    def is_empty(self) -> bool:
        return not self.__dict__["_key"] and not self.__dict__.get("_session_cache")

    @property
    def serializer(self) -> Any:
        """``settings.SESSION_SERIALIZER``, for code that reads it; this engine
        stores JSON (msgspec) and never calls it."""
        return import_string(settings.SESSION_SERIALIZER)

    def encode(self, session_dict: dict[str, Any]) -> str:
        return _codec.encode(session_dict).decode()

    def decode(self, session_data: str | bytes) -> dict[str, Any]:
        payload = session_data.encode() if isinstance(session_data, str) else session_data
        try:
            return _codec.decode(payload)
        except CodecError:
            _security_log.warning("Session data corrupted")
            return {}

    # -- the SessionBase contract -----------------------------------------------

    def exists(self, session_key: str | None) -> bool:
        return bool(session_key) and not get_manager().open(session_key).is_new

    def load(self) -> Session:  # a Mapping, where Django's backends return a dict
        key = self.__dict__["_key"]
        session = get_manager().open(key)
        if session.is_new:  # unknown, expired or forged: never adopt the key
            adopted = adopt(key)  # unless a transition converts a Django session key
            if adopted is not None:
                self.modified = True  # saved under a new key at the end of the request
                return adopted
            self._session_key = None
        return session

    def create(self) -> None:
        """Store the current data under a new key (even when empty, as Django)."""
        current = self.__dict__.get("_session_cache")
        if current is None or not current.is_new or current.invalidated:
            fresh = get_manager().open(None)
            if current is not None:
                fresh.update(current)
            current = self._session_cache = fresh
        current.modified = True
        self._write(current)
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        """``manager.save_changes``. ``must_create``: only as a new record
        (``CreateError`` when the key is taken); otherwise ``UpdateError`` when the
        record was deleted meanwhile: it is never re-created."""
        if self._interrupted:
            raise UpdateError
        if self.__dict__["_key"] is None:
            self.create()
            return
        if must_create:
            if self.exists(self.__dict__["_key"]):
                raise CreateError
            self._session_key = None
            self.create()
            return
        session = self._get_session()
        if self.__dict__["_key"] is None:  # the load found it unknown or expired
            raise UpdateError
        self._write(session)

    def _write(self, session: Session) -> None:
        manager = get_manager()
        user_id = session.get(AUTH_USER_KEY)
        if user_id is not None and str(user_id) != session.user_id:
            manager.login(session, str(user_id))  # indexed for revoke_user
        if session.get("_session_expiry") is None:
            # SESSION_COOKIE_AGE is the manager's idle timeout: its policy applies.
            cookie = manager.save_changes(session)
        else:  # set_expiry: the record expires when Django says
            age = self.get_expiry_age()
            if age <= 0:  # no lifetime left: the save is a delete
                manager.invalidate(session)
                return
            cookie = _save_until(manager, session, time.time() + age)
        if session.invalidated or session.is_new:  # deleted meanwhile: dropped
            self._interrupted = True
            self._session_key = None
            self._session_cache = manager.open(None)
            raise UpdateError
        if cookie is not None:
            self._session_key = cookie

    def cycle_key(self) -> None:
        """``manager.regenerate``, written now: a new key, the same data, the old
        record gone. If that record was deleted meanwhile (a logout elsewhere) the
        session ends instead, and a later save raises ``UpdateError``."""
        session = self._get_session()
        get_manager().regenerate(session)
        session.modified = True
        with contextlib.suppress(UpdateError):  # dropped: the next save raises it
            self._write(session)
        self.modified = True

    def flush(self) -> None:
        self.delete()
        self._session_key = None
        self._session_cache = get_manager().open(None)
        self._interrupted = False
        self.accessed = self.modified = True

    def delete(self, session_key: str | None = None) -> None:
        own = self.__dict__["_key"]
        if session_key is None or session_key == own:
            if own is None:
                return
            session = self.__dict__.get("_session_cache")
            if session is None:  # not loaded: delete by key, no load
                session = get_manager().open(own)
            get_manager().invalidate(session)
            self._session_cache = session
            return
        get_manager().invalidate(get_manager().open(session_key))

    def visit(self) -> str | None:
        """End a request that does not save (Django's rule) through the manager:
        changes made without ``modified`` are forgotten, as Django forgets them,
        and the expiry is pushed forward when the visit throttle says so. Returns
        the cookie to set: a re-signed one (rotated ``SECRET_KEY``), or the same
        key when its expiry moved; None otherwise."""
        session = self.__dict__.get("_session_cache")
        if session is None or session.is_new or self._interrupted:
            return None
        manager = get_manager()
        if session.may_have_changed:
            manager.forget_changes(session)
        cookie: str | None
        if "_session_expiry" in session:  # Django's own expiry rule: moves on saves only
            cookie = session.cookie_value
        else:
            expires_at = session.expires_at
            cookie = manager.save_changes(session)
            if cookie is None and session.expires_at > expires_at:
                cookie = self.__dict__["_key"]
        if cookie is not None:
            self._session_key = cookie
        return cookie

    @classmethod
    def clear_expired(cls) -> None:
        get_manager().purge_expired()


def _save_until(manager: Any, session: Session, expires_at: float) -> str | None:
    """``manager.save_changes`` with the written record expiring at ``expires_at``
    (the engine's store proxy applies it)."""
    token = record_expiry.set(expires_at)
    try:
        cookie: str | None = manager.save_changes(session)
    finally:
        record_expiry.reset(token)
    return cookie

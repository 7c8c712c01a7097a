"""Django: a session engine that keeps sessions in any sessionware store.

In ``settings.py``::

    SESSION_ENGINE = "sessionware.integrations.django"
    SESSIONWARE_STORE = "redis://localhost:6379/0"   # any sessionware store URL

Django's ``SessionMiddleware``, ``request.session`` (sync and async methods),
``set_expiry``, ``cycle_key``, ``flush`` and ``manage.py clearsessions`` work as with
Django's own backends. The differences are underneath:

- The store never sees the session key from the cookie, only
  ``sessionware.core.signing.store_key(key)`` (a SHA-256 hash), so a leaked store or
  backup cannot be replayed as cookies.
- Data is JSON (msgspec), as with Django's default ``JSONSerializer``.
- Saves are compare-and-set: two concurrent requests that change different keys of
  one session both keep their changes (Django's own backends keep the last one), and
  a session deleted meanwhile (a logout elsewhere) is never re-created: ``save``
  raises ``UpdateError``, which the middleware turns into ``SessionInterrupted``.
- A session of a logged-in user is indexed by ``_auth_user_id``, so
  ``store.ids_for_user(user_id)`` finds (and ``SessionManager.revoke_user`` deletes)
  every session of that user.

One store per process and URL is opened on first use and kept (``close_stores()``
closes them). Async methods run the sync store through ``asgiref``'s
``sync_to_async``, as Django's own cache backends do: a native async client is bound
to the event loop it was made in, and Django runs async code in more than one loop
(``async_to_sync`` makes a loop per call under WSGI, in tests and in commands), so
one long-lived per-process async client would break there. Unlike Django's cache,
calls are not pinned to one thread (``thread_sensitive=False``): sessionware stores
are thread-safe, so concurrent async requests do not queue behind a single thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.utils.crypto import get_random_string

from ..core.codecs import CodecError, JsonCodec
from ..core.record import Record
from ..core.signing import store_key
from ..stores.registry import open_store

__all__ = ["DEFAULT_STORE", "SessionStore", "close_stores", "get_store"]

#: The store used when ``settings.SESSIONWARE_STORE`` is not set.
DEFAULT_STORE = "sqlite:///sessions.db"

#: The session key under which ``django.contrib.auth`` keeps the user's id.
AUTH_USER_KEY = "_auth_user_id"

#: How often a save re-applies its changes after concurrent writes before giving up.
MAX_SAVE_ATTEMPTS = 10

_stores: dict[str, Any] = {}
_stores_lock = threading.Lock()
_codec = JsonCodec()
_security_log = logging.getLogger("django.security.SuspiciousSession")


def get_store() -> Any:
    """The process's store for ``settings.SESSIONWARE_STORE``, opened on first use."""
    url: str = getattr(settings, "SESSIONWARE_STORE", None) or DEFAULT_STORE
    store = _stores.get(url)
    if store is None:
        with _stores_lock:
            store = _stores.get(url)
            if store is None:
                store = _stores[url] = open_store(url)
    return store


def close_stores() -> None:
    """Close every store this module opened; the next use opens them again."""
    with _stores_lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.close()


class _Stored(NamedTuple):
    """What the store held when this session object last read or wrote it."""

    version: int
    created_at: float
    payload: bytes  # decoded again only to merge after a concurrent write


class SessionStore(SessionBase):  # type: ignore[misc]  # Django ships no types
    """Django's ``SessionBase`` on a sessionware store."""

    # Properties of SessionBase (annotations only: nothing is shadowed at runtime).
    session_key: str | None
    _session_key: str | None

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._stored: _Stored | None = None

    # -- encoding -------------------------------------------------------------

    def encode(self, session_dict: dict[str, Any]) -> str:
        """The session as JSON text (what the store keeps, as bytes)."""
        return _codec.encode(session_dict).decode()

    def decode(self, session_data: str | bytes) -> dict[str, Any]:
        """The session in ``session_data``; ``{}`` (and a security log entry) when
        it is not a JSON object."""
        payload = session_data.encode() if isinstance(session_data, str) else session_data
        try:
            return _codec.decode(payload)
        except CodecError:
            _security_log.warning("Session data corrupted")
            return {}

    # -- keys -----------------------------------------------------------------

    def _get_new_session_key(self) -> str:
        # No exists() round trip: save(must_create=True) is a compare-and-set, so a
        # collision surfaces as CreateError and create() draws again.
        key: str = get_random_string(32, VALID_KEY_CHARS)
        return key

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    # -- the SessionBase contract ---------------------------------------------

    def exists(self, session_key: str | None) -> bool:
        if not session_key:
            return False
        return get_store().load(store_key(session_key)) is not None

    def load(self) -> dict[str, Any]:
        key = self.session_key
        record = get_store().load(store_key(key)) if key else None
        if record is None:
            # Unknown or expired: never adopt the key (a fresh one comes at save).
            self._session_key = None
            self._stored = None
            return {}
        self._stored = _Stored(record.version, record.created_at, record.data)
        return self.decode(record.data)

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        """Write the session; with ``must_create`` only as a new record
        (``CreateError`` if the key is taken), otherwise only over an existing one
        (``UpdateError`` if it was deleted meanwhile)."""
        if self.session_key is None:
            self.create()
            return
        data = self._get_session(no_load=must_create)
        key = self.session_key
        if key is None:  # the load just found it unknown or expired
            raise UpdateError
        now = time.time()
        expires_at = now + self.get_expiry_age()
        if must_create:
            self._insert(store_key(key), data, now, expires_at)
        else:
            self._update(store_key(key), data, expires_at)

    def _insert(self, key: str, data: dict[str, Any], now: float, expires_at: float) -> None:
        record = Record(key, _codec.encode(data), now, expires_at, 1, _user_of(data))
        if not get_store().save_if_version(record, 0):
            raise CreateError
        self._stored = _Stored(1, now, record.data)

    def _update(self, key: str, data: dict[str, Any], expires_at: float) -> None:
        store = get_store()
        stored = self._stored or self._reload(key, data)
        for _ in range(MAX_SAVE_ATTEMPTS):
            payload = _codec.encode(data)
            version = stored.version + 1
            record = Record(key, payload, stored.created_at, expires_at, version, _user_of(data))
            if store.save_if_version(record, stored.version):
                self._stored = _Stored(version, stored.created_at, payload)
                return
            # Another request wrote meanwhile: keep its changes to other keys.
            current = store.load(key)
            if current is None:
                self._stored = None
                raise UpdateError
            data = _merge(_decode_quietly(stored.payload), data, _decode_quietly(current.data))
            self._session_cache = data
            stored = _Stored(current.version, current.created_at, current.data)
        raise UpdateError(f"session kept changing under concurrent requests ({key})")

    def _reload(self, key: str, data: dict[str, Any]) -> _Stored:
        """The stored version when this object has not read the record itself (its
        data was set directly): its data wins over what is stored."""
        current = get_store().load(key)
        if current is None:
            raise UpdateError
        return _Stored(current.version, current.created_at, _codec.encode(data))

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if session_key == self.session_key:
            self._stored = None
        get_store().delete(store_key(session_key))

    @classmethod
    def clear_expired(cls) -> None:
        get_store().purge_expired()

    # -- async: the same, off the event loop (see the module docstring) --------

    async def aexists(self, session_key: str | None) -> bool:
        return await sync_to_async(self.exists, thread_sensitive=False)(session_key)

    async def aload(self) -> dict[str, Any]:
        return await sync_to_async(self.load, thread_sensitive=False)()

    async def acreate(self) -> None:
        await sync_to_async(self.create, thread_sensitive=False)()

    async def asave(self, must_create: bool = False) -> None:
        await sync_to_async(self.save, thread_sensitive=False)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        await sync_to_async(self.delete, thread_sensitive=False)(session_key)

    @classmethod
    async def aclear_expired(cls) -> None:
        await sync_to_async(cls.clear_expired, thread_sensitive=False)()


def _user_of(data: dict[str, Any]) -> str | None:
    user_id = data.get(AUTH_USER_KEY)
    return None if user_id is None else str(user_id)


def _decode_quietly(payload: bytes) -> dict[str, Any]:
    try:
        return _codec.decode(payload)
    except CodecError:
        return {}


def _merge(base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """``theirs`` with the keys this request changed or removed since ``base``."""
    merged = dict(theirs)
    merged.update({k: v for k, v in mine.items() if k not in base or base[k] != v})
    for key in base.keys() - mine.keys():
        merged.pop(key, None)
    return merged

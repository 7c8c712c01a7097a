"""Django: a session engine that keeps sessions in any sessionware store.

In ``settings.py``::

    SESSION_ENGINE = "sessionware.integrations.django"
    SESSIONWARE_STORE = "redis://localhost:6379/0"   # any sessionware store URL
    MIDDLEWARE = [
        ...,
        # in place of "django.contrib.sessions.middleware.SessionMiddleware":
        "sessionware.integrations.django.SessionMiddleware",
        ...,
    ]

``request.session`` (sync and async methods), ``set_expiry``, ``cycle_key``,
``flush`` and ``manage.py clearsessions`` work as with Django's own backends, behind
Django's ``SessionMiddleware`` or this module's. Both take the same decisions (this
one works for any ``SESSION_ENGINE``); this one does less work per request: it reads
the session cookie without parsing every cookie, sets ``Vary`` and the session
cookie without Django's generic header and cookie machinery (the same headers
come out), and under ASGI stays on the event loop unless a save is due. The
differences of the engine are underneath:

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

import functools
import logging
import threading
import time
from http.cookies import Morsel, SimpleCookie
from operator import attrgetter
from typing import Any, NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.crypto import get_random_string
from django.utils.http import http_date
from django.utils.module_loading import import_string

from ..cookies import read_cookie
from ..core.codecs import CodecError, JsonCodec
from ..core.record import Record
from ..core.signing import store_key
from ..stores.registry import open_store

__all__ = ["DEFAULT_STORE", "SessionMiddleware", "SessionStore", "close_stores", "get_store"]

#: The store used when ``settings.SESSIONWARE_STORE`` is not set.
DEFAULT_STORE = "sqlite:///sessions.db"

#: The session key under which ``django.contrib.auth`` keeps the user's id.
AUTH_USER_KEY = "_auth_user_id"

#: How often a save re-applies its changes after concurrent writes before giving up.
MAX_SAVE_ATTEMPTS = 10

_new_tuple = tuple.__new__
_stores: dict[str, Any] = {}
_stores_lock = threading.Lock()
_codec = JsonCodec()
_security_log = logging.getLogger("django.security.SuspiciousSession")


def _setting(name: str) -> Any:
    """``getattr(settings, name, None)``, read from the cache Django's settings
    object keeps of every setting read: Django fills it on first read and empties it
    whenever settings change (``override_settings``, assignment), and the
    ``settings.X`` lookup itself costs a Python call each time. A miss (not read yet,
    or just changed) reads through ``settings``."""
    cached: dict[str, Any] = object.__getattribute__(settings, "__dict__")
    try:
        return cached[name]
    except KeyError:
        return getattr(settings, name, None)


def get_store() -> Any:
    """The process's store for ``settings.SESSIONWARE_STORE``, opened on first use."""
    url: str = _setting("SESSIONWARE_STORE") or DEFAULT_STORE
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
    """Django's ``SessionBase`` on a sessionware store.

    The methods every request runs (construction, the key, the lazy load, ``get``
    and ``[]``) are SessionBase's, rewritten with fewer Python calls: they are most
    of what a session costs a request on a fast store. Everything else is
    SessionBase's own.
    """

    def __init__(self, session_key: str | None = None) -> None:
        # SessionBase.__init__ without its per-instance import_string of
        # SESSION_SERIALIZER: see ``serializer``.
        self._session_key = session_key
        self.accessed = False
        self.modified = False
        self._stored: _Stored | None = None

    # SessionBase keeps the key behind Python properties; these read it with a C
    # getter. Setting ``_session_key`` still validates as SessionBase does.
    def _get_session_key(self) -> str | None:
        return self._key

    def _set_session_key(self, value: str | None) -> None:
        self._key = value if self._validate_session_key(value) else None

    session_key = property(attrgetter("_key"))
    _session_key = property(attrgetter("_key"), _set_session_key)

    def _get_session(self, no_load: bool = False) -> dict[str, Any]:
        """SessionBase's lazy load, without an AttributeError when not loaded yet."""
        self.accessed = True
        cache: dict[str, Any] | None = self.__dict__.get("_session_cache")
        if cache is None:
            if self._key is None or no_load:
                cache = self._session_cache = {}
            else:
                cache = self._session_cache = self.load()
        return cache

    _session = property(_get_session)

    def get(self, key: str, default: Any = None) -> Any:
        return self._get_session().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._get_session()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._get_session()

    def __setitem__(self, key: str, value: Any) -> None:
        self._get_session()[key] = value
        self.modified = True

    def is_empty(self) -> bool:
        return not self._key and not self.__dict__.get("_session_cache")

    @property
    def serializer(self) -> Any:
        """``settings.SESSION_SERIALIZER``, for code that reads it; this engine
        always stores JSON and never calls it."""
        return import_string(settings.SESSION_SERIALIZER)

    def get_session_cookie_age(self) -> int:
        age: int = _setting("SESSION_COOKIE_AGE")
        return age

    def get_expire_at_browser_close(self) -> bool:
        if (expiry := self.get("_session_expiry")) is None:
            return bool(_setting("SESSION_EXPIRE_AT_BROWSER_CLOSE"))
        return bool(expiry == 0)

    def get_expiry_age(self, **kwargs: Any) -> int:
        """As ``SessionBase.get_expiry_age``, without reading the clock when the
        session has no custom expiry (the common case, asked twice per save)."""
        if not kwargs:
            expiry = self.get("_session_expiry")
            if not expiry:
                age: int = self.get_session_cookie_age()
                return age
            kwargs = {"expiry": expiry}
        return super().get_expiry_age(**kwargs)  # type: ignore[no-any-return]

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
        record = get_store().load(_store_key(key)) if key else None
        if record is None:
            # Unknown or expired: never adopt the key (a fresh one comes at save).
            self._session_key = None
            self._stored = None
            return {}
        # tuple.__new__: a NamedTuple without the Python-level __new__ call.
        self._stored = _new_tuple(_Stored, (record.version, record.created_at, record.data))
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
            self._insert(_store_key(key), data, now, expires_at)
        else:
            self._update(_store_key(key), data, expires_at)

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


@functools.lru_cache(maxsize=4096)
def _store_key(session_key: str) -> str:
    """``store_key(session_key)``, remembered for the keys of recent requests (the
    SHA-256 was the largest step of loading a session from memory). The core's
    cookie signer keeps its verified cookies the same way."""
    return store_key(session_key)


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


# -- the middleware -------------------------------------------------------------------


class SessionMiddleware(DjangoSessionMiddleware):  # type: ignore[misc]  # no Django types
    """A drop-in replacement for ``django.contrib.sessions.middleware.SessionMiddleware``.

    The same decisions, in the same order, for any ``SESSION_ENGINE`` (Django's
    own included): load lazily, delete the cookie of an emptied session, save a
    modified one (or every one with ``SESSION_SAVE_EVERY_REQUEST``) unless the
    response is a 5xx, refresh the cookie, ``Vary: Cookie`` when the session was
    used, ``SessionInterrupted`` when the session was deleted meanwhile. What
    differs is the cost: the session cookie is read without parsing every cookie
    of the request (unless the app already did), ``Vary`` is set directly when the
    response has none yet, and under ASGI the request's session is opened inline
    (there is no I/O in that) and the response runs off the event loop only when a
    save is due. It subclasses Django's, so checks that look for Django's
    middleware (the admin's) find it.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        self.process_request(request)
        return self.process_response(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> Any:
        self.process_request(request)
        response = await self.get_response(request)
        if _saving(getattr(request, "session", None), response):
            return await sync_to_async(self.process_response, thread_sensitive=True)(
                request, response
            )
        return self.process_response(request, response)

    def process_request(self, request: HttpRequest) -> None:
        cookie = _request_cookie(request, _setting("SESSION_COOKIE_NAME"))
        request.session = self.SessionStore(cookie)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> Any:
        try:
            session = request.session
            accessed = session.accessed
            empty = session.is_empty()
        except AttributeError:
            return response
        if empty and _request_cookie(request, _setting("SESSION_COOKIE_NAME")) is not None:
            name = _setting("SESSION_COOKIE_NAME")
            response.delete_cookie(
                name,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
            accessed = True
        elif _saving(session, response):
            max_age, expires = _cookie_lifetime(session)  # before the save, as Django
            _save(session)
            _set_session_cookie(response, session.session_key, max_age, expires)
            accessed = True
        if accessed:
            _vary_on_cookie(response)
        return response


def _saving(session: Any, response: HttpResponseBase) -> bool:
    """Whether the response saves the session (Django's rule); False without one."""
    try:
        wanted = session.modified or _setting("SESSION_SAVE_EVERY_REQUEST")
        return bool(wanted) and not session.is_empty() and response.status_code < 500
    except AttributeError:
        return False


def _save(session: Any) -> None:
    try:
        session.save()
    except UpdateError:
        raise SessionInterrupted(
            "The request's session was deleted before the request completed. The "
            "user may have logged out in a concurrent request, for example."
        ) from None


def _set_session_cookie(
    response: HttpResponseBase, value: str, max_age: int | None, expires: str | None
) -> None:
    """What Django's middleware sets: ``response.set_cookie(SESSION_COOKIE_NAME,
    value, max_age, expires, SESSION_COOKIE_DOMAIN/PATH/SECURE/HTTPONLY/SAMESITE)``."""
    options = (
        _setting("SESSION_COOKIE_NAME"),
        max_age,
        expires,
        _setting("SESSION_COOKIE_DOMAIN"),
        _setting("SESSION_COOKIE_PATH"),
        _setting("SESSION_COOKIE_SECURE") or None,
        _setting("SESSION_COOKIE_HTTPONLY") or None,
        _setting("SESSION_COOKIE_SAMESITE"),
    )
    cookies = response.cookies
    if options[0] in cookies:  # the view set one: let Django's set_cookie update it
        _django_set_cookie(response, value, options)
    else:
        cookies[options[0]] = _SessionMorsel(value, _cookie_template(options))


def _django_set_cookie(response: HttpResponseBase, value: str, options: tuple[Any, ...]) -> None:
    name, max_age, expires, domain, path, secure, httponly, samesite = options
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        expires=expires,
        domain=domain,
        path=path,
        secure=secure,
        httponly=httponly,
        samesite=samesite,
    )


class _Template(NamedTuple):
    name: str
    attributes: dict[str, Any]  # the Morsel's attributes, as set_cookie left them
    rendered_tail: str  # what OutputString() renders after "name=value"


@functools.lru_cache(maxsize=16)
def _cookie_template(options: tuple[Any, ...]) -> _Template:
    """The session cookie Django's ``set_cookie`` makes for these options, rendered
    once (the options change with the second of ``expires``, so once a second):
    setting and rendering a cookie through ``SimpleCookie`` was a third of what a
    session costs a writing request."""
    scratch = HttpResponse()
    _django_set_cookie(scratch, "v", options)
    morsel = scratch.cookies[options[0]]
    head = f"{morsel.key}={morsel.coded_value}"
    return _Template(options[0], dict(morsel), morsel.OutputString()[len(head) :])


_encode_cookie_value = SimpleCookie().value_encode


class _SessionMorsel(Morsel[str]):
    """The session cookie as ``set_cookie`` would make it, already rendered.

    A real ``Morsel`` (the test client, other middleware and ``response.cookies``
    read it as usual); until someone changes it, rendering returns the text made
    from the template, and after a change Morsel's own rendering takes over.
    """

    def __init__(self, value: str, template: _Template) -> None:
        super().__init__()
        dict.update(self, template.attributes)
        real, coded = _encode_cookie_value(value)
        self.set(template.name, real, coded)
        self._template = template
        self._rendered_as = (template.name, coded)
        self._rendered = f"{template.name}={coded}{template.rendered_tail}"

    def _unchanged(self) -> bool:
        return (self.key, self.coded_value) == self._rendered_as and dict.__eq__(
            self, self._template.attributes
        )

    def OutputString(self, attrs: Any = None) -> str:  # noqa: N802  # Morsel's name
        if attrs is None and self._unchanged():
            return self._rendered
        rendered: str = super().OutputString(attrs)
        return rendered


def _cookie_lifetime(session: Any) -> tuple[int | None, str | None]:
    """The cookie's ``max_age`` and ``expires``: none for a browser-session cookie."""
    if session.get_expire_at_browser_close():
        return None, None
    max_age: int = session.get_expiry_age()
    return max_age, _http_date(int(time.time() + max_age))


@functools.lru_cache(maxsize=4)
def _http_date(epoch_seconds: int) -> str:
    # Cookies expire to the second: one formatting per second, not per response.
    date: str = http_date(epoch_seconds)
    return date


def _request_cookie(request: HttpRequest, name: str) -> str | None:
    """``request.COOKIES.get(name)``, without parsing every cookie of the request
    when the header can only give the same answer (plain ASCII, no quoting, the
    name once): Django's parse takes the last of repeated names and unquotes."""
    cookies = request.__dict__.get("COOKIES")  # parsed already, or set by a test
    if cookies is None:
        header = request.META.get("HTTP_COOKIE")
        if not header:
            return None
        if header.isascii() and header.count(name) < 2 and '"' not in header:
            return read_cookie(header, name)
        cookies = request.COOKIES
    value: str | None = cookies.get(name)
    return value


def _vary_on_cookie(response: HttpResponseBase) -> None:
    """``patch_vary_headers(response, ("Cookie",))``. A response without ``Vary``
    (most) gets the header put straight into Django's header dict: asking the
    headers mapping whether it has one raises and catches a KeyError, and setting
    it re-validates a constant, together a sixth of what a session costs a read
    request. Any other response, or a Django whose headers are kept differently,
    goes through ``patch_vary_headers``."""
    store = getattr(response.headers, "_store", None)
    if type(store) is dict and "vary" not in store:
        store["vary"] = ("Vary", "Cookie")  # as ResponseHeaders.__setitem__ keeps it
    else:
        patch_vary_headers(response, ("Cookie",))

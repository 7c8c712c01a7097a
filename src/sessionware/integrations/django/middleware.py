"""``SessionMiddleware``: a drop-in for ``django.contrib.sessions.middleware.SessionMiddleware``.

The same decisions, in the same order, for any ``SESSION_ENGINE`` (Django's own
included), at less cost per request: the session cookie is read without parsing
every cookie, ``Vary`` and the session cookie are set without Django's generic
header and cookie machinery (the same headers come out), and under ASGI the
response runs off the event loop only when a save is due. With sessionware's
engine it also ends the requests that do not save through the manager (visit
tracking, a cookie re-signed after a ``SECRET_KEY`` rotation) and warns once when
the cookie goes out without ``Secure`` on an https request.
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers

from ...cookie_io import read_cookie, warn_if_insecure
from ...cookies import CookieOptions, cached_options
from .engine import setting as _setting
from .tokens import open_credential, send_token, token_options
from .transition import PEER_COOKIE_KEY, delete_peer_cookie, peer_cookie_name, take_peer_cookie

__all__ = ["SessionMiddleware"]


class SessionMiddleware(DjangoSessionMiddleware):
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
        if cookie is None and (peer := peer_cookie_name()) is not None:
            cookie = take_peer_cookie(request, peer, _request_cookie(request, peer))
        tokens = token_options()
        if tokens is not None:  # SESSIONWARE_TOKEN_HEADER: the session key may be a token
            cookie = open_credential(request, tokens, cookie if tokens.cookies else None)
        request.session = self.SessionStore(cookie)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> Any:
        try:
            session = request.session
            accessed = session.accessed
            empty = session.is_empty()
        except AttributeError:
            return response
        if empty and _request_cookie(request, _setting("SESSION_COOKIE_NAME")) is not None:
            if not send_token(request, response, None):
                return response
            cookies = response.cookies
            options = cookie_options()
            cookies[options.name] = options.deletion_morsel(cookies.get(options.name))
            accessed = True
        elif _saving(session, response):
            max_age, expires = _cookie_lifetime(session)  # before the save, as Django
            _save(session)
            _set_session_cookie(request, response, session.session_key, max_age, expires)
            if PEER_COOKIE_KEY in request.META:  # converted from a peer cookie of its own name
                delete_peer_cookie(request, response, cookie_options(), session._get_session())
            accessed = True
        elif accessed and response.status_code < 500:
            _visit(request, response, session)
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


def _visit(request: HttpRequest, response: HttpResponseBase, session: Any) -> None:
    """A used session that Django's rule does not save: sessionware's engine ends
    it through the manager (``SessionStore.visit``) and may hand back a cookie to
    set (re-signed with the current key, or an expiry moved forward)."""
    visit = getattr(session, "visit", None)  # other engines have none
    if visit is not None and (cookie := visit()) is not None:
        max_age, expires = _cookie_lifetime(session)
        _set_session_cookie(request, response, cookie, max_age, expires)


def _set_session_cookie(
    request: HttpRequest,
    response: HttpResponseBase,
    value: str,
    max_age: int | None,
    expires: int | None,
) -> None:
    """What Django's middleware sets, ``response.set_cookie(SESSION_COOKIE_NAME,
    value, max_age, expires, SESSION_COOKIE_DOMAIN/PATH/SECURE/HTTPONLY/SAMESITE)``,
    as a Morsel rendered by ``CookieOptions``. Without ``Secure`` on an https
    request, a warning (once per process)."""
    if not send_token(request, response, value):
        return  # a client that came with a token gets it back in the token header
    options = cookie_options(max_age, expires)
    if not options.secure:
        warn_if_insecure(False, request.is_secure(), "django")
    cookies = response.cookies
    cookies[options.name] = options.morsel(value, cookies.get(options.name))


def cookie_options(max_age: int | None = None, expires: int | None = None) -> CookieOptions:
    """The session cookie's options from Django's ``SESSION_COOKIE_NAME``, ``_PATH``,
    ``_DOMAIN``, ``_SECURE``, ``_HTTPONLY``, ``_SAMESITE`` settings and
    ``SESSION_COOKIE_PARTITIONED`` (sessionware's: Django has none; default False),
    spelled as Django's ``set_cookie`` leaves it; ``max_age`` in seconds, ``expires``
    in Unix seconds. Made once per second and configuration."""
    return cached_options(
        "django",
        _setting("SESSION_COOKIE_NAME"),
        _setting("SESSION_COOKIE_PATH"),
        _setting("SESSION_COOKIE_DOMAIN"),
        bool(_setting("SESSION_COOKIE_SECURE")),
        bool(_setting("SESSION_COOKIE_HTTPONLY")),
        _setting("SESSION_COOKIE_SAMESITE") or None,
        _partitioned(),
        max_age,
        expires,
    )


#: ``SESSION_COOKIE_PARTITIONED``, read once and again when ``override_settings``
#: changes it: not being one of Django's settings, it is missing from the cache of
#: Django's settings object unless a project sets it, and Django raises and catches
#: an AttributeError for each read of a missing setting (about 3 us).
_partitioned_setting: list[bool] = []


def _partitioned() -> bool:
    if not _partitioned_setting:
        _partitioned_setting.append(bool(_setting("SESSION_COOKIE_PARTITIONED")))
    return _partitioned_setting[0]


def _partitioned_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "SESSION_COOKIE_PARTITIONED":
        _partitioned_setting.clear()


setting_changed.connect(_partitioned_changed)


def _cookie_lifetime(session: Any) -> tuple[int | None, int | None]:
    """The cookie's ``max_age`` and ``expires`` (Unix seconds): none for a
    browser-session cookie."""
    if session.get_expire_at_browser_close():
        return None, None
    max_age: int = session.get_expiry_age()
    return max_age, int(time.time() + max_age)


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

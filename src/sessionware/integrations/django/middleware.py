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

import functools
import time
from http.cookies import Morsel, SimpleCookie
from typing import Any, NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date

from ...cookies import read_cookie, warn_if_insecure
from .engine import setting as _setting

__all__ = ["SessionMiddleware"]


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
            _set_session_cookie(request, response, session.session_key, max_age, expires)
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
    expires: str | None,
) -> None:
    """What Django's middleware sets: ``response.set_cookie(SESSION_COOKIE_NAME,
    value, max_age, expires, SESSION_COOKIE_DOMAIN/PATH/SECURE/HTTPONLY/SAMESITE)``.
    Without ``Secure`` on an https request, a warning (once per process)."""
    if not _setting("SESSION_COOKIE_SECURE"):
        warn_if_insecure(False, request.is_secure(), "django")
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

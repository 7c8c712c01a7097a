"""Cookies in and out of a request, shared by the middlewares and integrations:
reading the session cookie from a ``Cookie`` header, whether a response varies on
it, the warning about a Secure-less cookie on https, and ``CookieMiddleware``, the
part the WSGI and ASGI ``SessionMiddleware`` share (its cookie from their keyword
arguments). What the cookie's attributes are and how they render is ``cookies``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from .cookies import CookieArguments, CookieOptions, cookie_max_age_of
from .core.tokens import TokenOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .core.lifecycle import SessionCore
    from .core.session import Session

__all__ = [
    "CookieMiddleware",
    "middleware_cookie",
    "read_cookie",
    "varies_on_cookie",
    "warn_if_insecure",
]

logger = logging.getLogger("sessionware")
_warned_insecure: set[str] = set()


def read_cookie(header: str | None, name: str) -> str | None:
    """The first value of cookie ``name`` in a ``Cookie`` header.

    A split-based parse: ``http.cookies.SimpleCookie`` costs ~16 us and rejects
    whole headers over one odd cookie from some other application.
    """
    if not header or name not in header:
        return None
    if ";" not in header:  # one cookie only: the common case for a site's own requests
        key, sep, value = header.partition("=")
        return _unquoted(value) if sep and key.strip() == name else None
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        if sep and key.strip() == name:
            return _unquoted(value)
    return None


def _unquoted(value: str) -> str:
    """The value without surrounding whitespace or one pair of double quotes."""
    value = value.strip()
    if value[:1] == '"' and len(value) >= 2 and value[-1] == '"':
        return value[1:-1]
    return value


def varies_on_cookie(session: Session, set_cookie: str | None) -> bool:
    """Whether the response depends on the cookie: it set one or the app used the session.

    Caches must then not serve it to another visitor (``Vary: Cookie``).
    """
    return set_cookie is not None or session.accessed


def warn_if_insecure(secure: bool, https: bool, where: str) -> None:
    """Log once per ``where`` (an integration's name) that a session cookie without
    ``Secure`` is being set on a request that arrived over https: the framework's
    setting (off by default there) lets the cookie leak over plain http later."""
    if secure or not https or where in _warned_insecure:
        return
    _warned_insecure.add(where)
    logger.warning(
        "%s: the session cookie is set without the Secure flag on an https request; "
        "turn on the integration's secure-cookie setting so it never travels over http",
        where,
    )


_ARGUMENTS = frozenset(CookieArguments.__annotations__)
_RENAMED = {"cookie_name": "name", "cookie_max_age": "max_age"}


def middleware_cookie(
    core: SessionCore, cookie: CookieOptions | None, arguments: CookieArguments
) -> CookieOptions:
    """The cookie a middleware sets: ``cookie`` as it is, else the ``CookieOptions``
    of its keyword ``arguments``. A keyword that is none of them is a TypeError."""
    unknown = arguments.keys() - _ARGUMENTS
    if unknown:
        raise TypeError(f"SessionMiddleware got unexpected keyword arguments: {sorted(unknown)}")
    if cookie is not None:
        return cookie
    fields: dict[str, Any] = {_RENAMED.get(key, key): value for key, value in arguments.items()}
    if fields.get("max_age") is None:
        fields["max_age"] = cookie_max_age_of(core)
    return CookieOptions(**fields)


class _Manager(Protocol):
    @property
    def core(self) -> SessionCore: ...


App = TypeVar("App")
Manager = TypeVar("Manager", bound=_Manager)


class CookieMiddleware(Generic[App, Manager]):
    """What the WSGI and ASGI ``SessionMiddleware`` share: the ``app`` they wrap,
    the ``manager`` and the session ``cookie``, a ``CookieOptions`` used as it is,
    else the one of the keyword arguments (``CookieArguments``). ``warn_as``: the
    name the warning about a Secure-less cookie set on an https request gives (by
    default the middleware's). ``token_header``: also take the session's signed id
    from this request header (``"Authorization"``: as ``Bearer <token>``) or a
    ``TokenOptions``; ``token_only=True``: from the header alone, no cookie."""

    #: What ``warn_as`` is by default.
    warns_as: ClassVar[str] = "sessionware"
    #: Set when the cookie is not Secure: the name a warning gives when such a cookie
    #: is set on an https request (None: nothing to check per request).
    _insecure_where: str | None = None
    #: Where session tokens travel (None: cookies only, nothing to check per request).
    token: TokenOptions | None = None

    def __init__(
        self,
        app: App,
        manager: Manager,
        *,
        cookie: CookieOptions | None = None,
        warn_as: str | None = None,
        token_header: str | TokenOptions | None = None,
        token_only: bool = False,
        **cookie_arguments: Unpack[CookieArguments],
    ) -> None:
        self.token = TokenOptions.of(token_header, token_only)
        self.app = app
        self.manager = manager
        self.cookie = middleware_cookie(manager.core, cookie, cookie_arguments)
        if not self.cookie.secure:
            self._insecure_where = self.warns_as if warn_as is None else warn_as

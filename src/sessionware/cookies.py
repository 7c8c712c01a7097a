"""Reading and writing the session cookie (used only by ``wsgi.py`` and ``asgi.py``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.lifecycle import SessionCore
    from .core.session import Session

__all__ = [
    "CookieSettings",
    "cookie_max_age_of",
    "read_cookie",
    "varies_on_cookie",
    "warn_if_insecure",
]

logger = logging.getLogger("sessionware")
_warned_insecure: set[str] = set()

_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


def read_cookie(header: str | None, name: str) -> str | None:
    """The first value of cookie ``name`` in a ``Cookie`` header.

    A split-based parse: ``http.cookies.SimpleCookie`` costs ~16 us and rejects
    whole headers over one odd cookie from some other application.
    """
    if not header or name not in header:
        return None
    if ";" not in header:  # one cookie only: the common case for a site's own requests
        key, sep, value = header.partition("=")
        return _unquoted(value.strip()) if sep and key.strip() == name else None
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        if sep and key.strip() == name:
            return _unquoted(value.strip())
    return None


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


class CookieSettings:
    """The session cookie's attributes, rendered once into ``Set-Cookie`` templates."""

    __slots__ = ("_attributes", "_deletion", "name")

    def __init__(
        self,
        name: str = "session",
        *,
        secure: bool = True,
        httponly: bool = True,
        samesite: str | None = "Lax",
        path: str = "/",
        domain: str | None = None,
        max_age: int | None = None,
        partitioned: bool = False,
    ) -> None:
        if not name or any(c in name for c in '=;, \t\r\n"'):
            raise ValueError(f"invalid cookie name {name!r}")
        parts = [f"Path={path}"]
        if domain:
            parts.append(f"Domain={domain}")
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite is not None:
            try:
                parts.append(f"SameSite={_SAMESITE[samesite.lower()]}")
            except KeyError:
                raise ValueError("samesite must be 'Lax', 'Strict', 'None' or None") from None
            if samesite.lower() == "none" and not secure:
                raise ValueError("SameSite=None cookies must also be Secure")
        if partitioned:
            parts.append("Partitioned")  # CHIPS: a cookie jar per top-level site
        self.name = name
        self._attributes = "; ".join(parts)
        deletion = [p for p in parts if not p.startswith("Max-Age=")]
        self._deletion = "; ".join(
            ["Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT", *deletion]
        )

    def set_value(self, value: str) -> str:
        return f"{self.name}={value}; {self._attributes}"

    def deletion(self) -> str:
        return f"{self.name}=; {self._deletion}"

    def after_save(
        self, session: Session, cookie_value: str | None, had_cookie: bool
    ) -> str | None:
        """The ``Set-Cookie`` value a response needs once its session was saved
        (``cookie_value``: what ``save_changes`` returned), or None.

        A new or regenerated session sends its cookie; an invalidated one deletes
        the cookie the browser sent; anything else sends nothing.
        """
        if cookie_value is not None:
            return self.set_value(cookie_value)
        if session.invalidated and had_cookie:
            return self.deletion()
        return None


def varies_on_cookie(session: Session, set_cookie: str | None) -> bool:
    """Whether the response depends on the cookie: it set one or the app used the session.

    Caches must then not serve it to another visitor (``Vary: Cookie``).
    """
    return set_cookie is not None or session.accessed


def cookie_max_age_of(core: SessionCore) -> int | None:
    """The cookie ``Max-Age`` matching a manager's absolute session lifetime
    (None: no absolute lifetime, so a browser-session cookie)."""
    max_age = core.policy.max_age
    return None if max_age is None else int(max_age)


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

"""Reading and writing the session cookie (used only by ``wsgi.py`` and ``asgi.py``)."""

from __future__ import annotations

__all__ = ["CookieSettings", "read_cookie"]

_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


def read_cookie(header: str | None, name: str) -> str | None:
    """The first value of cookie ``name`` in a ``Cookie`` header.

    A split-based parse: ``http.cookies.SimpleCookie`` costs ~16 us and rejects
    whole headers over one odd cookie from some other application.
    """
    if not header or name not in header:
        return None
    for chunk in header.split(";"):
        key, sep, value = chunk.partition("=")
        if sep and key.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None


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

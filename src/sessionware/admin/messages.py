"""The admin's framework-neutral request and response: each adapter (WSGI, ASGI,
Django, Flask) turns its framework's request into an ``AdminRequest`` and the
``AdminResponse`` back into its framework's response."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .csrf import CsrfCookie

__all__ = ["MAX_BODY", "SECURITY_HEADERS", "AdminRequest", "AdminResponse"]

#: Bodies of state-changing requests are tiny JSON objects.
MAX_BODY = 16 * 1024

# No inline script or style anywhere, so the policy can forbid both.
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)


@dataclass(frozen=True)
class AdminRequest:
    """``path``: the route inside the admin ("/" is its page); ``base``: the URL path
    the admin is mounted at, ending in "/"; ``headers``: lower-case names;
    ``native``: the framework's request, given to the authorizer."""

    method: str
    path: str
    base: str
    native: Any
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    secure: bool = False

    def json(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None when it is not one."""
        try:
            value = json.loads(self.body or b"null")
        except ValueError:
            return None
        return value if isinstance(value, dict) else None


@dataclass
class AdminResponse:
    """What the handler answers: status, body and content type, extra headers, and
    the CSRF cookie to set (kept apart so Django can set it through its cookie jar)."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    cookie: CsrfCookie | None = None

    @classmethod
    def html(cls, text: str, status: int = 200) -> AdminResponse:
        return cls(status, text.encode(), "text/html; charset=utf-8")

    @classmethod
    def json(cls, value: Any, status: int = 200) -> AdminResponse:
        return cls(status, json.dumps(value).encode(), "application/json")

    @classmethod
    def redirect(cls, location: str) -> AdminResponse:
        return cls(308, b"", headers=[("Location", location)])

    def all_headers(self, *, with_cookie: bool = True) -> list[tuple[str, str]]:
        """Content type, the response's own headers, the cookie's (unless the
        framework sets it), then the security headers."""
        headers = [("Content-Type", self.content_type), *self.headers]
        if self.cookie is not None and with_cookie:
            headers.append(("Set-Cookie", self.cookie.header()))
        return [*headers, *SECURITY_HEADERS]

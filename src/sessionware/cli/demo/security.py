"""CSRF tokens kept in the session, and the security headers every page gets."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import MutableMapping
from typing import Any

from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Request, Response

__all__ = [
    "SECURITY_HEADERS",
    "check_csrf",
    "csrf_token",
    "is_loopback",
    "loopback_only",
    "rotate_csrf",
]

CSRF_KEY = "_csrf"
CSRF_FIELD = "csrf"

# No inline script or style anywhere, so the policy can forbid both.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use. Forms echo it back."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = rotate_csrf(session)
    return token


def rotate_csrf(session: MutableMapping[str, Any]) -> str:
    """A new token (after login, so a token seen before it is worthless)."""
    token = secrets.token_urlsafe(32)
    session[CSRF_KEY] = token
    return token


def check_csrf(request: Request, session: MutableMapping[str, Any]) -> None:
    """Raise 403 unless the form carries this session's token."""
    expected = session.get(CSRF_KEY)
    sent = request.form.get(CSRF_FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "The form's security token does not match your session (it may have "
            "expired or been revoked). Reload the page and try again."
        )


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Headers a reverse proxy adds: a request that passed one came from elsewhere,
#: even though its connection comes from the loopback interface.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def loopback_only(request: Request) -> bool:
    """The demo's admin authorizer: requests from this machine only, not relayed by
    a proxy."""
    relayed = any(name in request.headers for name in PROXY_HEADERS)
    return not relayed and is_loopback(request.remote_addr)


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response

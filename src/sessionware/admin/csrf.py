"""CSRF tokens as a signed double-submit cookie, so the admin keeps no state and
makes no session of its own.

The page's response sets an HttpOnly, SameSite=Strict cookie holding a random
nonce, and puts ``HMAC(key, nonce)`` in the page; every state-changing request
must send that token back in the ``X-CSRF-Token`` header. Another site can neither
read the token nor compute it for a nonce it managed to plant.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from ..cookie_io import read_cookie
from ..cookies import CookieOptions

__all__ = ["COOKIE_NAME", "HEADER", "CsrfCookie", "CsrfGuard"]

COOKIE_NAME = "sessionware_admin_csrf"
HEADER = "x-csrf-token"
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")


class CsrfGuard:
    """Makes nonces, signs them into tokens, and checks a request's token against
    the nonce its cookie carries. ``secret_key``: None for a random one."""

    def __init__(self, secret_key: str | bytes | None) -> None:
        if secret_key is None:
            secret = secrets.token_bytes(32)
        else:
            secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
        self._key = hmac.new(secret, b"sessionware.admin.csrf", hashlib.sha256).digest()

    @staticmethod
    def nonce_of(cookie_header: str | None) -> str | None:
        """The nonce the request's cookie carries, if well-formed."""
        nonce = read_cookie(cookie_header, COOKIE_NAME)
        return nonce if nonce is not None and _NONCE.fullmatch(nonce) else None

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(32)

    def token(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def accepts(self, cookie_header: str | None, sent: str | None) -> bool:
        nonce = self.nonce_of(cookie_header)
        if nonce is None or not sent:
            return False
        return hmac.compare_digest(self.token(nonce), sent)


@dataclass(frozen=True)
class CsrfCookie:
    """The cookie that gives the browser a nonce for the admin's URLs only
    (HttpOnly, SameSite=Strict, Secure over https)."""

    name = COOKIE_NAME
    value: str
    path: str
    secure: bool

    def header(self) -> str:
        """Its ``Set-Cookie`` value."""
        options = CookieOptions(
            name=COOKIE_NAME, path=self.path, secure=self.secure, httponly=True, samesite="Strict"
        )
        return options.header(self.value)

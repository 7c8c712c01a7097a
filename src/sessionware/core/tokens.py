"""Session tokens for API and mobile clients: the session's signed id carried in a
request header (``Authorization: Bearer <token>`` or a header of your own) instead
of, or alongside, the cookie.

Sans-I/O: the middlewares and integrations hand over the header's values as the
request gave them and the cookie value they read; ``TokenOptions`` says which
signed id to open, whether the request came with a token, and what the response
should carry. A request it cannot read unambiguously raises ``TokenRefused`` (the
caller answers 400): the token header given twice, a malformed value, or both a
session cookie and a token (which one would be guessing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["TokenOptions", "TokenRefused"]

#: A signed id: URL-safe base64 and dots (see ``core.signing``).
_TOKEN = re.compile(r"[A-Za-z0-9_\-.]{1,512}")
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")


class TokenRefused(ValueError):
    """A request whose session credentials are ambiguous or malformed: answer 400."""


@dataclass(frozen=True, slots=True)
class TokenOptions:
    """Where a session token travels.

    ``header``: the request header carrying it; ``scheme``: the authentication
    scheme in front of it (``"Bearer"`` by default for ``Authorization``, none for
    any other header; a value in another scheme, ``Basic ...``, is not ours and is
    left to the app). ``response_header``: where a new or regenerated session's
    token is sent back (by default ``header``, in the same scheme); an invalidated
    session sends it empty. ``cookies``: False for header-only clients (no cookie is
    read or set); True accepts either, never both in one request.
    """

    header: str = "Authorization"
    scheme: str | None = field(default=None)
    response_header: str | None = None
    cookies: bool = True
    #: Derived: the WSGI environ key, the ASGI header name, the Vary value.
    environ_key: str = field(init=False, repr=False, compare=False)
    asgi_name: bytes = field(init=False, repr=False, compare=False)
    sent_as: str = field(init=False, repr=False, compare=False)
    vary: str = field(init=False, repr=False, compare=False)
    _prefix: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (self.header, self.response_header):
            if name is not None and not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"invalid header name {name!r}")
        scheme = self.scheme
        if scheme is None and self.header.lower() == "authorization":
            scheme = "Bearer"
        object.__setattr__(self, "scheme", scheme)
        object.__setattr__(self, "environ_key", "HTTP_" + self.header.upper().replace("-", "_"))
        object.__setattr__(self, "asgi_name", self.header.lower().encode("latin-1"))
        object.__setattr__(self, "sent_as", self.response_header or self.header)
        object.__setattr__(self, "vary", f"Cookie, {self.header}" if self.cookies else self.header)
        object.__setattr__(self, "_prefix", f"{scheme} " if scheme else "")

    @classmethod
    def of(cls, token_header: str | TokenOptions | None, token_only: bool) -> TokenOptions | None:
        """The options a middleware's ``token_header=``/``token_only=`` give."""
        if token_header is None:
            if token_only:
                raise ValueError("token_only=True needs a token_header")
            return None
        if isinstance(token_header, TokenOptions):
            return token_header
        return cls(token_header, cookies=not token_only)

    # -- the request ------------------------------------------------------------------

    def token_in(self, values: Sequence[str]) -> str | None:
        """The token in the request's values of ``header`` (each occurrence; WSGI's
        one value may hold duplicates joined by commas); None when there is none."""
        if not values:
            return None
        if len(values) > 1 or "," in values[0]:
            raise TokenRefused(f"the {self.header} header is given more than once")
        value = values[0].strip()
        if not value:
            return None
        if self.scheme is not None:
            scheme, _, value = value.partition(" ")
            if scheme.lower() != self.scheme.lower():
                return None  # another scheme (Basic...): the app's, not a session token
            value = value.strip()
        if not _TOKEN.fullmatch(value):
            raise TokenRefused(f"the {self.header} header does not hold a session token")
        return value

    def credential(
        self, cookie_value: str | None, values: Sequence[str]
    ) -> tuple[str | None, bool]:
        """The signed id to open and whether it came as a token (else the cookie).
        ``TokenRefused`` when the request carries both."""
        token = self.token_in(values)
        if token is None:
            return (cookie_value if self.cookies else None), False
        if cookie_value is not None and self.cookies:
            raise TokenRefused("the request carries both a session cookie and a session token")
        return token, True

    # -- the response -----------------------------------------------------------------

    def sends_cookie(self, via_token: bool) -> bool:
        """Whether the response may set (or delete) the cookie: never for a client
        that came with a token, nor when cookies are off."""
        return self.cookies and not via_token

    def sends_token(self, via_token: bool, had_cookie: bool) -> bool:
        """Whether a new or regenerated session's token goes in the response: to a
        client that came with a token, always with cookies off, and on a first
        contact (neither credential) when both are accepted, as the client may be
        either kind."""
        return via_token or not self.cookies or not had_cookie

    def after_save(
        self, cookie_value: str | None, invalidated: bool, via_token: bool, had_cookie: bool
    ) -> str | None:
        """The ``sent_as`` header's value once the session was saved (``cookie_value``:
        what ``save_changes`` returned), or None for no header: a new or regenerated
        session's token, or an empty value withdrawing an invalidated one's."""
        if cookie_value is not None:
            return self._prefix + cookie_value if self.sends_token(via_token, had_cookie) else None
        if invalidated and (via_token or not self.cookies):
            return ""
        return None

"""``UnsignedCookie``: a peer's cookie that carries its session's id as it is,
unsigned, so the peer's store must know the id (Django, starsessions)."""

from __future__ import annotations

import re
from typing import ClassVar

__all__ = ["UnsignedCookie"]


class UnsignedCookie:
    """A subclass names the peer (``name``), the cookie it sets by default
    (``default_cookie_name``) and what its ids look like (``id_pattern``); a cookie
    value of another form leads nowhere."""

    name: str
    default_cookie_name: ClassVar[str]
    id_pattern: ClassVar[re.Pattern[str]]

    def __init__(self, cookie_name: str | None = None) -> None:
        self.cookie_name = self.default_cookie_name if cookie_name is None else cookie_name

    def locate(self, cookie_value: str) -> str | None:
        return cookie_value if self.id_pattern.fullmatch(cookie_value) else None

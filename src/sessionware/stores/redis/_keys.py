"""Key names: a session, a user's index and a user's revocation marker, each in its
own Cluster slot, and the SCAN patterns that find them under a store's prefix."""

from __future__ import annotations

from ._errors import RedisURLError

__all__ = ["DEFAULT_PREFIX", "KeyLayout", "glob_escape"]

DEFAULT_PREFIX = "sessionware:"


def glob_escape(text: str) -> str:
    """``text`` as a literal in a SCAN ``MATCH`` pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


class KeyLayout:
    """Key names. Session ``<prefix>{<key>}``, user index ``<prefix>user:{<user>}``,
    revocation marker ``<prefix>revoked:{<user>}`` (the user index's slot).

    The braces are Cluster hash tags: each key names its own slot, and no operation
    ever needs two keys in one command, so nothing is cross-slot.
    """

    def __init__(self, prefix: str) -> None:
        if "{" in prefix or "}" in prefix:
            raise RedisURLError(f"a key prefix may not contain '{{' or '}}': {prefix!r}")
        self.prefix = prefix
        self._session_start = f"{prefix}{{"
        self.session_pattern = glob_escape(prefix) + "{*}"
        self.user_pattern = glob_escape(prefix) + "user:{*}"
        self.revoked_pattern = glob_escape(prefix) + "revoked:{*}"

    def session(self, id: str) -> str:
        return f"{self._session_start}{id}}}"

    def user(self, user_id: str) -> str:
        return f"{self.prefix}user:{{{user_id}}}"

    def revoked(self, user_id: str) -> str:
        return f"{self.prefix}revoked:{{{user_id}}}"

    def id_of(self, key: bytes | str) -> str:
        text = key.decode() if isinstance(key, bytes) else key
        return text[len(self._session_start) : -1]

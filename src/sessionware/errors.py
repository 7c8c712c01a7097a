"""The exceptions sessionware raises: one base class, one per kind of failure."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "ConcurrentUpdateError",
    "SessionwareError",
    "StoreError",
    "StoreUnavailable",
    "redact_url",
]


class SessionwareError(Exception):
    """Base class of every error sessionware raises on purpose."""


class StoreError(SessionwareError):
    """A store could not do what it was asked (disk full, read-only, bad schema...)."""


class StoreUnavailable(StoreError):
    """The store's server or file cannot be reached. The message carries a redacted URL."""

    def __init__(self, url: str, reason: str | BaseException) -> None:
        self.url = redact_url(url)
        self.reason = str(reason)
        super().__init__(f"session store {self.url} is unavailable: {self.reason}")


class ConcurrentUpdateError(SessionwareError):
    """A save kept conflicting with concurrent writers and gave up, or a same-key
    conflict was found while the manager is configured to raise on those."""


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, so it is safe to log and show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable store URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))

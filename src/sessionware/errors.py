"""The exceptions sessionware raises: one base class, one per kind of failure."""

from __future__ import annotations

import re
from urllib.parse import unquote, unquote_plus, urlsplit

__all__ = [
    "ConcurrentUpdateError",
    "SessionwareError",
    "StoreError",
    "StoreUnavailable",
    "redact_text",
    "redact_url",
    "url_secrets",
]

REDACTED = "***"
#: Query parameters whose value is a credential, by name: password, sentinel_password,
#: ssl_password, ssl_key_password, passwd, pwd, passphrase, secret, client_secret,
#: token, auth_token, api_key, credentials...
_SECRET_PARAMETER = re.compile(
    r"pass|pwd|secret|token|credential|api_?key|access_?key|private_?key|auth",
    re.IGNORECASE,
)


class SessionwareError(Exception):
    """Base class of every error sessionware raises on purpose."""


class StoreError(SessionwareError):
    """A store could not do what it was asked (disk full, read-only, bad schema...)."""


class StoreUnavailable(StoreError):
    """The store's server or file cannot be reached. The message carries a redacted URL."""

    def __init__(self, url: str, reason: str | BaseException) -> None:
        self.url = redact_url(url)
        self.reason = redact_text(str(reason), url)  # drivers may echo the URL back
        super().__init__(f"session store {self.url} is unavailable: {self.reason}")


class ConcurrentUpdateError(SessionwareError):
    """A save kept conflicting with concurrent writers and gave up, or a same-key
    conflict was found while the manager is configured to raise on those."""


def redact_url(url: str) -> str:
    """``url`` with its password and every credential-bearing query parameter
    (``password``, ``sentinel_password``, ``ssl_password``, ``token``...) replaced by
    ``***``, so it is safe to log and show. The one redaction every message, CLI
    output, dashboard and repr that shows a store URL goes through."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable store URL>"
    shown = url
    if password is not None:
        # Edit the text rather than re-assemble it: urlunsplit drops an empty "//".
        host = parts.netloc.rpartition("@")[2]
        shown = shown.replace(parts.netloc, f"{parts.username or ''}:{REDACTED}@{host}", 1)
    if parts.query:
        head, _, rest = shown.partition("?")
        shown = f"{head}?{_redacted_query(parts.query)}{rest[len(parts.query) :]}"
    return shown


def _redacted_query(query: str) -> str:
    fields = []
    for field in query.split("&"):
        name, sep, value = field.partition("=")
        if sep and value and _SECRET_PARAMETER.search(unquote_plus(name)):
            field = f"{name}={REDACTED}"
        fields.append(field)
    return "&".join(fields)


def url_secrets(url: str) -> list[str]:
    """The credentials in ``url`` (user info password, secret query values), as
    written and decoded, longest first: what ``redact_text`` removes from messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = {password, unquote(password)} if password else set()
    for field in parts.query.split("&"):
        name, sep, value = field.partition("=")
        if sep and value and _SECRET_PARAMETER.search(unquote_plus(name)):
            found |= {value, unquote_plus(value)}
    return sorted((secret for secret in found if secret), key=len, reverse=True)


def redact_text(text: str, url: str) -> str:
    """``text`` (a driver's error message, say) with every credential of ``url``
    replaced by ``***``."""
    for secret in url_secrets(url):
        text = text.replace(secret, REDACTED)
    return text

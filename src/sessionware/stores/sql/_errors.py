"""Database errors as store errors: ``StoreUnavailable`` when the server cannot be
reached, ``StoreError`` for anything else, with no password and no session data in
the message; and a missing driver named by the extra that brings it."""

from __future__ import annotations

import re

from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ...errors import StoreError, StoreUnavailable, redact_text, redact_url

__all__ = [
    "SQL_ERRORS",
    "ErrorTranslator",
    "NoSuchModuleError",
    "driver_missing",
    "is_transient",
    "is_unavailable",
    "outcome_unknown",
]

#: What the store's operations may raise that ``ErrorTranslator`` translates.
SQL_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)

#: SQLSTATE classes (PostgreSQL) and MySQL error codes of refusals no restart or
#: failover cures: bad credentials (28...; 1044, 1045, 1698), no such database
#: (3D000; 1049).
_PERMANENT_SQLSTATE_CLASSES = frozenset({"28", "3D"})
_PERMANENT_MYSQL_CODES = frozenset({1044, 1045, 1049, 1698})
#: The same refusals as libpq reports them when connecting (psycopg gives no
#: SQLSTATE for a failed connection, only the server's FATAL message).
_PERMANENT_POSTGRES_FATAL = re.compile(
    r'FATAL: +(?:(?:database|role) ".*" does not exist|password authentication failed'
    r"|no pg_hba\.conf entry)"
)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` may pass once the database is back (a restart, a primary
    switch): the server cannot be reached or dropped the connection, but did not
    refuse our credentials or database."""
    if isinstance(exc, OSError):
        return True
    if not is_unavailable(exc):
        return False
    original = getattr(exc, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str) and sqlstate[:2] in _PERMANENT_SQLSTATE_CLASSES:
        return False
    if _PERMANENT_POSTGRES_FATAL.search(str(original)):
        return False
    code = getattr(original, "args", (None,))[:1]  # PyMySQL: (code, message)
    return not (code and code[0] in _PERMANENT_MYSQL_CODES)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a write that raised ``exc`` may have been applied all the same: only
    an error met before any statement was sent (connecting, checking a connection
    out of the pool; SQLAlchemy then names no statement) says it was not."""
    if isinstance(exc, PoolTimeoutError):
        return False
    return not (isinstance(exc, DBAPIError) and exc.statement is None)


def _reason(exc: BaseException, url: str) -> str:
    # The driver's own message: SQLAlchemy's wrapper would add the statement and its
    # parameters, i.e. session data, to every log line.
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip() or type(exc).__name__
    text = text.splitlines()[0] if text else text
    return redact_text(text, url)


class ErrorTranslator:
    """``with translator:`` turns database errors into ``StoreUnavailable`` (cannot
    reach the server) or ``StoreError`` (anything else), with the password kept out
    of the message. One instance per store, reused by every operation (it keeps no
    state per use), so the hot path does not build a context manager each time."""

    __slots__ = ("_rendered_url", "_shown_url", "url")

    def __init__(self, url: URL) -> None:
        self.url = url
        self._rendered_url = url.render_as_string(hide_password=False)
        self._shown_url = redact_url(self._rendered_url)  # query passwords too

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        if exc is None or not isinstance(exc, (SQLAlchemyError, OSError)):
            return
        reason = _reason(exc, self._rendered_url)
        if isinstance(exc, OSError) or is_unavailable(exc):
            raise StoreUnavailable(self._rendered_url, reason) from exc
        raise StoreError(f"session store {self._shown_url}: {reason}") from exc


def driver_missing(url: URL, exc: BaseException) -> StoreError:
    """SQLAlchemy could not load the URL's driver: name the extra that brings it."""
    from ..registry import missing_extra  # the registry imports stores, not the reverse

    return missing_extra(
        url.render_as_string(hide_password=False),
        exc,
        unknown_driver=isinstance(exc, NoSuchModuleError),
    )

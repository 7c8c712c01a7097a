"""Beaker (file, database and Redis back ends): its stored sessions and its cookie.

Sessions are listed from the back end (the file back end keeps
``data_dir/container_file/x/xy/<id>.cache``; the database back end a
``beaker_cache`` row per session id; Redis a ``beaker_cache:<id>:session`` key)
and each is then read by Beaker's own ``beaker.session.Session`` with the app's
options (``data_serializer``, ``encrypt_key``/``validate_key``, ``timeout``), so
Beaker decodes, decrypts and times out as it would. The expiry is the last access
plus ``timeout``; without one Beaker keeps sessions forever, and ``lifetime``
(seconds, default 14 days from the import) stands in. The cookie
(``beaker.session.id``) carries the id, signed by ``secret`` when the app set one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from beaker.session import InvalidSignature, Session, SignedCookie

from ..core.transition import PeerSession
from ._redis import scan_prefixed

__all__ = ["BACKENDS", "NAME", "BeakerCookie", "cookie", "sessions"]

logger = logging.getLogger("sessionware")

NAME = "beaker"
#: What ``sessionware import-sessions --from`` names for this peer.
SOURCE = "data_dir (file), or the database or Redis URL (--backend)"
BACKENDS = ("file", "ext:database", "ext:redis")
DEFAULT_LIFETIME = 14 * 24 * 3600
_SESSION_ID = re.compile(r"[0-9a-f]{32}")
_TIMES = ("_creation_time", "_accessed_time")


def sessions(
    source: str,
    *,
    now: float,
    backend: str = "file",
    timeout: float | None = None,
    lifetime: float = DEFAULT_LIFETIME,
    batch_size: int = 500,
    **session_options: Any,
) -> Iterator[PeerSession]:
    """The live sessions of Beaker's ``backend`` at ``source`` (``data_dir`` for
    files, the URL for the database and Redis); ``session_options`` are Beaker's
    ``Session`` options the app used (``data_serializer``, ``encrypt_key``...)."""
    options: dict[str, Any] = {"type": backend, "timeout": timeout, **session_options}
    options["data_dir" if backend == "file" else "url"] = source
    for session_id in _ids(source, backend, batch_size, now):
        try:
            session = Session({}, id=session_id, use_cookies=False, **options)
        except Exception as exc:  # whatever Beaker's serializer or cipher raised
            logger.warning("beaker session %s...: unreadable (%s); skipped", session_id[:8], exc)
            continue
        if session.is_new or not session:  # timed out, or gone meanwhile
            continue
        data = dict(session)
        created, accessed = (float(data.pop(name, now)) for name in _TIMES)
        expires_at = accessed + timeout if timeout else now + lifetime
        if expires_at > now:
            yield PeerSession(session_id, data, created, expires_at, None)


def _ids(source: str, backend: str, batch_size: int, now: float) -> Iterator[str]:
    if backend == "file":
        for path in sorted((Path(source) / "container_file").glob("*/*/*.cache")):
            if _SESSION_ID.fullmatch(path.stem):
                yield path.stem
    elif backend == "ext:redis":
        for name, _, _ in scan_prefixed(source, "beaker_cache:", batch_size, now):
            session_id, _, key = name.partition(":")
            if key == "session":
                yield session_id
    elif backend == "ext:database":
        yield from _database_ids(source, batch_size)
    else:
        raise ValueError(f"unknown Beaker back end {backend!r}; expected one of {BACKENDS}")


def _database_ids(url: str, batch_size: int, table_name: str = "beaker_cache") -> Iterator[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    table = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
    after = ""
    try:
        while True:
            query = (
                sa.select(table.c.namespace)
                .where(table.c.namespace > after)
                .order_by(table.c.namespace)
                .limit(batch_size)
            )
            with engine.connect() as connection:
                ids = list(connection.execute(query).scalars())
            yield from ids
            if len(ids) < batch_size:
                return
            after = ids[-1]
    finally:
        engine.dispose()


class BeakerCookie:
    """Beaker's cookie: the id, or with ``secret`` an HMAC-SHA1 then the id
    (checked by Beaker's own ``SignedCookie``)."""

    name = NAME

    def __init__(self, cookie_name: str = "beaker.session.id", secret: str | None = None) -> None:
        self.cookie_name = cookie_name
        self.secret = secret

    def locate(self, cookie_value: str) -> str | None:
        value: Any = cookie_value
        if self.secret is not None:
            value, _ = SignedCookie(self.secret).value_decode(cookie_value)
            if value is InvalidSignature or value is None:
                return None
        return value if _SESSION_ID.fullmatch(value) else None


def cookie(cookie_name: str = "beaker.session.id", secret: str | None = None) -> BeakerCookie:
    return BeakerCookie(cookie_name, secret)

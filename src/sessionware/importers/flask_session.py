"""Flask-Session (Redis, filesystem, SQLAlchemy backends): its stored sessions and
its cookie.

Every backend files a session under ``SESSION_KEY_PREFIX + sid`` (``"session:"``
by default). Redis and SQLAlchemy keep the bytes of Flask-Session's serializer
(msgspec msgpack, with its JSON and pickle fallbacks: ``MsgSpecSerializer``); the
filesystem backend is a cachelib ``FileSystemCache``, whose file names are a
SHA-256 of the key, so its sessions are located by that hash (the cookie's sid
gives it again). The cookie (``SESSION_COOKIE_NAME``) carries the sid.
Flask-Login's ``_user_id`` in the data, when there, is the session's user.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import struct
from collections.abc import Iterator
from datetime import timezone
from pathlib import Path
from typing import Any

from flask import Flask
from flask_session.base import MsgSpecSerializer
from itsdangerous import BadSignature, Signer

from ..core.transition import PeerSession
from ._redis import scan_prefixed

__all__ = ["BACKENDS", "NAME", "FlaskSessionCookie", "cookie", "sessions"]

logger = logging.getLogger("sessionware")

NAME = "flask-session"
#: What ``sessionware import-sessions --from`` names for this peer.
SOURCE = "a Redis URL, SESSION_FILE_DIR, or an SQLAlchemy URL (--backend)"
BACKENDS = ("redis", "filesystem", "sqlalchemy")
DEFAULT_PREFIX = "session:"
#: Flask-Login's session key for the logged-in user.
USER_KEY = "_user_id"
#: Flask's default PERMANENT_SESSION_LIFETIME: the expiry of a session kept without one.
DEFAULT_LIFETIME = 31 * 24 * 3600
_SID = re.compile(r"[A-Za-z0-9_-]{16,128}")


def _user(data: dict[str, Any]) -> str | None:
    user = data.get(USER_KEY)
    return None if user is None else str(user)


def _serializer() -> MsgSpecSerializer:
    return MsgSpecSerializer(Flask("sessionware-import"), format="msgpack")


def sessions(
    source: str,
    *,
    now: float,
    backend: str = "redis",
    prefix: str = DEFAULT_PREFIX,
    table: str = "sessions",
    batch_size: int = 500,
) -> Iterator[PeerSession]:
    """The live sessions of Flask-Session's ``backend`` at ``source``: a Redis URL,
    the ``SESSION_FILE_DIR`` directory, or an SQLAlchemy URL with ``table``."""
    if backend == "redis":
        return _from_redis(source, prefix, batch_size, now)
    if backend == "filesystem":
        return _from_files(Path(source), now)
    if backend == "sqlalchemy":
        return _from_sql(source, prefix, table, batch_size, now)
    raise ValueError(f"unknown Flask-Session backend {backend!r}; expected one of {BACKENDS}")


def _from_redis(url: str, prefix: str, batch_size: int, now: float) -> Iterator[PeerSession]:
    serializer = _serializer()
    for sid, value, expires_at in scan_prefixed(url, prefix, batch_size, now):
        try:
            data = serializer.decode(value)
        except Exception as exc:  # the serializer's pickle fallback raises anything
            logger.warning("flask-session %s...: unreadable (%s); skipped", sid[:8], exc)
            continue
        yield PeerSession(sid, data, now, expires_at or now + DEFAULT_LIFETIME, _user(data))


def _from_files(directory: Path, now: float) -> Iterator[PeerSession]:
    from cachelib.file import FileSystemCache

    load = FileSystemCache(str(directory)).serializer.load
    for entry in os.scandir(directory):
        if not entry.is_file() or not re.fullmatch(r"[0-9a-f]{64}", entry.name):
            continue  # cachelib's count file and transaction files
        with open(entry.path, "rb") as file:
            expires = struct.unpack("I", file.read(4))[0]
            if expires != 0 and expires < now:
                continue
            data = load(file)
        if not isinstance(data, dict):
            continue  # cachelib's own count of its files
        expires_at = float(expires) if expires else now + DEFAULT_LIFETIME
        yield PeerSession(entry.name, data, now, expires_at, _user(data))


def _from_sql(
    url: str, prefix: str, table_name: str, batch_size: int, now: float
) -> Iterator[PeerSession]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    table = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
    serializer = _serializer()
    after = ""
    try:
        while True:
            query = (
                sa.select(table.c.session_id, table.c.data, table.c.expiry)
                .where(table.c.session_id > after)
                .order_by(table.c.session_id)
                .limit(batch_size)
            )
            with engine.connect() as connection:
                rows = connection.execute(query).all()
            for store_id, payload, expiry in rows:
                expires_at = expiry.replace(tzinfo=timezone.utc).timestamp()
                if expires_at > now and store_id.startswith(prefix):
                    data = serializer.decode(payload)
                    yield PeerSession(store_id[len(prefix) :], data, now, expires_at, _user(data))
            if len(rows) < batch_size:
                return
            after = rows[-1][0]
    finally:
        engine.dispose()


class FlaskSessionCookie:
    """Flask-Session's cookie: the sid, unsigned, or with ``signer_key`` (the app's
    ``SECRET_KEY`` under ``SESSION_USE_SIGNER = True``) signed as Flask-Session
    signs it (itsdangerous' ``Signer``, salt "flask-session")."""

    name = NAME

    def __init__(
        self,
        cookie_name: str = "session",
        backend: str = "redis",
        prefix: str = DEFAULT_PREFIX,
        signer_key: str | bytes | None = None,
    ) -> None:
        self.cookie_name = cookie_name
        self.backend = backend
        self.prefix = prefix
        self._signer = (
            None
            if signer_key is None
            else Signer(signer_key, salt="flask-session", key_derivation="hmac")
        )

    def locate(self, cookie_value: str) -> str | None:
        if self._signer is not None:
            try:
                cookie_value = self._signer.unsign(cookie_value).decode()
            except BadSignature:
                return None
        if not _SID.fullmatch(cookie_value):
            return None
        if self.backend == "filesystem":  # cachelib's file name for the key
            return hashlib.sha256((self.prefix + cookie_value).encode()).hexdigest()
        return cookie_value


def cookie(
    cookie_name: str = "session",
    backend: str = "redis",
    prefix: str = DEFAULT_PREFIX,
    signer_key: str | bytes | None = None,
) -> FlaskSessionCookie:
    return FlaskSessionCookie(cookie_name, backend, prefix, signer_key)

"""The keys of a dbm store's database: records under their 40-hex store key, the
user index under ``u:<sha256(user)>`` (a value of concatenated record keys) and
revocation markers under ``r:<sha256(user)>`` (``revoked_at`` and ``keep_until``
as two doubles). The prefixes keep the three from ever colliding."""

from __future__ import annotations

import struct

from ...errors import StoreError
from .._embedded import framing
from ._database import DbmFile

__all__ = [
    "REVOKED_PREFIX",
    "InvalidKeyError",
    "checked",
    "index_add",
    "index_keys",
    "index_remove",
    "is_record_key",
    "marker_key",
    "pack_marker",
    "read_marker",
]

_USER_PREFIX = b"u:"
REVOKED_PREFIX = b"r:"
_MARKER = struct.Struct("<dd")  # a revocation marker: revoked_at, keep_until
_KEY_LENGTH = 40


class InvalidKeyError(StoreError, ValueError):
    """A key that is not 40 lowercase hex characters reached the dbm store."""


def checked(key: str) -> bytes:
    if not framing.valid_key(key):
        raise InvalidKeyError(f"dbm store keys are 40 lowercase hex characters, got {key!r}")
    return key.encode()


def is_record_key(key: bytes) -> bool:
    return len(key) == _KEY_LENGTH and framing.valid_key(key.decode()) is not None


# -- the user index ---------------------------------------------------------------


def index_keys(db: DbmFile, user_id: str) -> tuple[bytes, list[bytes]]:
    index_key = _USER_PREFIX + framing.user_key(user_id).encode()
    value = db.get(index_key) or b""
    keys = [value[i : i + _KEY_LENGTH] for i in range(0, len(value), _KEY_LENGTH)]
    return index_key, keys


def index_add(db: DbmFile, user_id: str, key: bytes) -> None:
    index_key, keys = index_keys(db, user_id)
    if key not in keys:
        db.set(index_key, b"".join([*keys, key]))


def index_remove(db: DbmFile, user_id: str, key: bytes) -> None:
    index_key, keys = index_keys(db, user_id)
    if key in keys:
        # An emptied index keeps its key: deleting rewrites dbm.dumb's whole index.
        db.set(index_key, b"".join(k for k in keys if k != key))


# -- revocation markers ------------------------------------------------------------


def marker_key(user_id: str) -> bytes:
    return REVOKED_PREFIX + framing.user_key(user_id).encode()


def pack_marker(revoked_at: float, keep_until: float) -> bytes:
    return _MARKER.pack(revoked_at, keep_until)


def read_marker(db: DbmFile, key: bytes) -> tuple[float, float] | None:
    blob = db.get(key)
    if blob is None or len(blob) != _MARKER.size:
        return None  # missing, or damaged: overwritten or purged
    revoked_at, keep_until = _MARKER.unpack(blob)
    return float(revoked_at), float(keep_until)

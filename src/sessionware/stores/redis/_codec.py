"""The values the store writes: a session record as one string, the arguments of
the scripts that write it, and a revocation marker's string. Plain bytes and
numbers; no I/O.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ...core.record import NEVER, Record

__all__ = [
    "ANONYMOUS_OWNER",
    "HEADER",
    "NEVER_MS",
    "create_command",
    "decode_user",
    "expiry_ms",
    "index_score",
    "marker_args",
    "marker_revoked_at",
    "owner_span",
    "record_from_value",
    "record_value",
    "save_args",
    "times_of_header",
    "touch_args",
    "version_arg",
]

# A record is one string: a fixed header, the user id, then the data, with the
# record's expiry as the key's native TTL. A string because a session is read
# whole and written whole: a load is one GET whose reply is sliced here (a hash
# needs HMGET and five replies to convert), and the compare-and-set script makes
# two calls (GETRANGE of the header, SET with PXAT) where a hash needs five.
#
#   offset  0  version         int64    compare-and-set compares these 8 bytes
#   offset  8  expires_at      float64  touch_many overwrites it in place
#   offset 16  created_at      float64
#   offset 24  user id length  int32    -1 when the session is anonymous
#   offset 28  user id (UTF-8), then the data
#
# Big-endian, so the Lua scripts read the same fields with struct.unpack.
HEADER = struct.Struct(">qddi")
VERSION, EXPIRY, USER_LEN = struct.Struct(">q"), struct.Struct(">d"), struct.Struct(">i")
USER_AT = HEADER.size  # 28: where the user id starts
ANONYMOUS = -1
NEVER_MS = int(NEVER * 1000)
#: ``save_args`` marker for "write whatever is stored" (``save``, not compare-and-set).
ANY_VERSION = b"*"


def expiry_ms(expires_at: float) -> str:
    """PXAT / PEXPIREAT argument; '' for ``NEVER`` (no TTL at all). At least 1: the
    server refuses 0, and any past time removes the key as it should."""
    return "" if expires_at >= NEVER else str(max(1, math.floor(expires_at * 1000)))


def index_score(expires_at: float) -> int:
    return NEVER_MS if expires_at >= NEVER else math.floor(expires_at * 1000)


def record_value(record: Record) -> bytes:
    """The stored string: header, user id, data."""
    user = record.user_id
    if user is None:
        head = HEADER.pack(record.version, record.expires_at, record.created_at, ANONYMOUS)
        return head + record.data
    name = user.encode()
    head = HEADER.pack(record.version, record.expires_at, record.created_at, len(name))
    return head + name + record.data


def save_args(
    record: Record, expected_version: int, *, indexed: bool = True, tracked: bool = False
) -> list[Any]:
    """ARGV of ``SAVE_SCRIPT``; ``expected_version`` -1 writes unconditionally.
    ``indexed=False``: write only if the user and the expiry stay as stored.
    ``tracked``: read the key after the write (a near cache's lane)."""
    if expected_version < 0:
        expected = ANY_VERSION
    elif expected_version == 0:
        expected = b""  # GETRANGE of a missing key: the record must not exist
    else:
        expected = VERSION.pack(expected_version)
    args = [expected, record_value(record), expiry_ms(record.expires_at), "1" if indexed else ""]
    return [*args, "1"] if tracked else args


def create_command(key: str, record: Record) -> list[Any]:
    """SET NX: "must not exist" is the server's own compare-and-set, so a new
    anonymous record needs no script (a fifth of the server's work for one)."""
    expiry = expiry_ms(record.expires_at)
    command: list[Any] = ["SET", key, record_value(record), "NX"]
    return [*command, "PXAT", expiry] if expiry else command


def touch_args(expires_at: float) -> list[bytes | str]:
    return [EXPIRY.pack(expires_at), expiry_ms(expires_at)]


def record_from_value(id: str, value: bytes, url: str) -> Record | None:
    """A ``GET`` reply -> Record; None for a value this store did not write (the
    caller logs it with ``log_damaged`` and removes it, as the other stores do)."""
    if len(value) >= USER_AT:
        version, expires_at, created_at, user_len = HEADER.unpack_from(value)
        if user_len == ANONYMOUS:
            return Record(id, value[USER_AT:], created_at, expires_at, version, None)
        data_at = USER_AT + user_len
        if user_len >= 0 and data_at <= len(value):
            try:
                user = value[USER_AT:data_at].decode()
            except UnicodeDecodeError:
                pass
            else:
                return Record(id, value[data_at:], created_at, expires_at, version, user)
    return None


def times_of_header(head: bytes) -> tuple[float, float] | None:
    """``(created_at, expires_at)`` of a ``GETRANGE 0 27`` reply; None when there is no
    record (an empty reply) or not one this store wrote."""
    if len(head) < USER_AT:
        return None
    _, expires_at, created_at, _ = HEADER.unpack_from(head)
    return created_at, expires_at


def version_arg(version: int) -> bytes:
    """The 8 bytes a record of ``version`` starts with (a script's ARGV)."""
    return VERSION.pack(version)


def owner_span(user_id: str) -> tuple[int, int, bytes]:
    """``GETRANGE`` start and end over a record's user id length and user id, and
    the bytes they hold when the record belongs to ``user_id``."""
    name = user_id.encode()
    return USER_AT - USER_LEN.size, USER_AT + len(name) - 1, USER_LEN.pack(len(name)) + name


#: What ``GETRANGE`` over ``owner_span`` starts with for an anonymous record.
ANONYMOUS_OWNER = USER_LEN.pack(ANONYMOUS)


def decode_user(value: Any) -> str | None:
    return None if value is None else value.decode()


# ------------------------------------------------------- revocation markers


def marker_args(revoked_at: float, keep_until: float) -> list[str]:
    """ARGV of ``MARK_REVOKED_SCRIPT``: repr round-trips the float exactly."""
    return [repr(float(revoked_at)), str(index_score(max(keep_until, 0.001)))]


def marker_revoked_at(value: bytes | str | None, now: float) -> float | None:
    """``revoked_at`` of a stored marker still kept at ``now``; None if none is."""
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else value
    try:
        at, till = text.split(" ")
        revoked_at, keep_until_ms = float(at), int(till)
    except ValueError:
        return None  # not a marker this store wrote: as if there were none
    return revoked_at if keep_until_ms > now * 1000 else None

"""The binary form of a ``Record`` for the file and dbm stores.

A fixed-size header comes first, so expiry and version can be read without
touching the payload (``count``, ``purge_expired``, compare-and-set), and two
CRCs make a torn, truncated or garbage record detectable: it decodes as
``None`` (treated as missing), never as wrong data.

Layout (little-endian)::

    magic     4s   b"SWR1"
    expires   d    Unix seconds
    created   d    Unix seconds
    version   q
    user_len  I    NO_USER when user_id is None
    data_len  I
    body_crc  I    CRC-32 of user bytes + data
    head_crc  I    CRC-32 of the 36 bytes before it
    user      user_len bytes (UTF-8)
    data      data_len bytes
"""

from __future__ import annotations

import hashlib
import re
import struct
from typing import NamedTuple
from zlib import crc32

from ..core.record import Record

__all__ = [
    "HEADER_SIZE",
    "Header",
    "decode",
    "encode_parts",
    "parse_header",
    "stored_user",
    "total_size",
    "user_key",
    "valid_key",
    "with_expiry",
]

MAGIC = b"SWR1"
NO_USER = 0xFFFFFFFF
_FIELDS = struct.Struct("<4sddqIII")
_CRC = struct.Struct("<I")
HEADER_SIZE = _FIELDS.size + _CRC.size  # 44

#: Store keys are ``store_key()`` values: 40 lowercase hex characters. Anything
#: else is refused before it can become part of a path or collide with an index key.
valid_key = re.compile(r"[0-9a-f]{40}").fullmatch


class Header(NamedTuple):
    expires_at: float
    created_at: float
    version: int
    user_len: int  # NO_USER when the record has no user
    data_len: int
    body_crc: int

    @property
    def body_size(self) -> int:
        return (0 if self.user_len == NO_USER else self.user_len) + self.data_len


def user_key(user_id: str) -> str:
    """A fixed-length, path- and key-safe name for a user id."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:40]


def _header_bytes(
    expires_at: float, created_at: float, version: int, user_len: int, data_len: int, body_crc: int
) -> bytes:
    fields = _FIELDS.pack(MAGIC, expires_at, created_at, version, user_len, data_len, body_crc)
    return fields + _CRC.pack(crc32(fields))


def encode_parts(record: Record) -> tuple[bytes, bytes, bytes]:
    """Header, user bytes and data: written one after the other (``os.writev``) or
    joined, they are the record's binary form."""
    if record.user_id is None:
        user, user_len = b"", NO_USER
    else:
        user = record.user_id.encode()
        user_len = len(user)
    data = bytes(record.data)
    body_crc = crc32(data, crc32(user))
    head = _header_bytes(
        record.expires_at, record.created_at, record.version, user_len, len(data), body_crc
    )
    return head, user, data


def parse_header(blob: bytes) -> Header | None:
    """The header at the start of ``blob``, or None when it is not a valid one."""
    if len(blob) < HEADER_SIZE:
        return None
    fields = blob[: _FIELDS.size]
    if _CRC.unpack_from(blob, _FIELDS.size)[0] != crc32(fields):
        return None
    magic, expires_at, created_at, version, user_len, data_len, body_crc = _FIELDS.unpack(fields)
    if magic != MAGIC:
        return None
    return Header(expires_at, created_at, version, user_len, data_len, body_crc)


def total_size(header: Header) -> int:
    return HEADER_SIZE + header.body_size


def decode(key: str, blob: bytes, *, allow_trailing: bool = False) -> Record | None:
    """The record in ``blob``, or None when the bytes are damaged in any way.

    ``allow_trailing`` accepts bytes after the record: ``dbm.dumb`` can hand back a
    value with a stale, longer length after a crash, and the CRCs still prove the
    record itself whole.
    """
    header = parse_header(blob)
    if header is None:
        return None
    size = total_size(header)
    if len(blob) != size and not (allow_trailing and len(blob) > size):
        return None
    body = memoryview(blob)[HEADER_SIZE:size]
    if crc32(body) != header.body_crc:
        return None
    if header.user_len == NO_USER:
        user_id = None
        data = bytes(body)
    else:
        try:
            user_id = str(body[: header.user_len], "utf-8")
        except UnicodeDecodeError:
            return None
        data = bytes(body[header.user_len :])
    return Record(key, data, header.created_at, header.expires_at, header.version, user_id)


def stored_user(header: Header, blob: bytes) -> str | None:
    """The user id in a record whose header is ``header``, if ``blob`` holds it."""
    if header.user_len == NO_USER or len(blob) < HEADER_SIZE + header.user_len:
        return None
    try:
        return str(blob[HEADER_SIZE : HEADER_SIZE + header.user_len], "utf-8")
    except UnicodeDecodeError:
        return None


def with_expiry(blob: bytes, header: Header, expires_at: float) -> bytes:
    """``blob`` with a new expiry (the body and its CRC are unchanged)."""
    head = _header_bytes(
        expires_at,
        header.created_at,
        header.version,
        header.user_len,
        header.data_len,
        header.body_crc,
    )
    return head + blob[HEADER_SIZE:]

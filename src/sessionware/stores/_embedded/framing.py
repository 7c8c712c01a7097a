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
    head_crc  I    CRC-32 of the 40 bytes before it
    user      user_len bytes (UTF-8)
    data      data_len bytes
"""

from __future__ import annotations

import hashlib
import re
import struct
from typing import NamedTuple
from zlib import crc32

from ...core.record import Record

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
_HEAD = struct.Struct("<4sddqIIII")  # the fields and the header CRC, read in one call
HEADER_SIZE = _HEAD.size  # 44
_FIELDS_SIZE = _FIELDS.size  # 40: what the header CRC covers
_new_header = tuple.__new__  # builds a Header without NamedTuple's Python-level __new__


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
    data = record.data
    if type(data) is not bytes:
        data = bytes(data)
    if record.user_id is None:
        user, user_len, body_crc = b"", NO_USER, crc32(data)
    else:
        user = record.user_id.encode()
        user_len = len(user)
        body_crc = crc32(data, crc32(user))
    head = _header_bytes(
        record.expires_at, record.created_at, record.version, user_len, len(data), body_crc
    )
    return head, user, data


def parse_header(blob: bytes) -> Header | None:
    """The header at the start of ``blob``, or None when it is not a valid one."""
    if len(blob) < HEADER_SIZE:
        return None
    fields = _HEAD.unpack_from(blob)
    if fields[7] != crc32(blob[:_FIELDS_SIZE]) or fields[0] != MAGIC:
        return None
    return _new_header(Header, fields[1:7])


def total_size(header: Header) -> int:
    return HEADER_SIZE + header.body_size


def decode(key: str, blob: bytes, *, allow_trailing: bool = False) -> Record | None:
    """The record in ``blob``, or None when the bytes are damaged in any way.

    ``allow_trailing`` accepts bytes after the record: ``dbm.dumb`` can hand back a
    value with a stale, longer length after a crash, and the CRCs still prove the
    record itself whole.
    """
    # parse_header inlined: this runs on every load.
    length = len(blob)
    if length < HEADER_SIZE:
        return None
    magic, expires_at, created_at, version, user_len, data_len, body_crc, head_crc = (
        _HEAD.unpack_from(blob)
    )
    if head_crc != crc32(blob[:_FIELDS_SIZE]) or magic != MAGIC:
        return None
    data_start = HEADER_SIZE if user_len == NO_USER else HEADER_SIZE + user_len
    size = data_start + data_len
    if length != size and not (allow_trailing and length > size):
        return None
    data = blob[data_start:size]
    if user_len == NO_USER:
        if crc32(data) != body_crc:
            return None
        return Record(key, data, created_at, expires_at, version, None)
    user = blob[HEADER_SIZE:data_start]
    if crc32(data, crc32(user)) != body_crc:
        return None
    try:
        user_id = str(user, "utf-8")
    except UnicodeDecodeError:
        return None
    return Record(key, data, created_at, expires_at, version, user_id)


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

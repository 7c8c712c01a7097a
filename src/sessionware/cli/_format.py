"""Small formatting helpers for times, sizes and undecodable bytes."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from ..core.codecs import CodecError, JsonCodec, MsgpackCodec
from ..core.record import NEVER

__all__ = ["decode_data", "hexdump", "human_bytes", "human_duration", "local_time"]

HEXDUMP_LIMIT = 1024


def human_duration(seconds: float) -> str:
    """``42s``, ``5m``, ``3h 20m``, ``12d``: short, for tables."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        hours, rest = divmod(int(seconds), 3600)
        return f"{hours}h {rest // 60}m" if rest >= 60 else f"{hours}h"
    return f"{int(seconds // 86400)}d"


def expires_in(expires_at: float, now: float) -> str:
    if expires_at >= NEVER:
        return "never"
    if expires_at <= now:
        return "expired"
    return f"in {human_duration(expires_at - now)}"


def local_time(timestamp: float) -> str:
    if timestamp >= NEVER:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


#: A typed session's record (``core.schema``): ``[schema version, fields, extras]``.
_TypedLayout = tuple[int, dict[str, Any], dict[str, Any]]


def decode_data(data: bytes) -> tuple[str, dict[str, Any] | None]:
    """``(codec name, mapping)`` when the JSON (or else msgpack) codec reads ``data``,
    or it is a typed session's ``[version, fields, extras]`` in either (the fields
    and extras as one mapping, the name saying the schema version);
    ``("bytes", None)`` when nothing does (pickle, encrypted or corrupt data)."""
    for codec in (JsonCodec(), MsgpackCodec()):
        try:
            return codec.name, codec.decode(data)
        except CodecError:
            pass
        decode = msgspec.json.decode if codec.name == "json" else msgspec.msgpack.decode
        try:
            version, fields, extras = decode(data, type=_TypedLayout)
        except msgspec.DecodeError:
            continue
        return f"{codec.name}, typed, schema version {version}", {**fields, **extras}
    return "bytes", None


def hexdump(data: bytes, limit: int = HEXDUMP_LIMIT) -> str:
    """Offset, hex and printable ASCII, 16 bytes a line; at most ``limit`` bytes."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hex_part = " ".join(f"{byte:02x}" for byte in chunk)
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in chunk)
        lines.append(f"{offset:08x}  {hex_part:<47}  {text}")
    if len(data) > limit:
        lines.append(f"... {len(data) - limit} more bytes")
    return "\n".join(lines)

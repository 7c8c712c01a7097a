"""The session everyone stores: same payload for sessionware, raw clients and peers."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sessionware import Record
from sessionware.core.codecs import JsonCodec

__all__ = ["SECRET", "encoded", "filler_keys", "record", "session_data"]

SECRET = "benchmark-secret-key-0123456789abcdef0123456789"
IDLE_TIMEOUT = 1800.0
_CODEC = JsonCodec()


def session_data(size: int = 1024) -> dict[str, Any]:
    """A realistic session mapping whose JSON encoding is ``size`` bytes (>= 100)."""
    data: dict[str, Any] = {
        "user": "user-12345",
        "roles": ["reader", "editor"],
        "cart": [101, 202, 303],
        "notes": "",
    }
    base = len(_CODEC.encode(data))
    data["notes"] = "x" * max(0, size - base)
    return data


def encoded(size: int = 1024) -> bytes:
    return _CODEC.encode(session_data(size))


def filler_keys(count: int, tag: str) -> list[str]:
    """Store keys shaped like ``store_key`` output (40 hex chars), fast to make."""
    return [hashlib.sha256(f"{tag}:{n}".encode()).hexdigest()[:40] for n in range(count)]


def record(key: str, data: bytes, *, version: int = 1, now: float | None = None) -> Record:
    now = time.time() if now is None else now
    return Record(key, data, now, now + IDLE_TIMEOUT, version, None)

"""What the dbm store remembers of each stored value (``Known``), so that a save
need not read the value back: sound because one store instance is the file's
only user (``ProcessLock``) and every write goes through it."""

from __future__ import annotations

from typing import NamedTuple

from ...core.record import Record
from .._embedded import framing

__all__ = ["KNOWN_LIMIT", "Known", "KnownHeaders", "damaged", "known", "read_known"]

KNOWN_LIMIT = 10_000  # records whose stored header is remembered (about 1 MB)


class Known(NamedTuple):
    """What a writer needs to know about a stored value: its live version and
    expiry, its user (for the index) and its stored length (for dumb's padding)."""

    version: int
    expires_at: float
    user_id: str | None
    length: int


def known(record: Record, length: int) -> Known:
    return Known(record.version, record.expires_at, record.user_id, length)


def damaged(length: int) -> Known:
    """A stored value whose header does not parse: no live version, no user."""
    return Known(0, 0.0, None, length)


def read_known(blob: bytes) -> Known:
    """The ``Known`` of a stored value, from its bytes."""
    header = framing.parse_header(blob)
    if header is None:
        return damaged(len(blob))
    user_id = framing.stored_user(header, blob)
    return Known(header.version, header.expires_at, user_id, len(blob))


class KnownHeaders(dict[bytes, Known]):
    """The header of each record last read or written, by key; cleared on open
    and close. Bounded: the oldest entries go first."""

    def remember(self, key: bytes, value: Known) -> None:
        self.pop(key, None)  # re-inserted last: the oldest go first
        if len(self) >= KNOWN_LIMIT:
            del self[next(iter(self))]
        self[key] = value

"""``Record``: what a store keeps for one session. Stores speak bytes, never Python objects."""

from __future__ import annotations

import msgspec

__all__ = ["NEVER", "Record"]

#: Expiry used when neither an idle timeout nor a maximum age is configured
#: (the last second of year 9999): finite, so every backend can store it.
NEVER = 253402300799.0


class Record(msgspec.Struct, frozen=True, gc=False):
    """One stored session.

    ``id`` is the store key: a hash of the session id, never the id from the cookie.
    ``data`` is the codec's encoding of the session's mapping. Times are Unix seconds.
    ``version`` starts at 1 and grows by one with every save (compare-and-set).
    """

    id: str
    data: bytes
    created_at: float
    expires_at: float
    version: int
    user_id: str | None = None

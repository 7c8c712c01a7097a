"""starsessions (``RedisStore``): its stored sessions, and its cookie.

The store keeps each session under ``prefix + id`` (``"starsessions."`` by
default) as the serializer's bytes (``JsonSerializer`` by default), with the
session's ``__metadata__`` (creation time, lifetime) inside and the expiry as the
key's TTL. The cookie (``session`` by default) carries the id itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from starsessions.serializers import JsonSerializer, Serializer

from ..core.transition import PeerSession
from ._redis import scan_prefixed
from ._unsigned import UnsignedCookie

__all__ = ["NAME", "StarsessionsCookie", "cookie", "sessions"]

logger = logging.getLogger("sessionware")

NAME = "starsessions"
#: What ``sessionware import-sessions --from`` names for this peer.
SOURCE = "the RedisStore's Redis URL"
#: starsessions' default ``RedisStore(prefix=...)``.
DEFAULT_PREFIX = "starsessions."
#: starsessions' ``gc_ttl``: how long a session without a lifetime is kept.
DEFAULT_GC_TTL = 3600 * 24 * 30
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")


def sessions(
    url: str,
    *,
    now: float,
    prefix: str = DEFAULT_PREFIX,
    serializer: Serializer | None = None,
    batch_size: int = 500,
) -> Iterator[PeerSession]:
    """The live sessions of the starsessions ``RedisStore`` at ``url``."""
    serializer = serializer or JsonSerializer()
    for session_id, value, expires_at in scan_prefixed(url, prefix, batch_size, now):
        try:
            data = serializer.deserialize(value)
        except ValueError as exc:  # not the serializer's JSON
            logger.warning("starsessions %s...: unreadable (%s); skipped", session_id[:8], exc)
            continue
        metadata = data.pop("__metadata__", None) or {}
        created_at = float(metadata.get("created", now))
        yield PeerSession(
            session_id, data, created_at, expires_at or now + DEFAULT_GC_TTL, user_id=None
        )


class StarsessionsCookie(UnsignedCookie):
    """starsessions' cookie: the session id, unsigned (its store must know it)."""

    name = NAME
    default_cookie_name = "session"
    id_pattern = _SESSION_ID


#: ``cookie(cookie_name="session")``: the peer's cookie, as every importer module has it.
cookie = StarsessionsCookie

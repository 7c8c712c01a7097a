"""Building sessions and records for the core's decision tables: no store, no clock.

Time is a number the test picks (``NOW``); a "stored" session is one the core
opened from a cookie it signed and attached to a record built here, exactly as a
manager would after a store's ``load``.
"""

from __future__ import annotations

from typing import Any

from sessionware.core.lifecycle import SessionCore
from sessionware.core.record import Record
from sessionware.core.session import Session
from sessionware.core.signing import new_session_id, store_key

SECRET = "Zq8vN2rT5xW1pL7cY4hB9mK3dF6gJ0sA-core-tests"
OLD_SECRET = "Hq2wE9rT4yU7iO1pA5sD8fG3hJ6kL0zX-old-key"
NOW = 1_800_000_000.0  # whole seconds: a cookie signs its creation time in seconds
IDLE = 1800.0
MAX_AGE = 14 * 24 * 3600.0


def make_core(**options: Any) -> SessionCore:
    settings: dict[str, Any] = {
        "secret_key": SECRET,
        "idle_timeout": IDLE,
        "max_age": MAX_AGE,
    }
    settings.update(options)
    return SessionCore(**settings)


def stored_record(
    core: SessionCore,
    data: dict[str, Any] | None = None,
    *,
    created_at: float = NOW,
    expires_at: float | None = None,
    version: int = 1,
    user_id: str | None = None,
) -> tuple[str, Record]:
    """A cookie the core signed, and the record a store would hold for it."""
    session_id = new_session_id()
    payload = core.codec.encode({"n": 1} if data is None else data)
    expiry = created_at + IDLE if expires_at is None else expires_at
    record = Record(store_key(session_id), payload, created_at, expiry, version, user_id)
    return core.signer.sign(session_id, created_at), record


def loaded(
    core: SessionCore,
    data: dict[str, Any] | None = None,
    *,
    now: float = NOW,
    age: float = 0.0,
    expires_in: float = IDLE,
    version: int = 1,
    user_id: str | None = None,
) -> tuple[Session, Record]:
    """A stored session as a request at ``now`` sees it once loaded: created ``age``
    seconds ago, its stored expiry ``expires_in`` seconds after ``now``."""
    cookie, record = stored_record(
        core,
        data,
        created_at=now - age,
        expires_at=now + expires_in,
        version=version,
        user_id=user_id,
    )
    session = core.open(cookie, now)
    assert core.attach(session, record, None, now)
    return session, record

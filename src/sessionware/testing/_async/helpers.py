"""Records, users and time for the store conformance suite (async source)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from itertools import count as _counter

from ...core.record import Record
from ...core.signing import new_session_id, store_key
from ..clock import FakeClock

TIME_TOLERANCE = 0.002  # stores may keep milliseconds only
#: How far ahead a time-passing test sets an expiry: on a fake clock a realistic
#: span (it costs nothing to jump), on the real clock as little as a store's
#: millisecond times and a loaded machine allow.
FAKE_CLOCK_SPAN = 600.0
REAL_CLOCK_SPAN = 0.25
REAL_CLOCK_MARGIN = 0.05  # waited past the moment, for clock skew and rounding
_sequence: Iterator[int] = _counter()


def new_key() -> str:
    return store_key(new_session_id())


def make_record(
    *,
    key: str | None = None,
    data: bytes = b'{"n":1}',
    expires_in: float = 600.0,
    version: int = 1,
    user_id: str | None = None,
    created_at: float | None = None,
    now: float | None = None,
) -> Record:
    """A record that expires ``expires_in`` seconds after ``now`` (the real time)."""
    now = time.time() if now is None else now
    return Record(
        key or new_key(),
        data,
        round(now if created_at is None else created_at, 3),
        round(now + expires_in, 3),
        version,
        user_id,
    )


def now_on(clock: FakeClock | None) -> float:
    """The time the store reads: its fake clock's, or the real one."""
    return time.time() if clock is None else clock()


def span_on(clock: FakeClock | None) -> float:
    return REAL_CLOCK_SPAN if clock is None else FAKE_CLOCK_SPAN


async def pass_time_until(clock: FakeClock | None, moment: float) -> None:
    """Let the store's clock pass ``moment``: move the fake clock, or sleep."""
    if clock is None:
        await asyncio.sleep(max(0.0, moment - time.time()) + REAL_CLOCK_MARGIN)
    else:
        clock.now = max(clock.now, moment + REAL_CLOCK_MARGIN)


def unique_user(label: str = "user") -> str:
    return f"{label}-{next(_sequence)}-{new_session_id()[:8]}"


def assert_same_record(actual: Record | None, expected: Record) -> None:
    assert actual is not None, "record missing"
    assert actual.id == expected.id
    assert actual.data == expected.data
    assert actual.version == expected.version
    assert actual.user_id == expected.user_id
    assert abs(actual.created_at - expected.created_at) <= TIME_TOLERANCE
    assert abs(actual.expires_at - expected.expires_at) <= TIME_TOLERANCE

"""Riding out a failover, for any store with a server: how long and how often an
operation is tried again (``Deadline``), and what a compare-and-set whose outcome
is unknown turned out to do, judged from the record read back (``settled_by``).

Store-neutral: the Redis and the SQL stores each say which of their errors a
failover can cure (``Deadline.transient``) and how they read a record back."""

from __future__ import annotations

import random
from time import monotonic
from typing import TypeVar

from ..core.record import Record

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "DEFAULT_FAILOVER_TIMEOUT",
    "Deadline",
    "backoff",
    "settled_by",
]

D = TypeVar("D", bound="Deadline")

#: Seconds a store operation keeps retrying through a failover (a Redis Cluster's
#: node timeout plus its election, a Sentinel's down-after plus promotion, a
#: database restart) before it raises ``StoreUnavailable``: store option and URL
#: parameter ``failover_timeout`` (0: fail at once).
DEFAULT_FAILOVER_TIMEOUT = 5.0

#: Pauses between tries through a failover: 20 ms doubling, jittered, at most 0.5 s.
BACKOFF_BASE = 0.02
BACKOFF_CAP = 0.5


def backoff(failures: int) -> float:
    """Seconds to wait after the ``failures``-th failure: "equal jitter" (half the
    capped exponential, plus a random share of the other half), so many clients
    meeting one failover do not retry in step."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0**failures)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class Deadline:
    """Until when an operation retries through a failover: ``timeout`` seconds from
    its first failure. ``pause`` says how long to wait before the next try, or None
    when the deadline has passed or the error is not one a failover can cure
    (raise it then). Subclasses say which errors those are (``transient``)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.ends: float | None = None
        self.failures = 0

    def transient(self, exc: BaseException) -> bool:
        """Whether ``exc`` may pass once a failover completes."""
        raise NotImplementedError

    @classmethod
    def after(cls: type[D], timeout: float, exc: BaseException) -> D | None:
        """A deadline whose first failure was ``exc``, or None when ``exc`` is not
        one a failover can cure (raise it)."""
        deadline = cls(timeout)
        return deadline if deadline.pause(exc) is not None else None

    def pause(self, exc: BaseException) -> float | None:
        if not self.transient(exc):
            return None
        now = monotonic()
        if self.ends is None:
            self.ends = now + self.timeout
        self.failures += 1
        left = self.ends - now
        if left <= 0:
            return None
        return min(backoff(self.failures), left)


def settled_by(stored: Record | None, record: Record, expected_version: int) -> int | None:
    """What a compare-and-set of ``record`` (expecting ``expected_version``; 0: must
    not exist) whose outcome is unknown did, from the live record read back
    (``stored``; None: missing or expired). 1: it holds exactly ``record`` (the write
    was applied); 0: another write won (the manager reloads and merges); None: the
    record still has the expected version (or is still missing for a create), so
    the write may be sent again."""
    if stored == record:
        return 1
    if expected_version == 0:
        return None if stored is None else 0
    if stored is None or stored.version != expected_version:
        return 0
    return None

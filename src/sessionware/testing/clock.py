"""``FakeClock``: a clock a test moves by hand, for stores that take ``clock=``."""

from __future__ import annotations

import time

__all__ = ["FakeClock"]


class FakeClock:
    """Reads ``now`` (Unix seconds; the real time when made) until a test moves it.

    Give it to a store that reads its time through a ``clock`` callable
    (``MemoryStore(clock=clock)``, ``SQLStore.from_url(url, clock=clock)``) and return
    it from the conformance suite's ``store_clock`` fixture: the suite then moves it
    past an expiry instead of sleeping until the real clock gets there.
    """

    __slots__ = ("now",)

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

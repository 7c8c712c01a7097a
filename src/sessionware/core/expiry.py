"""When sessions die: an idle timeout, an absolute maximum age, and the touch throttle."""

from __future__ import annotations

from .record import NEVER

__all__ = ["ExpiryPolicy", "lifetime_limits"]


def lifetime_limits(
    lifetime: float | None,
    *,
    sliding: bool,
    idle_timeout: float | None = None,
    max_age: float | None = None,
) -> tuple[float | None, float | None]:
    """``(idle_timeout, max_age)`` for a framework's single "session lifetime".

    Frameworks mean one of two things by it. ``sliding=True`` (Flask's permanent
    sessions, starsessions' ``rolling=True``): the lifetime restarts with every
    request, so it is an idle timeout, and ``max_age`` stays an optional absolute
    cap from creation. ``sliding=False`` (Starlette's ``max_age``): the lifetime is
    counted from creation, so it is the maximum age, and ``idle_timeout`` stays an
    optional idle limit. Either way a limit also given explicitly tightens it (the
    smaller one applies); None means off.
    """
    if sliding:
        return _tighter(lifetime, idle_timeout), max_age
    return idle_timeout, _tighter(lifetime, max_age)


def _tighter(first: float | None, second: float | None) -> float | None:
    if first is None:
        return second
    return first if second is None or first <= second else second


class ExpiryPolicy:
    """Expiry rules. All methods take ``now``; nothing here reads a clock.

    ``touch_fraction`` is the throttle: a visit re-queues a session's expiry only when
    the new expiry is at least ``touch_fraction * idle_timeout`` later than the stored
    one, so visit writes grow with active sessions, not with requests.
    """

    __slots__ = ("idle_timeout", "max_age", "touch_threshold")

    def __init__(
        self, idle_timeout: float | None, max_age: float | None, touch_fraction: float = 0.1
    ) -> None:
        for name, value in (("idle_timeout", idle_timeout), ("max_age", max_age)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None, not {value!r}")
        if not 0 <= touch_fraction < 1:
            raise ValueError("touch_fraction must be in [0, 1)")
        self.idle_timeout = idle_timeout
        self.max_age = max_age
        self.touch_threshold = (idle_timeout or 0.0) * touch_fraction

    def expires_at(self, created_at: float, now: float) -> float:
        """The expiry a session visited at ``now`` should get."""
        idle_deadline = NEVER if self.idle_timeout is None else now + self.idle_timeout
        if self.max_age is None:
            return idle_deadline
        absolute_deadline = created_at + self.max_age
        return idle_deadline if idle_deadline < absolute_deadline else absolute_deadline

    def cookie_expired(self, created_at: float, now: float) -> bool:
        """True when a cookie's signed creation time is past the maximum age."""
        return self.max_age is not None and now >= created_at + self.max_age

    def touch_due(self, stored_expires_at: float, new_expires_at: float) -> bool:
        """True when a visit should push the stored expiry forward."""
        return self.idle_timeout is not None and (
            new_expires_at - stored_expires_at >= self.touch_threshold
            and new_expires_at > stored_expires_at
        )

"""The metrics feed the dashboard polls: cumulative counters (each browser turns
two consecutive answers into per-second rates itself), latency percentiles, and
the visit tracker's and cache's figures."""

from __future__ import annotations

from typing import Any

from ..core.visits import VisitTracker
from ..metrics import Metrics

__all__ = ["CHARTED_OPERATIONS", "feed_body"]

CHARTED_OPERATIONS = ("load", "save_if_version", "touch_many", "delete", "delete_many")


def feed_body(
    now: float,
    live: int,
    metrics: Metrics | None,
    tracker: VisitTracker | None,
    cached: int | None,
) -> dict[str, Any]:
    """``{"time", "live_sessions", "snapshot" (``Metrics.snapshot()`` or None),
    "visits" (the tracker's counters and "pending", or None), "cache"}``; "cache"
    holds the session lookups that found a record or not, and the sessions held
    by a tiered store's fast tier (None when the store has no such tier)."""
    snapshot = metrics.snapshot() if metrics is not None else None
    visits = None
    if tracker is not None:
        visits = {**tracker.stats.as_dict(), "pending": len(tracker)}
    events = snapshot["events"] if snapshot is not None else {}
    cache = {
        "found": events.get("on_load", 0),
        "missing": events.get("on_expire", 0),
        "fast_tier_sessions": cached,
    }
    return {
        "time": now,
        "live_sessions": live,
        "snapshot": snapshot,
        "visits": visits,
        "cache": cache,
    }

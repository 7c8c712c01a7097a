"""The metrics feed the dashboard polls: cumulative counters (each browser turns
two consecutive answers into per-second rates itself), latency percentiles, and
the visit tracker's, cache's and near cache's figures."""

from __future__ import annotations

from typing import Any

from ..core.visits import VisitTracker
from ..metrics import Metrics
from ..stores.base import unwrapped
from ..stores.near_cache._cache import NearCache

__all__ = ["CHARTED_OPERATIONS", "feed_body", "near_cache_figures", "near_cache_of"]

CHARTED_OPERATIONS = ("load", "save_if_version", "touch_many", "delete", "delete_many")


def feed_body(
    now: float,
    live: int,
    metrics: Metrics | None,
    tracker: VisitTracker | None,
    cached: int | None,
    near_cache: NearCache | None = None,
) -> dict[str, Any]:
    """``{"time", "live_sessions", "snapshot" (``Metrics.snapshot()`` or None),
    "visits" (the tracker's counters and "pending", or None), "cache"}``; "cache"
    holds the session lookups that found a record or not, and the sessions held
    by a tiered store's fast tier (None when the store has no such tier);
    "near_cache": ``near_cache_figures(near_cache)``."""
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
        "near_cache": near_cache_figures(near_cache),
    }


def near_cache_of(store: object) -> NearCache | None:
    """The near cache in front of ``store`` (looking through proxies), or None."""
    for layer in unwrapped(store):
        cache = getattr(layer, "cache", None)
        if isinstance(cache, NearCache):
            return cache
    return None


def near_cache_figures(cache: NearCache | None) -> dict[str, Any] | None:
    """The counters ``Metrics.snapshot()["near_cache"]`` reports ("hits", "misses",
    "invalidations", "resets", ...), "hit_ratio" (hits per lookup, None before
    the first), and the "entries" and "bytes" held now; None without a cache."""
    if cache is None:
        return None
    counters = cache.stats.snapshot()
    lookups = counters["hits"] + counters["misses"]
    return {
        **counters,
        "hit_ratio": counters["hits"] / lookups if lookups else None,
        "entries": len(cache),
        "bytes": cache.bytes,
    }

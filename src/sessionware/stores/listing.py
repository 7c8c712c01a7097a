"""Newest-first listing: the order ``RecordListing.newest`` promises, for stores
that pick from records they hold, and the fallback for a store without it."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from typing import Any

from ..core.record import Record
from .base import AsyncStore, Store

__all__ = [
    "async_newest_records",
    "newest_first",
    "newest_keys",
    "newest_order",
    "newest_records",
]


def newest_order(record: Record) -> tuple[float, str]:
    """The sort key of newest first (reversed): creation time, then key."""
    return record.created_at, record.id


def newest_first(records: Iterable[Record], limit: int) -> list[Record]:
    """The ``limit`` newest of ``records``, newest first: a bounded heap, so memory
    stays at ``limit`` records whatever the number read."""
    return heapq.nlargest(limit, records, key=newest_order)


def newest_keys(created: Iterable[tuple[float, str]], limit: int) -> list[str]:
    """The keys of the ``limit`` newest of ``(created_at, key)`` pairs: what a store
    that reads record headers cheaply keeps before it loads the winners whole."""
    return [key for _, key in heapq.nlargest(limit, created)]


def newest_records(store: Store, limit: int) -> list[Record]:
    """``store.newest(limit)``, or for a store without it every live record read
    once through a bounded heap."""
    newest = getattr(store, "newest", None)
    if newest is not None:
        records: list[Record] = newest(limit)
        return records
    keys = store.ids()
    try:
        return newest_first(_loaded(store, keys), limit)
    finally:
        close = getattr(keys, "close", None)
        if close is not None:
            close()


def _loaded(store: Store, keys: Iterable[str]) -> Iterator[Record]:
    for key in keys:
        record = store.load(key)
        if record is not None:  # listed a moment ago, expired or deleted since
            yield record


async def async_newest_records(store: AsyncStore, limit: int) -> list[Record]:
    """``newest_records`` of an async store: ``await store.newest(limit)``, or every
    live record read once, keeping the ``limit`` newest in a bounded heap."""
    newest = getattr(store, "newest", None)
    if newest is not None:
        records: list[Record] = await newest(limit)
        return records
    kept: list[tuple[tuple[float, str], Record]] = []  # a min-heap: the oldest kept first
    keys = store.ids()
    try:
        async for key in keys:
            record = await store.load(key)
            if record is not None:  # listed a moment ago, expired or deleted since
                _keep(kept, record, limit)
    finally:
        close: Any = getattr(keys, "aclose", None)
        if close is not None:
            await close()
    return newest_first((record for _, record in kept), limit)


def _keep(kept: list[tuple[tuple[float, str], Record]], record: Record, limit: int) -> None:
    entry = (newest_order(record), record)
    if len(kept) < limit:
        heapq.heappush(kept, entry)
    elif limit > 0 and entry[0] > kept[0][0]:
        heapq.heapreplace(kept, entry)

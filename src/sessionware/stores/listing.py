"""Newest-first listing: the order ``RecordListing.newest`` promises, for stores
that pick from records they hold, and the fallback for a store without it."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from ..core.record import Record
from .base import Store

__all__ = ["newest_first", "newest_keys", "newest_order", "newest_records"]


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

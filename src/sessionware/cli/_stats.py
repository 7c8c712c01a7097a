"""What ``sessionware stats`` measures: one pass over the live sessions of a store."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.record import NEVER, Record
from ..stores.base import Store

__all__ = ["EXPIRY_BUCKETS", "StoreStats", "gather_stats", "live_records", "store_size"]

#: (label, upper bound of the remaining lifetime in seconds), in order.
EXPIRY_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 min", 60),
    ("1-5 min", 300),
    ("5-15 min", 900),
    ("15-60 min", 3600),
    ("1-6 h", 6 * 3600),
    ("6-24 h", 86400),
    ("1-7 d", 7 * 86400),
    ("7-30 d", 30 * 86400),
    ("> 30 d", float("inf")),
)
NEVER_BUCKET = "never"


def live_records(store: Store, keys: Iterable[str]) -> Iterator[Record]:
    """The records of ``keys`` that are still live (a key listed a moment ago may
    have expired or been deleted since)."""
    for key in keys:
        record = store.load(key)
        if record is not None:
            yield record


def expiry_bucket(expires_at: float, now: float) -> str:
    if expires_at >= NEVER:
        return NEVER_BUCKET
    remaining = expires_at - now
    for label, bound in EXPIRY_BUCKETS:
        if remaining < bound:
            return label
    raise AssertionError("the last bucket is unbounded")


@dataclass
class StoreStats:
    live: int = 0
    with_user: int = 0
    payload_bytes: int = 0
    users: Counter[str] = field(default_factory=Counter)
    expiry: Counter[str] = field(default_factory=Counter)
    store_bytes: int | None = None

    def add(self, record: Record, now: float) -> None:
        self.live += 1
        self.payload_bytes += len(record.data)
        if record.user_id is not None:
            self.with_user += 1
            self.users[record.user_id] += 1
        self.expiry[expiry_bucket(record.expires_at, now)] += 1

    def histogram(self) -> list[tuple[str, int]]:
        labels = [label for label, _ in EXPIRY_BUCKETS] + [NEVER_BUCKET]
        return [(label, self.expiry[label]) for label in labels]

    def as_json(self, top: int) -> dict[str, Any]:
        return {
            "live_sessions": self.live,
            "logged_in_sessions": self.with_user,
            "anonymous_sessions": self.live - self.with_user,
            "distinct_users": len(self.users),
            "payload_bytes": self.payload_bytes,
            "store_bytes": self.store_bytes,
            "top_users": [{"user": u, "sessions": n} for u, n in self.users.most_common(top)],
            "expiry_histogram": [{"expires_in": k, "sessions": n} for k, n in self.histogram()],
        }


def gather_stats(store: Store, now: float) -> StoreStats:
    stats = StoreStats(store_bytes=store_size(store))
    for record in live_records(store, store.ids()):
        stats.add(record, now)
    return stats


def store_size(store: object) -> int | None:
    """Bytes the store occupies, where it can tell: a ``size_bytes()`` method, or
    the file or directory its ``path`` or ``directory`` attribute names. None otherwise."""
    size_bytes = getattr(store, "size_bytes", None)
    if callable(size_bytes):
        value = size_bytes()
        return int(value) if value is not None else None
    for attribute in ("path", "directory"):
        location = getattr(store, attribute, None)
        if isinstance(location, (str, os.PathLike)):
            return _disk_usage(Path(location))
    return None


def _disk_usage(path: Path) -> int | None:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        if not path.parent.is_dir():
            return None
        # A database file keeps company: SQLite's -wal and -shm, dbm's .db/.dat/.dir.
        related = [
            p
            for p in path.parent.iterdir()
            if p.is_file()
            and (p.name == path.name or p.name.startswith((path.name + "-", path.name + ".")))
        ]
        return sum(p.stat().st_size for p in related) if related else None
    except OSError:
        return None

"""``NearCache``: the records one process keeps, kept right by the store's invalidations.

Flavour-free and I/O-free: the store wrapper (``_async/store.py``) asks it before and
after each store call, and an invalidation channel (``_async/redis.py``,
``_async/postgres.py``) tells it what changed in the store. One lock guards it: the
sync flavour's channel runs in a thread.

Three rules make it coherent:

* **Only while the channel is up.** ``up()`` opens an epoch; ``reset()`` (the
  channel was lost) empties the cache at once and closes the epoch. Reads meanwhile
  go to the store and nothing they read is kept.
* **A read is kept only if nothing changed it on the way.** A miss takes a
  ``Ticket`` before it reads the store; an invalidation of that key (or a reset)
  while the read is under way spoils the ticket, and a spoilt ticket keeps nothing.
* **This process's own writes.** A compare-and-set takes a write ticket first. The
  store's invalidation of that write (its echo) must not evict the record just
  written, or every write would make the next read a miss. A channel that names
  versions (PostgreSQL, ``exact_versions``) names the echo exactly. Redis sends
  none: the cached reads and writes go over one connection whose tracking leaves
  out its own changes (``NOLOOP``), so every change reported there is another
  client's, and evicts.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

from ...core.record import Record

__all__ = ["CacheStats", "NearCache", "Ticket", "record_size"]

#: Bytes a cached record costs beyond its data: the Record, its id string, the
#: entry and the LRU slot (measured: see the README's performance section).
ENTRY_OVERHEAD = 400


def record_size(record: Record) -> int:
    """What ``record`` is counted as against the byte bound."""
    return len(record.data) + ENTRY_OVERHEAD


@dataclass
class CacheStats:
    """Counters of one near cache; ``snapshot()`` for metrics."""

    hits: int = 0
    misses: int = 0
    invalidations: int = 0
    resets: int = 0
    evictions: int = 0

    def snapshot(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(slots=True, eq=False)
class Ticket:
    """One store read (``write`` False) or compare-and-set under way for ``key``."""

    key: str
    epoch: int
    write: bool
    version: int
    stale: bool = field(default=False, init=False)
    #: The latest version a named change reported while this read was under way.
    seen: int = field(default=0, init=False)


class _Entry:
    __slots__ = ("record", "size")

    def __init__(self, record: Record) -> None:
        self.record = record
        self.size = record_size(record)


@dataclass(eq=False)
class NearCache:
    """At most ``max_entries`` records and ``max_bytes`` bytes, least recently used
    out first. ``exact_versions``: the channel names the version each change wrote,
    this process's own included; otherwise it reports other clients' changes only."""

    max_entries: int = 10_000
    max_bytes: int = 64 * 1024 * 1024
    exact_versions: bool = False
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        if self.max_entries < 1 or self.max_bytes < 1:
            raise ValueError("a near cache holds at least one record and one byte")
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._users: dict[str, set[str]] = {}
        self._tickets: dict[str, list[Ticket]] = {}
        self._bytes = 0
        self._epoch = 0
        self._up = False
        #: Set in a forked child: the parent's channel does not run there.
        self.forked = False
        _CACHES.add(self)

    # -- state of the channel ----------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self._up

    def up(self) -> None:
        """The channel is listening: from now on reads may be kept."""
        with self._lock:
            self._drop_all()
            self._epoch += 1
            self._up = True

    def reset(self) -> None:
        """The channel was lost: empty the cache now and keep nothing until ``up``."""
        with self._lock:
            self._drop_all()
            self._epoch += 1
            self._up = False
            self.stats.resets += 1

    def clear(self) -> None:
        with self._lock:
            self._drop_all()

    def _after_fork(self) -> None:
        # The lock may have been held by a thread that does not exist here.
        self._lock = threading.Lock()
        self._drop_all()
        self._tickets = {}
        self._epoch += 1
        self._up = False
        self.forked = True

    # -- the read path -----------------------------------------------------------------

    def get(self, key: str, now: float) -> Record | None:
        """The cached live record of ``key``, or None (a miss)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += 1
                return None
            if entry.record.expires_at <= now:
                # Another process may have pushed its expiry forward: ask the store.
                self._evict(key)
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return entry.record

    def begin(self, key: str, *, write: bool = False, version: int = 0) -> Ticket | None:
        """A ticket for a store read (or a write of ``version``) of ``key``; None
        while the channel is down (nothing will be kept)."""
        with self._lock:
            if not self._up:
                return None
            ticket = Ticket(key, self._epoch, write, version)
            self._tickets.setdefault(key, []).append(ticket)
            return ticket

    def fill(self, ticket: Ticket | None, record: Record | None) -> None:
        """A store read under ``ticket`` answered ``record``: keep it if it stands."""
        if ticket is None:
            return
        with self._lock:
            self._end(ticket)
            if record is not None and self._stands(ticket) and record.version >= ticket.seen:
                self._put(record)

    def written(self, ticket: Ticket | None, key: str, record: Record | None) -> None:
        """A compare-and-set of ``key`` under ``ticket`` ended: ``record`` is what it
        wrote, or None when it wrote nothing (a conflict) or failed."""
        with self._lock:
            if ticket is not None:
                self._end(ticket)
            if record is None or ticket is None or not self._stands(ticket):
                self._evict(key)
                return
            self._put(record)

    # -- what the channel reports ------------------------------------------------------

    def invalidate(self, key: str, version: int | None = None) -> None:
        """The store changed ``key``; ``version`` is what it holds now (0: deleted)
        when the channel knows it."""
        with self._lock:
            self.stats.invalidations += 1
            if version is None:
                self._unversioned(key)
            else:
                self._versioned(key, version)

    def _unversioned(self, key: str) -> None:
        # Another client's change (own ones are not reported): whatever a read or
        # write under way brings back may be older than it.
        self._spoil(key)
        self._evict(key)

    def _versioned(self, key: str, version: int) -> None:
        # Versions of a key only grow until it is deleted (0), and ids never return.
        for ticket in self._tickets.get(key, ()):
            if ticket.write and version == ticket.version:
                continue  # the echo of this write
            if version == 0 or (ticket.write and version > ticket.version):
                ticket.stale = True
            elif not ticket.write:
                ticket.seen = max(ticket.seen, version)
            # else: older than what the write under way compares against
        entry = self._entries.get(key)
        if entry is not None and (version == 0 or entry.record.version < version):
            self._evict(key)

    def invalidate_users(self, user_key: str, *, hashed: bool = False) -> None:
        """A revocation marker of a user changed: drop that user's sessions (and any
        read under way, whose user is not known yet). ``hashed``: ``user_key`` is the
        SHA-256 hex digest of the user id."""
        with self._lock:
            self.stats.invalidations += 1
            for user in list(self._users):
                name = hashlib.sha256(user.encode()).hexdigest() if hashed else user
                if name == user_key:
                    for key in list(self._users.get(user, ())):
                        self._evict(key)
            for tickets in self._tickets.values():
                for ticket in tickets:
                    ticket.stale = True

    def forget(self, keys: list[str] | tuple[str, ...]) -> None:
        """Drop ``keys`` (this process deleted or touched them)."""
        with self._lock:
            for key in keys:
                self._spoil(key)
                self._evict(key)

    def forget_user(self, user_id: str) -> None:
        with self._lock:
            for key in list(self._users.get(user_id, ())):
                self._evict(key)

    # -- size --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    # -- under the lock ----------------------------------------------------------------

    def _stands(self, ticket: Ticket) -> bool:
        return self._up and ticket.epoch == self._epoch and not ticket.stale

    def _end(self, ticket: Ticket) -> None:
        tickets = self._tickets.get(ticket.key)
        if tickets is None:
            return
        try:
            tickets.remove(ticket)
        except ValueError:
            return
        if not tickets:
            del self._tickets[ticket.key]

    def _spoil(self, key: str) -> None:
        for ticket in self._tickets.get(key, ()):
            ticket.stale = True

    def _put(self, record: Record) -> None:
        key = record.id
        self._evict(key)
        entry = _Entry(record)
        self._entries[key] = entry
        self._bytes += entry.size
        if record.user_id is not None:
            self._users.setdefault(record.user_id, set()).add(key)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._evict(oldest)
            self.stats.evictions += 1

    def _evict(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self._bytes -= entry.size
        user = entry.record.user_id
        if user is not None:
            keys = self._users.get(user)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._users[user]

    def _drop_all(self) -> None:
        self._entries.clear()
        self._users.clear()
        self._bytes = 0
        for tickets in self._tickets.values():
            for ticket in tickets:
                ticket.stale = True


#: Every near cache of this process, emptied in a forked child (see ``_after_fork``).
_CACHES: weakref.WeakSet[NearCache] = weakref.WeakSet()


def _empty_after_fork() -> None:
    for cache in list(_CACHES):
        cache._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_empty_after_fork)

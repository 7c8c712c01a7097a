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
  written, or every write would make the next read a miss. With a channel that
  names versions (PostgreSQL) the echo is recognised exactly. Redis names only the
  key, and coalesces the keys changed in one event-loop iteration: an unconditional
  delete by another process landing in the same iteration as our write arrives in
  the same message as our echo. So an echo there is trusted only until the channel
  has re-read the key (``validations``, 2 ms after the echo) or a later write of
  this process has compared against it: a bounded window of 2 ms plus one round
  trip, only when another process deleted or overwrote the key in the same server
  iteration.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ...core.record import Record

__all__ = ["CacheStats", "NearCache", "Ticket", "record_size"]

#: Bytes a cached record costs beyond its data: the Record, its id string, the
#: entry and the LRU slot (measured: see the README's performance section).
ENTRY_OVERHEAD = 400


def _nothing() -> None:
    pass


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
    validations: int = 0

    def snapshot(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(slots=True, eq=False)
class Ticket:
    """One store read (``write`` False) or compare-and-set under way for ``key``."""

    key: str
    epoch: int
    write: bool
    version: int
    echoed: bool = field(default=False, init=False)
    stale: bool = field(default=False, init=False)
    #: The latest version a named change reported while this read was under way.
    seen: int = field(default=0, init=False)


class _Entry:
    __slots__ = ("echoes", "record", "size")

    def __init__(self, record: Record, echoes: int) -> None:
        self.record = record
        self.size = record_size(record)
        self.echoes = echoes


@dataclass(eq=False)
class NearCache:
    """At most ``max_entries`` records and ``max_bytes`` bytes, least recently used
    out first. ``exact_versions``: the channel names the version each change wrote."""

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
        #: (key, version) pairs whose echo the channel must confirm by a read.
        self.validations: list[tuple[str, int]] = []
        #: Called (under the lock) when a confirmation is queued: wakes the channel.
        self.on_validation: Callable[[], None] = _nothing
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
                self._put(record, echoes=0)

    def written(self, ticket: Ticket | None, key: str, record: Record | None) -> None:
        """A compare-and-set of ``key`` under ``ticket`` ended: ``record`` is what it
        wrote, or None when it wrote nothing (a conflict) or failed."""
        with self._lock:
            if ticket is not None:
                self._end(ticket)
            if record is None or ticket is None or not self._stands(ticket):
                self._evict(key)
                return
            if self.exact_versions or not ticket.echoed:
                self._put(record, echoes=0 if self.exact_versions else 1)
                return
            # The echo came before the reply: it may carry another process's change.
            self._put(record, echoes=0)
            self._queue_validation(key, record.version)

    def validated(
        self, ticket: Ticket | None, key: str, version: int, record: Record | None
    ) -> None:
        """The channel re-read ``key`` after an ambiguous echo of ``version``."""
        with self._lock:
            self.stats.validations += 1
            if ticket is not None:
                self._end(ticket)
            entry = self._entries.get(key)
            if entry is None or entry.record.version != version:
                return  # gone already, or replaced by a newer write of ours
            if record is None or record.version != version or ticket is None:
                self._evict(key)
            elif self._stands(ticket):
                entry.record = record  # the store's expiry may be later
            else:
                self._evict(key)

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
        # Echoes arrive in the order of this process's writes of the key: one the
        # cached record still expects is older than any write under way.
        entry = self._entries.get(key)
        if entry is not None and entry.echoes > 0:
            entry.echoes -= 1
            for ticket in self._tickets.get(key, ()):
                if not ticket.write:
                    ticket.stale = True
            self._queue_validation(key, entry.record.version)
            return
        self._match_write(key)
        self._evict(key)  # the version a write under way replaces, or a change

    def _versioned(self, key: str, version: int) -> None:
        # Versions of a key only grow until it is deleted (0), and ids never return.
        for ticket in self._tickets.get(key, ()):
            if ticket.write and version == ticket.version:
                ticket.echoed = True
            elif version == 0 or (ticket.write and version > ticket.version):
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

    def needs_confirmation(self, key: str, version: int) -> bool:
        """Whether the cached ``version`` of ``key`` still waits for a confirming
        read. Not when it is gone or replaced, nor while a write of this process is
        under way for the key: that compare-and-set against ``version`` settles it
        (done: nobody deleted or replaced the key in between; failed: evicted)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.record.version != version:
                return False
            return not any(ticket.write for ticket in self._tickets.get(key, ()))

    def take_validations(self) -> list[tuple[str, int]]:
        with self._lock:
            pending, self.validations = self.validations, []
            return pending

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

    def _match_write(self, key: str) -> None:
        """Mark the tickets of ``key``: the first write whose echo this can be is
        echoed, every other ticket is spoilt."""
        taken = False
        for ticket in self._tickets.get(key, ()):
            if not taken and ticket.write and not ticket.echoed:
                ticket.echoed = taken = True
            else:
                ticket.stale = True

    def _queue_validation(self, key: str, version: int) -> None:
        self.validations.append((key, version))
        self.on_validation()

    def _spoil(self, key: str) -> None:
        for ticket in self._tickets.get(key, ()):
            ticket.stale = True

    def _put(self, record: Record, echoes: int) -> None:
        key = record.id
        self._evict(key)
        entry = _Entry(record, echoes)
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
        self.validations = []
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

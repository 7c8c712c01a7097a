# Generated from src/sessionware/admin/_async/operations.py by scripts/unasync.py. Do not edit.
"""``AdminOperations``: everything the dashboard asks of a manager and a store.

Changes go through the manager (``revoke_user``; a delete also drops the key's
queued visit), reads through ``store`` (by default the manager's own; the demo
passes the unmetered store so the dashboard's reads stay out of its charts).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ...core.record import Record
from ...stores.base import Store
from ...stores.listing import newest_records
from ..listing import Detail, Listing, detail_of, is_store_key, matches, page_of

if TYPE_CHECKING:
    from ... import SessionManager

__all__ = ["SCAN_LIMIT", "AdminOperations"]

#: The table reads at most this many sessions, the newest (a search picks among
#: them: a store has no index on users' name fragments); the page says when the
#: store holds more.
SCAN_LIMIT = 5000


class AdminOperations:
    """``scan_limit``: how many of the newest sessions the table reads."""

    def __init__(
        self,
        manager: SessionManager,
        store: Store | None = None,
        *,
        scan_limit: int = SCAN_LIMIT,
    ) -> None:
        self.manager = manager
        self.store: Store = manager.store if store is None else store
        self.scan_limit = scan_limit

    def listing(self, query: str, page: int) -> Listing:
        """Page ``page`` of the newest live sessions whose user contains ``query``."""
        needle = query.casefold()
        newest = newest_records(self.store, self.scan_limit)
        live = self.store.count()
        found = [record for record in newest if matches(record, needle)]
        truncated = live > self.scan_limit
        return page_of(found, query, page, time.time(), live=live, truncated=truncated)

    def live_count(self) -> int:
        return self.store.count()

    def fast_tier_count(self) -> int | None:
        """Sessions cached by a tiered store's fast tier; None without one."""
        fast = fast_tier(self.manager.store)
        return None if fast is None else fast.count()

    def detail(self, key: str, *, show_values: bool) -> Detail | None:
        if not is_store_key(key):
            return None
        record = self.store.load(key)
        if record is None:
            return None
        return detail_of(record, self._decoded, time.time(), show_values=show_values)

    def _decoded(self, record: Record) -> dict[str, Any]:
        core = self.manager.core
        return core.codec.decode(core.plain(record))  # decrypted first, if sealed

    def revoke(self, user_id: str) -> int:
        """Every session of ``user_id`` ends ("log out everywhere")."""
        return self.manager.revoke_user(user_id)

    def delete(self, key: str) -> int:
        """Delete the session stored under ``key`` (its queued visit too)."""
        removed = self.manager.store.delete(key)
        if self.manager.visit_tracker is not None:
            self.manager.visit_tracker.discard(key)
        return removed


def fast_tier(store: object) -> Store | None:
    """The fast tier of a tiered store, looking through store proxies."""
    for _ in range(16):  # a chain of proxies is short; never loop on a cycle
        fast: Store | None = getattr(store, "fast", None)
        if fast is not None:
            return fast
        inner = getattr(store, "store", None)
        if inner is None:
            return None
        store = inner
    return None

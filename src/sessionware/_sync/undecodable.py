# Generated from src/sessionware/_async/undecodable.py by scripts/unasync.py. Do not edit.
"""Removing a record whose data does not decode (async source; ``_sync/`` is generated).

The manager treats such a record as a missing session and removes it, so it is not
decoded again and again. The removal is guarded by the version it read: a request
that wrote a fresh record under the key meanwhile keeps it.
"""

from __future__ import annotations

import logging

from ..core.record import Record
from ..stores.base import RecordListing, StoreLike, has_record_listing

__all__ = ["remove_undecodable"]

logger = logging.getLogger("sessionware")


def remove_undecodable(store: StoreLike, record: Record) -> bool:
    """Remove ``record`` from ``store`` if it is still the version read (a store
    without ``delete_if_version`` removes whatever is stored); True when removed.
    Logs what was done."""
    if has_record_listing(store):
        assert isinstance(store, RecordListing)
        removed = bool(store.delete_if_version(record.id, record.version))
    else:
        removed = bool(store.delete(record.id))
    if removed:
        logger.warning(
            "session %s: the stored data does not decode; treated as missing and removed",
            record.id,
        )
    else:
        logger.info(
            "session %s: the stored data did not decode; rewritten since (or gone), so kept",
            record.id,
        )
    return removed

"""The tiered store: a fast store (memory, Redis) in front of a durable one (SQL).

``TieredStore(fast, durable)`` for sync code, ``AsyncTieredStore(fast, durable)``
with async stores. The durable store decides every compare-and-set; the fast tier
holds copies and loses them whenever they could be wrong (see ``AsyncTieredStore``).

``_async/store.py`` is the source of ``_sync/store.py``, which ``scripts/unasync.py``
generates.
"""

from __future__ import annotations

from ._async.store import AsyncTieredStore
from ._sync.store import TieredStore

__all__ = ["AsyncTieredStore", "TieredStore"]

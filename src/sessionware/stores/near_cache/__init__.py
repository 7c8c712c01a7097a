"""A coherent process-local cache of session records in front of a shared store.

``open_store("redis://host/0?near_cache=on")`` (or ``near_cache=True``) wraps the
store in ``NearCacheStore``: a read-only request whose session is cached makes no
store call, a write makes one (the compare-and-set). The store's own invalidation
channel keeps every process's cache right (Redis ``CLIENT TRACKING``, PostgreSQL
``LISTEN``/``NOTIFY``); losing the channel empties the cache until it is back.
The README's "Near cache" section states the guarantee and its measured delay.
"""

from ._async.store import AsyncNearCacheStore
from ._cache import CacheStats, NearCache
from ._options import NearCacheSettings, NearCacheUnsupported, take_settings
from ._sync.store import NearCacheStore

__all__ = [
    "AsyncNearCacheStore",
    "CacheStats",
    "NearCache",
    "NearCacheSettings",
    "NearCacheStore",
    "NearCacheUnsupported",
    "take_settings",
]

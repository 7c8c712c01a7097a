"""``redis://``, ``rediss://``, ``redis+sentinel://``, ``redis+cluster://`` and their
``valkey`` spellings: ``RedisStore`` (sync) and ``AsyncRedisStore`` (async).

Both come from one source, ``stores/_async/redis.py``; the sync one is generated.
Importing this module imports redis-py (the ``[redis]`` extra).
"""

from __future__ import annotations

from ._async.redis import AsyncRedisStore
from ._redis_shared import DEFAULT_PREFIX, RedisURLError
from ._sync.redis import RedisStore

__all__ = ["DEFAULT_PREFIX", "AsyncRedisStore", "RedisStore", "RedisURLError"]

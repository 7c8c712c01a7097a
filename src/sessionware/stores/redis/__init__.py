"""``redis://``, ``rediss://``, ``redis+sentinel://``, ``redis+cluster://`` and their
``valkey`` spellings: ``RedisStore`` (sync) and ``AsyncRedisStore`` (async).

Everything Redis is in this package. Hand-written and flavour-neutral:

* ``_settings``: store URLs and options -> ``RedisSettings`` (topology, connections);
* ``_keys``: key names and SCAN patterns under a prefix;
* ``_codec``: the stored record string, script arguments, revocation markers;
* ``_scripts``: the Lua scripts that write them;
* ``_errors``: ``RedisURLError`` and redis-py's errors as store errors;
* ``_clients``: clients shared per process, connections kept between commands.

``_async/commands.py`` (client, commands, scripts, pipelines) and
``_async/store.py`` (the store) are the source of ``_sync/``, which
``scripts/unasync.py`` generates. Importing this package imports redis-py (the
``[redis]`` extra).
"""

from __future__ import annotations

from ._async.store import AsyncRedisStore
from ._errors import RedisURLError
from ._keys import DEFAULT_PREFIX
from ._sync.store import RedisStore

__all__ = ["DEFAULT_PREFIX", "AsyncRedisStore", "RedisStore", "RedisURLError"]

# Generated from src/sessionware/stores/near_cache/_async/redis.py by scripts/unasync.py. Do not edit.
"""``RedisChannel``: Redis's server-assisted invalidation (``CLIENT TRACKING``).

Written once, async, here; ``scripts/unasync.py`` generates ``_sync/redis.py``.

One dedicated RESP2 connection turns tracking on in broadcasting mode for the
store's session keys and revocation markers only (``BCAST PREFIX <prefix>{ PREFIX
<prefix>revoked:{``), redirected to itself, and then subscribes to
``__redis__:invalidate``: every change of such a key, by any client, arrives as a
message naming it. One connection is one failure domain: were tracking enabled on
another connection, killing that one would end the messages without a sign.

Why not redis-py's own client-side cache (``cache_config``, ``protocol=3``): it
exists for the sync client only, keeps raw replies per command (a hit would still
run the store's load path and decode), tracks keys per pool connection (each must
be drained before a hit is trusted), and the store's writes are Lua scripts, whose
own invalidations would evict the record just written.

How the messages are read differs by flavour. The async listener is a task that
awaits each message as it comes (waking a task is cheap). The sync flavour pulls:
every load first applies what the connection has already received (``catch_up``:
a non-blocking poll of its socket, a few microseconds), so a request never reads
the cache past an invalidation that has arrived, and this process's own write's
echo is read by its next request rather than by a thread woken for it (a thread
switch and a GIL hand-off per write cost more than the round trip the cache
saves). A background thread reads the connection every 20 ms as well, so a lost
connection is noticed and the server's buffer never fills while no requests come.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from ...._synchronization import pause
from .._cache import NearCache
from .channel import Channel

__all__ = ["RedisChannel", "supports_redis"]

INVALIDATE = b"__redis__:invalidate"
IS_ASYNC = False
#: Seconds between the sync flavour's background reads of the connection.
PULL_PERIOD = 0.02


def supports_redis(store: Any) -> bool:
    """Whether ``store`` is a Redis store on a plain (not Cluster, not Sentinel) client."""
    pool = getattr(getattr(store, "client", None), "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    return isinstance(kwargs, dict) and "host" in kwargs and hasattr(store, "keys")


class RedisChannel(Channel):
    name = "Redis CLIENT TRACKING"

    def __init__(self, cache: NearCache, store: Any) -> None:
        super().__init__(cache, store)
        layout = store.keys
        self._session_start = layout.session("")[:-1]  # "<prefix>{"
        self._marker_start = layout.revoked("")[:-1]  # "<prefix>revoked:{"
        pool = store.client.connection_pool
        options = dict(pool.connection_kwargs)
        options.update(
            protocol=2,
            socket_timeout=None,
            socket_keepalive=True,
            decode_responses=False,
            client_name="sessionware-near-cache",
        )
        self._connection_class = pool.connection_class
        self._options = options
        self._connection: Any = None
        #: The server's id of the listening connection (``CLIENT KILL ID`` in tests).
        self.client_id: int | None = None
        self._reading = threading.Lock()  # one reader of the connection at a time
        self._broken = False

    def _connect(self) -> None:
        connection = self._connection_class(**self._options)
        self._connection = connection
        connection.connect()
        connection.send_command("CLIENT", "ID")
        self.client_id = int(connection.read_response())
        connection.send_command(
            "CLIENT", "TRACKING", "ON", "REDIRECT", self.client_id, "BCAST",
            "PREFIX", self._session_start, "PREFIX", self._marker_start,
        )  # fmt: skip
        connection.read_response()
        connection.send_command("SUBSCRIBE", INVALIDATE)
        connection.read_response()
        self._broken = False

    def _listen(self) -> None:
        connection = self._connection
        if IS_ASYNC:
            while not self._stopping:
                self._handle(connection.read_response())
            return
        while not self._stopping:
            pause(PULL_PERIOD)
            self.catch_up()
            if self._broken:
                raise ConnectionError("the invalidation connection was lost")

    def catch_up(self) -> None:
        """Apply every message the connection has received (sync flavour; a no-op
        in the async one, whose task reads them as they come). A failure empties
        the cache at once; the background thread then reconnects."""
        if IS_ASYNC:
            return
        connection = self._connection
        if connection is None or self._broken or not self.cache.is_up:
            return  # connecting, reconnecting or stopped: nothing is cached
        with self._reading:
            try:
                while connection.can_read(timeout=0):
                    self._handle(connection.read_response())
            except Exception:
                self._broken = True
                self.cache.reset()

    def _handle(self, message: Any) -> None:
        if isinstance(message, list) and len(message) >= 3 and message[0] == b"message":
            self._report(message[2])

    def _report(self, keys: list[bytes] | None) -> None:
        if keys is None:  # FLUSHDB / FLUSHALL: everything changed
            self.cache.clear()
            return
        session_start, marker_start = self._session_start, self._marker_start
        for raw in keys:
            key = raw.decode()
            if key.startswith(marker_start):
                self.cache.invalidate_users(key[len(marker_start) : -1])
            elif key.startswith(session_start):
                self.cache.invalidate(key[len(session_start) : -1])

    def _disconnect(self) -> None:
        with self._reading:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.disconnect()

    def _interrupt(self) -> None:
        self._disconnect()

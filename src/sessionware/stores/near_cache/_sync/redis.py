# Generated from src/sessionware/stores/near_cache/_async/redis.py by scripts/unasync.py. Do not edit.
"""``RedisChannel``: Redis's server-assisted invalidation (``CLIENT TRACKING``).

Written once, async, here; ``scripts/unasync.py`` generates ``_sync/redis.py``.

Two connections, made and lost together:

* the **listener**, RESP2, subscribed to ``__redis__:invalidate``, to which every
  message is redirected. It tracks the revocation markers (``BCAST PREFIX
  <prefix>revoked:{``) itself: any change of a user's marker drops that user's
  sessions.
* the **lane**, on which the cache reads the sessions it keeps (a miss) and writes
  them (the compare-and-set), one operation at a time. Its tracking is Redis's
  default mode with ``NOLOOP``: the server reports each change another client makes
  to a key the lane has read, and none the lane makes itself. The save script ends
  with a read of the key, so a write goes on being tracked. So a message is always
  someone else's change; this process's own writes cost no message, no read of one
  and no second look at the key. (In broadcasting mode, changes made from inside
  a script are not left out by ``NOLOOP``, which is why the lane does not use it.)
  While another request holds the lane, a load or write goes through the store's
  pool, and what it brings back is not kept.

A failure of either connection (killed, a restart or failover, a consumer too
slow for the server's output buffer) empties the cache at once, and both are made
again.

Why not redis-py's own client-side cache (``cache_config``, ``protocol=3``): it
exists for the sync client only, keeps raw replies per command (a hit would still
run the store's load path and decode), tracks keys per pool connection (each must
be drained before a hit is trusted), and the store's writes are Lua scripts.

How the messages are read differs by flavour. The async listener is a task that
awaits each message as it comes. The sync flavour pulls: every load first applies
what the listener has already received (``catch_up``: one non-blocking ``poll`` of
both sockets, which also tells a closed lane), so a request never reads the cache
past an invalidation that has arrived. A background thread reads every 20 ms as
well, so a lost connection is noticed and the server's buffer never fills while
no requests come.
"""

from __future__ import annotations

import contextlib
import select
import threading
from typing import Any

from ...._synchronization import pause
from ....core.record import Record
from ...redis._sending import send_packed
from .._cache import NearCache
from .._worker import run_soon
from .channel import Channel, SentWrite

__all__ = ["RedisChannel", "supports_redis"]

INVALIDATE = b"__redis__:invalidate"
IS_ASYNC = False
#: Seconds between the sync flavour's background reads of the connection.
PULL_PERIOD = 0.02
#: What a closed or failed socket shows ``poll`` (with data or not).
HANGUP = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR


def supports_redis(store: Any) -> bool:
    """Whether ``store`` is a Redis store on a plain (not Cluster, not Sentinel) client."""
    pool = getattr(getattr(store, "client", None), "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    return isinstance(kwargs, dict) and "host" in kwargs and hasattr(store, "keys")


class _Lane:
    """The tracked connection (see the module), for one operation at a time. What
    the store's commands call on it; ``intact`` is False once anything failed."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.intact = True
        self._lock = threading.Lock()

    def take(self) -> bool:
        return self.intact and self._lock.acquire(blocking=False)

    def give_back(self) -> None:
        self._lock.release()

    def send_packed_command(self, command: Any) -> None:
        send_packed(self.connection, command)

    def read_response(self) -> Any:
        return self.connection.read_response()

    def disconnect(self) -> None:
        self.intact = False
        self.connection.disconnect()


def _closed(connection: Any) -> bool:
    """Whether an asyncio connection's stream has ended (its transport reads on
    while nobody awaits a reply)."""
    reader = getattr(connection, "_reader", None)
    return reader is None or reader.at_eof() or reader.exception() is not None


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
        lane_options = dict(pool.connection_kwargs)
        lane_options.update(protocol=2, client_name="sessionware-near-cache-lane")
        self._lane_options = lane_options
        self._connection: Any = None
        self._lane: _Lane | None = None
        #: The server's ids of the listening connection and of the lane (tests
        #: kill them with ``CLIENT KILL ID``).
        self.client_id: int | None = None
        self.lane_id: int | None = None
        self._reading = threading.Lock()  # one reader of the connection at a time
        self._broken = False
        self._poller: Any = None
        self._lane_fd = -1
        self._waking: Any = None  # the task that wakes the async listener

    def _connect(self) -> None:
        connection = self._connection_class(**self._options)
        self._connection = connection
        connection.connect()
        connection.send_command("CLIENT", "ID")
        self.client_id = int(connection.read_response())
        connection.send_command(
            "CLIENT", "TRACKING", "ON", "REDIRECT", self.client_id, "BCAST",
            "PREFIX", self._marker_start,
        )  # fmt: skip
        connection.read_response()
        connection.send_command("SUBSCRIBE", INVALIDATE)
        connection.read_response()
        lane = self._connection_class(**self._lane_options)
        lane.connect()
        lane.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", self.client_id, "NOLOOP")
        lane.read_response()
        lane.send_command("CLIENT", "ID")
        self.lane_id = int(lane.read_response())
        if not IS_ASYNC:
            self._poller = select.poll()
            self._poller.register(connection._sock, select.POLLIN)
            self._lane_fd = lane._sock.fileno()
            self._poller.register(self._lane_fd, HANGUP)
        self._lane = _Lane(lane)
        self._broken = False

    def load(self, id: str) -> tuple[Record | None, bool]:
        lane = self._lane
        if lane is None or not lane.take():
            record: Record | None = self.store.load(id)
            return record, False
        try:
            record = self.store.load_on(lane, id)
        finally:
            lane.give_back()
        return record, self._still(lane)

    def start_save_if_version(
        self, record: Record, expected_version: int
    ) -> SentWrite[tuple[bool, bool]] | None:
        """The compare-and-set sent on the lane, which stays taken until its reply is
        read (``finish()``); None, having sent nothing, when the lane
        is busy, the write takes more than one script call, or a proxy around the
        store watches whole writes."""
        start = getattr(self.store, "start_save_on", None)
        lane = self._lane
        if start is None or lane is None or not lane.take():
            return None
        try:
            sent = start(lane, record, expected_version)
        except BaseException:
            lane.give_back()
            raise
        if sent is None:
            lane.give_back()
            return None
        return SentWrite(self._finish_save, lane, sent)

    def _finish_save(self, lane: _Lane, sent: Any) -> tuple[bool, bool]:
        try:
            written = self.store.finish_save_on(sent)
        finally:
            lane.give_back()
        if written is None:
            return self._save_through_pool(sent.record, sent.expected_version)
        return written, self._still(lane)

    def save_if_version(self, record: Record, expected_version: int) -> tuple[bool, bool]:
        in_flight = self.start_save_if_version(record, expected_version)
        if in_flight is not None:
            return in_flight.finish()
        lane = self._lane
        # Not sent split: the lane was busy, or the write takes more than one call
        # (the pool then), or a proxy hid the split to watch whole writes (the lane
        # takes them whole).
        whole = getattr(self.store, "start_save_on", None) is None
        if whole and lane is not None and lane.take():
            try:
                written = self.store.save_if_version_on(lane, record, expected_version)
            finally:
                lane.give_back()
            if written is not None:
                return written, self._still(lane)
        return self._save_through_pool(record, expected_version)

    def _save_through_pool(self, record: Record, expected_version: int) -> tuple[bool, bool]:
        written: bool = self.store.save_if_version(record, expected_version)
        return written, False

    def _still(self, lane: _Lane) -> bool:
        """Whether ``lane`` is still tracking (else the cache is emptied)."""
        if lane.intact:
            return True
        self._lost()
        return False

    def _lost(self) -> None:
        """The lane failed or closed: its tracking has ended, so changes may have
        gone unheard. Empty the cache and make both connections again."""
        if self._broken:
            return
        self._broken = True
        if self.cache.is_up:
            self.cache.reset()
        if IS_ASYNC:
            # The listener waits on its own connection: end that to wake it.
            self._waking = run_soon(self._disconnect)

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
        """Before the cache is read: notice a closed lane, and (sync flavour) apply
        every message the listener has received; the async listener's task reads
        them as they come. A failure empties the cache at once; the background
        thread or task then reconnects."""
        connection, lane = self._connection, self._lane
        if connection is None or lane is None or self._broken or not self.cache.is_up:
            return  # connecting, reconnecting or stopped: nothing is cached
        if IS_ASYNC:
            if _closed(lane.connection):
                self._lost()
            return
        with self._reading:  # one poll of both sockets at a time, and one reader
            events = self._poller.poll(0)
            if not events:
                return
            if any(fd == self._lane_fd for fd, _ in events):
                self._lost()
                return
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
            lane, self._lane = self._lane, None
        if lane is not None:
            with contextlib.suppress(Exception):
                lane.disconnect()
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.disconnect()

    def _interrupt(self) -> None:
        self._disconnect()

"""``redis://`` and friends: sessions in Redis or Valkey (standalone, Sentinel, Cluster).

Written once, async, in ``stores/redis/_async/store.py``; ``scripts/unasync.py``
generates ``stores/redis/_sync/store.py`` from it.

Layout: one string per session (``<prefix>{<key>}``: header, user id, data; see
``_codec``) with a native TTL, and one sorted set per user
(``<prefix>user:{<user>}``) of session keys scored by their expiry. A load is one
GET. Every write to a session is one server-side Lua script on one key, so it is
atomic and lands in one Cluster slot; the user index is updated by its own
single-key command in the same pipeline, never by a cross-slot script. The index
is written before the session, so it always holds at least the user's live
sessions; readers drop what it holds beyond them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ....core.record import Record
from ....errors import redact_url
from ..._damaged import log_damaged
from .._clients import CLIENTS, ClientLease
from .._codec import (
    ANONYMOUS_OWNER,
    create_command,
    decode_user,
    index_score,
    marker_args,
    marker_revoked_at,
    owner_span,
    record_from_value,
    save_args,
    touch_args,
)
from .._errors import REDIS_ERRORS, store_error, translate_errors
from .._keys import DEFAULT_PREFIX, KeyLayout
from .._scripts import (
    DELETE_SCRIPT,
    INDEX_SCRIPT,
    MARK_REVOKED_SCRIPT,
    REINDEX,
    SAVE_SCRIPT,
    TOUCH_SCRIPT,
)
from .._settings import DEFAULT_FAILOVER_TIMEOUT, parse_url
from .commands import Deadline, ScriptCall, make_client, script_command
from .failover import AsyncFailoverWrites
from .listing import AsyncRedisListing

__all__ = ["AsyncRedisStore", "SentSave"]

IS_ASYNC = True
#: Keys per pipeline when a bulk operation (delete_many, delete_all, purge) is split.
BATCH = 500
#: ``COUNT`` hint for SCAN: keys examined per call on each node.
SCAN_COUNT = 1000


@dataclass(slots=True)
class SentSave:
    """A compare-and-set sent on a connection (``start_save_on``), its reply unread."""

    connection: Any
    record: Record
    expected_version: int
    command: tuple[Any, ...]
    failure: BaseException | None = None  # sending failed: the write is not on its way


class AsyncRedisStore(AsyncRedisListing, AsyncFailoverWrites):
    """A session store in Redis/Valkey. Open it with ``open_async_store(url)`` or
    ``AsyncRedisStore.from_url(url, prefix=..., socket_timeout=...)``, or wrap a
    redis-py client you made: ``AsyncRedisStore(client, prefix="app:")``.

    ``reuse_connections=True`` keeps the connections of single commands between
    commands instead of checking them out of the pool for each (see
    ``IdleConnections``); ``from_url`` turns it on where that is safe. Only for a
    plain (non-Cluster) client speaking RESP2 whose pool is not bounded.

    ``failover_timeout`` (seconds, default 5): how long an operation that meets a
    failover (connection refused or dropped, CLUSTERDOWN, READONLY, no master)
    keeps retrying, with backoff, before it raises ``StoreUnavailable``. A
    compare-and-set whose outcome is unknown is never sent again blindly: the
    record is read first (see ``_write``). ``wait_replicas`` and
    ``wait_timeout_ms``: see ``AsyncRedisCommands``."""

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        url: str = "redis://",
        lease: ClientLease | None = None,
        reuse_connections: bool = False,
        failover_timeout: float = DEFAULT_FAILOVER_TIMEOUT,
        **replication: int,
    ) -> None:
        super().__init__(
            client,
            reuse_connections=reuse_connections,
            failover_timeout=failover_timeout,
            **replication,
        )
        self.url = url
        self.keys = KeyLayout(prefix)
        self._lease = lease
        self._save = client.register_script(SAVE_SCRIPT)
        self._touch = client.register_script(TOUCH_SCRIPT)
        self._delete = client.register_script(DELETE_SCRIPT)
        self._index = client.register_script(INDEX_SCRIPT)
        self._mark_revoked = client.register_script(MARK_REVOKED_SCRIPT)
        self._scripts = (self._save, self._touch, self._delete, self._index, self._mark_revoked)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> AsyncRedisStore:
        """A store on the client shared by every store of this process with the same
        URL and options (one connection pool)."""
        settings = parse_url(url, options)
        # A Cluster client (the sync one) asks its startup nodes for the topology
        # as soon as it is made.
        with translate_errors(url):
            lease = CLIENTS.acquire(settings, IS_ASYNC, lambda: make_client(settings))
        return cls(
            lease.client,
            prefix=settings.prefix,
            url=url,
            lease=lease,
            reuse_connections=settings.reuses_connections,
            failover_timeout=settings.failover_timeout,
            wait_replicas=settings.wait_replicas,
            wait_timeout_ms=settings.wait_timeout_ms,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({redact_url(self.url)!r}, prefix={self.keys.prefix!r})"

    # -- the user index ---------------------------------------------------------

    def _index_call(self, user_id: str, id: str, expires_at: float) -> ScriptCall:
        now_ms = int(time.time() * 1000)
        keys = [self.keys.user(user_id)]
        return (self._index, keys, [self.keys.session(id), index_score(expires_at), now_ms])

    async def _unindex(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Remove (user, session id) pairs from user indexes, pipelined."""
        pipe = self.client.pipeline(transaction=False)
        queued = False
        for user_id, id in pairs:
            pipe.zrem(self.keys.user(user_id), self.keys.session(id))
            queued = True
        if queued:
            await pipe.execute()

    # -- the store interface ----------------------------------------------------

    async def setup(self) -> None:
        """Check the server answers (fail fast at start-up) and load the scripts;
        nothing to create."""
        with translate_errors(self.url):
            await self._load_scripts(self._scripts)

    async def load(self, id: str) -> Record | None:
        key = self.keys.session(id)
        try:
            value = await self._command("GET", key)
        except REDIS_ERRORS as exc:
            # Through a failover (the first try stays on the hot path).
            deadline = Deadline.after(self.failover_timeout, exc)
            if deadline is None:
                raise store_error(self.url, exc) from exc
            try:
                value = await self._retrying(lambda: self._command("GET", key), deadline)
            except REDIS_ERRORS as again:
                raise store_error(self.url, again) from again
        return await self._record_of(id, key, value)

    async def load_on(self, connection: Any, id: str) -> Record | None:
        """``load`` with its GET sent on ``connection`` (a near cache's tracked
        one); should that fail, the usual way."""
        key = self.keys.session(id)
        try:
            value = await self._command("GET", key, connection=connection)
        except REDIS_ERRORS:
            return await self.load(id)
        return await self._record_of(id, key, value)

    async def _record_of(self, id: str, key: str, value: bytes | None) -> Record | None:
        if value is None:
            return None
        record = record_from_value(id, value, self.url)
        if record is None:  # bytes this store did not write: a missing session
            log_damaged(self.url, id)
            try:
                await self._retrying(lambda: self._command("DEL", key))
            except REDIS_ERRORS as exc:
                raise store_error(self.url, exc) from exc
        return record

    async def save(self, record: Record) -> None:
        await self._write(record, -1)

    async def save_if_version(self, record: Record, expected_version: int) -> bool:
        return await self._write(record, expected_version)

    async def save_if_version_on(
        self, connection: Any, record: Record, expected_version: int
    ) -> bool | None:
        """``save_if_version`` as one script call on ``connection`` (a near cache's
        tracked one), or None, having written nothing, when the write takes more
        than that (a new record, a user or expiry to index first, replicas to wait
        for): the caller then writes the usual way. Should the connection fail,
        the write goes on as through a failover."""
        sent = await self.start_save_on(connection, record, expected_version)
        return None if sent is None else await self.finish_save_on(sent)

    async def start_save_on(
        self, connection: Any, record: Record, expected_version: int
    ) -> SentSave | None:
        """The first half of ``save_if_version_on``: the script call sent, its reply
        left for ``finish_save_on`` to read (nothing else may use ``connection``
        meanwhile). None, having sent nothing, where ``save_if_version_on`` is."""
        if expected_version <= 0 or self.wait_replicas:
            return None
        key = self.keys.session(record.id)
        args = save_args(record, expected_version, indexed=record.user_id is None, tracked=True)
        sent = SentSave(connection, record, expected_version, script_command(self._save, key, args))
        try:
            await self._send_on(connection, sent.command)
        except REDIS_ERRORS as exc:
            sent.failure = exc  # finish_save_on carries the write through the failover
        return sent

    async def finish_save_on(self, sent: SentSave) -> bool | None:
        """The outcome of a ``start_save_on``, as ``save_if_version_on`` gives it."""
        record, expected_version = sent.record, sent.expected_version
        try:
            try:
                if sent.failure is not None:
                    raise sent.failure
                result = await self._script_reply(self._save, sent.command, sent.connection)
            except REDIS_ERRORS as exc:
                result = await self._write_through_failover(record, expected_version, exc)
            return None if result == REINDEX else await self._settle(record, result)
        except REDIS_ERRORS as exc:
            raise store_error(self.url, exc) from exc

    async def _write(self, record: Record, expected_version: int) -> bool:
        try:
            try:
                result = await self._write_once(record, expected_version)
            except REDIS_ERRORS as exc:
                result = await self._write_through_failover(record, expected_version, exc)
            return await self._settle(record, result)
        except REDIS_ERRORS as exc:
            raise store_error(self.url, exc) from exc

    async def _settle(self, record: Record, result: Any) -> bool:
        """What a save script's ``result`` means for ``save_if_version``."""
        if result == 0:
            return False
        if isinstance(result, bytes):  # the record belonged to another user
            user = result.decode()
            await self._retrying(lambda: self._unindex([(user, record.id)]))
        return True

    async def _write_once(self, record: Record, expected_version: int) -> Any:
        """0 (the version did not match), 1 (written), or the user id the record
        was bound to before this write."""
        key = self.keys.session(record.id)
        if record.user_id is None:
            if expected_version == 0:
                created = await self._write_command(key, create_command(key, record))
                return 0 if created is None else 1
            return await self._eval_write(self._save, key, save_args(record, expected_version))
        if expected_version > 0:
            # Most writes keep their user and expiry (the visit throttle holds the
            # expiry still), so the index entry is right already: try the write
            # alone; the script refuses (REINDEX) when the index must change first.
            args = save_args(record, expected_version, indexed=False)
            result = await self._eval_write(self._save, key, args)
            if result != REINDEX:
                return result
        # Index first: a crash in between leaves an extra index entry (dropped by
        # readers), never a session its user cannot find.
        index = self._index_call(record.user_id, record.id, record.expires_at)
        save = (self._save, [key], save_args(record, expected_version))
        return (await self._run_scripts([index, save], wait_for=key))[1]

    async def touch_many(self, expiries: Mapping[str, float]) -> None:
        if not expiries:
            return
        with translate_errors(self.url):
            # Idempotent (a touch never shortens an expiry): retried as a whole.
            await self._retrying(lambda: self._touch_many(expiries))

    async def _touch_many(self, expiries: Mapping[str, float]) -> None:
        calls: list[ScriptCall] = [
            (self._touch, [self.keys.session(id)], touch_args(expires_at))
            for id, expires_at in expiries.items()
        ]
        results = await self._run_scripts(calls)
        # Sessions of logged-in users: move their index entries too.
        index_calls = [
            self._index_call(result.decode(), id, expires_at)
            for (id, expires_at), result in zip(expiries.items(), results, strict=True)
            if isinstance(result, bytes)
        ]
        await self._run_scripts(index_calls)

    async def delete(self, id: str) -> int:
        return await self.delete_many([id])

    async def delete_many(self, ids: Iterable[str]) -> int:
        removed = 0
        batch: list[str] = []
        for id in ids:
            batch.append(id)
            if len(batch) >= BATCH:
                removed += await self._delete_batch(batch)
                batch = []
        return removed + await self._delete_batch(batch)

    async def _delete_batch(self, ids: list[str]) -> int:
        if not ids:
            return 0
        with translate_errors(self.url):
            # Idempotent: a second try counts none of what the first removed.
            return int(await self._retrying(lambda: self._delete_ids(ids)))

    async def _delete_ids(self, ids: list[str]) -> int:
        if len(ids) == 1:  # the common case: one command, no pipeline
            results = [await self._eval(self._delete, self.keys.session(ids[0]), ())]
        else:
            calls: list[ScriptCall] = [(self._delete, [self.keys.session(id)], []) for id in ids]
            results = await self._run_scripts(calls)
        await self._unindex(
            (user, id)
            for id, (_, raw_user) in zip(ids, results, strict=True)
            if (user := decode_user(raw_user)) is not None
        )
        return sum(int(count) for count, _ in results)

    async def delete_all(self) -> int:
        """Remove every session and user index under this store's prefix (only)."""
        removed = 0
        with translate_errors(self.url):
            for pattern, counts in (
                (self.keys.session_pattern, True),
                (self.keys.user_pattern, False),
                (self.keys.revoked_pattern, False),
            ):
                batch: list[Any] = []
                async for key in self.client.scan_iter(match=pattern, count=SCAN_COUNT):
                    batch.append(key)
                    if len(batch) >= BATCH:
                        deleted = await self._unlink(batch)
                        removed += deleted if counts else 0
                        batch = []
                deleted = await self._unlink(batch)
                removed += deleted if counts else 0
        return removed

    async def _unlink(self, keys: list[Any]) -> int:
        if not keys:
            return 0
        pipe = self.client.pipeline(transaction=False)
        for key in keys:  # one key per command: never cross-slot
            # (the raw command: redis-py's async cluster pipeline makes unlink() a coroutine)
            pipe.execute_command("UNLINK", key)
        return sum(int(count) for count in await pipe.execute())

    async def ids(self) -> AsyncIterator[str]:
        """Keys of live sessions (SCAN, on every master in a Cluster)."""
        with translate_errors(self.url):
            async for key in self.client.scan_iter(
                match=self.keys.session_pattern, count=SCAN_COUNT
            ):
                yield self.keys.id_of(key)

    async def count(self) -> int:
        total = 0
        async for _ in self.ids():
            total += 1
        return total

    async def ids_for_user(self, user_id: str) -> list[str]:
        """Live sessions of ``user_id``, from its index; each is checked against the
        session itself, and entries bound to another user are dropped."""
        index_key = self.keys.user(user_id)
        now_ms = int(time.time() * 1000)
        start, end, owned = owner_span(user_id)
        with translate_errors(self.url):
            members = await self.client.zrangebyscore(index_key, now_ms, "+inf")
            if not members:
                return []
            pipe = self.client.pipeline(transaction=False)
            for member in members:
                pipe.getrange(member, start, end)
            owners = await pipe.execute()
            live: list[bytes] = []
            moved: list[bytes] = []
            for member, owner in zip(members, owners, strict=True):
                if owner == owned:
                    live.append(member)
                elif owner and not owner.startswith(ANONYMOUS_OWNER):
                    moved.append(member)  # bound to another user now: that is final
                # else deleted, not written yet, or anonymous: its score retires it
            if moved:
                await self.client.zrem(index_key, *moved)
        return [self.keys.id_of(member) for member in live]

    async def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        key, args = self.keys.revoked(user_id), marker_args(revoked_at, keep_until)
        with translate_errors(self.url):  # idempotent: the latest time wins
            await self._retrying(lambda: self._eval(self._mark_revoked, key, args))

    async def user_revoked_at(self, user_id: str) -> float | None:
        with translate_errors(self.url):
            key = self.keys.revoked(user_id)
            value = await self._retrying(lambda: self._command("GET", key))
        return marker_revoked_at(value, time.time())

    async def purge_expired(self, now: float | None = None) -> int:
        """Redis expires sessions (and revocation markers) itself, so this removes
        none (returns 0); it only trims user-index entries whose sessions have
        expired, in bounded batches."""
        cutoff_ms = int((time.time() if now is None else now) * 1000)
        with translate_errors(self.url):
            batch: list[Any] = []
            async for key in self.client.scan_iter(match=self.keys.user_pattern, count=SCAN_COUNT):
                batch.append(key)
                if len(batch) >= BATCH:
                    await self._trim(batch, cutoff_ms)
                    batch = []
            await self._trim(batch, cutoff_ms)
        return 0

    async def _trim(self, index_keys: list[Any], cutoff_ms: int) -> None:
        if not index_keys:
            return
        pipe = self.client.pipeline(transaction=False)
        for key in index_keys:
            pipe.zremrangebyscore(key, "-inf", f"({cutoff_ms}")
        await pipe.execute()

    async def close(self) -> None:
        """Release this store's share of the client; the last one closes the pool."""
        if self._idle is not None:
            for connection in self._idle.drain():
                await self.client.connection_pool.release(connection)
        lease, self._lease = self._lease, None
        if lease is not None and CLIENTS.release(lease):
            with translate_errors(self.url):
                await self.client.aclose()

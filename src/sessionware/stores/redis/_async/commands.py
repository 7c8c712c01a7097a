"""How a Redis store talks to the server: the redis-py client for its settings, one
command on a kept connection, a script by SHA (loaded again after NOSCRIPT), and
pipelines of script calls.

Written once, async, in ``stores/redis/_async/commands.py``; ``scripts/unasync.py``
generates ``stores/redis/_sync/commands.py`` from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hiredis import pack_command
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import EqualJitterBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from ..._failover import Deadline as FailoverDeadline
from .._clients import CHECKOUT_ARGS, IdleConnections
from .._errors import is_transient
from .._sending import async_send_packed
from .._settings import DEFAULT_FAILOVER_TIMEOUT, DEFAULT_WAIT_TIMEOUT_MS, RedisSettings

__all__ = [
    "AsyncRedisCommands",
    "Deadline",
    "ScriptCall",
    "make_client",
    "pause_for",
    "script_command",
]

# (script, keys, args): one script call, as queued in a pipeline.
ScriptCall = tuple[AsyncScript, list[str], list[Any]]


class Deadline(FailoverDeadline):
    """``failover_timeout`` from an operation's first failure (see
    ``stores._failover.Deadline``), for the errors a Redis failover can cure."""

    def transient(self, exc: BaseException) -> bool:
        return is_transient(exc)


async def pause_for(seconds: float) -> None:
    await asyncio.sleep(seconds)


# redis-py annotates these in one flavour and not the other: call them through Any
# so that both the async source and its generated twin type-check.
_new_cluster_node: Any = ClusterNode
_new_sentinel: Any = Sentinel


def make_client(settings: RedisSettings) -> Any:
    """A redis-py client for ``settings``: Redis, a Sentinel master, or RedisCluster."""
    options = settings.connection_options()
    retry = Retry(EqualJitterBackoff(cap=0.5, base=0.02), settings.retry_count)
    if settings.mode == "cluster":
        nodes = [_new_cluster_node(host, port) for host, port in settings.hosts]
        return RedisCluster(startup_nodes=nodes, retry=retry, **options)
    if settings.mode == "sentinel":
        sentinel = _new_sentinel(
            list(settings.hosts), sentinel_kwargs=settings.sentinel_options(), **options
        )
        return sentinel.master_for(settings.service, db=settings.db, retry=retry)
    host, port = settings.hosts[0]
    return Redis(host=host, port=port, db=settings.db, retry=retry, **options)


async def _send(connection: Any, args: tuple[Any, ...]) -> None:
    # hiredis packs the store's arguments (str as UTF-8, the store's only encoding;
    # bytes, int, float) to the bytes redis-py would send, without redis-py's
    # per-argument encoder pass: about 18 us of a cached write's client time here.
    await async_send_packed(connection, (pack_command(args),))


async def _round_trip(connection: Any, args: tuple[Any, ...]) -> Any:
    await _send(connection, args)
    return await connection.read_response()


def script_command(script: AsyncScript, key: str, args: Sequence[Any]) -> tuple[Any, ...]:
    """The EVALSHA of one script call on one key."""
    return ("EVALSHA", script.sha, 1, key, *args)


class AsyncRedisCommands:
    """The plumbing ``AsyncRedisStore`` is built on: commands and scripts over
    ``client``, on kept connections when ``reuse_connections`` (see ``IdleConnections``).

    ``wait_replicas`` > 0: a session write (``_write_command``, ``_eval_write``, or
    ``_run_scripts`` given ``wait_for``) is pipelined with ``WAIT wait_replicas
    wait_timeout_ms`` on the same connection, so its reply comes once that many
    replicas have the write (or the timeout has passed): no extra round trip."""

    def __init__(
        self,
        client: Any,
        *,
        reuse_connections: bool = False,
        failover_timeout: float = DEFAULT_FAILOVER_TIMEOUT,
        wait_replicas: int = 0,
        wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS,
    ) -> None:
        self.client = client
        self._idle = IdleConnections() if reuse_connections else None
        self.failover_timeout = failover_timeout
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._cluster = isinstance(client, RedisCluster)

    async def _retrying(
        self, operation: Callable[[], Any], deadline: Deadline | None = None
    ) -> Any:
        """``operation()`` (safe to run again: a read, or a write that is idempotent),
        tried again after a connection error, CLUSTERDOWN, READONLY... with backoff
        until the failover deadline; the next try reaches the new master, as
        redis-py refreshes a Cluster's slots after such errors and a Sentinel
        pool asks the sentinels for the master on each new connection."""
        deadline = deadline or Deadline(self.failover_timeout)
        while True:
            try:
                return await operation()
            except Exception as exc:
                pause = deadline.pause(exc)
                if pause is None:
                    raise
            await asyncio.sleep(pause)

    async def _command(self, *args: Any, connection: Any = None) -> Any:
        """One command and its reply, as the connection parses it (no response
        callbacks), on a kept connection when the store reuses them, or on
        ``connection`` when given (a near cache's own: sent once, and disconnected
        when anything fails)."""
        if connection is not None:
            await self._send_on(connection, args)
            return await self._reply_on(connection)
        idle = self._idle
        if idle is None:
            return await self.client.execute_command(*args)
        pool = self.client.connection_pool
        connection = idle.take() or await pool.get_connection(*CHECKOUT_ARGS)
        try:
            reply = await connection.retry.call_with_retry(
                lambda: _round_trip(connection, args), lambda _: connection.disconnect()
            )
        except BaseException:
            # Whatever failed (even an error reply, rare: NOSCRIPT, WRONGTYPE), start
            # afresh: no half-read reply may ever reach the next command.
            try:
                await connection.disconnect()
            finally:
                await pool.release(connection)
            raise
        idle.put(connection)
        return reply

    async def _send_on(self, connection: Any, args: tuple[Any, ...]) -> None:
        """The first half of ``_command`` on ``connection``: send, and read nothing
        yet (``_reply_on`` reads), so the caller can work while the server does."""
        try:
            await _send(connection, args)
        except BaseException:
            await connection.disconnect()
            raise

    async def _reply_on(self, connection: Any) -> Any:
        """The reply to what ``_send_on`` sent on ``connection``."""
        try:
            return await connection.read_response()
        except BaseException:
            await connection.disconnect()
            raise

    async def _eval(
        self, script: AsyncScript, key: str, args: Sequence[Any], connection: Any = None
    ) -> Any:
        """One script call on one key: EVALSHA itself, not redis-py's
        ``Script.__call__``, which adds an import, tuple copies and a second wrapper
        on every call of the hot path."""
        command = script_command(script, key, args)
        if connection is not None:
            await self._send_on(connection, command)
        return await self._script_reply(script, command, connection)

    async def _script_reply(
        self, script: AsyncScript, command: tuple[Any, ...], connection: Any = None
    ) -> Any:
        """The reply to script call ``command``: read on ``connection``, where it
        was sent already, or sent and read on a connection of the store's. NOSCRIPT
        (a restart or failover emptied the script cache; the call did nothing)
        loads the script and sends the call again."""
        try:
            if connection is not None:
                return await self._reply_on(connection)
            return await self._command(*command)
        except NoScriptError:
            await self._load_scripts([script])
            return await self._command(*command)

    async def _write_command(self, key: str, args: Sequence[Any]) -> Any:
        """A command that writes ``key``, followed by WAIT when the store asks for
        replica acknowledgements."""
        if not self.wait_replicas:
            return await self._command(*args)
        [reply] = await self._pipeline([tuple(args)], key)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _eval_write(self, script: AsyncScript, key: str, args: Sequence[Any]) -> Any:
        """``_eval`` of a script that writes ``key``, followed by WAIT when asked."""
        if not self.wait_replicas:
            return await self._eval(script, key, args)
        return (await self._run_scripts([(script, [key], list(args))], wait_for=key))[0]

    async def _run_scripts(
        self, calls: Sequence[ScriptCall], wait_for: str | None = None
    ) -> list[Any]:
        """Run script calls in one pipeline (one round trip per node), then WAIT on
        the node of key ``wait_for`` when the store asks for replica
        acknowledgements. A server that lost its script cache (restart, failover)
        answers NOSCRIPT: the scripts are loaded and just those calls sent again,
        in one more pipeline. Safe, since a call that got NOSCRIPT did nothing."""
        results = await self._pipeline_scripts(calls, wait_for)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:
            await self._load_scripts({calls[i][0] for i in missing})
            retried = await self._pipeline_scripts([calls[i] for i in missing], wait_for)
            for position, result in zip(missing, retried, strict=True):
                results[position] = result
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    async def _pipeline_scripts(
        self, calls: Sequence[ScriptCall], wait_for: str | None = None
    ) -> list[Any]:
        # execute_command: redis-py's cluster pipeline blocks its evalsha() method
        # (it cannot know the keys); the raw command names them, so it is routed.
        commands = [
            ("EVALSHA", script.sha, len(keys), *keys, *args) for script, keys, args in calls
        ]
        return await self._pipeline(commands, wait_for)

    async def _pipeline(
        self, commands: Sequence[tuple[Any, ...]], wait_for: str | None = None
    ) -> list[Any]:
        """``commands`` in one pipeline (errors returned, not raised), and WAIT after
        them on the connection that wrote ``wait_for`` when the store asks for
        replica acknowledgements; WAIT's own reply (the replicas that acknowledged
        within the timeout) is not returned: the write stands either way."""
        if not commands:
            return []
        pipe = self.client.pipeline(transaction=False)
        for args in commands:
            pipe.execute_command(*args)
        waiting = wait_for is not None and self.wait_replicas > 0
        if waiting:
            wait = ("WAIT", self.wait_replicas, self.wait_timeout_ms)
            if self._cluster:  # WAIT names no key: send it to the key's node
                pipe.execute_command(*wait, target_nodes=self.client.get_node_from_key(wait_for))
            else:
                pipe.execute_command(*wait)
        results = list(await pipe.execute(raise_on_error=False))
        return results[:-1] if waiting else results

    async def _load_scripts(self, scripts: Iterable[AsyncScript]) -> None:
        """SCRIPT LOAD (on every master in a Cluster)."""
        for script in scripts:
            await self.client.script_load(script.script)

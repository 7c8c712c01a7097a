"""Clients shared per process (one connection pool per settings, flavour and
event loop), and the connections a store keeps between its single commands."""

from __future__ import annotations

import inspect
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._settings import RedisSettings

__all__ = ["CHECKOUT_ARGS", "CLIENTS", "ClientLease", "IdleConnections", "SharedClients"]


class _Forks:
    """How many times this process was forked into being (0 in the original)."""

    count = 0


def _forked() -> None:
    _Forks.count += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _checkout_args() -> tuple[str, ...]:
    """What ``pool.get_connection`` takes: redis-py before 5.3 requires a command
    name (unused by plain pools); later ones warn when it is given."""
    from redis.connection import ConnectionPool

    parameter = inspect.signature(ConnectionPool.get_connection).parameters.get("command_name")
    return ("GET",) if parameter is not None and parameter.default is parameter.empty else ()


#: Arguments for ``pool.get_connection(*CHECKOUT_ARGS)``, sync and asyncio alike.
CHECKOUT_ARGS = _checkout_args()


class IdleConnections:
    """Connections a store keeps between its single commands (GET, SET, EVALSHA).

    redis-py checks a connection out of its pool and back in around every command
    (pid checks, a poll for stray data, locks, usage metrics, events) and wraps the
    command in metrics: of the 133k instructions a GET costs the sync client, 98k;
    of the asyncio client's 320k, 105k. A store takes a connection from the pool
    once and keeps it here, and runs its commands on it with the connection's own
    retry policy. One goes back here only after a complete reply was read, so it
    holds no stray data; one whose command failed is disconnected and handed back
    to the pool. The list holds at most as many connections as commands ran at
    once. A forked child starts empty: its parent's connections share their
    sockets with the parent.
    """

    def __init__(self) -> None:
        self._forks = _Forks.count
        self._idle: list[Any] = []

    def take(self) -> Any | None:
        if self._forks != _Forks.count:
            self._forks, self._idle = _Forks.count, []
        try:
            return self._idle.pop()
        except IndexError:
            return None

    def put(self, connection: Any) -> None:
        self._idle.append(connection)

    def drain(self) -> list[Any]:
        """Every kept connection (none after a fork), to hand back to the pool."""
        idle, self._idle = self._idle, []
        return idle if self._forks == _Forks.count else []


@dataclass(eq=False)
class ClientLease:
    """One store's share of a cached client; hand it back to ``SharedClients.release``."""

    client: Any
    key: tuple[Any, ...] | None  # None: a private client, never cached
    loop: weakref.ReferenceType[Any] | None = None
    refs: int = 0


def _running_loop() -> Any | None:
    import asyncio  # only the async store asks, so sync users never import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class SharedClients:
    """One client (so one connection pool) per process, flavour, event loop and
    settings, reference-counted: the last store to close it closes the client.

    Async clients belong to the loop they first ran on, so they are shared only
    within that loop; one made outside a running loop is private to its store.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[tuple[Any, ...], ClientLease] = {}

    def acquire(
        self, settings: RedisSettings, is_async: bool, make: Callable[[], Any]
    ) -> ClientLease:
        loop = _running_loop() if is_async else None
        if is_async and loop is None:
            return ClientLease(make(), None, refs=1)
        key = (is_async, os.getpid(), id(loop), settings)
        with self._lock:
            lease = self._leases.get(key)
            # An id can be reused by a new loop once the old one is gone.
            if lease is not None and lease.loop is not None and lease.loop() is not loop:
                lease = None
            if lease is None:
                lease = ClientLease(make(), key, weakref.ref(loop) if loop is not None else None)
                self._leases[key] = lease
            lease.refs += 1
            return lease

    def release(self, lease: ClientLease) -> bool:
        """Give one reference back; True when the caller should close the client."""
        with self._lock:
            lease.refs -= 1
            if lease.refs > 0:
                return False
            if lease.key is not None and self._leases.get(lease.key) is lease:
                del self._leases[lease.key]
            return lease.refs == 0


CLIENTS = SharedClients()

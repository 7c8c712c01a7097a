"""Liveness instead of ``pool_pre_ping`` (a round trip on EVERY checkout): a pooled
connection is pinged on checkout only when it has been unused for ``ping_idle``
seconds (store option ``pool_ping_idle``) or was last used before a disconnection
was seen."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

__all__ = ["Liveness"]


class Liveness:
    """Pool ``checkout`` listener: ping only connections that may have died."""

    def __init__(self, dialect: Dialect, ping_idle: float) -> None:
        self.dialect = dialect
        self.ping_idle = ping_idle
        # monotonic time of the last disconnection an operation met
        self.disconnected_at = float("-inf")
        self._key = f"sessionware.last_checkout.{id(self)}"

    def install(self, engine: Engine) -> None:
        event.listen(engine, "checkout", self.on_checkout)

    def saw_disconnection(self) -> None:
        self.disconnected_at = time.monotonic()

    def on_checkout(
        self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        # ``record.info`` is cleared when the pool replaces a connection, so a
        # connection without a stamp is new and needs no ping.
        info = record.info
        now = time.monotonic()
        last = info.get(self._key)
        info[self._key] = now
        if last is None or (now - last < self.ping_idle and last > self.disconnected_at):
            return
        try:
            alive = self.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool replaces this connection (a new one is not pinged).
            raise DisconnectionError(f"ping failed: {exc}") from exc
        if not alive:
            raise DisconnectionError("ping failed")

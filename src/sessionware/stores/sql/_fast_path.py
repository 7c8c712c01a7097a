"""The hot path of the SQL stores: ``load``, ``save`` and ``save_if_version``.

Every request runs these, so they skip SQLAlchemy's per-statement machinery
(``Connection``, execution context, ``Result``: about 170 µs per operation on a
small machine, more than the database round trip itself). Each statement is
compiled ONCE per store to the dialect's SQL text and parameter order, and runs on a
pooled DBAPI connection (``engine.raw_connection()``) with a cursor kept for reuse
(with an async driver, making and closing one costs two event-loop round trips).
SQLAlchemy still provides the pool, the dialect (SQL text, type processors,
disconnect detection, exception classes), setup/DDL and every other operation.

``FastPath`` is sync DBAPI code. ``AsyncFastPath`` awaits the statement on the
driver's own async connection (psycopg's ``AsyncConnection``, aiomysql's
``Connection``: the pooled connection's ``driver_connection``), so a request pays
neither SQLAlchemy's async adapter nor a greenlet per statement. What may do I/O
inside SQLAlchemy (pool checkout and checkin, pings, discarding a connection) runs
through ``GreenletBridge``, SQLAlchemy's greenlet bridge on reused greenlets. Other
async drivers (asyncpg, aiosqlite) run ``FastPath`` itself inside the bridge, on the
adapted connections SQLAlchemy's pool hands out.

Liveness (instead of ``pool_pre_ping``, which costs a round trip on EVERY checkout):
``Liveness`` pings a pooled connection on checkout only when it has been unused for
``ping_idle`` seconds (store option ``pool_ping_idle``) or was last used before a
disconnection was seen; an operation that meets a dead connection anyway discards
it, and ``load`` / ``save`` (safe to repeat) try once more on another connection.
A connection whose statement was interrupted (a cancelled task) is discarded, never
pooled: its state is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.expression import ClauseElement

from ._greenlet_bridge import GreenletBridge
from ._liveness import Liveness
from ._prepared import Prepared

__all__ = ["AsyncFastPath", "FastPath"]

#: Async drivers whose own connection the async hot path uses: the async DB-API shape
#: (``cursor()``, awaitable ``execute`` / ``fetchall`` / ``commit``, ``rowcount``)
#: with PEP 249 exceptions, which SQLAlchemy's dialect classifies as it does for its
#: adapter. Any other driver runs the sync hot path inside the greenlet bridge.
NATIVE_ASYNC_DRIVERS = frozenset({"psycopg", "aiomysql"})


class FastPath:
    """The prepared statements of one store and the code that runs them."""

    def __init__(
        self, engine: Engine, statements: dict[str, ClauseElement], *, ping_idle: float
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.dbapi_error: type[Exception] = engine.dialect.loaded_dbapi.Error
        self.prepared = {name: Prepared(stmt, self.dialect) for name, stmt in statements.items()}
        self.liveness = Liveness(self.dialect, ping_idle)
        self.liveness.install(engine)
        # Per pooled connection (its ``info``, which the pool clears when it
        # replaces the connection): a cursor kept for reuse and the commit mode.
        self._kept_key = f"sessionware.hot_path.{id(self)}"

    # -- the operations ----------------------------------------------------------
    # Reads and upserts are tried once more after a disconnection: running them
    # twice is the same as once. A compare-and-set is not (its second run would see
    # its own first one and report a conflict), so it is run once.

    def load(self, values: dict[str, Any]) -> Any:
        """The row of a live record, or ``None``."""
        return self._run(self.prepared["load"], values, fetch=True, repeatable=True)

    def save(self, values: dict[str, Any]) -> None:
        self._run(self.prepared["save"], values, fetch=False, repeatable=True)

    def revoked_at(self, values: dict[str, Any]) -> Any:
        """The row of a user's kept revocation marker, or ``None`` (every login asks)."""
        return self._run(self.prepared["revoked_at"], values, fetch=True, repeatable=True)

    def update_if_version(self, values: dict[str, Any]) -> int:
        """Rows changed by the compare-and-set update."""
        return self._count("update_if_version", values)

    def create_if_absent(self, values: dict[str, Any]) -> int:
        """Rows changed by the insert that only replaces an expired row."""
        return self._count("create_if_absent", values)

    def _count(self, name: str, values: dict[str, Any]) -> int:
        count: int = self._run(self.prepared[name], values, fetch=False, repeatable=False)
        return count

    # -- running -----------------------------------------------------------------

    def _run(
        self, prepared: Prepared, values: dict[str, Any], *, fetch: bool, repeatable: bool
    ) -> Any:
        parameters = prepared.parameters(values)
        attempts = 2 if repeatable else 1
        while True:
            attempts -= 1
            connection = self.checkout()
            try:
                result = self._execute(connection, prepared, parameters, fetch)
            except Exception as exc:
                if not isinstance(exc, self.dbapi_error):
                    _discard(connection, exc)
                    raise
                disconnected = self.is_disconnect(exc, connection)
                if disconnected:
                    self.liveness.saw_disconnection()
                    _discard(connection, exc)
                    if attempts > 0:
                        continue
                else:
                    connection.close()
                raise self.wrap(exc, prepared.sql, disconnected) from exc
            except BaseException as exc:
                # Cancelled mid-statement: the connection's state is unknown.
                _discard(connection, exc)
                raise
            connection.close()
            return result

    def checkout(self) -> PoolProxiedConnection:
        try:
            return self.engine.raw_connection()
        except Exception as exc:
            if isinstance(exc, self.dbapi_error):
                disconnected = self.is_disconnect(exc, None)
                raise self.wrap(exc, None, disconnected) from exc
            raise

    def _execute(
        self, connection: PoolProxiedConnection, prepared: Prepared, parameters: Any, fetch: bool
    ) -> Any:
        info = connection.info
        kept: _Kept | None = info.get(self._kept_key)
        if kept is None:
            kept = info[self._kept_key] = self._keep(connection)
        try:
            cursor = kept.cursor
            cursor.execute(prepared.sql, parameters)
            if fetch:
                # fetchall (at most one row): the kept cursor is left with nothing
                # pending, whatever the driver reads ahead.
                rows = cursor.fetchall()
                return rows[0] if rows else None
            count = cursor.rowcount
            if not kept.autocommit:
                kept.dbapi_connection.commit()
            return count
        except BaseException:
            del info[self._kept_key]  # the next use starts from a new cursor
            raise

    def _keep(self, connection: PoolProxiedConnection) -> _Kept:
        dbapi_connection = connection.dbapi_connection
        assert dbapi_connection is not None
        # Stores made by ``from_url`` run in autocommit; an engine given by the
        # caller may not, and then each write commits itself.
        try:
            autocommit = bool(self.dialect.detect_autocommit_setting(dbapi_connection))
        except NotImplementedError:
            autocommit = False
        return _Kept(dbapi_connection, dbapi_connection.cursor(), autocommit)

    def is_disconnect(self, exc: Exception, connection: PoolProxiedConnection | None) -> bool:
        dbapi_connection = None if connection is None else connection.dbapi_connection
        # The ignore: SQLAlchemy types the error as the class nested in its DBAPIModule
        # protocol, which no driver's exception is; dialects classify any exception.
        return bool(self.dialect.is_disconnect(exc, dbapi_connection, None))  # type: ignore[arg-type]

    def wrap(self, exc: Exception, sql: str | None, disconnected: bool) -> DBAPIError:
        # SQLAlchemy's own exception classes, as its Connection would raise them, so
        # the store's error translation is the same for both paths. No parameters:
        # they hold session data.
        wrapped = DBAPIError.instance(
            sql,
            None,
            exc,
            self.dbapi_error,
            hide_parameters=True,
            connection_invalidated=disconnected,
            dialect=self.dialect,
        )
        assert isinstance(wrapped, DBAPIError)
        return wrapped


class _Kept:
    """What the hot path keeps with one pooled connection between operations."""

    __slots__ = ("autocommit", "cursor", "dbapi_connection")

    def __init__(self, dbapi_connection: Any, cursor: Any, autocommit: bool) -> None:
        self.dbapi_connection = dbapi_connection
        self.cursor = cursor
        self.autocommit = autocommit


def _discard(connection: PoolProxiedConnection, exc: BaseException) -> None:
    """Close a connection whose state is unknown instead of pooling it."""
    # Already failing: the original error is the one to report.
    with contextlib.suppress(Exception):
        connection.invalidate(exc if isinstance(exc, Exception) else None)


# ------------------------------------------------------------------------- async


class AsyncFastPath:
    """``FastPath`` for an async engine: the same operations, policy and errors.

    With a driver of ``NATIVE_ASYNC_DRIVERS`` the statement is awaited on the
    driver's connection; SQLAlchemy's pool work around it runs in the bridge."""

    def __init__(
        self, engine: Engine, statements: dict[str, ClauseElement], *, ping_idle: float
    ) -> None:
        # The prepared statements, the liveness listener and the error wrapping
        # are the sync path's; the async driver path only awaits differently.
        self.sync = FastPath(engine, statements, ping_idle=ping_idle)
        self.liveness = self.sync.liveness
        self.bridge = GreenletBridge()
        self.native = engine.dialect.driver in NATIVE_ASYNC_DRIVERS
        self._kept_key = f"sessionware.native_hot_path.{id(self)}"
        # Discards still running after their task was cancelled (see ``_discard``).
        self._discarding: set[asyncio.Task[None]] = set()

    async def load(self, values: dict[str, Any]) -> Any:
        """The row of a live record, or ``None``."""
        if not self.native:
            return await self.bridge.run(self.sync.load, values)
        return await self._run("load", values, fetch=True, repeatable=True)

    async def save(self, values: dict[str, Any]) -> None:
        if not self.native:
            return await self.bridge.run(self.sync.save, values)
        await self._run("save", values, fetch=False, repeatable=True)

    async def revoked_at(self, values: dict[str, Any]) -> Any:
        """The row of a user's kept revocation marker, or ``None`` (every login asks)."""
        if not self.native:
            return await self.bridge.run(self.sync.revoked_at, values)
        return await self._run("revoked_at", values, fetch=True, repeatable=True)

    async def update_if_version(self, values: dict[str, Any]) -> int:
        """Rows changed by the compare-and-set update."""
        return await self._count("update_if_version", values)

    async def create_if_absent(self, values: dict[str, Any]) -> int:
        """Rows changed by the insert that only replaces an expired row."""
        return await self._count("create_if_absent", values)

    async def _count(self, name: str, values: dict[str, Any]) -> int:
        if not self.native:
            return await self.bridge.run(self.sync._count, name, values)
        count: int = await self._run(name, values, fetch=False, repeatable=False)
        return count

    # -- running on the driver's connection ---------------------------------------
    # The policy of ``FastPath._run``: one more try after a disconnection for the
    # repeatable operations, a connection in an unknown state is never pooled.

    async def _run(
        self, name: str, values: dict[str, Any], *, fetch: bool, repeatable: bool
    ) -> Any:
        path = self.sync
        prepared = path.prepared[name]
        parameters = prepared.parameters(values)
        attempts = 2 if repeatable else 1
        while True:
            attempts -= 1
            connection = await self.bridge.run(path.checkout)
            try:
                result = await self._execute(connection, prepared, parameters, fetch)
            except Exception as exc:
                if not isinstance(exc, path.dbapi_error):
                    await self._discard(connection, exc)
                    raise
                disconnected = path.is_disconnect(exc, connection)
                if disconnected:
                    path.liveness.saw_disconnection()
                    await self._discard(connection, exc)
                    if attempts > 0:
                        continue
                else:
                    await self.bridge.run(connection.close)
                raise path.wrap(exc, prepared.sql, disconnected) from exc
            except GeneratorExit:
                # The coroutine is being closed and may not await any more. The pool
                # never gets this connection back: its garbage-collection hook drops
                # it from the pool (terminating it where the driver allows).
                raise
            except BaseException as exc:
                # Cancelled mid-statement: the connection's state is unknown.
                await self._discard(connection, exc)
                raise
            await self.bridge.run(connection.close)
            return result

    async def _execute(
        self, connection: PoolProxiedConnection, prepared: Prepared, parameters: Any, fetch: bool
    ) -> Any:
        info = connection.info
        kept: _Kept | None = info.get(self._kept_key)
        if kept is None:
            kept = info[self._kept_key] = await self._keep(connection)
        try:
            cursor = kept.cursor
            await cursor.execute(prepared.sql, parameters)
            if fetch:
                # Both drivers buffer the (at most one) row: nothing stays pending.
                rows = await cursor.fetchall()
                return rows[0] if rows else None
            count = cursor.rowcount
            if not kept.autocommit:
                await kept.dbapi_connection.commit()
            return count
        except BaseException:
            del info[self._kept_key]  # the next use starts from a new cursor
            raise

    async def _keep(self, connection: PoolProxiedConnection) -> _Kept:
        driver_connection = connection.driver_connection
        adapted = connection.dbapi_connection
        assert driver_connection is not None
        assert adapted is not None
        try:
            autocommit = bool(self.sync.dialect.detect_autocommit_setting(adapted))
        except NotImplementedError:
            autocommit = False
        cursor = driver_connection.cursor()
        if inspect.isawaitable(cursor):  # aiomysql hands its cursor over as an awaitable
            cursor = await cursor
        return _Kept(driver_connection, cursor, autocommit)

    async def _discard(self, connection: PoolProxiedConnection, exc: BaseException) -> None:
        # Closing may await the driver (aiomysql says goodbye to the server). In a
        # task that is being cancelled, the next await would be cancelled too and
        # leave the connection half closed, so the discard runs in a task of its
        # own that finishes even when this one gives up waiting for it.
        task = asyncio.ensure_future(self.bridge.run(_discard, connection, exc))
        self._discarding.add(task)
        task.add_done_callback(self._discarding.discard)
        await asyncio.shield(task)

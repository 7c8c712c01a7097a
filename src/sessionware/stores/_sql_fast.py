"""The hot path of the SQL stores: ``load``, ``save`` and ``save_if_version``.

Every request runs these, so they skip SQLAlchemy's per-statement machinery
(``Connection``, execution context, ``Result``: about 170 µs per operation on a
small machine, more than the database round trip itself). Each statement is
compiled ONCE per store to the dialect's SQL text and parameter order, and runs on a
pooled DBAPI connection (``engine.raw_connection()``) with a cursor kept for reuse
(with an async driver, making and closing one costs two event-loop round trips).
SQLAlchemy still provides the pool, the dialect (SQL text, type processors,
disconnect detection, exception classes), setup/DDL and every other operation.

The code is sync DBAPI code. The async store runs the same functions through
SQLAlchemy's greenlet bridge (``greenlet_spawn``), where the pool hands out its
adapted async-driver connections (psycopg async, aiomysql, aiosqlite) with the
same PEP 249 interface.

Liveness (instead of ``pool_pre_ping``, which costs a round trip on EVERY checkout):
``Liveness`` pings a pooled connection on checkout only when it has been unused for
``ping_idle`` seconds (store option ``pool_ping_idle``) or was last used before a
disconnection was seen; an operation that meets a dead connection anyway discards
it, and ``load`` / ``save`` (safe to repeat) try once more on another connection.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["FastPath", "Liveness", "Prepared"]

Processor = Callable[[Any], Any]


class Prepared:
    """One statement as the driver wants it: SQL text, and how to turn the store's
    named values into the driver's parameters (order, type processors)."""

    __slots__ = ("names", "positional", "processors", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.escaped_bind_names or compiled.post_compile_params:
            raise ValueError("statements with escaped or expanding parameters are not prepared")
        self.sql: str = compiled.string
        self.positional: bool = compiled.positional
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        self.names: tuple[str, ...] = tuple(names or ())
        # The same conversions SQLAlchemy applies (e.g. bytes -> DBAPI Binary, float
        # coercion on SQLite), looked up once instead of per execution.
        processors: dict[str, Processor] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        self.processors = processors

    def parameters(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        if self.processors:
            values = dict(values)
            for name, processor in self.processors.items():
                values[name] = processor(values[name])
        if self.positional:
            return tuple([values[name] for name in self.names])
        return values


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
            connection = self._checkout()
            try:
                result = self._execute(connection, prepared, parameters, fetch)
            except Exception as exc:
                if not isinstance(exc, self.dbapi_error):
                    _discard(connection, exc)
                    raise
                disconnected = self._is_disconnect(exc, connection)
                if disconnected:
                    self.liveness.saw_disconnection()
                    _discard(connection, exc)
                    if attempts > 0:
                        continue
                else:
                    connection.close()
                raise self._wrap(exc, prepared.sql, disconnected) from exc
            except BaseException as exc:
                # Cancelled mid-statement: the connection's state is unknown.
                _discard(connection, exc)
                raise
            connection.close()
            return result

    def _checkout(self) -> PoolProxiedConnection:
        try:
            return self.engine.raw_connection()
        except Exception as exc:
            if isinstance(exc, self.dbapi_error):
                disconnected = self._is_disconnect(exc, None)
                raise self._wrap(exc, None, disconnected) from exc
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

    def _is_disconnect(self, exc: Exception, connection: PoolProxiedConnection | None) -> bool:
        dbapi_connection = None if connection is None else connection.dbapi_connection
        return bool(self.dialect.is_disconnect(exc, dbapi_connection, None))  # type: ignore[arg-type]

    def _wrap(self, exc: Exception, sql: str | None, disconnected: bool) -> DBAPIError:
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

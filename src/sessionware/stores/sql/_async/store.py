"""The SQL store on SQLAlchemy 2 Core. Written once, async, in
``stores/sql/_async/store.py``; ``scripts/unasync.py`` generates
``stores/sql/_sync/store.py`` from it.

One table, one prebuilt statement per operation, autocommit (every operation is a
single statement, so there is nothing to group in a transaction). ``load``, ``save``
and ``save_if_version`` run on the hot path of ``_fast_path`` (SQL compiled once, run
on the driver's own pooled connection; pings only for idle connections, one more try
after a disconnection); everything else through SQLAlchemy Core. An operation that
meets a database restart or primary switch is tried again until ``failover_timeout``
(``failover.py``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Executable, event
from sqlalchemy.engine import URL, Engine, Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.schema import DDLElement, DropTable

from ....core.record import Record
from ....errors import StoreError, redact_url
from .._engine import (
    DEFAULT_FAILOVER_TIMEOUT,
    DEFAULT_PING_IDLE,
    SQLOptions,
    async_driver_url,  # unasync: remove
    connection_settings,
    dialect_family,
)
from .._errors import (
    SQL_ERRORS,
    ErrorTranslator,
    NoSuchModuleError,
    driver_missing,
    is_unavailable,
)
from .._fast_path import AsyncFastPath
from .._rows import batches, marker_key, record_params, row_to_record, unique_keys
from .._schema import DELETE_BATCH, IDS_PAGE, PURGE_BATCH, SQLSchema
from .failover import AsyncSQLFailover

__all__ = ["AsyncSQLStore"]


class AsyncSQLStore(AsyncSQLFailover):
    """Sessions in one table of a SQL database (PostgreSQL, MariaDB/MySQL, SQLite...).

    Build it with ``from_url`` (``AsyncSQLStore.from_url("postgresql+psycopg://...")``)
    or around an engine you already have (``AsyncSQLStore(engine, table=...)``).

    ``failover_timeout`` (seconds, default 5): how long an operation that cannot
    reach the database (refused, dropped connection, server starting up or
    shutting down) keeps retrying, with backoff, before it raises
    ``StoreUnavailable``. A compare-and-set whose outcome is unknown is never sent
    again blindly: the record is read first (``failover.py``).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        table: str = "sessionware_sessions",
        clock: Callable[[], float] = time.time,
        pool_ping_idle: float = DEFAULT_PING_IDLE,
        failover_timeout: float = DEFAULT_FAILOVER_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.failover_timeout = failover_timeout
        self.url: URL = engine.url
        self._family = dialect_family(engine.url)
        self._sql = SQLSchema(table, self._family)
        self._clock = clock
        self._errors = ErrorTranslator(engine.url)
        # Pool events belong to the pool's engine (``sync_engine`` of AsyncEngine).
        pool_engine = cast("Engine", getattr(engine, "sync_engine", engine))
        settings = connection_settings(self._family)
        if settings is not None:
            event.listen(pool_engine, "connect", settings)
        self._fast = AsyncFastPath(
            pool_engine, self._sql.hot_statements(), ping_idle=pool_ping_idle
        )

    @classmethod
    def from_url(cls, url: str | URL, **options: Any) -> AsyncSQLStore:
        """``options``: ``table``, ``clock``, ``pool_size``, ``max_overflow``,
        ``pool_recycle``, ``pool_timeout``, ``pool_ping_idle`` (seconds a pooled
        connection may be unused before it is pinged on checkout, default 5),
        ``pool_pre_ping`` (ping on every checkout; off by default),
        ``failover_timeout`` (seconds of retries through a restart, default 5), all
        also read from the URL query, and any other ``create_engine`` argument."""
        clock = options.pop("clock", time.time)
        parsed = SQLOptions.parse(url, options)
        parsed.url = async_driver_url(parsed.url)  # unasync: remove
        try:
            engine = create_async_engine(parsed.url, **parsed.engine_options)
        except (NoSuchModuleError, ImportError) as exc:
            raise driver_missing(parsed.url, exc) from exc
        return cls(
            engine,
            table=parsed.table,
            clock=clock,
            pool_ping_idle=parsed.ping_idle,
            failover_timeout=parsed.failover_timeout,
        )

    def __repr__(self) -> str:
        shown = redact_url(self.url.render_as_string(hide_password=False))
        return f"{type(self).__name__}({shown!r}, table={self.table!r})"

    @property
    def table(self) -> str:
        return self._sql.table.name

    # -- schema --------------------------------------------------------------------

    async def setup(self) -> None:
        """Create the table and its indexes unless they exist; safe from many
        processes at once."""
        with self._errors:
            for element in self._sql.ddl():
                await self._create(element)

    async def _create(self, element: DDLElement) -> None:
        try:
            async with self.engine.begin() as connection:
                await connection.execute(element)
        except DBAPIError as exc:
            if is_unavailable(exc):
                raise
            # Another process may have created it between our check and our CREATE.
            async with self.engine.connect() as connection:
                if await connection.run_sync(self._sql.exists, element):
                    return
            raise

    async def drop_table(self) -> None:
        """Remove the table and every session in it (tests, uninstall)."""
        with self._errors:
            async with self.engine.begin() as connection:
                await connection.execute(DropTable(self._sql.table, if_exists=True))
                await connection.execute(DropTable(self._sql.revocations, if_exists=True))

    # -- reading -------------------------------------------------------------------

    async def load(self, id: str) -> Record | None:
        values = {"r_id": id, "now": self._clock()}
        with self._errors:
            try:
                row = await self._fast.load(values)
            except SQL_ERRORS as exc:  # the first try stays on the hot path
                row = await self._after_failure(lambda: self._fast.load(values), exc)
        return None if row is None else row_to_record(id, row)

    async def _rows(self, statement: Executable, params: Mapping[str, Any]) -> list[Row[Any]]:
        """The rows of a query, tried again through a restart."""

        async def fetch() -> list[Row[Any]]:
            async with self.engine.connect() as connection:
                return list(await connection.execute(statement, params))

        rows: list[Row[Any]] = await self._through_failover(fetch)
        return rows

    async def _changed(self, *steps: tuple[Executable, Mapping[str, Any]]) -> int:
        """Rows changed by the last of ``steps`` (idempotent statements, run in one
        transaction), tried again through a restart."""

        async def change() -> int:
            async with self.engine.begin() as connection:
                for statement, params in steps:
                    result = await connection.execute(statement, params)
                return int(result.rowcount)

        changed: int = await self._through_failover(change)
        return changed

    async def ids(self) -> AsyncIterator[str]:
        # Keyset pages: bounded memory, and no connection held while the caller
        # works on a page.
        after = ""
        while True:
            with self._errors:
                rows = await self._rows(self._sql.ids_page, {"after": after, "now": self._clock()})
            page = [row[0] for row in rows]
            for key in page:
                yield key
            if len(page) < IDS_PAGE:
                return
            after = page[-1]

    async def count(self) -> int:
        with self._errors:
            return int((await self._rows(self._sql.count, {"now": self._clock()}))[0][0])

    async def ids_for_user(self, user_id: str) -> list[str]:
        params = {"user_id": user_id, "now": self._clock()}
        with self._errors:
            return [row[0] for row in await self._rows(self._sql.ids_for_user, params)]

    async def newest(self, limit: int) -> list[Record]:
        params = {"now": self._clock(), "limit": limit}
        with self._errors:
            rows = await self._rows(self._sql.newest, params)
        return [row_to_record(row[0], row[1:]) for row in rows]

    # -- writing -------------------------------------------------------------------

    async def save(self, record: Record) -> None:
        params = record_params(record)
        with self._errors:
            if self._sql.save is not None:
                try:
                    await self._fast.save(params)
                except SQL_ERRORS as exc:  # an upsert: safe to send again
                    await self._after_failure(lambda: self._fast.save(params), exc)
            else:
                await self._update_else_insert(
                    self._sql.plain_update,
                    self._sql.plain_insert,
                    params,
                    f"saving {params['r_id']}",
                )

    async def _update_else_insert(
        self, update: Executable, insert: Executable, params: dict[str, Any], doing: str
    ) -> None:
        """Without an upsert (other dialects): update the row, insert it if there was none;
        through a failover (both statements are safe to send again)."""
        await self._through_failover(
            lambda: self._update_else_insert_once(update, insert, params, doing)
        )

    async def _update_else_insert_once(
        self, update: Executable, insert: Executable, params: dict[str, Any], doing: str
    ) -> None:
        for _attempt in range(3):
            try:
                async with self.engine.begin() as connection:
                    result = await connection.execute(update, params)
                    if result.rowcount == 0:
                        await connection.execute(insert, params)
                return
            except IntegrityError:
                continue  # a concurrent insert won: update its row on the next try
        raise StoreError(f"{doing} kept racing concurrent inserts")

    async def save_if_version(self, record: Record, expected_version: int) -> bool:
        params = record_params(record)
        params["now"] = self._clock()
        if expected_version != 0:
            params["expected"] = expected_version
        with self._errors:
            try:
                return await self._compare_and_set(params, expected_version)
            except SQL_ERRORS as exc:
                return await self._compare_and_set_after_failure(
                    record, params, expected_version, exc
                )

    async def _compare_and_set(self, params: dict[str, Any], expected_version: int) -> bool:
        """One try of ``save_if_version``; ``params`` has the expected version."""
        if expected_version != 0:
            return await self._fast.update_if_version(params) == 1
        if self._sql.create_if_absent is not None:
            # MySQL: 1 inserted, 2 replaced an expired row, 0 refused.
            return await self._fast.create_if_absent(params) > 0
        return await self._create_without_upsert(params)

    async def _create_without_upsert(self, params: dict[str, Any]) -> bool:
        try:
            async with self.engine.begin() as connection:
                await connection.execute(self._sql.delete_expired_key, params)
                await connection.execute(self._sql.plain_insert, params)
        except IntegrityError:
            return False  # a live record has this key
        return True

    async def touch_many(self, expiries: Mapping[str, float]) -> None:
        if not expiries:
            return
        now = self._clock()
        steps: list[tuple[Executable, Mapping[str, Any]]] = [
            (statement, {}) for statement in self._sql.touch_batches(expiries, now)
        ]
        with self._errors:  # a touch never shortens an expiry: safe to send again
            await self._changed(*steps)

    # -- deleting ------------------------------------------------------------------

    # Deletes are idempotent: tried again through a restart (a second try does not
    # count what the first removed).

    async def delete(self, id: str) -> int:
        with self._errors:
            return await self._changed((self._sql.delete_one, {"r_id": id}))

    async def delete_if_version(self, id: str, expected_version: int) -> bool:
        params = {"r_id": id, "expected": expected_version}
        with self._errors:
            return await self._changed((self._sql.delete_if_version, params)) == 1

    async def delete_many(self, ids: Iterable[str]) -> int:
        keys = unique_keys(ids)
        removed = 0
        with self._errors:
            for batch in batches(keys, DELETE_BATCH):
                removed += await self._changed((self._sql.delete_keys, {"keys": batch}))
        return removed

    async def delete_all(self) -> int:
        with self._errors:
            await self._changed((self._sql.delete_all_markers, {}))
            return await self._changed((self._sql.delete_all, {}))

    # -- revocation markers --------------------------------------------------------

    async def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        params = {
            "user_key": marker_key(user_id),
            "revoked_at": revoked_at,
            "keep_until": keep_until,
        }
        with self._errors:  # idempotent: the latest time wins
            if self._sql.mark_revoked is not None:
                await self._changed((self._sql.mark_revoked, params))
            else:
                await self._update_else_insert(
                    self._sql.raise_marker,
                    self._sql.insert_marker,
                    params,
                    "writing a revocation marker",
                )

    async def user_revoked_at(self, user_id: str) -> float | None:
        values = {"user_key": marker_key(user_id), "now": self._clock()}
        with self._errors:
            row = await self._through_failover(lambda: self._fast.revoked_at(values))
        return None if row is None else float(row[0])

    async def purge_expired(self, now: float | None = None) -> int:
        cutoff = self._clock() if now is None else now
        removed = 0
        with self._errors:
            await self._changed((self._sql.purge_markers, {"now": cutoff}))
            while True:
                # Each batch is short, so requests never wait behind a long delete.
                rows = await self._rows(self._sql.expired_page, {"now": cutoff})
                page = [row[0] for row in rows]
                if page:
                    params = {"keys": page, "now": cutoff}
                    removed += await self._changed((self._sql.purge_keys, params))
                if len(page) < PURGE_BATCH:
                    return removed

    async def close(self) -> None:
        await self.engine.dispose()

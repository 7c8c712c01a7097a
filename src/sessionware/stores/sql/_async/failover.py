"""Operations that meet a database restart or a primary switch: tried again until
``failover_timeout``, and a compare-and-set never sent twice blindly (async
source; ``_sync/failover.py`` is generated)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ....core.record import Record
from ..._failover import DEFAULT_FAILOVER_TIMEOUT, Deadline, settled_by
from .._errors import SQL_ERRORS, is_transient, outcome_unknown
from .._fast_path import AsyncFastPath
from .._rows import row_to_record

__all__ = ["AsyncSQLFailover", "SQLDeadline"]


class SQLDeadline(Deadline):
    """``failover_timeout`` from an operation's first failure, for the errors a
    database restart or failover can cure (see ``_errors.is_transient``)."""

    def transient(self, exc: BaseException) -> bool:
        return is_transient(exc)


class AsyncSQLFailover:
    """The retry loops of ``AsyncSQLStore``, which provides ``_compare_and_set``.

    A retry checks a connection out of the pool again: SQLAlchemy's pool replaces
    a connection the failed try discarded, and ``Liveness`` pings every pooled
    connection older than the disconnection before it is used, so a try after
    the database is back never meets a dead connection twice."""

    failover_timeout: float = DEFAULT_FAILOVER_TIMEOUT
    _fast: AsyncFastPath
    _clock: Callable[[], float]

    async def _compare_and_set(self, params: dict[str, Any], expected_version: int) -> bool:
        raise NotImplementedError

    async def _through_failover(
        self, operation: Callable[[], Any], deadline: SQLDeadline | None = None
    ) -> Any:
        """``operation()`` (safe to run again: a read, or an idempotent write), tried
        again after a disconnection until the deadline."""
        try:
            return await operation()
        except SQL_ERRORS as exc:
            return await self._after_failure(operation, exc, deadline)

    async def _after_failure(
        self,
        operation: Callable[[], Any],
        exc: Exception,
        deadline: SQLDeadline | None = None,
    ) -> Any:
        """``operation()`` tried again after its first try raised ``exc``: with
        backoff, until ``failover_timeout`` after the first failure; then (or at
        once, for an error no failover cures) the last error is raised."""
        deadline = deadline or SQLDeadline(self.failover_timeout)
        while True:
            pause = deadline.pause(exc)
            if pause is None:
                raise exc
            await asyncio.sleep(pause)
            try:
                return await operation()
            except SQL_ERRORS as again:
                exc = again

    async def _compare_and_set_after_failure(
        self,
        record: Record,
        params: dict[str, Any],
        expected_version: int,
        exc: Exception,
    ) -> bool:
        """The compare-and-set of ``record`` tried again after ``exc``.

        If it may have been applied (the connection broke after the statement
        was sent), the record is read first: holding exactly ``record``, the
        write was applied (True); holding the expected version (or still missing,
        for a create), it is sent again; anything else means another write won
        (False: the manager reloads and merges). So a write is neither applied
        twice nor lost."""
        deadline = SQLDeadline(self.failover_timeout)
        while True:
            pause = deadline.pause(exc)
            if pause is None:
                raise exc
            await asyncio.sleep(pause)
            if outcome_unknown(exc):
                stored = await self._through_failover(lambda: self._read(record.id), deadline)
                settled = settled_by(stored, record, expected_version)
                if settled is not None:
                    return settled == 1
            try:
                return await self._compare_and_set(params, expected_version)
            except SQL_ERRORS as again:
                exc = again

    async def _read(self, id: str) -> Record | None:
        row = await self._fast.load({"r_id": id, "now": self._clock()})
        return None if row is None else row_to_record(id, row)

"""``SQLiteStore``: the store interface over ``sqlite3`` (statements in
``_statements``, rows in ``_rows``, connections in ``_connections``, rowid hints in
``_rowids``)."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from msgspec.structs import astuple

from ...core.record import Record
from ...errors import StoreError, StoreUnavailable
from .._embedded.forking import call_in_forked_child
from .._embedded.urls import no_more_settings, url_settings
from ._connections import (
    INHERITED,
    Connection,
    LoopConnection,
    Unlocked,
    open_connection,
    resident_files,
)
from ._rowids import RowidHints
from ._rows import Damaged, compare_and_set, fetch, record_of, record_or_blocking, records_of
from ._statements import DEFAULT_TABLE, PURGE_BATCH, TABLE_NAME, Statements

__all__ = ["PURGE_BATCH", "SQLiteStore"]

WRITE_BATCH = 10_000  # rows per touch_many / delete_many transaction
_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_MODES = frozenset({"ro", "rw", "rwc"})
SLOW_NOWAIT_READ = 0.0001  # seconds: a loop-side read this slow re-checks residency


class SQLiteStore:
    """``sqlite:///path.db``: sessions in one SQLite table (WAL, one connection per
    thread), shared safely by the processes of one machine.

    ``open_store`` builds it from the URL (``timeout``, ``table``, ``synchronous``,
    ``mode=ro``); under asyncio a ``ThreadedStore`` wraps it, and ``load_nowait``
    answers loads on the event loop while the files are in the page cache."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 30.0,
        table: str = DEFAULT_TABLE,
        synchronous: str = "NORMAL",
        mode: str = "rwc",
    ) -> None:
        path = os.fspath(path)
        if not TABLE_NAME.fullmatch(table):
            raise ValueError(f"table must be a plain SQL identifier, got {table!r}")
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {sorted(_SYNCHRONOUS)}")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {sorted(_MODES)}, got {mode!r}")
        self.memory = path in ("", ":memory:")
        self.path = ":memory:" if self.memory else os.path.abspath(path)
        self.timeout = float(timeout)
        self.table = table
        self.synchronous = synchronous.upper()
        self.mode = mode
        self._sql = Statements(table)
        self._rowids = RowidHints()
        self._holders: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._serial: Any = threading.Lock() if self.memory else Unlocked()
        self._local = threading.local()
        self._shared: Connection | None = None
        self._nowait: LoopConnection | None = None
        self._nowait_wanted = False  # set by load_nowait; the next load() opens it
        self._nowait_refused = False  # not a WAL database: never
        if not self.memory:
            call_in_forked_child(self._forget_connections_after_fork)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteStore:
        path, settings = url_settings(url, options)
        if path.startswith("/"):
            path = path[1:]  # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
        store = cls(
            path,
            timeout=float(settings.pop("timeout", 30.0)),
            table=str(settings.pop("table", DEFAULT_TABLE)),
            synchronous=str(settings.pop("synchronous", "NORMAL")),
            mode=str(settings.pop("mode", "rwc")),
        )
        no_more_settings("sqlite", settings)
        return store

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, table={self.table!r})"

    # -- connections ------------------------------------------------------------

    def _cursor(self) -> sqlite3.Cursor:
        try:
            cursor: sqlite3.Cursor = self._local.holder.cursor
            return cursor
        except AttributeError:
            return self._connect().cursor

    def _connect(self) -> Connection:
        if self.memory:
            with self._guard:
                if self._shared is None:
                    self._shared = self._new_connection()
                    self._holders.add(self._shared)
                self._local.holder = self._shared
                return self._shared
        holder = self._new_connection()
        with self._guard:
            self._holders.add(holder)
        self._local.holder = holder
        return holder

    def _new_connection(self, timeout: float | None = None) -> Connection:
        return open_connection(
            self.path,
            mode=self.mode,
            timeout=self.timeout if timeout is None else timeout,
            synchronous=self.synchronous,
        )

    def _forget_connections_after_fork(self) -> None:
        # A connection must never be used in a forked child: start afresh. The
        # inherited ones are kept referenced so that closing them cannot touch the
        # parent's locks or WAL.
        INHERITED.extend(self._holders)
        self._holders = weakref.WeakSet()
        self._local = threading.local()
        self._guard = threading.Lock()
        nowait, self._nowait = self._nowait, None
        if nowait is not None:
            nowait.files.close()  # plain descriptors: closing them touches no lock

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        message = f"sqlite store could not {action} {self.path}: {exc}"
        if "unable to open" in str(exc):
            return StoreUnavailable(f"sqlite:///{self.path}", exc)
        return StoreError(message)

    def _transaction(self, statement: str, rows: Sequence[Sequence[Any]], action: str) -> int:
        """``executemany`` in one write transaction; the rows changed."""
        with self._serial:
            cursor = self._cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
                try:
                    cursor.executemany(statement, rows)
                    changed = cursor.rowcount
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
                cursor.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error(action, exc) from exc
        return max(changed, 0)

    # -- the store interface ----------------------------------------------------

    def setup(self) -> None:
        """Creates the table and indexes and switches the file to WAL; several
        processes may run this at once (each step is retried while locked)."""
        deadline = time.monotonic() + self.timeout
        wal = () if self.memory or self.mode == "ro" else ("PRAGMA journal_mode = WAL",)
        for statement in (*wal, *self._sql.schema):
            self._run_retrying(statement, deadline)

    def _run_retrying(self, statement: str, deadline: float) -> None:
        while True:
            try:
                with self._serial:
                    self._cursor().execute(statement).fetchall()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise self._error("set up", exc) from exc
                time.sleep(0.01)
            except sqlite3.Error as exc:
                raise self._error("set up", exc) from exc

    def load(self, id: str) -> Record | None:
        if self._nowait_wanted and self._nowait is None:
            self._open_nowait()
        with self._serial:
            try:
                row = fetch(self._cursor(), self._sql, self._rowids, id)
            except sqlite3.Error as exc:
                raise self._error("read", exc) from exc
        try:
            return record_of(id, row)
        except Damaged:
            self.delete(id)  # a damaged row: a missing session, and removed
            return None

    def load_nowait(self, id: str) -> Record | None:
        """``load``, from an event loop: raises BlockingIOError instead of waiting
        (``ThreadedStore`` then runs ``load`` in a thread). It reads through
        ``_connections.LoopConnection``, whose docstring says why that never waits
        on a lock, never writes, and reads the disk only for a page evicted in the
        last quarter second; writes stay in threads."""
        if self.memory:
            return self._load_memory_nowait(id)
        nowait = self._nowait
        if nowait is None:
            self._nowait_wanted = not self._nowait_refused
            raise BlockingIOError(errno.EAGAIN, "no connection for the event loop")
        if not nowait.lock.acquire(blocking=False):
            raise BlockingIOError(errno.EAGAIN, "the event-loop connection is in use")
        try:
            if self._nowait is not nowait or not nowait.files.resident():
                raise BlockingIOError(errno.EAGAIN, "the database is not all in memory")
            started = time.monotonic()
            row = self._fetch_nowait(nowait.holder.cursor, id)
            if time.monotonic() - started > SLOW_NOWAIT_READ:
                nowait.files.doubt()
        finally:
            nowait.lock.release()
        return record_or_blocking(id, row)

    def _load_memory_nowait(self, id: str) -> Record | None:
        # A private in-memory database: nothing to wait for but its lock.
        shared = self._shared
        if shared is None or not self._serial.acquire(blocking=False):
            raise BlockingIOError(errno.EAGAIN, "the in-memory database is busy")
        try:
            row = self._fetch_nowait(shared.cursor, id)
        finally:
            self._serial.release()
        return record_or_blocking(id, row)

    def _fetch_nowait(self, cursor: sqlite3.Cursor, id: str) -> Any:
        try:
            return fetch(cursor, self._sql, self._rowids, id)
        except sqlite3.Error as exc:  # busy, locked, or an error load() will report
            raise BlockingIOError(errno.EAGAIN, str(exc)) from exc

    def _open_nowait(self) -> None:
        """Open ``load_nowait``'s connection (in a worker thread: opening reads the
        files, and may have to wait for them)."""
        with self._guard:
            if self._nowait is not None or not self._nowait_wanted:
                return
            self._nowait_wanted = False
        try:
            holder = self._new_connection(timeout=0.0)
        except StoreError:
            return  # retried later; meanwhile loads go to threads, which report errors
        try:
            files = resident_files(holder.cursor, self.path, self._sql.probe)
        except (sqlite3.Error, OSError):
            files = None
        else:
            self._nowait_refused = files is None  # not a WAL database: never
        if files is None:
            holder.connection.close()
            return
        with self._guard:
            self._holders.add(holder)
            self._nowait = LoopConnection(holder, files)

    def save(self, record: Record) -> None:
        with self._serial:
            try:
                # The row is the record's fields in order.
                self._cursor().execute(self._sql.save, astuple(record))
            except sqlite3.Error as exc:
                raise self._error("write", exc) from exc

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        now = time.time()
        with self._serial:
            cursor = self._cursor()
            try:
                return compare_and_set(
                    cursor, self._sql, self._rowids, record, expected_version, now
                )
            except sqlite3.Error as exc:
                raise self._error("write", exc) from exc

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        now = time.time()
        rows = [(expires_at, id, now, expires_at) for id, expires_at in expiries.items()]
        for start in range(0, len(rows), WRITE_BATCH):
            self._transaction(self._sql.touch, rows[start : start + WRITE_BATCH], "touch")

    def delete(self, id: str) -> int:
        self._rowids.forget(id)
        return self._execute(self._sql.delete, (id,), "delete from")

    def delete_many(self, ids: Iterable[str]) -> int:
        rows = [(id,) for id in ids]
        removed = 0
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            removed += self._transaction(self._sql.delete, batch, "delete from")
        return removed

    def delete_all(self) -> int:
        with self._serial:
            cursor = self._cursor()
            try:
                cursor.execute(self._sql.delete_all)
                removed: int = cursor.rowcount
                cursor.execute(self._sql.delete_all_revocations)
            except sqlite3.Error as exc:
                raise self._error("delete from", exc) from exc
        self._rowids.clear()
        return removed

    def _execute(self, statement: str, parameters: tuple[Any, ...], action: str) -> int:
        """One statement on its own; the number of rows it changed."""
        with self._serial:
            cursor = self._cursor()
            try:
                cursor.execute(statement, parameters)
            except sqlite3.Error as exc:
                raise self._error(action, exc) from exc
            changed: int = cursor.rowcount
        return changed

    def _query(self, statement: str, parameters: tuple[Any, ...]) -> list[Any]:
        with self._serial:
            try:
                return self._cursor().execute(statement, parameters).fetchall()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from exc

    def ids(self) -> Iterator[str]:
        return iter([row[0] for row in self._query(self._sql.ids, (time.time(),))])

    def count(self) -> int:
        count: int = self._query(self._sql.count, (time.time(),))[0][0]
        return count

    def ids_for_user(self, user_id: str) -> list[str]:
        return [row[0] for row in self._query(self._sql.ids_for_user, (user_id, time.time()))]

    def newest(self, limit: int) -> list[Record]:
        return records_of(self._query(self._sql.newest, (time.time(), limit)))

    def delete_if_version(self, id: str, expected_version: int) -> bool:
        self._rowids.forget(id)
        parameters = (id, expected_version)
        return self._execute(self._sql.delete_if_version, parameters, "delete from") == 1

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        self._transaction(
            self._sql.mark_revoked, [(user_id, revoked_at, keep_until)], "write a marker to"
        )

    def user_revoked_at(self, user_id: str) -> float | None:
        rows = self._query(self._sql.revoked_at, (user_id, time.time()))
        return float(rows[0][0]) if rows else None

    def purge_expired(self, now: float | None = None) -> int:
        """Deletes in transactions of ``PURGE_BATCH`` rows, so other writers wait
        for one small batch at most; also removes rows whose expiry is not a number."""
        cutoff = time.time() if now is None else now
        self._execute(self._sql.purge_revocations, (cutoff,), "purge")
        removed = 0
        while True:
            batch = self._execute(self._sql.purge, (cutoff,), "purge")
            removed += batch
            if batch < PURGE_BATCH:
                return removed

    def close(self) -> None:
        with self._guard:
            holders = list(self._holders)
            self._holders = weakref.WeakSet()
            self._shared = None
            nowait, self._nowait = self._nowait, None
        if nowait is not None:
            with nowait.lock:  # held for one read at most, by the event loop
                nowait.files.close()
        for holder in holders:
            holder.connection.close()
        self._local = threading.local()

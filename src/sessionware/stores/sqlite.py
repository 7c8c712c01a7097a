"""``sqlite:///sessions.db``: sessions in SQLite through the stdlib ``sqlite3``.

Built for the hot path and for several worker processes on one file: WAL mode
(readers never wait for the writer), a busy timeout instead of "database is
locked" errors, one connection and one reused cursor per thread, statements
prepared once (the connection's statement cache keys on the constant SQL text),
one statement per operation and compare-and-set in a single statement; a
record read recently is found again by its rowid (``_RowidHints``), so a large
table costs little more than a small one. Under ``ThreadedStore`` a load is
answered on the event loop when that cannot wait (``load_nowait``).
``sqlite://:memory:`` is one connection behind a lock (every connection to
``:memory:`` would be a different database).

URL forms follow SQLAlchemy: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``,
``sqlite://:memory:``. Options (query string or keyword): ``timeout`` (seconds to
wait for the write lock, default 30), ``table`` (default ``sessionware_sessions``),
``synchronous`` (default ``NORMAL``: safe against process crashes in WAL mode; use
``FULL`` to survive power loss too), ``mode`` (``ro`` opens read-only).
"""

# The only text put into SQL is the table name, checked against _TABLE_NAME first.
# ruff: noqa: S608

from __future__ import annotations

import errno
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..core.record import Record
from ..errors import StoreError, StoreUnavailable
from ._local import call_in_forked_child, split_url
from ._nowait import ResidentFiles

__all__ = ["SQLiteStore"]

DEFAULT_TABLE = "sessionware_sessions"
PURGE_BATCH = 1_000  # rows per purge transaction: the write lock is never held long
WRITE_BATCH = 10_000  # rows per touch_many / delete_many transaction
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_MODES = frozenset({"ro", "rw", "rwc"})
_COLUMNS = "data, created_at, expires_at, version, user_id"
SLOW_NOWAIT_READ = 0.0001  # seconds: a loop-side read this slow re-checks residency


class _Statements:
    """Every SQL text the store runs, built once per table name."""

    def __init__(self, table: str) -> None:
        t = table
        live = "expires_at > ? AND typeof(expires_at) = 'real'"
        self.schema = (
            f"CREATE TABLE IF NOT EXISTS {t} ("
            " id TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL,"
            " created_at REAL NOT NULL, expires_at REAL NOT NULL,"
            " version INTEGER NOT NULL, user_id TEXT)",
            f"CREATE INDEX IF NOT EXISTS {t}_expires_at ON {t} (expires_at)",
            f"CREATE INDEX IF NOT EXISTS {t}_user_id ON {t} (user_id) WHERE user_id IS NOT NULL",
            # Revocation markers: a table of their own, so no session query sees them.
            f"CREATE TABLE IF NOT EXISTS {t}_revocations ("
            " user_id TEXT PRIMARY KEY NOT NULL,"
            " revoked_at REAL NOT NULL, keep_until REAL NOT NULL)",
        )
        # Reads and conditional writes, by id or by a rowid hint (see _RowidHints).
        self.by_id = _Lookups(t, "id = ?")
        self.by_rowid = _Lookups(t, "rowid = ? AND id = ?")
        upsert = (
            f"INSERT INTO {t} (id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET data = excluded.data,"
            " created_at = excluded.created_at, expires_at = excluded.expires_at,"
            " version = excluded.version, user_id = excluded.user_id"
        )
        self.save = upsert
        self.create_or_replace_expired = f"{upsert} WHERE {t}.expires_at <= ?"
        # Only rows whose expiry moves later: never shortens, and skips useless index writes.
        self.touch = (
            f"UPDATE {t} SET expires_at = ? WHERE id = ? AND expires_at > ? AND expires_at < ?"
        )
        self.delete = f"DELETE FROM {t} WHERE id = ?"
        self.delete_all = f"DELETE FROM {t}"
        # One statement: atomic, and neither time ever moves back.
        self.mark_revoked = (
            f"INSERT INTO {t}_revocations (user_id, revoked_at, keep_until) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            f" revoked_at = max({t}_revocations.revoked_at, excluded.revoked_at),"
            f" keep_until = max({t}_revocations.keep_until, excluded.keep_until)"
        )
        self.revoked_at = (
            f"SELECT revoked_at FROM {t}_revocations WHERE user_id = ? AND keep_until > ?"
        )
        self.delete_all_revocations = f"DELETE FROM {t}_revocations"
        self.purge_revocations = f"DELETE FROM {t}_revocations WHERE keep_until <= ?"
        self.ids = f"SELECT id FROM {t} WHERE {live}"
        self.count = f"SELECT count(*) FROM {t} WHERE {live}"
        self.ids_for_user = f"SELECT id FROM {t} WHERE user_id = ? AND {live}"
        # Text or blob expiries (damaged rows) sort above every number: ">= ''".
        self.purge = (
            f"DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {t}"
            f" WHERE expires_at <= ? OR expires_at >= '' LIMIT {PURGE_BATCH})"
        )


class _Lookups:
    """The statements that find one record: the load and the two conditional
    updates, with ``key`` ("id = ?" or "rowid = ? AND id = ?") selecting it."""

    def __init__(self, table: str, key: str) -> None:
        t = table
        self.load = f"SELECT rowid, {_COLUMNS} FROM {t} WHERE {key} AND expires_at > ?"
        # The common save: only data and version change. Leaving the indexed
        # columns out of SET keeps SQLite from rewriting their index entries.
        self.update_data_only = (
            f"UPDATE {t} SET data = ?, version = ?"
            f" WHERE {key} AND version = ? AND expires_at > ? AND expires_at = ?"
            " AND created_at = ? AND user_id IS ?"
        )
        self.update_version = (
            f"UPDATE {t} SET data = ?, created_at = ?, expires_at = ?, version = ?, user_id = ?"
            f" WHERE {key} AND version = ? AND expires_at > ?"
        )


class _RowidHints:
    """Where recently read records sit in the table (their rowids), so that the
    next read or write of one goes straight down the table's b-tree instead of
    first down the id index too: a third less b-tree work per load and save,
    and one page fewer to find in a large table. Only a hint: a statement that
    uses one also checks the id, and an answer of "no such row" is asked again
    by id. Shared by threads (single dict operations are atomic); forgotten all
    at once when full."""

    __slots__ = ("_rowids",)

    LIMIT = 10_000  # about 1.5 MB

    def __init__(self) -> None:
        self._rowids: dict[str, int] = {}

    def get(self, id: str) -> int | None:
        return self._rowids.get(id)

    def note(self, id: str, rowid: int) -> None:
        rowids = self._rowids
        if len(rowids) >= self.LIMIT:
            rowids.clear()
        rowids[id] = rowid

    def forget(self, id: str) -> None:
        self._rowids.pop(id, None)

    def clear(self) -> None:
        self._rowids.clear()


class _Connection:
    """A connection and its one reused cursor (a weak-referenceable holder, so
    ``close()`` can reach every thread's connection without keeping dead
    threads' connections alive)."""

    __slots__ = ("__weakref__", "connection", "cursor")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor()


class _Nowait:
    """The connection ``load_nowait`` reads through (see there), the lock that keeps
    it to one thread at a time (only ever tried, never waited for), and the check
    that the database's files are in memory."""

    __slots__ = ("files", "holder", "lock")

    def __init__(self, holder: _Connection, files: ResidentFiles) -> None:
        self.holder = holder
        self.files = files
        self.lock = threading.Lock()


class _Damaged(Exception):
    """A row whose columns have the wrong types."""


class _Unlocked:
    """Stands in for a lock where each thread has its own connection."""

    __slots__ = ()

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        pass


class SQLiteStore:
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
        if not _TABLE_NAME.fullmatch(table):
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
        self._sql = _Statements(table)
        self._rowids = _RowidHints()
        self._holders: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._serial: Any = threading.Lock() if self.memory else _Unlocked()
        self._local = threading.local()
        self._shared: _Connection | None = None
        self._nowait: _Nowait | None = None
        self._nowait_wanted = False  # set by load_nowait; the next load() opens it
        self._nowait_refused = False  # not a WAL database: never
        if not self.memory:
            call_in_forked_child(self._forget_connections_after_fork)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SQLiteStore:
        path, query = split_url(url)
        if path.startswith("/"):
            path = path[1:]  # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
        settings: dict[str, Any] = {**query, **options}
        store = cls(
            path,
            timeout=float(settings.pop("timeout", 30.0)),
            table=str(settings.pop("table", DEFAULT_TABLE)),
            synchronous=str(settings.pop("synchronous", "NORMAL")),
            mode=str(settings.pop("mode", "rwc")),
        )
        if settings:
            raise TypeError(f"unknown sqlite store options: {sorted(settings)}")
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

    def _connect(self) -> _Connection:
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

    def _new_connection(self, timeout: float | None = None) -> _Connection:
        target = "file::memory:" if self.memory else f"file:{quote(self.path)}?mode={self.mode}"
        try:
            connection = sqlite3.connect(
                target,
                timeout=self.timeout if timeout is None else timeout,
                isolation_level=None,  # autocommit: one statement, one transaction
                check_same_thread=False,  # close() may run on another thread
                cached_statements=64,
                uri=True,
            )
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"sqlite:///{self.path}", exc) from exc
        return _Connection(connection)

    def _forget_connections_after_fork(self) -> None:
        # A connection must never be used in a forked child: start afresh. The
        # inherited ones are kept referenced so that closing them cannot touch the
        # parent's locks or WAL.
        _INHERITED.extend(self._holders)
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
                row = self._fetch(self._cursor(), id)
            except sqlite3.Error as exc:
                raise self._error("read", exc) from exc
        try:
            return _record(id, row)
        except _Damaged:
            self.delete(id)  # a damaged row: a missing session, and removed
            return None

    def load_nowait(self, id: str) -> Record | None:
        """``load``, from an event loop: raises BlockingIOError instead of waiting
        (``ThreadedStore`` then runs ``load`` in a thread).

        Never waits on a lock: in WAL mode a reader takes no lock a writer holds,
        the connection has no busy timeout (anything that would wait, such as a
        checkpoint restarting the WAL, fails at once and goes to the thread) and
        its lock here is only tried. Never writes: the connection is query_only
        (so it never checkpoints either), and a damaged row is left to ``load``.
        Reads the disk only for a page evicted in the last quarter second: the
        database, its WAL and its shared-memory index must be wholly in the page
        cache, checked (cachestat, Linux 6.5+; elsewhere loads go to the thread)
        at least that often, and a read slow enough to have met the disk makes
        the next one check again. SQLite reads through its own file I/O, so
        nothing finer is possible; one such read costs about 130 us on this
        machine's disk, less than the thread hop every load would pay instead.
        The connection is opened in a worker thread, by the first ``load`` after
        a ``load_nowait`` found none, so the WAL is opened (and any crash
        recovery runs) there. A rollback-journal database never gets one: its
        readers and writers share locks.

        Writes stay in threads: a commit can wait for the write lock, the first
        commit after each checkpoint fsyncs the WAL header (0.2-0.4 ms here,
        seen with strace on the committing thread), and any write can wait for
        the file system's journal.
        """
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
        return _record_nowait(id, row)

    def _load_memory_nowait(self, id: str) -> Record | None:
        # A private in-memory database: nothing to wait for but its lock.
        shared = self._shared
        if shared is None or not self._serial.acquire(blocking=False):
            raise BlockingIOError(errno.EAGAIN, "the in-memory database is busy")
        try:
            row = self._fetch_nowait(shared.cursor, id)
        finally:
            self._serial.release()
        return _record_nowait(id, row)

    def _fetch(self, cursor: sqlite3.Cursor, id: str) -> Any:
        """The load row of ``id`` (rowid first), through its rowid hint if any."""
        now = time.time()
        rowid = self._rowids.get(id)
        if rowid is not None:
            row = cursor.execute(self._sql.by_rowid.load, (rowid, id, now)).fetchone()
            if row is not None:
                return row
        row = cursor.execute(self._sql.by_id.load, (id, now)).fetchone()
        if row is not None:
            self._rowids.note(id, row[0])
        return row

    def _fetch_nowait(self, cursor: sqlite3.Cursor, id: str) -> Any:
        try:
            return self._fetch(cursor, id)
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
            files = self._nowait_files(holder.cursor)
        except (sqlite3.Error, OSError):
            files = None
        if files is None:
            holder.connection.close()
            return
        with self._guard:
            self._holders.add(holder)
            self._nowait = _Nowait(holder, files)

    def _nowait_files(self, cursor: sqlite3.Cursor) -> ResidentFiles | None:
        cursor.execute("PRAGMA query_only = ON")
        # A first read, here in the thread: it opens the WAL and runs any recovery.
        cursor.execute(f"SELECT count(*) FROM {self.table} WHERE 0").fetchall()
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._nowait_refused = True
            return None
        return ResidentFiles([self.path, self.path + "-wal", self.path + "-shm"])

    def save(self, record: Record) -> None:
        with self._serial:
            try:
                self._cursor().execute(
                    self._sql.save,
                    (
                        record.id,
                        record.data,
                        record.created_at,
                        record.expires_at,
                        record.version,
                        record.user_id,
                    ),
                )
            except sqlite3.Error as exc:
                raise self._error("write", exc) from exc

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        now = time.time()
        with self._serial:
            cursor = self._cursor()
            try:
                return self._compare_and_set(cursor, record, expected_version, now)
            except sqlite3.Error as exc:
                raise self._error("write", exc) from exc

    def _compare_and_set(
        self, cursor: sqlite3.Cursor, record: Record, expected_version: int, now: float
    ) -> bool:
        if expected_version == 0:
            self._rowids.forget(record.id)
            cursor.execute(
                self._sql.create_or_replace_expired,
                (
                    record.id,
                    record.data,
                    record.created_at,
                    record.expires_at,
                    record.version,
                    record.user_id,
                    now,
                ),
            )
            return cursor.rowcount == 1
        rowid = self._rowids.get(record.id)
        if rowid is not None:
            key = (rowid, record.id)
            if _update(cursor, self._sql.by_rowid, key, record, expected_version, now):
                return True
            self._rowids.forget(record.id)  # a stale version, or the row moved: by id
        return _update(cursor, self._sql.by_id, (record.id,), record, expected_version, now)

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        now = time.time()
        rows = [(expires_at, id, now, expires_at) for id, expires_at in expiries.items()]
        for start in range(0, len(rows), WRITE_BATCH):
            self._transaction(self._sql.touch, rows[start : start + WRITE_BATCH], "touch")

    def delete(self, id: str) -> int:
        self._rowids.forget(id)
        with self._serial:
            cursor = self._cursor()
            try:
                cursor.execute(self._sql.delete, (id,))
            except sqlite3.Error as exc:
                raise self._error("delete from", exc) from exc
            removed: int = cursor.rowcount
        return removed

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
        with self._serial:
            try:
                self._cursor().execute(self._sql.purge_revocations, (cutoff,))
            except sqlite3.Error as exc:
                raise self._error("purge", exc) from exc
        removed = 0
        while True:
            with self._serial:
                cursor = self._cursor()
                try:
                    cursor.execute(self._sql.purge, (cutoff,))
                except sqlite3.Error as exc:
                    raise self._error("purge", exc) from exc
                batch = cursor.rowcount
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


_INHERITED: list[_Connection] = []


def _record(id: str, row: Any) -> Record | None:
    """The record in a ``load`` row; raises _Damaged when a column has the wrong type."""
    if row is None:
        return None
    _, data, created_at, expires_at, version, user_id = row
    if (
        type(data) is not bytes
        or type(created_at) is not float
        or type(expires_at) is not float
        or type(version) is not int
        or (user_id is not None and type(user_id) is not str)
    ):
        raise _Damaged
    return Record(id, data, created_at, expires_at, version, user_id)


def _record_nowait(id: str, row: Any) -> Record | None:
    try:
        return _record(id, row)
    except _Damaged:
        raise BlockingIOError(errno.EAGAIN, "a damaged row: load() removes it") from None


def _update(
    cursor: sqlite3.Cursor,
    lookups: _Lookups,
    key: tuple[Any, ...],
    record: Record,
    expected_version: int,
    now: float,
) -> bool:
    """Compare-and-set of an existing record: the data-only update, else (the
    expiry, creation time or user moved too, or the version is stale) the full one."""
    cursor.execute(
        lookups.update_data_only,
        (
            record.data,
            record.version,
            *key,
            expected_version,
            now,
            record.expires_at,
            record.created_at,
            record.user_id,
        ),
    )
    if cursor.rowcount == 1:
        return True
    cursor.execute(
        lookups.update_version,
        (
            record.data,
            record.created_at,
            record.expires_at,
            record.version,
            record.user_id,
            *key,
            expected_version,
            now,
        ),
    )
    return cursor.rowcount == 1

"""``sqlite:///sessions.db``: sessions in SQLite through the stdlib ``sqlite3``.

Built for the hot path and for several worker processes on one file: WAL mode
(readers never wait for the writer), a busy timeout instead of "database is
locked" errors, one connection and one reused cursor per thread, statements
prepared once (the connection's statement cache keys on the constant SQL text),
one statement per operation and compare-and-set in a single statement.
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
from ._local import split_url

__all__ = ["SQLiteStore"]

DEFAULT_TABLE = "sessionware_sessions"
PURGE_BATCH = 1_000  # rows per purge transaction: the write lock is never held long
WRITE_BATCH = 10_000  # rows per touch_many / delete_many transaction
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SYNCHRONOUS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})
_MODES = frozenset({"ro", "rw", "rwc"})
_COLUMNS = "data, created_at, expires_at, version, user_id"


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
        )
        self.load = f"SELECT {_COLUMNS} FROM {t} WHERE id = ? AND expires_at > ?"
        upsert = (
            f"INSERT INTO {t} (id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET data = excluded.data,"
            " created_at = excluded.created_at, expires_at = excluded.expires_at,"
            " version = excluded.version, user_id = excluded.user_id"
        )
        self.save = upsert
        self.create_or_replace_expired = f"{upsert} WHERE {t}.expires_at <= ?"
        self.update_version = (
            f"UPDATE {t} SET data = ?, created_at = ?, expires_at = ?, version = ?, user_id = ?"
            " WHERE id = ? AND version = ? AND expires_at > ?"
        )
        # The common save: only data and version change. Leaving the indexed
        # columns out of SET keeps SQLite from rewriting their index entries.
        self.update_data_only = (
            f"UPDATE {t} SET data = ?, version = ?"
            " WHERE id = ? AND version = ? AND expires_at > ? AND expires_at = ?"
            " AND created_at = ? AND user_id IS ?"
        )
        # Only rows whose expiry moves later: never shortens, and skips useless index writes.
        self.touch = (
            f"UPDATE {t} SET expires_at = ? WHERE id = ? AND expires_at > ? AND expires_at < ?"
        )
        self.delete = f"DELETE FROM {t} WHERE id = ?"
        self.delete_all = f"DELETE FROM {t}"
        self.ids = f"SELECT id FROM {t} WHERE {live}"
        self.count = f"SELECT count(*) FROM {t} WHERE {live}"
        self.ids_for_user = f"SELECT id FROM {t} WHERE user_id = ? AND {live}"
        # Text or blob expiries (damaged rows) sort above every number: ">= ''".
        self.purge = (
            f"DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {t}"
            f" WHERE expires_at <= ? OR expires_at >= '' LIMIT {PURGE_BATCH})"
        )


class _Connection:
    """A connection and its one reused cursor (a weak-referenceable holder, so
    ``close()`` can reach every thread's connection without keeping dead
    threads' connections alive)."""

    __slots__ = ("__weakref__", "connection", "cursor")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor()


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
        self._holders: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._serial: Any = threading.Lock() if self.memory else _Unlocked()
        self._local = threading.local()
        self._shared: _Connection | None = None
        if not self.memory:
            forget = weakref.WeakMethod(self._forget_connections_after_fork)
            os.register_at_fork(after_in_child=lambda: _call_if_alive(forget))

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

    def _new_connection(self) -> _Connection:
        target = "file::memory:" if self.memory else f"file:{quote(self.path)}?mode={self.mode}"
        try:
            connection = sqlite3.connect(
                target,
                timeout=self.timeout,
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
        with self._serial:
            try:
                row = self._cursor().execute(self._sql.load, (id, time.time())).fetchone()
            except sqlite3.Error as exc:
                raise self._error("read", exc) from exc
        if row is None:
            return None
        data, created_at, expires_at, version, user_id = row
        if (
            type(data) is not bytes
            or type(created_at) is not float
            or type(expires_at) is not float
            or type(version) is not int
            or (user_id is not None and type(user_id) is not str)
        ):
            self.delete(id)  # a damaged row: a missing session, and removed
            return None
        return Record(id, data, created_at, expires_at, version, user_id)

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
                if expected_version == 0:
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
                cursor.execute(
                    self._sql.update_data_only,
                    (
                        record.data,
                        record.version,
                        record.id,
                        expected_version,
                        now,
                        record.expires_at,
                        record.created_at,
                        record.user_id,
                    ),
                )
                if cursor.rowcount == 1:
                    return True
                # The expiry, creation time or user moved too, or the version is stale.
                cursor.execute(
                    self._sql.update_version,
                    (
                        record.data,
                        record.created_at,
                        record.expires_at,
                        record.version,
                        record.user_id,
                        record.id,
                        expected_version,
                        now,
                    ),
                )
                return cursor.rowcount == 1
            except sqlite3.Error as exc:
                raise self._error("write", exc) from exc

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        now = time.time()
        rows = [(expires_at, id, now, expires_at) for id, expires_at in expiries.items()]
        for start in range(0, len(rows), WRITE_BATCH):
            self._transaction(self._sql.touch, rows[start : start + WRITE_BATCH], "touch")

    def delete(self, id: str) -> int:
        with self._serial:
            cursor = self._cursor()
            try:
                cursor.execute(self._sql.delete, (id,))
            except sqlite3.Error as exc:
                raise self._error("delete from", exc) from exc
            return cursor.rowcount

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
            except sqlite3.Error as exc:
                raise self._error("delete from", exc) from exc
            return cursor.rowcount

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

    def purge_expired(self, now: float | None = None) -> int:
        """Deletes in transactions of ``PURGE_BATCH`` rows, so other writers wait
        for one small batch at most; also removes rows whose expiry is not a number."""
        cutoff = time.time() if now is None else now
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
        for holder in holders:
            holder.connection.close()
        self._local = threading.local()


_INHERITED: list[_Connection] = []


def _call_if_alive(method: weakref.WeakMethod[Any]) -> None:
    bound = method()
    if bound is not None:
        bound()

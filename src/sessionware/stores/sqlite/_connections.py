"""The SQLite store's connections: how one is opened, the holder that pairs it
with its reused cursor, and the one ``load_nowait`` reads through on the event
loop."""

from __future__ import annotations

import sqlite3
import threading
from urllib.parse import quote

from ...errors import StoreUnavailable
from .._embedded.nowait import ResidentFiles

__all__ = [
    "INHERITED",
    "Connection",
    "LoopConnection",
    "Unlocked",
    "open_connection",
    "resident_files",
]


class Connection:
    """A connection and its one reused cursor (a weak-referenceable holder, so
    ``close()`` can reach every thread's connection without keeping dead
    threads' connections alive)."""

    __slots__ = ("__weakref__", "connection", "cursor")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.cursor = connection.cursor()


#: Connections inherited over a fork: kept referenced, never used or closed, so
#: that closing them cannot touch the parent's locks or WAL.
INHERITED: list[Connection] = []


def open_connection(path: str, *, mode: str, timeout: float, synchronous: str) -> Connection:
    """A new autocommit connection to ``path`` (``:memory:`` for a private one)."""
    memory = path == ":memory:"
    target = "file::memory:" if memory else f"file:{quote(path)}?mode={mode}"
    try:
        connection = sqlite3.connect(
            target,
            timeout=timeout,
            isolation_level=None,  # autocommit: one statement, one transaction
            check_same_thread=False,  # close() may run on another thread
            cached_statements=64,
            uri=True,
        )
        connection.execute(f"PRAGMA synchronous = {synchronous}")
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"sqlite:///{path}", exc) from exc
    return Connection(connection)


class LoopConnection:
    """The connection ``SQLiteStore.load_nowait`` reads through, the lock that keeps
    it to one thread at a time (only ever tried, never waited for), and the check
    that the database's files are in memory.

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

    __slots__ = ("files", "holder", "lock")

    def __init__(self, holder: Connection, files: ResidentFiles) -> None:
        self.holder = holder
        self.files = files
        self.lock = threading.Lock()


def resident_files(cursor: sqlite3.Cursor, path: str, probe: str) -> ResidentFiles | None:
    """Make ``cursor``'s connection fit for the event loop (query-only, its WAL
    opened by ``probe``, a first read run here in the thread) and return the
    check that the database's files are in memory; None for a database not in
    WAL mode, whose readers and writers share locks."""
    cursor.execute("PRAGMA query_only = ON")
    cursor.execute(probe).fetchall()
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        return None
    return ResidentFiles([path, path + "-wal", path + "-shm"])


class Unlocked:
    """Stands in for a lock where each thread has its own connection."""

    __slots__ = ()

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc_info: object) -> None:
        pass

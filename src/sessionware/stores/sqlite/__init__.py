"""``sqlite:///sessions.db``: sessions in SQLite through the stdlib ``sqlite3``.

Built for the hot path and for several worker processes on one file: WAL mode
(readers never wait for the writer), a busy timeout instead of "database is
locked" errors, one connection and one reused cursor per thread, statements
prepared once (the connection's statement cache keys on the constant SQL text),
one statement per operation and compare-and-set in a single statement; a
record read recently is found again by its rowid (``RowidHints``), so a large
table costs little more than a small one. Under ``ThreadedStore`` a load is
answered on the event loop when that cannot wait (``load_nowait``).
``sqlite://:memory:`` is one connection behind a lock (every connection to
``:memory:`` would be a different database).

URL forms follow SQLAlchemy: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``,
``sqlite://:memory:``. Options (query string or keyword): ``timeout`` (seconds to
wait for the write lock, default 30), ``table`` (default ``sessionware_sessions``),
``synchronous`` (default ``NORMAL``: safe against process crashes in WAL mode; use
``FULL`` to survive power loss too), ``mode`` (``ro`` opens read-only).

Modules: ``_store`` (``SQLiteStore``: the store interface), ``_statements`` (the
schema and every SQL text), ``_rows`` (a row's record and the compare-and-set
update), ``_connections`` (opening them, the event loop's one), ``_rowids``
(where recent records sit).
"""

from ._statements import DEFAULT_TABLE, PURGE_BATCH
from ._store import SQLiteStore

__all__ = ["DEFAULT_TABLE", "PURGE_BATCH", "SQLiteStore"]

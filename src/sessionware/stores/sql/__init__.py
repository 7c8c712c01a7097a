"""SQL stores through SQLAlchemy 2 Core: ``postgresql+psycopg://``, ``mysql+pymysql://``,
``mariadb+pymysql://``, ``sqlite+pysqlite:///file.db`` and any other SQLAlchemy URL.

``SQLStore`` is sync; ``AsyncSQLStore`` takes the same URL and swaps in the async
driver of the same database (pymysql -> aiomysql, pysqlite -> aiosqlite; psycopg is
both).

``AsyncSQLStore`` is imported on first use: it needs SQLAlchemy's asyncio extension,
which needs ``greenlet``, and the sync store must work where only the ``[sql]``
extra and a sync driver are installed.

Everything SQL is in this package. Hand-written and flavour-neutral:

* ``_engine``: store URL and options -> SQLAlchemy URL, engine options, async driver,
  per-connection settings;
* ``_schema``: the tables and every statement, built once per dialect;
* ``_rows``: records as statement parameters, rows as records, marker keys;
* ``_errors``: database errors as store errors, a missing driver as its extra;
* ``_fast_path``: the hot path of each flavour (``FastPath``, ``AsyncFastPath``) on
  ``_prepared`` statements, with ``_liveness`` pings and the ``_greenlet_bridge``.

``_async/store.py`` is the source of ``_sync/store.py``, which
``scripts/unasync.py`` generates; ``_async/failover.py`` (its retries through a
database restart, until ``failover_timeout``) likewise of ``_sync/failover.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._sync.store import SQLStore

if TYPE_CHECKING:
    from ._async.store import AsyncSQLStore

__all__ = ["AsyncSQLStore", "SQLStore"]


def __getattr__(name: str) -> Any:
    if name != "AsyncSQLStore":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ._async.store import AsyncSQLStore

    globals()[name] = AsyncSQLStore
    return AsyncSQLStore

"""SQL stores through SQLAlchemy 2 Core: ``postgresql+psycopg://``, ``mysql+pymysql://``,
``mariadb+pymysql://``, ``sqlite+pysqlite:///file.db`` and any other SQLAlchemy URL.

``SQLStore`` is sync; ``AsyncSQLStore`` takes the same URL and swaps in the async
driver of the same database (pymysql -> aiomysql, pysqlite -> aiosqlite; psycopg is
both).

``AsyncSQLStore`` is imported on first use: it needs SQLAlchemy's asyncio extension,
which needs ``greenlet``, and the sync store must work where only the ``[sql]``
extra and a sync driver are installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._sync.sql import SQLStore

if TYPE_CHECKING:
    from ._async.sql import AsyncSQLStore

__all__ = ["AsyncSQLStore", "SQLStore"]


def __getattr__(name: str) -> Any:
    if name != "AsyncSQLStore":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ._async.sql import AsyncSQLStore

    globals()[name] = AsyncSQLStore
    return AsyncSQLStore

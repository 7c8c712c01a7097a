"""SQL stores through SQLAlchemy 2 Core: ``postgresql+psycopg://``, ``mysql+pymysql://``,
``mariadb+pymysql://``, ``sqlite+pysqlite:///file.db`` and any other SQLAlchemy URL.

``SQLStore`` is sync; ``AsyncSQLStore`` takes the same URL and swaps in the async
driver of the same database (pymysql -> aiomysql, pysqlite -> aiosqlite; psycopg is
both).
"""

from __future__ import annotations

from ._async.sql import AsyncSQLStore
from ._sync.sql import SQLStore

__all__ = ["AsyncSQLStore", "SQLStore"]

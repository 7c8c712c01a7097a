"""``AsyncPostgresChannel``: PostgreSQL's ``LISTEN``/``NOTIFY``.

Written once, async, here; ``scripts/unasync.py`` generates ``_sync/postgres.py``.

``setup`` installs two triggers on the store's tables (idempotent, under an
advisory lock so processes starting together do not race): every insert, update
or delete of a session notifies ``s<id> <version>`` (version 0: deleted), every
change of a revocation marker ``m<sha-256 of the user id>``, and a truncate
``*``. A notification is sent when its transaction commits, once per transaction
and in commit order, and it names the version written: this process's own
writes are recognised exactly, and a touch (same version) evicts nothing.
The listener is one psycopg connection in autocommit mode.
"""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
from psycopg import sql

from .._cache import NearCache
from .channel import AsyncChannel

__all__ = ["AsyncPostgresChannel", "supports_postgres"]

#: Seconds a wait for notifications lasts before the loop looks at ``_stopping``.
POLL = 0.5
#: Serialises the DDL of processes that set up at the same moment.
DDL_LOCK = 0x5E551011

SESSION_FUNCTION = """
CREATE OR REPLACE FUNCTION sessionware_near_cache_session() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify(TG_ARGV[0], '*');
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(TG_ARGV[0], 's' || OLD.id || ' 0');
  ELSE
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
      PERFORM pg_notify(TG_ARGV[0], 's' || OLD.id || ' 0');
    END IF;
    PERFORM pg_notify(TG_ARGV[0], 's' || NEW.id || ' ' || NEW.version);
  END IF;
  RETURN NULL;
END
$body$
"""

MARKER_FUNCTION = """
CREATE OR REPLACE FUNCTION sessionware_near_cache_marker() RETURNS trigger
LANGUAGE plpgsql AS $body$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify(TG_ARGV[0], 'm' || OLD.user_key);
  ELSE
    PERFORM pg_notify(TG_ARGV[0], 'm' || NEW.user_key);
  END IF;
  RETURN NULL;
END
$body$
"""


def supports_postgres(store: Any) -> bool:
    """Whether ``store`` is a SQL store on PostgreSQL."""
    url = getattr(store, "url", None)
    backend = getattr(url, "get_backend_name", None)
    return callable(backend) and backend() == "postgresql" and hasattr(store, "table")


def conninfo(store: Any) -> str:
    """The libpq connection string of the store's database (its URL, driver and
    query left out)."""
    url = store.url
    return psycopg.conninfo.make_conninfo(
        host=url.host or "",
        port=str(url.port or ""),
        user=url.username or "",
        password=url.password or "",
        dbname=url.database or "",
    )


class AsyncPostgresChannel(AsyncChannel):
    name = "PostgreSQL LISTEN/NOTIFY"

    def __init__(self, cache: NearCache, store: Any) -> None:
        super().__init__(cache, store)
        self._table: str = store.table
        self.channel = f"sessionware_{self._table}"[:63]
        self._conninfo = conninfo(store)
        self._connection: Any = None
        #: The server process of the listening connection (``pg_terminate_backend``).
        self.backend_pid: int | None = None

    async def setup(self) -> None:
        """Install the triggers that notify this store's changes."""
        table = sql.Identifier(self._table)
        markers = sql.Identifier(f"{self._table}_revocations")
        channel = sql.Literal(self.channel)
        statements: list[sql.Composed | sql.SQL] = [
            sql.SQL("SELECT pg_advisory_xact_lock({})").format(sql.Literal(DDL_LOCK)),
            sql.SQL(SESSION_FUNCTION),
            sql.SQL(MARKER_FUNCTION),
            sql.SQL(
                "CREATE OR REPLACE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} "
                "FOR EACH ROW EXECUTE FUNCTION sessionware_near_cache_session({})"
            ).format(sql.Identifier(f"{self._table}_near_cache"), table, channel),
            sql.SQL(
                "CREATE OR REPLACE TRIGGER {} AFTER TRUNCATE ON {} "
                "FOR EACH STATEMENT EXECUTE FUNCTION sessionware_near_cache_session({})"
            ).format(sql.Identifier(f"{self._table}_near_cache_truncate"), table, channel),
            sql.SQL(
                "CREATE OR REPLACE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} "
                "FOR EACH ROW EXECUTE FUNCTION sessionware_near_cache_marker({})"
            ).format(sql.Identifier(f"{self._table}_near_cache"), markers, channel),
        ]
        connection = await psycopg.AsyncConnection.connect(self._conninfo)
        try:
            async with connection.transaction():
                for statement in statements:
                    await connection.execute(statement)
        finally:
            await connection.close()

    async def _connect(self) -> None:
        connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        self._connection = connection
        self.backend_pid = connection.info.backend_pid
        await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))

    async def _listen(self) -> None:
        connection = self._connection
        while not self._stopping:
            async for notify in connection.notifies(timeout=POLL):
                self._report(notify.payload)

    def _report(self, payload: str) -> None:
        kind, body = payload[:1], payload[1:]
        if kind == "s":
            key, _, version = body.rpartition(" ")
            self.cache.invalidate(key, int(version))
        elif kind == "m":
            self.cache.invalidate_users(body, hashed=True)
        else:
            self.cache.clear()

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

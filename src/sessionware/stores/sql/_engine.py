"""How a SQL store's engine is made: a store URL and its options split into the
SQLAlchemy URL, the store's own options and ``create_engine`` arguments tuned per
dialect; the async driver of the same database; and the settings each new
connection gets."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .._failover import DEFAULT_FAILOVER_TIMEOUT

__all__ = [
    "DEFAULT_FAILOVER_TIMEOUT",
    "DEFAULT_PING_IDLE",
    "DEFAULT_TABLE",
    "SQLOptions",
    "async_driver_url",
    "connection_settings",
    "dialect_family",
    "engine_options",
]

DEFAULT_TABLE = "sessionware_sessions"
# Index names are "ix_<table>_expires_at": MySQL allows 64 characters in a name.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}")

# MySQL protocol capability bit: with it, UPDATE reports *matched* rows, which makes
# "INSERT ... ON DUPLICATE KEY UPDATE" report 1 both for an insert and for a refused
# update. Without it the counts are 1 inserted, 2 replaced, 0 unchanged (refused).
CLIENT_FOUND_ROWS = 2

#: Options read from the URL query (or given as keyword arguments); every other
#: query parameter goes to the database driver.
STORE_QUERY_OPTIONS = (
    "table",
    "pool_size",
    "max_overflow",
    "pool_recycle",
    "pool_timeout",
    "pool_ping_idle",
    "failover_timeout",
)
FLOAT_QUERY_OPTIONS = ("pool_timeout", "pool_ping_idle", "failover_timeout")
#: Seconds a pooled connection may sit unused before it is pinged on checkout.
#: Short enough that a database restart is noticed before most requests meet it,
#: long enough that a busy pool never pings.
DEFAULT_PING_IDLE = 5.0
BOOLEAN_QUERY_OPTIONS = ("pool_pre_ping",)


@dataclass
class SQLOptions:
    """A store URL split into the SQLAlchemy URL and the options of the store."""

    url: URL
    table: str = DEFAULT_TABLE
    engine_options: dict[str, Any] = field(default_factory=dict)
    ping_idle: float = DEFAULT_PING_IDLE
    failover_timeout: float = DEFAULT_FAILOVER_TIMEOUT

    @classmethod
    def parse(cls, url: str | URL, options: Mapping[str, Any]) -> SQLOptions:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValueError(f"not a SQLAlchemy URL: {exc}") from None
        query = dict(parsed.query)
        given: dict[str, Any] = {}
        for name in (*STORE_QUERY_OPTIONS, *BOOLEAN_QUERY_OPTIONS):
            if name in query:
                given[name] = _query_value(name, query[name])
        given.update(options)
        parsed = parsed.difference_update_query([*STORE_QUERY_OPTIONS, *BOOLEAN_QUERY_OPTIONS])
        table = str(given.pop("table", DEFAULT_TABLE))
        if not TABLE_NAME.fullmatch(table):
            raise ValueError(
                f"table name {table!r} must be a plain identifier of at most 48 characters "
                "(letters, digits, underscores; not starting with a digit)"
            )
        ping_idle = float(given.pop("pool_ping_idle", DEFAULT_PING_IDLE))
        if ping_idle < 0:
            raise ValueError(f"pool_ping_idle must be 0 or more seconds, got {ping_idle}")
        failover_timeout = float(given.pop("failover_timeout", DEFAULT_FAILOVER_TIMEOUT))
        if not failover_timeout >= 0:
            raise ValueError(f"failover_timeout must be 0 or more seconds, got {failover_timeout}")
        options = engine_options(parsed, given)
        return cls(parsed, table, options, ping_idle, failover_timeout)


def _query_value(name: str, raw: str | tuple[str, ...]) -> Any:
    text = raw[-1] if isinstance(raw, tuple) else raw
    if name == "table":
        return text
    if name in BOOLEAN_QUERY_OPTIONS:
        lowered = text.lower()
        if lowered not in {"true", "false", "1", "0", "yes", "no"}:
            raise ValueError(f"{name} must be true or false, got {text!r}")
        return lowered in {"true", "1", "yes"}
    try:
        return float(text) if name in FLOAT_QUERY_OPTIONS else int(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None


def dialect_family(url: URL) -> str:
    """``postgresql``, ``mysql`` (MariaDB too), ``sqlite``, or ``generic``."""
    name = url.get_backend_name()
    if name in {"postgresql", "postgres"}:
        return "postgresql"
    if name in {"mysql", "mariadb"}:
        return "mysql"
    if name == "sqlite":
        return "sqlite"
    return "generic"


def engine_options(url: URL, given: dict[str, Any]) -> dict[str, Any]:
    """``create_engine`` keyword arguments tuned for web workloads: short statements
    from many threads, connections that may die while idle (server restarts,
    firewalls), and one statement per operation (so autocommit is enough)."""
    family = dialect_family(url)
    options: dict[str, Any] = {
        # No ping on every checkout (a round trip per operation): the store pings
        # only idle connections and retries after a disconnection (``_fast_path``).
        "pool_pre_ping": False,
        # Recycle before typical server/proxy idle timeouts (MariaDB wait_timeout...).
        "pool_recycle": 1800,
    }
    if family != "generic":
        # Every operation is one statement: no BEGIN/COMMIT round trips.
        options["isolation_level"] = "AUTOCOMMIT"
    connect_args: dict[str, Any] = {}
    if family == "postgresql" and "connect_timeout" not in url.query:
        # asyncpg spells libpq's connect_timeout "timeout".
        timeout_name = "timeout" if url.get_driver_name() == "asyncpg" else "connect_timeout"
        connect_args[timeout_name] = 10
    if family == "mysql":
        # See CLIENT_FOUND_ROWS: the compare-and-set insert relies on "0 = unchanged".
        requested = int(str(url.query.get("client_flag", 0)))
        connect_args["client_flag"] = requested & ~CLIENT_FOUND_ROWS
        # pymysql sends ROLLBACK over the wire even in autocommit mode: skip it.
        options["skip_autocommit_rollback"] = True
        if "charset" not in url.query:
            connect_args["charset"] = "utf8mb4"
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = 10
    options.update(given)
    if options.get("isolation_level") == "AUTOCOMMIT":
        # Nothing to roll back when a connection returns to the pool.
        options.setdefault("pool_reset_on_return", None)
    if connect_args:
        options["connect_args"] = {**connect_args, **options.get("connect_args", {})}
    return options


# Sync drivers and the async driver for the same database (the async store swaps
# them, so one URL works for both flavours); a driver not listed is kept as given.
ASYNC_DRIVERS = {
    "pymysql": "aiomysql",
    "mysqldb": "aiomysql",
    "mysqlconnector": "aiomysql",
    "pysqlite": "aiosqlite",
    "psycopg2": "psycopg",
}
DEFAULT_ASYNC_DRIVERS = {
    "postgresql": "psycopg",
    "mysql": "aiomysql",
    "mariadb": "aiomysql",
    "sqlite": "aiosqlite",
}


def async_driver_url(url: URL) -> URL:
    """``url`` with its driver replaced by the async driver for that database."""
    backend, _, driver = url.drivername.partition("+")
    replacement = ASYNC_DRIVERS.get(driver) if driver else DEFAULT_ASYNC_DRIVERS.get(backend)
    return url.set(drivername=f"{backend}+{replacement}") if replacement else url


# --------------------------------------------------------------------- per connection


def connection_settings(family: str) -> Callable[[Any, Any], None] | None:
    """A pool ``connect`` listener that prepares each new DBAPI connection."""
    if family == "mysql":
        return _prepare_mysql
    if family == "sqlite":
        return _prepare_sqlite
    return None


def _prepare_mysql(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Strict: an oversized value is an error, never a silently truncated write.
        cursor.execute("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'")
        # READ COMMITTED: no gap locks, so concurrent upserts do not deadlock.
        cursor.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    finally:
        cursor.close()


def _prepare_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL: readers never block the writer; busy_timeout: writers wait their turn.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
    finally:
        cursor.close()

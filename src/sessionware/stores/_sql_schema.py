"""What the sync and async SQL stores share: URL options, the table, the prebuilt
statements of each dialect, per-connection settings and error translation.

Everything here is free of I/O, so ``_async/sql.py`` (and its generated sync twin)
only decide *when* to run a statement, never *how* to build one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BindParameter,
    Column,
    Delete,
    Double,
    Executable,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Select,
    String,
    Table,
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    select,
    update,
    values,
)
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.schema import CreateIndex, CreateTable, DDLElement

from ..core.record import Record
from ..errors import StoreError, StoreUnavailable, redact_text, redact_url

__all__ = [
    "DEFAULT_PING_IDLE",
    "DELETE_BATCH",
    "IDS_PAGE",
    "PURGE_BATCH",
    "ErrorTranslator",
    "NoSuchModuleError",
    "SQLOptions",
    "SQLSchema",
    "async_driver_url",
    "batches",
    "connection_settings",
    "dialect_family",
    "driver_missing",
    "is_unavailable",
    "record_params",
    "row_to_record",
    "unique_keys",
]

DEFAULT_TABLE = "sessionware_sessions"
# Index names are "ix_<table>_expires_at": MySQL allows 64 characters in a name.
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,47}")
USER_ID_LENGTH = 255

# Rows per statement: PostgreSQL joins a VALUES list (no parameter limit worth
# worrying about at this size); the CASE form binds five parameters per row (the
# CASE appears in SET and WHERE, and positional drivers repeat its parameters) and
# must stay under SQLite's historical limit of 999 parameters.
TOUCH_BATCH_VALUES = 1000
TOUCH_BATCH_CASE = 190
DELETE_BATCH = 500
PURGE_BATCH = 1000
IDS_PAGE = 1000

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
)
FLOAT_QUERY_OPTIONS = ("pool_timeout", "pool_ping_idle")
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
        return cls(parsed, table, engine_options(parsed, given), ping_idle)


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
        # only idle connections and retries after a disconnection (``_sql_fast``).
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


# --------------------------------------------------------------------------- errors


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _reason(exc: BaseException, url: str) -> str:
    # The driver's own message: SQLAlchemy's wrapper would add the statement and its
    # parameters, i.e. session data, to every log line.
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip() or type(exc).__name__
    text = text.splitlines()[0] if text else text
    return redact_text(text, url)


class ErrorTranslator:
    """``with translator:`` turns database errors into ``StoreUnavailable`` (cannot
    reach the server) or ``StoreError`` (anything else), with the password kept out
    of the message. One instance per store, reused by every operation (it keeps no
    state per use), so the hot path does not build a context manager each time."""

    __slots__ = ("_rendered_url", "_shown_url", "url")

    def __init__(self, url: URL) -> None:
        self.url = url
        self._rendered_url = url.render_as_string(hide_password=False)
        self._shown_url = redact_url(self._rendered_url)  # query passwords too

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        if exc is None or not isinstance(exc, (SQLAlchemyError, OSError)):
            return
        reason = _reason(exc, self._rendered_url)
        if isinstance(exc, OSError) or is_unavailable(exc):
            raise StoreUnavailable(self._rendered_url, reason) from exc
        raise StoreError(f"session store {self._shown_url}: {reason}") from exc


def driver_missing(url: URL, exc: BaseException) -> StoreError:
    """SQLAlchemy could not load the URL's driver: name the extra that brings it."""
    from .registry import missing_extra  # the registry imports stores, not the reverse

    return missing_extra(
        url.render_as_string(hide_password=False),
        exc,
        unknown_driver=isinstance(exc, NoSuchModuleError),
    )


# ---------------------------------------------------------------------- statements


def record_params(record: Record) -> dict[str, Any]:
    return {
        "r_id": record.id,
        "r_data": record.data,
        "r_created_at": record.created_at,
        "r_expires_at": record.expires_at,
        "r_version": record.version,
        "r_user_id": record.user_id,
    }


def row_to_record(id: str, row: Sequence[Any]) -> Record:
    data, created_at, expires_at, version, user_id = row
    return Record(id, bytes(data), created_at, expires_at, version, user_id)


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SQLSchema:
    """The sessions table and every statement the store runs, built once."""

    def __init__(self, table_name: str, family: str) -> None:
        self.family = family
        self.metadata = MetaData()
        self.table = Table(
            table_name,
            self.metadata,
            Column("id", String(40), primary_key=True),
            Column(
                "data",
                LargeBinary().with_variant(mysql_dialect.LONGBLOB(), "mysql", "mariadb"),
                nullable=False,
            ),
            Column("created_at", Double(), nullable=False),
            Column("expires_at", Double(), nullable=False),
            Column("version", Integer(), nullable=False),
            Column("user_id", String(USER_ID_LENGTH), nullable=True),
            # utf8mb4 and a binary collation: any user id round-trips, compared exactly.
            mysql_charset="utf8mb4",
            mysql_collate="utf8mb4_bin",
            mysql_engine="InnoDB",
        )
        t = self.table.c
        self.indexes = (
            Index(f"ix_{table_name}_expires_at", t.expires_at),
            Index(f"ix_{table_name}_user_id", t.user_id),
        )
        # Revocation markers, apart from the sessions so no session query sees them;
        # keyed by a hash of the user id: fixed length, any string.
        self.revocations = Table(
            f"{table_name}_revocations",
            self.metadata,
            Column("user_key", String(64), primary_key=True),
            Column("revoked_at", Double(), nullable=False),
            Column("keep_until", Double(), nullable=False),
            mysql_charset="utf8mb4",
            mysql_collate="utf8mb4_bin",
            mysql_engine="InnoDB",
        )
        self._build_statements()
        self._build_marker_statements()

    # -- DDL ---------------------------------------------------------------------

    def ddl(self) -> list[DDLElement]:
        # IF NOT EXISTS lets many processes run setup() at once; the store still
        # checks after a failure, as PostgreSQL can report a concurrent CREATE as
        # a duplicate-key error on its catalog.
        return [
            CreateTable(self.table, if_not_exists=True),
            *(CreateIndex(index, if_not_exists=True) for index in self.indexes),
            CreateTable(self.revocations, if_not_exists=True),
        ]

    def exists(self, connection: Connection, element: DDLElement) -> bool:
        """Whether the object ``element`` creates is there (after a racing CREATE)."""
        from sqlalchemy import inspect

        inspector = inspect(connection)
        if isinstance(element, CreateIndex):
            table = self.table.name  # the only table with indexes
            if not inspector.has_table(table):
                return False
            names = {index["name"] for index in inspector.get_indexes(table)}
            return element.element.name in names
        created = element.element if isinstance(element, CreateTable) else self.table
        return bool(inspector.has_table(created.name))

    def drop_statement(self) -> str:
        return f"DROP TABLE IF EXISTS {self.table.name}"

    # -- DML ---------------------------------------------------------------------

    def _build_statements(self) -> None:
        t = self.table
        c = t.c
        now: BindParameter[float] = bindparam("now")
        key: BindParameter[str] = bindparam("r_id")
        self.load: Select[Any] = select(
            c.data, c.created_at, c.expires_at, c.version, c.user_id
        ).where(c.id == key, c.expires_at > now)
        new_values = {
            "id": key,
            "data": bindparam("r_data"),
            "created_at": bindparam("r_created_at"),
            "expires_at": bindparam("r_expires_at"),
            "version": bindparam("r_version"),
            "user_id": bindparam("r_user_id"),
        }
        changed = {name: value for name, value in new_values.items() if name != "id"}
        self.update_if_version = (
            update(t)
            .where(c.id == key, c.version == bindparam("expected"), c.expires_at > now)
            .values(**changed)
        )
        self.save, create = self._upserts(new_values)
        # SQLAlchemy reads rowcount eagerly for UPDATE/DELETE only; the compare-and-set
        # insert needs it too.
        self.create_if_absent = (
            None if create is None else create.execution_options(preserve_rowcount=True)
        )
        self.plain_insert = insert(t).values(**new_values)
        self.plain_update = update(t).where(c.id == key).values(**changed)
        self.delete_expired_key = delete(t).where(c.id == key, c.expires_at <= now)
        self.delete_one = delete(t).where(c.id == key)
        self.delete_keys = delete(t).where(c.id.in_(bindparam("keys", expanding=True)))
        self.delete_all = delete(t)
        self.count: Select[Any] = select(func.count()).select_from(t).where(c.expires_at > now)
        self.ids_page: Select[Any] = (
            select(c.id)
            .where(c.id > bindparam("after"), c.expires_at > now)
            .order_by(c.id)
            .limit(IDS_PAGE)
        )
        self.ids_for_user: Select[Any] = select(c.id).where(
            c.user_id == bindparam("user_id"), c.expires_at > now
        )
        self.expired_page: Select[Any] = (
            select(c.id).where(c.expires_at <= now).order_by(c.expires_at).limit(PURGE_BATCH)
        )
        # Re-checks expiry: a row touched after the page was read stays.
        self.purge_keys: Delete = delete(t).where(
            c.id.in_(bindparam("keys", expanding=True)), c.expires_at <= now
        )

    def _build_marker_statements(self) -> None:
        r = self.revocations
        c = r.c
        self.revoked_at: Select[Any] = select(c.revoked_at).where(
            c.user_key == bindparam("user_key"), c.keep_until > bindparam("now")
        )
        self.mark_revoked = self._marker_upsert()
        # Without an upsert (other dialects): raise an existing marker, else insert.
        self.raise_marker = (
            update(r)
            .where(c.user_key == bindparam("user_key"))
            .values(
                revoked_at=_later(c.revoked_at, bindparam("revoked_at")),
                keep_until=_later(c.keep_until, bindparam("keep_until")),
            )
        )
        self.insert_marker = insert(r).values(
            user_key=bindparam("user_key"),
            revoked_at=bindparam("revoked_at"),
            keep_until=bindparam("keep_until"),
        )
        self.delete_all_markers = delete(r)
        self.purge_markers = delete(r).where(c.keep_until <= bindparam("now"))

    def _marker_upsert(self) -> Any:
        """One statement that stores a marker keeping the later of each time; None
        for dialects without an upsert."""
        r = self.revocations
        new: dict[str, BindParameter[Any]] = {
            "user_key": bindparam("user_key"),
            "revoked_at": bindparam("revoked_at"),
            "keep_until": bindparam("keep_until"),
        }
        if self.family in {"postgresql", "sqlite"}:
            module = pg_dialect if self.family == "postgresql" else sqlite_dialect
            stmt = module.insert(r).values(**new)
            later = {name: _later(r.c[name], stmt.excluded[name]) for name in TIMES}
            return stmt.on_conflict_do_update(index_elements=[r.c.user_key], set_=later)
        if self.family == "mysql":
            stmt = mysql_dialect.insert(r).values(**new)
            return stmt.on_duplicate_key_update(
                {name: _later(r.c[name], stmt.inserted[name]) for name in TIMES}
            )
        return None

    def hot_statements(self) -> dict[str, Any]:
        """The statements of the hot path (``_sql_fast``), by name."""
        statements = {
            "load": self.load,
            "update_if_version": self.update_if_version,
            "revoked_at": self.revoked_at,
        }
        if self.save is not None:
            statements["save"] = self.save
        if self.create_if_absent is not None:
            statements["create_if_absent"] = self.create_if_absent
        return statements

    def _upserts(self, new: dict[str, BindParameter[Any]]) -> tuple[Any, Any]:
        """(save, create_if_absent) for dialects with an upsert; (None, None) else."""
        t = self.table
        expired = t.c.expires_at <= bindparam("now")
        columns = [name for name in new if name != "id"]
        if self.family in {"postgresql", "sqlite"}:
            module = pg_dialect if self.family == "postgresql" else sqlite_dialect
            stmt = module.insert(t).values(**new)
            replace = {name: stmt.excluded[name] for name in columns}
            save = stmt.on_conflict_do_update(index_elements=[t.c.id], set_=replace)
            create = stmt.on_conflict_do_update(
                index_elements=[t.c.id], set_=replace, where=expired
            )
            return save, create
        if self.family == "mysql":
            stmt = mysql_dialect.insert(t).values(**new)
            save = stmt.on_duplicate_key_update({name: stmt.inserted[name] for name in columns})
            # MySQL assigns left to right and later conditions see earlier
            # assignments, so expires_at (which the condition reads) goes last.
            ordered = sorted(columns, key=lambda name: name == "expires_at")
            create = stmt.on_duplicate_key_update(
                [(name, case((expired, stmt.inserted[name]), else_=t.c[name])) for name in ordered]
            )
            return save, create
        return None, None

    def touch_batches(self, expiries: Mapping[str, float], now: float) -> Iterator[Executable]:
        """One UPDATE per batch that moves the expiry of the live rows named later.

        Only rows whose stored expiry is earlier than the new one match: a touch
        computed before a save that wrote a later expiry must not move it back, and
        rows left alone cost no index writes."""
        items = list(expiries.items())
        if self.family == "postgresql":
            for batch in batches(items, TOUCH_BATCH_VALUES):
                yield self._touch_from_values(batch, now)
        else:
            for batch in batches(items, TOUCH_BATCH_CASE):
                yield self._touch_with_case(batch, now)

    def _touch_from_values(self, batch: Sequence[tuple[str, float]], now: float) -> Executable:
        t = self.table
        rows = values(column("id", String(40)), column("expires_at", Double()), name="touched")
        rows = rows.data(list(batch))
        return (
            update(t)
            .where(t.c.id == rows.c.id, t.c.expires_at > now, t.c.expires_at < rows.c.expires_at)
            .values(expires_at=rows.c.expires_at)
        )

    def _touch_with_case(self, batch: Sequence[tuple[str, float]], now: float) -> Executable:
        t = self.table
        new_expiry = case(dict(batch), value=t.c.id, else_=t.c.expires_at)
        keys = [key for key, _ in batch]
        return (
            update(t)
            .where(t.c.id.in_(keys), t.c.expires_at > now, t.c.expires_at < new_expiry)
            .values(expires_at=new_expiry)
            .execution_options(synchronize_session=False)
        )


TIMES = ("revoked_at", "keep_until")  # a marker's two times, neither ever moves back


def _later(stored: Any, new: Any) -> Any:
    """The later of two times, in any dialect (GREATEST is not in SQLite)."""
    return case((stored < new, new), else_=stored)


def marker_key(user_id: str) -> str:
    """The revocation table's key for ``user_id``: fixed length, any string."""
    return hashlib.sha256(user_id.encode()).hexdigest()


def unique_keys(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))

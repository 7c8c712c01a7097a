"""The tables of a SQL store and every statement it runs, built once per store for
its dialect. Free of I/O: ``_async/store.py`` (and its generated sync twin) only
decide *when* to run a statement, never *how* to build one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
    exists,
    func,
    insert,
    select,
    update,
    values,
)
from sqlalchemy.dialects import mysql as mysql_dialect
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, CreateTable, DDLElement

from ._rows import batches

__all__ = ["DELETE_BATCH", "IDS_PAGE", "PURGE_BATCH", "SQLSchema"]

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
        self.delete_if_version = delete(t).where(c.id == key, c.version == bindparam("expected"))
        # No index on created_at (every insert would pay for it): the database keeps
        # the LIMIT newest in a bounded top-N sort as it scans, and sends only those.
        self.newest: Select[Any] = (
            select(c.id, c.data, c.created_at, c.expires_at, c.version, c.user_id)
            .where(c.expires_at > now)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(bindparam("limit"))
        )
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
        # It runs with the insert's parameters, named like the columns; SQLAlchemy
        # turns a parameter named like a column into a SET of that column unless
        # the statement sets it itself, and refuses one that is also bound in the
        # WHERE clause. So the key is "set" to itself: no SET bind for it, and the
        # WHERE clause may bind "user_key".
        self.raise_marker = (
            update(r)
            .where(c.user_key == bindparam("user_key"))
            .values(
                user_key=c.user_key,
                revoked_at=_later(c.revoked_at, bindparam("revoked_at")),
                keep_until=_later(c.keep_until, bindparam("keep_until")),
            )
        )
        # Inserts nothing when the marker exists: the update found it, and left it
        # as it was because it already held later times (MySQL then counts no row).
        self.insert_marker = insert(r).from_select(
            ["user_key", "revoked_at", "keep_until"],
            select(
                bindparam("user_key", type_=c.user_key.type),
                bindparam("revoked_at", type_=c.revoked_at.type),
                bindparam("keep_until", type_=c.keep_until.type),
            ).where(~exists().where(c.user_key == bindparam("user_key"))),
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
        """The statements of the hot path (``_fast_path``), by name."""
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

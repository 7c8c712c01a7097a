"""One session row of the SQLite store: finding it (through its rowid hint
first), the record it holds (checked column by column, since SQLite types
values, not columns) and compare-and-set on it."""

from __future__ import annotations

import errno
import sqlite3
import time
from typing import Any

from ...core.record import Record
from ._rowids import RowidHints
from ._statements import Lookups, Statements

__all__ = ["Damaged", "compare_and_set", "fetch", "record_of", "record_or_blocking", "records_of"]


class Damaged(Exception):
    """A row whose columns have the wrong types."""


def record_of(id: str, row: Any) -> Record | None:
    """The record in a ``load`` row; raises Damaged when a column has the wrong type."""
    if row is None:
        return None
    _, data, created_at, expires_at, version, user_id = row
    if (
        type(data) is not bytes
        or type(created_at) is not float
        or type(expires_at) is not float
        or type(version) is not int
        or (user_id is not None and type(user_id) is not str)
    ):
        raise Damaged
    return Record(id, data, created_at, expires_at, version, user_id)


def records_of(rows: list[Any]) -> list[Record]:
    """The records in rows of ``(id, *load columns)``, leaving damaged ones out."""
    records = []
    for id, *columns in rows:
        try:
            record = record_of(id, (None, *columns))
        except Damaged:
            continue  # load() removes it when it meets it
        if record is not None:
            records.append(record)
    return records


def record_or_blocking(id: str, row: Any) -> Record | None:
    """``record_of`` for ``load_nowait``: a damaged row is left to ``load``."""
    try:
        return record_of(id, row)
    except Damaged:
        raise BlockingIOError(errno.EAGAIN, "a damaged row: load() removes it") from None


def fetch(cursor: sqlite3.Cursor, sql: Statements, rowids: RowidHints, id: str) -> Any:
    """The load row of ``id`` (rowid first), through its rowid hint if any."""
    now = time.time()
    rowid = rowids.get(id)
    if rowid is not None:
        row = cursor.execute(sql.by_rowid.load, (rowid, id, now)).fetchone()
        if row is not None:
            return row
    row = cursor.execute(sql.by_id.load, (id, now)).fetchone()
    if row is not None:
        rowids.note(id, row[0])
    return row


def compare_and_set(
    cursor: sqlite3.Cursor,
    sql: Statements,
    rowids: RowidHints,
    record: Record,
    expected_version: int,
    now: float,
) -> bool:
    """Write ``record`` if the stored version is still ``expected_version`` (0:
    there is no live record), in one statement (two for a full update)."""
    if expected_version == 0:
        rowids.forget(record.id)
        cursor.execute(
            sql.create_or_replace_expired,
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
    rowid = rowids.get(record.id)
    if rowid is not None:
        key = (rowid, record.id)
        if _update(cursor, sql.by_rowid, key, record, expected_version, now):
            return True
        rowids.forget(record.id)  # a stale version, or the row moved: by id
    return _update(cursor, sql.by_id, (record.id,), record, expected_version, now)


def _update(
    cursor: sqlite3.Cursor,
    lookups: Lookups,
    key: tuple[Any, ...],
    record: Record,
    expected_version: int,
    now: float,
) -> bool:
    """Compare-and-set of an existing record: the data-only update, else (the
    expiry, creation time or user moved too, or the version is stale) the full one."""
    cursor.execute(
        lookups.update_data_only,
        (
            record.data,
            record.version,
            *key,
            expected_version,
            now,
            record.expires_at,
            record.created_at,
            record.user_id,
        ),
    )
    if cursor.rowcount == 1:
        return True
    cursor.execute(
        lookups.update_version,
        (
            record.data,
            record.created_at,
            record.expires_at,
            record.version,
            record.user_id,
            *key,
            expected_version,
            now,
        ),
    )
    return cursor.rowcount == 1

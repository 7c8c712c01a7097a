"""Every SQL text the SQLite store runs: the schema (sessions table, its two
indexes, the revocation-marker table) and one statement per operation, built
once per table name."""

# The only text put into SQL is the table name, checked against TABLE_NAME first.
# ruff: noqa: S608

from __future__ import annotations

import re

__all__ = ["DEFAULT_TABLE", "PURGE_BATCH", "TABLE_NAME", "Lookups", "Statements"]

DEFAULT_TABLE = "sessionware_sessions"
PURGE_BATCH = 1_000  # rows per purge transaction: the write lock is never held long
TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_COLUMNS = "data, created_at, expires_at, version, user_id"


class Statements:
    """Every SQL text the store runs, built once per table name."""

    def __init__(self, table: str) -> None:
        t = table
        live = "expires_at > ? AND typeof(expires_at) = 'real'"
        self.schema = (
            f"CREATE TABLE IF NOT EXISTS {t} ("
            " id TEXT PRIMARY KEY NOT NULL, data BLOB NOT NULL,"
            " created_at REAL NOT NULL, expires_at REAL NOT NULL,"
            " version INTEGER NOT NULL, user_id TEXT)",
            f"CREATE INDEX IF NOT EXISTS {t}_expires_at ON {t} (expires_at)",
            f"CREATE INDEX IF NOT EXISTS {t}_user_id ON {t} (user_id) WHERE user_id IS NOT NULL",
            # Revocation markers: a table of their own, so no session query sees them.
            f"CREATE TABLE IF NOT EXISTS {t}_revocations ("
            " user_id TEXT PRIMARY KEY NOT NULL,"
            " revoked_at REAL NOT NULL, keep_until REAL NOT NULL)",
        )
        # Reads and conditional writes, by id or by a rowid hint (see _rowids.RowidHints).
        self.by_id = Lookups(t, "id = ?")
        self.by_rowid = Lookups(t, "rowid = ? AND id = ?")
        upsert = (
            f"INSERT INTO {t} (id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET data = excluded.data,"
            " created_at = excluded.created_at, expires_at = excluded.expires_at,"
            " version = excluded.version, user_id = excluded.user_id"
        )
        self.save = upsert
        self.create_or_replace_expired = f"{upsert} WHERE {t}.expires_at <= ?"
        # Only rows whose expiry moves later: never shortens, and skips useless index writes.
        self.touch = (
            f"UPDATE {t} SET expires_at = ? WHERE id = ? AND expires_at > ? AND expires_at < ?"
        )
        self.delete = f"DELETE FROM {t} WHERE id = ?"
        self.delete_all = f"DELETE FROM {t}"
        # One statement: atomic, and neither time ever moves back.
        self.mark_revoked = (
            f"INSERT INTO {t}_revocations (user_id, revoked_at, keep_until) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            f" revoked_at = max({t}_revocations.revoked_at, excluded.revoked_at),"
            f" keep_until = max({t}_revocations.keep_until, excluded.keep_until)"
        )
        self.revoked_at = (
            f"SELECT revoked_at FROM {t}_revocations WHERE user_id = ? AND keep_until > ?"
        )
        self.delete_all_revocations = f"DELETE FROM {t}_revocations"
        self.purge_revocations = f"DELETE FROM {t}_revocations WHERE keep_until <= ?"
        self.ids = f"SELECT id FROM {t} WHERE {live}"
        self.count = f"SELECT count(*) FROM {t} WHERE {live}"
        self.ids_for_user = f"SELECT id FROM {t} WHERE user_id = ? AND {live}"
        # No index on created_at (every insert would pay for it): SQLite keeps the
        # LIMIT newest in a bounded sorter as it scans, and returns only those.
        self.newest = (
            f"SELECT id, {_COLUMNS} FROM {t} WHERE {live}"
            " ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        self.delete_if_version = f"DELETE FROM {t} WHERE id = ? AND version = ?"
        # Text or blob expiries (damaged rows) sort above every number: ">= ''".
        self.purge = (
            f"DELETE FROM {t} WHERE rowid IN (SELECT rowid FROM {t}"
            f" WHERE expires_at <= ? OR expires_at >= '' LIMIT {PURGE_BATCH})"
        )
        # load_nowait's first read, which opens the WAL (and runs any recovery).
        self.probe = f"SELECT count(*) FROM {t} WHERE 0"


class Lookups:
    """The statements that find one record: the load and the two conditional
    updates, with ``key`` ("id = ?" or "rowid = ? AND id = ?") selecting it."""

    def __init__(self, table: str, key: str) -> None:
        t = table
        self.load = f"SELECT rowid, {_COLUMNS} FROM {t} WHERE {key} AND expires_at > ?"
        # The common save: only data and version change. Leaving the indexed
        # columns out of SET keeps SQLite from rewriting their index entries.
        self.update_data_only = (
            f"UPDATE {t} SET data = ?, version = ?"
            f" WHERE {key} AND version = ? AND expires_at > ? AND expires_at = ?"
            " AND created_at = ? AND user_id IS ?"
        )
        self.update_version = (
            f"UPDATE {t} SET data = ?, created_at = ?, expires_at = ?, version = ?, user_id = ?"
            f" WHERE {key} AND version = ? AND expires_at > ?"
        )

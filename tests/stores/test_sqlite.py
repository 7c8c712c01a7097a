"""The SQLite store: conformance, URL forms, many processes, faults."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import sessionware as sw
from sessionware.core.signing import new_session_id, store_key
from sessionware.errors import StoreError
from sessionware.stores.sqlite import PURGE_BATCH, SQLiteStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance, StoreConformance

from .embedded_support import (
    SPAWN,
    assert_before_or_after,
    fill_up,
    make_record,
    mixed_requests,
    remount_read_only,
    run_and_kill,
    tmpfs,
)


@pytest.fixture(params=["file", "memory"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(tmp_path / "sessions.db") if request.param == "file" else ":memory:"


class TestSQLiteStore(StoreConformance):
    @pytest.fixture
    def store(self, location: str) -> Iterator[SQLiteStore]:
        store = SQLiteStore(location)
        store.setup()
        yield store
        store.close()


class TestThreadedSQLiteStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, location: str) -> AsyncIterator[ThreadedStore]:
        store = ThreadedStore(SQLiteStore(location))
        await store.setup()
        yield store
        await store.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(db_path)
    store.setup()
    yield store
    store.close()


def raw(db_path: Path) -> sqlite3.Connection:
    return sqlite3.connect(db_path, isolation_level=None)


# -- URLs and options --------------------------------------------------------------


def test_three_slashes_is_a_path_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = sw.open_store("sqlite:///relative.db")
    try:
        assert isinstance(store, SQLiteStore)
        assert store.path == str(tmp_path / "relative.db")
        assert (tmp_path / "relative.db").exists()
    finally:
        store.close()


def test_four_slashes_is_an_absolute_path(tmp_path: Path) -> None:
    store = SQLiteStore.from_url(f"sqlite:///{tmp_path}/abs.db")
    assert store.path == str(tmp_path / "abs.db")


@pytest.mark.parametrize("url", ["sqlite://:memory:", "sqlite:///:memory:", "sqlite://"])
def test_memory_urls_give_one_private_database(url: str) -> None:
    store = sw.open_store(url)
    assert isinstance(store, SQLiteStore)
    try:
        assert store.memory
        record = make_record()
        store.save(record)
        assert store.load(record.id) == record
    finally:
        store.close()


def test_options_come_from_the_query_string(tmp_path: Path) -> None:
    store = SQLiteStore.from_url(
        f"sqlite:///{tmp_path}/x.db?timeout=2.5&table=app_sessions&synchronous=full"
    )
    assert (store.timeout, store.table, store.synchronous) == (2.5, "app_sessions", "FULL")


@pytest.mark.parametrize("table", ["drop table x", "t;--", "1abc", ""])
def test_a_table_name_that_is_not_an_identifier_is_refused(db_path: Path, table: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        SQLiteStore(db_path, table=table)


def test_an_unknown_option_is_refused(db_path: Path) -> None:
    with pytest.raises(TypeError, match="colour"):
        SQLiteStore.from_url(f"sqlite:///{db_path}?colour=red")


def test_setup_turns_on_wal_and_indexes_expiry_and_user(store: SQLiteStore, db_path: Path) -> None:
    connection = raw(db_path)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    indexes = {row[1] for row in connection.execute("PRAGMA index_list(sessionware_sessions)")}
    assert {"sessionware_sessions_expires_at", "sessionware_sessions_user_id"} <= indexes
    connection.close()


def test_two_tables_in_one_file_are_separate_stores(db_path: Path) -> None:
    one, two = SQLiteStore(db_path, table="one"), SQLiteStore(db_path, table="two")
    one.setup()
    two.setup()
    one.save(make_record())
    assert (one.count(), two.count()) == (1, 0)
    one.close()
    two.close()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_open_async_store_serves_sqlite_through_threads(db_path: Path) -> None:
    store = await sw.open_async_store(f"sqlite:///{db_path}")
    try:
        assert isinstance(store, ThreadedStore)
        record = make_record()
        await store.save(record)
        assert await store.load(record.id) == record
    finally:
        await store.close()


# -- batches -------------------------------------------------------------------------


def test_purge_removes_more_than_one_batch(store: SQLiteStore) -> None:
    dead = [make_record(expires_in=-10, size=0) for _ in range(PURGE_BATCH * 2 + 5)]
    store.touch_many({})
    for record in dead:
        store.save(record)
    live = make_record()
    store.save(live)
    assert store.purge_expired() == len(dead)
    assert store.count() == 1


def test_delete_many_counts_across_batches(store: SQLiteStore) -> None:
    records = [make_record(size=0) for _ in range(1500)]
    for record in records:
        store.save(record)
    assert store.delete_many([r.id for r in records] + [store_key(new_session_id())]) == 1500


# -- rowid hints -----------------------------------------------------------------------


def test_a_rowid_taken_over_by_another_record_never_serves_its_row(
    store: SQLiteStore, db_path: Path
) -> None:
    first, other = make_record(), make_record()
    store.save(first)
    assert store.load(first.id) == first  # the store now knows first's rowid
    connection = raw(db_path)
    (rowid,) = connection.execute(
        "SELECT rowid FROM sessionware_sessions WHERE id = ?", (first.id,)
    ).fetchone()
    connection.execute("DELETE FROM sessionware_sessions WHERE id = ?", (first.id,))
    connection.execute(
        "INSERT INTO sessionware_sessions (rowid, id, data, created_at, expires_at, version)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (rowid, other.id, other.data, other.created_at, other.expires_at, other.version),
    )
    connection.close()
    assert store.load(first.id) is None
    assert not store.save_if_version(make_record(first.id, version=2), 1)
    assert store.load(other.id) == other


def test_a_record_that_moved_to_another_rowid_still_loads_and_saves(
    store: SQLiteStore, db_path: Path
) -> None:
    record = make_record()
    store.save(record)
    assert store.load(record.id) == record
    connection = raw(db_path)
    connection.execute(
        "UPDATE sessionware_sessions SET rowid = rowid + 1000 WHERE id = ?", (record.id,)
    )
    connection.close()
    assert store.load(record.id) == record
    updated = make_record(record.id, version=2)
    assert store.save_if_version(updated, 1)
    assert store.load(record.id) == updated


def test_rowid_hints_are_bounded(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sessionware.stores.sqlite._rowids.RowidHints.LIMIT", 10)
    records = [make_record(size=10) for _ in range(25)]
    for record in records:
        store.save(record)
        assert store.load(record.id) == record
    assert len(store._rowids._rowids) <= 10


# -- damaged rows --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "created_at", "expires_at", "version", "user_id"),
    [
        ("text, not bytes", 1.0, 9e9, 1, None),
        (b"ok", "yesterday", 9e9, 1, None),
        (b"ok", 1.0, "tomorrow", 1, None),
        (b"ok", 1.0, b"\x00\xff", 1, None),
        (b"ok", 1.0, 9e9, "one", None),
        (b"ok", 1.0, 9e9, 1.5, None),
        (b"ok", 1.0, 9e9, 1, b"\xff\xfe"),
    ],
    ids=["data", "created", "expires-text", "expires-blob", "version-text", "version-real", "user"],
)
def test_a_row_with_wrong_types_reads_as_missing_and_is_removed(
    store: SQLiteStore,
    db_path: Path,
    data: object,
    created_at: object,
    expires_at: object,
    version: object,
    user_id: object,
) -> None:
    key = store_key(new_session_id())
    connection = raw(db_path)
    connection.execute(
        "INSERT INTO sessionware_sessions VALUES (?, ?, ?, ?, ?, ?)",
        (key, data, created_at, expires_at, version, user_id),
    )
    assert store.load(key) is None
    assert connection.execute("SELECT count(*) FROM sessionware_sessions").fetchone() == (0,)
    connection.close()


def test_rows_with_a_non_numeric_expiry_are_not_counted_and_are_purged(
    store: SQLiteStore, db_path: Path
) -> None:
    connection = raw(db_path)
    for expiry in ("garbage", b"\x01\x02"):
        connection.execute(
            "INSERT INTO sessionware_sessions VALUES (?, x'00', 1.0, ?, 1, NULL)",
            (store_key(new_session_id()), expiry),
        )
    store.save(make_record())
    assert store.count() == 1
    assert len(list(store.ids())) == 1
    assert store.purge_expired() == 2
    assert connection.execute("SELECT count(*) FROM sessionware_sessions").fetchone() == (1,)
    connection.close()


# -- processes and crashes -----------------------------------------------------------


def test_four_processes_of_a_thousand_mixed_requests_never_see_a_locked_database(
    db_path: Path,
) -> None:
    url = f"sqlite:///{db_path}"
    shared = [store_key(new_session_id()) for _ in range(10)]
    workers = [
        SPAWN.Process(target=mixed_requests, args=(url, shared, 1000, seed)) for seed in range(4)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(1.0, 240 - (time.monotonic() - started)))
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]


def test_a_writer_killed_mid_save_leaves_each_record_as_before_or_after(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/sessions.db"
    for _ in range(3):
        result = run_and_kill(url, tmp_path)
        store = sw.open_store(url)
        assert_before_or_after(store, result)
        store.close()


# -- full and read-only disks --------------------------------------------------------


def test_a_read_only_connection_makes_save_raise_a_store_error_naming_the_file(
    store: SQLiteStore, db_path: Path
) -> None:
    record = make_record()
    store.save(record)
    read_only = sw.open_store(f"sqlite:///{db_path}?mode=ro")
    try:
        assert read_only.load(record.id) == record
        with pytest.raises(StoreError, match=f"{db_path}.*readonly"):
            read_only.save(make_record())
    finally:
        read_only.close()


def test_a_full_disk_makes_save_raise_a_store_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", size="2m") as mount:
        store = SQLiteStore(mount / "sessions.db")
        store.setup()
        kept = make_record()
        store.save(kept)
        fill_up(mount)
        with pytest.raises(StoreError, match="full"):
            for _ in range(100):
                store.save(make_record(size=100_000))
        assert store.load(kept.id) == kept
        store.close()


def test_a_read_only_file_system_makes_save_raise_a_store_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as mount:
        store = SQLiteStore(mount / "sessions.db")
        store.setup()
        record = make_record()
        store.save(record)
        store.close()
        remount_read_only(mount)
        store = SQLiteStore(mount / "sessions.db")
        try:
            with pytest.raises(StoreError, match=str(mount)):
                store.save(make_record(record.id, version=2))
        finally:
            store.close()

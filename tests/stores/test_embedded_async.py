"""Loads on the event loop: the files, dbm and SQLite stores answer ``load_nowait``
from memory, and refuse (BlockingIOError, so ``ThreadedStore`` uses a thread)
whenever answering would wait for a lock or the disk, or would have to write."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sessionware.stores._embedded.nowait import ResidentFiles
from sessionware.stores.dbm import DbmStore
from sessionware.stores.files import FileStore
from sessionware.stores.sqlite import SQLiteStore
from sessionware.stores.threaded import ThreadedStore

from .embedded_support import make_record, refused_once_evicted, tmpfs

# -- files -------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Iterator[FileStore]:
    store = FileStore(tmp_path / "sessions")
    store.setup()
    yield store
    store.close()


def test_a_file_record_in_the_page_cache_loads_without_waiting(files: FileStore) -> None:
    record = make_record(user_id="alice")
    files.save(record)
    assert files.load_nowait(record.id) == record


def test_a_file_record_on_tmpfs_loads_without_waiting(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as mount:
        store = FileStore(mount / "sessions")
        store.setup()
        record = make_record()
        store.save(record)
        assert store.load_nowait(record.id) == record
        store.close()


def test_a_file_record_not_in_the_page_cache_is_left_to_a_thread(files: FileStore) -> None:
    record = make_record()
    files.save(record)
    assert refused_once_evicted(files.load_nowait, record.id, files._record_path(record.id))
    assert files.load(record.id) == record


def test_a_damaged_file_record_is_left_for_load_to_remove(files: FileStore) -> None:
    record = make_record()
    files.save(record)
    path = Path(files._record_path(record.id))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(BlockingIOError):
        files.load_nowait(record.id)
    assert path.exists()
    assert files.load(record.id) is None
    assert not path.exists()


def test_a_symlink_in_place_of_a_file_record_is_never_followed(
    files: FileStore, tmp_path: Path
) -> None:
    record, target = make_record(), make_record()
    files.save(record)
    files.save(target)
    path = Path(files._record_path(record.id))
    path.unlink()
    path.symlink_to(files._record_path(target.id))
    with pytest.raises(BlockingIOError):
        files.load_nowait(record.id)


def test_an_expired_file_record_loads_as_none_without_waiting(files: FileStore) -> None:
    record = make_record(expires_in=-1)
    files.save(record)
    assert files.load_nowait(record.id) is None


def test_a_missing_file_record_the_kernel_knows_is_missing_loads_as_none(
    files: FileStore,
) -> None:
    record = make_record()
    files.save(record)
    files.delete(record.id)
    assert files.load(record.id) is None  # the lookup leaves a "no such file" entry
    assert files.load_nowait(record.id) is None


def test_a_key_that_is_not_40_hex_chars_finds_nothing_without_waiting(files: FileStore) -> None:
    assert files.load_nowait("../../etc/passwd") is None


# -- dbm ---------------------------------------------------------------------------


@pytest.fixture
def dumb(tmp_path: Path) -> Iterator[DbmStore]:
    store = DbmStore(tmp_path / "sessions", flavour="dumb")
    store.setup()
    yield store
    store.close()


def test_a_dbm_record_in_the_page_cache_loads_without_waiting(dumb: DbmStore) -> None:
    record = make_record(user_id="alice")
    dumb.save(record)
    assert dumb.load_nowait(record.id) == record


def test_a_dbm_file_not_yet_open_is_left_to_a_thread(tmp_path: Path) -> None:
    store = DbmStore(tmp_path / "sessions", flavour="dumb")
    try:
        with pytest.raises(BlockingIOError):
            store.load_nowait(make_record().id)
    finally:
        store.close()


def test_a_dbm_load_while_another_thread_is_inside_the_store_is_left_to_a_thread(
    dumb: DbmStore,
) -> None:
    record = make_record()
    dumb.save(record)
    inside, leave = threading.Event(), threading.Event()

    def hold_the_store() -> None:
        with dumb._lock:
            inside.set()
            leave.wait(10)

    holder = threading.Thread(target=hold_the_store)
    holder.start()
    try:
        inside.wait(10)
        with pytest.raises(BlockingIOError):
            dumb.load_nowait(record.id)
    finally:
        leave.set()
        holder.join()
    assert dumb.load_nowait(record.id) == record


def test_a_dbm_value_not_in_the_page_cache_is_left_to_a_thread(
    dumb: DbmStore, tmp_path: Path
) -> None:
    record = make_record()
    dumb.save(record)
    assert refused_once_evicted(dumb.load_nowait, record.id, tmp_path / "sessions.dat")
    assert dumb.load(record.id) == record


def test_a_damaged_dbm_value_is_left_for_load_to_remove(dumb: DbmStore) -> None:
    record = make_record()
    dumb.save(record)
    dumb._handle().db[record.id.encode()] = b"garbage bytes, not a record"
    with pytest.raises(BlockingIOError):
        dumb.load_nowait(record.id)
    assert dumb.load(record.id) is None
    assert record.id.encode() not in dumb._handle()


# -- SQLite ------------------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


@pytest.fixture
def sqlite(db_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(db_path)
    store.setup()
    yield store
    store.close()


def ready(store: SQLiteStore, record_id: str) -> None:
    """The first load_nowait asks for its connection; the next load opens it."""
    with pytest.raises(BlockingIOError):
        store.load_nowait(record_id)
    store.load(record_id)


def test_sqlite_loads_without_waiting_once_a_load_opened_the_loop_connection(
    sqlite: SQLiteStore,
) -> None:
    record = make_record(user_id="alice")
    sqlite.save(record)
    ready(sqlite, record.id)
    assert sqlite.load_nowait(record.id) == record
    assert sqlite.load_nowait(make_record().id) is None


def test_sqlite_reads_the_last_commit_past_an_open_write_transaction(
    sqlite: SQLiteStore, db_path: Path
) -> None:
    record = make_record()
    sqlite.save(record)
    ready(sqlite, record.id)
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE sessionware_sessions SET version = 99")
    try:
        assert sqlite.load_nowait(record.id) == record
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def held_in_a_thread(lock: threading.Lock) -> tuple[threading.Thread, threading.Event]:
    """Another thread takes ``lock`` and holds it until the returned event is set."""
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    return thread, leave


def test_sqlite_refuses_at_once_while_another_thread_reads_through_the_loop_connection(
    sqlite: SQLiteStore,
) -> None:
    record = make_record()
    sqlite.save(record)
    ready(sqlite, record.id)
    assert sqlite._nowait is not None
    thread, leave = held_in_a_thread(sqlite._nowait.lock)
    try:
        with pytest.raises(BlockingIOError):
            sqlite.load_nowait(record.id)
    finally:
        leave.set()
        thread.join()
    assert sqlite.load_nowait(record.id) == record


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_load_that_would_wait_for_a_lock_waits_in_a_thread_instead() -> None:
    sync_store = SQLiteStore(":memory:")
    store = ThreadedStore(sync_store)
    await store.setup()
    record = make_record()
    await store.save(record)
    thread, leave = held_in_a_thread(sync_store._serial)
    started = time.monotonic()  # before the timer: the lock goes 0.2 s after this at least
    threading.Timer(0.2, leave.set).start()
    try:
        assert await store.load(record.id) == record
        assert time.monotonic() - started >= 0.15  # it waited for the lock, in a thread
    finally:
        leave.set()
        thread.join()
        await store.close()


def test_a_damaged_sqlite_row_is_left_for_load_to_remove(
    sqlite: SQLiteStore, db_path: Path
) -> None:
    record = make_record()
    sqlite.save(record)
    ready(sqlite, record.id)
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("UPDATE sessionware_sessions SET data = 'text, not bytes'")
    try:
        with pytest.raises(BlockingIOError):
            sqlite.load_nowait(record.id)
        assert raw.execute("SELECT count(*) FROM sessionware_sessions").fetchone() == (1,)
        assert sqlite.load(record.id) is None
        assert raw.execute("SELECT count(*) FROM sessionware_sessions").fetchone() == (0,)
    finally:
        raw.close()


def test_a_sqlite_database_not_in_the_page_cache_is_left_to_a_thread(
    sqlite: SQLiteStore, db_path: Path
) -> None:
    record = make_record()
    sqlite.save(record)
    ready(sqlite, record.id)
    assert sqlite.load_nowait(record.id) == record
    settle = ResidentFiles.INTERVAL + 0.05  # the files are checked this often
    paths = (db_path, f"{db_path}-wal")
    assert refused_once_evicted(sqlite.load_nowait, record.id, *paths, settle=settle)
    assert sqlite.load(record.id) == record


def test_a_rollback_journal_database_is_never_read_on_the_loop(db_path: Path) -> None:
    creator = SQLiteStore(db_path)
    creator.setup()  # the table, in WAL mode
    creator.close()
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("PRAGMA journal_mode = DELETE")
    raw.close()
    store = SQLiteStore(db_path, mode="ro")
    try:
        record_id = make_record().id
        for _ in range(3):
            with pytest.raises(BlockingIOError):
                store.load_nowait(record_id)
            assert store.load(record_id) is None
    finally:
        store.close()


def test_an_in_memory_sqlite_database_loads_without_waiting() -> None:
    store = SQLiteStore(":memory:")
    store.setup()
    try:
        record = make_record()
        store.save(record)
        assert store.load_nowait(record.id) == record
    finally:
        store.close()

"""The file store: conformance, URL forms, path safety, processes, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

import sessionware as sw
from sessionware.errors import StoreError, StoreUnavailable
from sessionware.stores.files import FileStore, InvalidKeyError
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance, StoreConformance

from .embedded_support import (
    SPAWN,
    assert_before_or_after,
    cas_incrementer,
    make_record,
    remount_read_only,
    run_and_kill,
    tmpfs,
)


class TestFileStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[FileStore]:
        store = FileStore(tmp_path / "sessions")
        store.setup()
        yield store
        store.close()


class TestThreadedFileStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[ThreadedStore]:
        store = ThreadedStore(FileStore(tmp_path / "sessions"))
        await store.setup()
        yield store
        await store.close()


# -- URLs and options --------------------------------------------------------------


def test_open_store_maps_a_file_url_to_a_directory(tmp_path: Path) -> None:
    store = sw.open_store(f"file://{tmp_path}/sessions?fsync=1")
    assert isinstance(store, FileStore)
    assert store.directory == str(tmp_path / "sessions")
    assert store.fsync is True
    assert (tmp_path / "sessions" / "data").is_dir()


def test_fsync_is_off_unless_asked(tmp_path: Path) -> None:
    assert FileStore.from_url(f"file://{tmp_path}").fsync is False


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="colour"):
        FileStore.from_url(f"file://{tmp_path}?colour=red")


def test_a_saved_record_survives_an_fsynced_write_and_a_new_store(tmp_path: Path) -> None:
    record = make_record()
    first = FileStore(tmp_path, fsync=True)
    first.setup()
    first.save(record)
    first.close()
    assert FileStore(tmp_path).load(record.id) == record


def test_records_are_sharded_two_levels_deep(store_dir: Path, store: FileStore) -> None:
    record = make_record()
    store.save(record)
    key = record.id
    assert (store_dir / "data" / key[:2] / key[2:4] / key).is_file()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_open_async_store_serves_files_through_threads(tmp_path: Path) -> None:
    store = await sw.open_async_store(f"file://{tmp_path}")
    try:
        assert isinstance(store, ThreadedStore)
        record = make_record()
        await store.save(record)
        assert await store.load(record.id) == record
    finally:
        await store.close()


# -- keys and paths ----------------------------------------------------------------


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def store(store_dir: Path) -> Iterator[FileStore]:
    store = FileStore(store_dir)
    store.setup()
    yield store
    store.close()


BAD_KEYS = ["../../../etc/passwd", "A" * 40, "0" * 39, "0" * 41, "", "0" * 38 + "/.", "g" * 40]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_saving_under_a_key_that_is_not_40_hex_chars_is_refused(store: FileStore, key: str) -> None:
    with pytest.raises(InvalidKeyError):
        store.save(make_record(key))


@pytest.mark.parametrize("key", BAD_KEYS)
def test_loading_or_deleting_a_bad_key_finds_nothing(store: FileStore, key: str) -> None:
    assert store.load(key) is None
    assert store.delete(key) == 0
    assert store.save_if_version(make_record(), 0) is True  # the store still works


def test_a_symlink_in_place_of_a_record_is_not_followed(
    store: FileStore, store_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not yours")
    record = make_record()
    path = store_dir / "data" / record.id[:2] / record.id[2:4] / record.id
    path.parent.mkdir(parents=True)
    path.symlink_to(secret)
    assert store.load(record.id) is None
    store.save(record)
    assert secret.read_bytes() == b"not yours"
    assert not path.is_symlink()
    assert store.load(record.id) == record


def test_a_symlink_planted_as_the_temporary_file_is_not_followed(
    store: FileStore, store_dir: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not yours")
    record = make_record()
    path = store_dir / "data" / record.id[:2] / record.id[2:4] / record.id
    path.parent.mkdir(parents=True)
    Path(f"{path}.tmp").symlink_to(secret)
    store.save(record)
    assert secret.read_bytes() == b"not yours"
    assert store.load(record.id) == record


# -- the user index ----------------------------------------------------------------


def test_ids_for_user_reads_the_users_markers_only(store: FileStore, store_dir: Path) -> None:
    mine = make_record(user_id="alice")
    store.save(mine)
    user_dirs = [p for p in (store_dir / "users").rglob("*") if p.is_dir() and len(p.name) == 40]
    assert [sorted(p.name for p in d.iterdir()) for d in user_dirs] == [[mine.id]]
    assert store.ids_for_user("alice") == [mine.id]


def test_a_stale_user_marker_is_dropped_when_read(store: FileStore) -> None:
    record = make_record(user_id="alice")
    store.save(record)
    path = store._record_path(record.id)
    Path(path).unlink()  # the record vanishes behind the store's back
    assert store.ids_for_user("alice") == []
    store.save(make_record(user_id="alice"))
    assert len(store.ids_for_user("alice")) == 1


# -- damaged files -----------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: b"garbage" * 10,
        lambda blob: blob[: len(blob) // 2],
        lambda blob: blob[:20],
        lambda blob: b"",
        lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),
        lambda blob: blob + b"trailing",
    ],
    ids=["garbage", "half", "torn-header", "empty", "flipped-bit", "trailing-bytes"],
)
@pytest.mark.parametrize("user_id", ["alice", None], ids=["with-user", "without-user"])
def test_a_damaged_record_file_reads_as_missing_and_is_removed(
    store: FileStore, damage: Any, user_id: str | None
) -> None:
    record = make_record(size=20_000, user_id=user_id)
    store.save(record)
    path = Path(store._record_path(record.id))
    path.write_bytes(damage(path.read_bytes()))
    assert store.load(record.id) is None
    assert not path.exists()
    assert store.ids_for_user("alice") == []


def test_damaged_files_are_not_counted_and_are_purged(store: FileStore) -> None:
    good, bad = make_record(), make_record()
    store.save(good)
    store.save(bad)
    Path(store._record_path(bad.id)).write_bytes(b"\x00" * 100)
    assert store.count() == 1
    assert list(store.ids()) == [good.id]
    assert store.purge_expired() == 1
    assert not Path(store._record_path(bad.id)).exists()


def test_purge_removes_temporary_files_a_crash_left_behind(store: FileStore) -> None:
    record = make_record()
    store.save(record)
    leftover = Path(store._record_path(record.id) + ".tmp")
    leftover.write_bytes(b"half a rec")
    store.purge_expired()
    assert not leftover.exists()
    assert store.load(record.id) == record


# -- processes and crashes -----------------------------------------------------------


def test_compare_and_set_is_atomic_across_processes(store_dir: Path, store: FileStore) -> None:
    key = make_record().id
    store.save(make_record(key, size=0, version=1))
    workers = [
        SPAWN.Process(target=cas_incrementer, args=(f"file://{store_dir}", key, 150))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    final = store.load(key)
    assert final is not None
    assert final.version == 1 + 4 * 150
    assert len(final.data) == 4 * 150


def test_a_writer_killed_mid_save_leaves_each_record_as_before_or_after(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/sessions"
    for _ in range(3):
        result = run_and_kill(url, tmp_path)
        store = sw.open_store(url)
        assert_before_or_after(store, result)
        store.close()


# -- full and read-only disks --------------------------------------------------------


def test_a_full_disk_makes_save_raise_a_store_error_naming_the_path(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", size="1m") as mount:
        store = FileStore(mount / "sessions")
        store.setup()
        small = make_record()
        store.save(small)
        with pytest.raises(StoreError, match=str(mount)):
            store.save(make_record(size=2_000_000))
        assert store.load(small.id) == small  # the old data is intact
        assert not list((mount / "sessions" / "data").rglob("*.tmp"))
        store.close()


def test_a_read_only_file_system_makes_save_raise_a_store_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as mount:
        store = FileStore(mount / "sessions")
        store.setup()
        record = make_record()
        store.save(record)
        store.close()
        remount_read_only(mount)
        store = FileStore(mount / "sessions")
        assert store.load(record.id) == record
        with pytest.raises(StoreError, match="Read-only file system"):
            store.save(make_record(record.id, version=2))


def test_setup_in_an_unwritable_place_is_store_unavailable(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as mount:
        remount_read_only(mount)
        with pytest.raises(StoreUnavailable, match=str(mount)):
            FileStore(mount / "sessions").setup()

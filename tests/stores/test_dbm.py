"""The dbm store: conformance (default flavour and dbm.dumb), one process, faults."""

from __future__ import annotations

import contextlib
import dbm.dumb
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import sessionware as sw
from sessionware.errors import StoreError, StoreUnavailable
from sessionware.stores.dbm import DbmStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance, StoreConformance

from .embedded_support import (
    SPAWN,
    assert_before_after_or_missing,
    make_record,
    open_and_exit_with_verdict,
    remount_read_only,
    run_and_kill,
    tmpfs,
)


@pytest.fixture(params=[None, "dumb"], ids=["default", "dumb"])
def flavour(request: pytest.FixtureRequest) -> str | None:
    return request.param  # type: ignore[no-any-return]


class TestDbmStore(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path, flavour: str | None) -> Iterator[DbmStore]:
        store = DbmStore(tmp_path / "sessions", flavour=flavour)
        store.setup()
        yield store
        store.close()


class TestThreadedDbmStore(AsyncStoreConformance):
    @pytest.fixture
    async def store(self, tmp_path: Path, flavour: str | None) -> AsyncIterator[ThreadedStore]:
        store = ThreadedStore(DbmStore(tmp_path / "sessions", flavour=flavour))
        await store.setup()
        yield store
        await store.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def store(path: Path, flavour: str | None) -> Iterator[DbmStore]:
    store = DbmStore(path, flavour=flavour)
    store.setup()
    yield store
    store.close()


# -- URLs and options --------------------------------------------------------------


def test_open_store_maps_a_dbm_url_to_a_file(tmp_path: Path) -> None:
    store = sw.open_store(f"dbm://{tmp_path}/sessions.dbm?flavour=dumb")
    try:
        assert isinstance(store, DbmStore)
        assert store.path == str(tmp_path / "sessions.dbm")
        assert store.flavour == "dumb"
        assert (tmp_path / "sessions.dbm.dat").exists()
    finally:
        store.close()


def test_an_unknown_flavour_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flavour"):
        DbmStore.from_url(f"dbm://{tmp_path}/x?flavour=berkeley")


def test_an_unknown_option_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="colour"):
        DbmStore.from_url(f"dbm://{tmp_path}/x?colour=red")


def test_records_survive_closing_and_reopening(path: Path, flavour: str | None) -> None:
    record = make_record(user_id="alice")
    first = DbmStore(path, flavour=flavour)
    first.save(record)
    first.close()
    second = DbmStore(path, flavour=flavour)
    try:
        assert second.load(record.id) == record
        assert second.ids_for_user("alice") == [record.id]
    finally:
        second.close()


@pytest.mark.parametrize("key", ["../x", "A" * 40, "u:" + "0" * 38, ""])
def test_a_key_that_is_not_40_hex_chars_is_refused(store: DbmStore, key: str) -> None:
    with pytest.raises(ValueError, match="40 lowercase hex"):
        store.save(make_record(key))
    assert store.load(key) is None
    assert store.delete(key) == 0


# -- one process, many threads -------------------------------------------------------


def test_a_second_store_on_the_same_file_is_refused(store: DbmStore, path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="another process"):
        DbmStore(path).setup()


def test_another_process_cannot_open_a_file_in_use(store: DbmStore, path: Path) -> None:
    child = SPAWN.Process(target=open_and_exit_with_verdict, args=(str(path),))
    child.start()
    child.join(30)
    assert child.exitcode == 3  # StoreUnavailable


def test_the_file_is_free_again_after_close(path: Path) -> None:
    DbmStore(path).close()  # closing a store that never opened its file
    first = DbmStore(path)
    first.setup()
    record = make_record()
    first.save(record)
    first.close()
    # The same process can open it again, and finds what the first store wrote...
    second = DbmStore(path)
    second.setup()
    assert second.load(record.id) == record
    second.close()
    # ...and so can another process, which is refused while a store holds the file.
    child = SPAWN.Process(target=open_and_exit_with_verdict, args=(str(path),))
    child.start()
    child.join(30)
    assert child.exitcode == 0


def test_threads_share_one_store_safely(store: DbmStore) -> None:
    records = [make_record(user_id=f"u{i % 5}", size=64) for i in range(800)]

    def writer(chunk: list[sw.Record]) -> None:
        for record in chunk:
            store.save(record)
            assert store.load(record.id) == record
            store.touch_many({record.id: record.expires_at + 10})

    threads = [threading.Thread(target=writer, args=(records[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count() == 800
    assert sum(len(store.ids_for_user(f"u{i}")) for i in range(5)) == 800


# -- remembered headers -------------------------------------------------------------


def test_compare_and_set_reads_afresh_what_changed_while_the_store_was_closed(
    path: Path,
) -> None:
    record = make_record()
    store = DbmStore(path, flavour="dumb")
    store.save(record)
    assert store.load(record.id) == record
    store.close()
    other = DbmStore(path, flavour="dumb")
    other.save(make_record(record.id, version=5))
    other.close()
    try:
        assert not store.save_if_version(make_record(record.id, version=2), 1)
        assert store.save_if_version(make_record(record.id, version=6), 5)
    finally:
        store.close()


def test_the_headers_remembered_for_saves_are_bounded(
    store: DbmStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sessionware.stores.dbm._headers.KNOWN_LIMIT", 10)
    records = [make_record(size=10) for _ in range(25)]
    for record in records:
        store.save(record)
    assert len(store._known) == 10
    assert all(store.load(record.id) == record for record in records)


def test_a_save_that_fails_leaves_nothing_remembered_about_its_record(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", size="1m") as mount:
        store = DbmStore(mount / "sessions", flavour="dumb")
        small = make_record()
        store.save(small)
        with pytest.raises(StoreError):
            store.save(make_record(small.id, size=2_000_000, version=2))
        current = store.load(small.id)
        version = 0 if current is None else current.version
        assert store.save_if_version(make_record(small.id, version=version + 1), version)
        with contextlib.suppress(StoreError):
            store.close()


# -- damage and crashes --------------------------------------------------------------


def test_a_damaged_value_reads_as_missing_and_is_removed(path: Path) -> None:
    good, bad = make_record(), make_record(user_id="alice")
    store = DbmStore(path, flavour="dumb")
    store.save(good)
    store.save(bad)
    store.close()
    with dbm.dumb.open(str(path), "w") as raw:
        raw[bad.id.encode()] = b"garbage bytes, not a record"
    store = DbmStore(path, flavour="dumb")
    try:
        assert store.count() == 1
        assert store.load(bad.id) is None
        assert bad.id.encode() not in store._handle()
        assert store.ids_for_user("alice") == []
        assert store.load(good.id) == good
    finally:
        store.close()


def test_a_torn_dumb_index_line_is_repaired_on_open(path: Path) -> None:
    kept, torn = make_record(), make_record()
    store = DbmStore(path, flavour="dumb")
    store.save(kept)
    store.save(torn)
    store.close()
    index = Path(f"{path}.dir")
    index.write_bytes(index.read_bytes()[:-12])  # cut the last line mid-way
    store = DbmStore(path, flavour="dumb")
    try:
        assert store.load(kept.id) == kept
        assert store.load(torn.id) is None
    finally:
        store.close()


def test_a_missing_dumb_index_is_restored_from_its_backup(path: Path) -> None:
    record = make_record()
    store = DbmStore(path, flavour="dumb")
    store.save(record)
    store.close()  # writes .dir; keep a copy as dumb's own .bak would be
    Path(f"{path}.bak").write_bytes(Path(f"{path}.dir").read_bytes())
    Path(f"{path}.dir").unlink()  # killed between dumb's rename and rewrite
    store = DbmStore(path, flavour="dumb")
    try:
        assert store.load(record.id) == record
    finally:
        store.close()


def test_a_writer_killed_mid_save_never_leaves_a_damaged_session(tmp_path: Path) -> None:
    """dbm.dumb rewrites values in place, so a kill can tear one: this checks what it
    does promise for sessions that do not grow (sizes here alternate, and the store
    pads the shorter ones): the file reopens, and every session is missing (torn) or
    the version before or after, never damaged data."""
    url = f"dbm://{tmp_path}/sessions?flavour=dumb"
    for _ in range(3):
        result = run_and_kill(url, tmp_path)
        store = sw.open_store(url)
        assert_before_after_or_missing(store, result)
        store.close()


# -- full and read-only disks --------------------------------------------------------


def test_a_full_disk_makes_save_raise_a_store_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", size="1m") as mount:
        store = DbmStore(mount / "sessions", flavour="dumb")
        small = make_record()
        store.save(small)
        with pytest.raises(StoreError, match=str(mount)):
            store.save(make_record(size=2_000_000))
        assert store.load(small.id) == small
        with contextlib.suppress(StoreError):  # dumb writes its index on close: may fail too
            store.close()


def test_a_read_only_file_system_makes_opening_unavailable(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt") as mount:
        store = DbmStore(mount / "sessions", flavour="dumb")
        store.save(make_record())
        store.close()
        remount_read_only(mount)
        with pytest.raises(StoreUnavailable, match=str(mount)):
            DbmStore(mount / "sessions", flavour="dumb").setup()

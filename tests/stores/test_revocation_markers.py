"""Per-user revocation markers (``mark_user_revoked`` / ``user_revoked_at``) in every
store: later times win, markers are not sessions, and ``delete_all`` and
``purge_expired`` remove them. Two store objects on one database (two connections)
see each other's markers, which is what makes ``revoke_user`` final across
processes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from sessionware.core.record import Record
from sessionware.stores.dbm import DbmStore
from sessionware.stores.files import FileStore
from sessionware.stores.memory import MemoryStore
from sessionware.stores.sqlite import SQLiteStore

USER = "alice"
WEIRD_USER = "../ü ser/'\"; DROP TABLE x; --{slot}/" + "x" * 5000
KEY = "ab" * 20

Opener = Callable[[], Any]  # a new store object on the same database


def _file(tmp_path: Path) -> Opener:
    return lambda: FileStore(tmp_path / "files")


def _sqlite(tmp_path: Path) -> Opener:
    return lambda: SQLiteStore(tmp_path / "sessions.db")


def _dbm(tmp_path: Path) -> Opener:
    return lambda: DbmStore(tmp_path / "sessions.dbm")


def _memory(tmp_path: Path) -> Opener:
    store = MemoryStore()
    return lambda: store


# dbm and memory are one-process stores: no second store object on the same data.
SHARED = {"file": _file, "sqlite": _sqlite}
ALL = {**SHARED, "dbm": _dbm, "memory": _memory}


@pytest.fixture
def opened(tmp_path: Path) -> Iterator[Callable[[Opener], Any]]:
    with ExitStack() as stack:

        def open_one(opener: Opener) -> Any:
            store = opener()
            store.setup()
            stack.callback(store.close)
            return store

        yield open_one


@pytest.fixture(params=sorted(ALL))
def store(request: pytest.FixtureRequest, tmp_path: Path, opened: Any) -> Any:
    return opened(ALL[request.param](tmp_path))


@pytest.fixture(params=sorted(SHARED))
def two_stores(request: pytest.FixtureRequest, tmp_path: Path, opened: Any) -> tuple[Any, Any]:
    opener = SHARED[request.param](tmp_path)
    return opened(opener), opened(opener)


def record(user_id: str | None = USER, key: str = KEY) -> Record:
    now = time.time()
    return Record(key, b"data", now, now + 3600, 1, user_id)


def test_a_user_never_revoked_has_no_marker(store: Any) -> None:
    assert store.user_revoked_at(USER) is None


def test_a_marker_gives_back_its_revocation_time(store: Any) -> None:
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert store.user_revoked_at(USER) == 100.0
    assert store.user_revoked_at("bob") is None


def test_a_later_revocation_moves_the_marker_forward(store: Any) -> None:
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    store.mark_user_revoked(USER, 200.0, time.time() + 60)
    assert store.user_revoked_at(USER) == 200.0


def test_an_earlier_revocation_never_moves_the_marker_back(store: Any) -> None:
    store.mark_user_revoked(USER, 200.0, time.time() + 60)
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert store.user_revoked_at(USER) == 200.0


def test_a_shorter_keep_until_never_shortens_the_marker(store: Any) -> None:
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    store.mark_user_revoked(USER, 200.0, time.time() - 1)
    assert store.user_revoked_at(USER) == 200.0
    store.purge_expired()
    assert store.user_revoked_at(USER) == 200.0


def test_a_marker_past_its_keep_until_is_not_reported(store: Any) -> None:
    store.mark_user_revoked(USER, 100.0, time.time() - 1)
    assert store.user_revoked_at(USER) is None


def test_markers_are_not_sessions(store: Any) -> None:
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert list(store.ids()) == []
    assert store.count() == 0
    assert store.ids_for_user(USER) == []


def test_a_marker_leaves_the_users_sessions_alone(store: Any) -> None:
    store.save(record())
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert list(store.ids()) == [KEY]
    assert store.count() == 1
    assert store.ids_for_user(USER) == [KEY]
    loaded = store.load(KEY)
    assert loaded is not None
    assert loaded.data == b"data"


def test_delete_all_removes_markers(store: Any) -> None:
    store.save(record())
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert store.delete_all() == 1  # the count is of sessions
    assert store.user_revoked_at(USER) is None


def test_purge_removes_markers_once_kept_long_enough(store: Any) -> None:
    keep_until = time.time() + 60
    store.mark_user_revoked(USER, 100.0, keep_until)
    store.mark_user_revoked("bob", 100.0, keep_until + 100)
    assert store.purge_expired(keep_until - 1) == 0  # a marker is not a session
    assert store.user_revoked_at(USER) == 100.0
    store.purge_expired(keep_until + 1)
    assert store.user_revoked_at(USER) is None  # gone: a later mark starts afresh
    store.mark_user_revoked(USER, 50.0, time.time() + 60)
    assert store.user_revoked_at(USER) == 50.0
    assert store.user_revoked_at("bob") == 100.0


def test_any_user_id_string_works(store: Any) -> None:
    store.mark_user_revoked(WEIRD_USER, 100.0, time.time() + 60)
    assert store.user_revoked_at(WEIRD_USER) == 100.0
    assert store.user_revoked_at(WEIRD_USER[:-1]) is None
    assert list(store.ids()) == []


def test_two_store_objects_see_each_others_markers(two_stores: tuple[Any, Any]) -> None:
    first, second = two_stores
    first.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert second.user_revoked_at(USER) == 100.0
    second.mark_user_revoked(USER, 50.0, time.time() + 60)
    second.mark_user_revoked(USER, 300.0, time.time() + 60)
    assert first.user_revoked_at(USER) == 300.0


def test_setup_adds_the_marker_table_to_an_existing_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SQLiteStore(path)
    old.setup()
    old.save(record())
    with sqlite3.connect(path) as connection:  # as a version without markers left it
        connection.execute("DROP TABLE sessionware_sessions_revocations")
    store = SQLiteStore(path)
    store.setup()
    store.mark_user_revoked(USER, 100.0, time.time() + 60)
    assert store.user_revoked_at(USER) == 100.0
    assert store.ids_for_user(USER) == [KEY]
    store.close()
    old.close()

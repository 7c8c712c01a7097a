"""Requests through the async manager on the embedded stores: a read-only request
is answered on the event loop, and a writing one hands only its save to a thread."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import sessionware as sw
from sessionware.core.record import Record
from sessionware.stores.dbm import DbmStore
from sessionware.stores.files import FileStore
from sessionware.stores.sqlite import SQLiteStore
from sessionware.stores.threaded import ThreadedStore

from ..conftest import SECRET

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["asyncio"])]


def noting_threads(store_class: type[Any]) -> type[Any]:
    """``store_class``, noting the thread of every load and save it runs."""

    class Noting(store_class):  # type: ignore[misc]  # a base class chosen at runtime
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.ran_in: list[tuple[str, str]] = []

        def load(self, id: str) -> Record | None:
            self.ran_in.append(("load", threading.current_thread().name))
            result: Record | None = super().load(id)
            return result

        def save_if_version(self, record: Record, expected_version: int) -> bool:
            self.ran_in.append(("save", threading.current_thread().name))
            result: bool = super().save_if_version(record, expected_version)
            return result

    return Noting


STORES = {
    "file": lambda tmp: noting_threads(FileStore)(tmp / "sessions"),
    "dbm": lambda tmp: noting_threads(DbmStore)(tmp / "sessions", flavour="dumb"),
    "sqlite": lambda tmp: noting_threads(SQLiteStore)(tmp / "sessions.db"),
}


@pytest.fixture(params=sorted(STORES))
def sync_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return STORES[request.param](tmp_path)


@pytest.fixture
async def manager(sync_store: Any) -> AsyncIterator[sw.AsyncSessionManager]:
    store = ThreadedStore(sync_store)
    await store.setup()
    manager = sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=None)
    yield manager
    await manager.close()


async def new_session(manager: sw.AsyncSessionManager) -> str:
    async with manager.scope(None) as session:
        session["cart"] = [1, 2]
    cookie = session.cookie_value
    assert cookie is not None
    async with manager.scope(cookie) as session:  # the first load may open files
        assert session["cart"] == [1, 2]
    return cookie


async def test_read_only_requests_run_no_store_operation_in_a_thread(
    manager: sw.AsyncSessionManager, sync_store: Any
) -> None:
    cookie = await new_session(manager)
    sync_store.ran_in.clear()
    for _ in range(20):
        async with manager.scope(cookie) as session:
            assert session["cart"] == [1, 2]
    assert sync_store.ran_in == []


async def test_a_writing_request_hands_only_its_save_to_a_thread(
    manager: sw.AsyncSessionManager, sync_store: Any
) -> None:
    cookie = await new_session(manager)
    sync_store.ran_in.clear()
    async with manager.scope(cookie) as session:
        session["cart"] = [1, 2, 3]
    assert [operation for operation, _ in sync_store.ran_in] == ["save"]
    assert sync_store.ran_in[0][1].startswith("sessionware-store")
    async with manager.scope(cookie) as session:
        assert session["cart"] == [1, 2, 3]


@pytest.mark.parametrize(
    "url", ["file://{dir}/sessions", "dbm://{dir}/sessions.dbm", "sqlite:///{dir}/sessions.db"]
)
async def test_open_async_store_runs_embedded_stores_in_threads_with_loads_on_the_loop(
    tmp_path: Path, url: str
) -> None:
    store = await sw.open_async_store(url.format(dir=tmp_path))
    try:
        assert isinstance(store, ThreadedStore)
        record = Record("ab" * 20, b"data", 1.0, 9e9, 1, None)
        await store.save(record)
        assert await store.load(record.id) == record  # the first may open files, in a thread
        sync_store = store.sync_store
        assert isinstance(sync_store, (FileStore, DbmStore, SQLiteStore))
        assert sync_store.load_nowait(record.id) == record
    finally:
        await store.close()

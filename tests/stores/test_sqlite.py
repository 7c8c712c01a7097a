"""The SQLite store: conformance, URL forms, many processes, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sessionware.stores.sqlite import SQLiteStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance, StoreConformance


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

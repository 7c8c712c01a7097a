"""The file store: conformance, URL forms, path safety, processes, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sessionware.stores.files import FileStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance, StoreConformance


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

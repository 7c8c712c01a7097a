"""The dbm store: conformance (default flavour and dbm.dumb), one process, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from sessionware.stores.dbm import DbmStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.testing import AsyncStoreConformance, StoreConformance


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

"""The typed seam: ``Store``/``AsyncStore`` are what a store must provide, and the
revocation markers are their optional part (``RevocationMarkers``), found at runtime
through proxies and wrappers. A third-party store without them type-checks as a
store, serves a manager (which warns), and its managers never call them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Mapping

import pytest

import sessionware as sw
from sessionware._async.revocation import revocation_markers as async_revocation_markers
from sessionware._sync.revocation import revocation_markers
from sessionware.core.record import Record
from sessionware.stores.base import AsyncRevocationMarkers, RevocationMarkers
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.stores.threaded import ThreadedStore
from sessionware.stores.tiered import AsyncTieredStore, TieredStore

from .conftest import SECRET


class NoMarkers:
    """A third-party store with every ``Store`` operation and no revocation markers."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def setup(self) -> None:
        self._inner.setup()

    def load(self, id: str) -> Record | None:
        return self._inner.load(id)

    def save(self, record: Record) -> None:
        self._inner.save(record)

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        return self._inner.save_if_version(record, expected_version)

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        self._inner.touch_many(expiries)

    def delete(self, id: str) -> int:
        return self._inner.delete(id)

    def delete_many(self, ids: Iterable[str]) -> int:
        return self._inner.delete_many(ids)

    def delete_all(self) -> int:
        return self._inner.delete_all()

    def ids(self) -> Iterator[str]:
        return self._inner.ids()

    def count(self) -> int:
        return self._inner.count()

    def ids_for_user(self, user_id: str) -> list[str]:
        return self._inner.ids_for_user(user_id)

    def purge_expired(self, now: float | None = None) -> int:
        return self._inner.purge_expired(now)

    def close(self) -> None:
        self._inner.close()


def test_a_store_without_markers_is_a_store_but_keeps_no_markers() -> None:
    store: sw.Store = NoMarkers()  # mypy checks this line: the protocol is satisfied
    assert isinstance(store, sw.Store)
    assert not isinstance(store, RevocationMarkers)
    assert revocation_markers(store) is None
    assert revocation_markers(sw.StoreProxy(store)) is None


def test_the_built_in_stores_keep_markers_through_their_wrappers() -> None:
    memory = MemoryStore()
    assert isinstance(memory, RevocationMarkers)
    assert revocation_markers(memory) is memory
    proxy = sw.StoreProxy(memory)
    assert revocation_markers(proxy) is proxy
    threaded = ThreadedStore(memory)
    assert isinstance(threaded, AsyncRevocationMarkers)
    assert async_revocation_markers(threaded) is threaded


def test_a_wrapper_around_a_store_without_markers_keeps_none() -> None:
    # The wrappers have the marker methods; the store they wrap decides.
    assert async_revocation_markers(ThreadedStore(NoMarkers())) is None
    tiered = TieredStore(MemoryStore(), NoMarkers(), single_process=True)
    assert revocation_markers(tiered) is None
    with pytest.raises(AttributeError, match="keeps no revocation markers"):
        tiered.user_revoked_at("alice")


def test_a_manager_on_a_store_without_markers_warns_and_revokes_all_the_same(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        manager = sw.SessionManager(NoMarkers(), secret_key=SECRET)
    assert "keeps no revocation markers" in caplog.text
    with manager.scope(None) as session:
        manager.login(session, "alice")
        session["a"] = 1
    assert manager.revoke_user("alice") == 1
    with manager.scope(session.cookie_value) as again:
        assert again.is_new
    manager.close()


def test_an_async_manager_on_a_threaded_store_without_markers_works() -> None:
    async def main() -> None:
        manager = sw.AsyncSessionManager(ThreadedStore(NoMarkers()), secret_key=SECRET)
        async with manager.scope(None) as session:
            await manager.login(session, "alice")
            session["a"] = 1
        assert await manager.revoke_user("alice") == 1
        await manager.close()

    asyncio.run(main())


def test_a_tiered_store_takes_typed_tiers() -> None:
    store = AsyncTieredStore(AsyncMemoryStore(), AsyncMemoryStore(), single_process=True)
    assert async_revocation_markers(store) is store

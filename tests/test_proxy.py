"""StoreProxy: intercept some store operations, pass the rest straight through."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

import sessionware as sw
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.testing._sync.conformance import make_record

from .conftest import SECRET


def as_store(proxy: sw.StoreProxy) -> sw.Store:
    """The proxy as the store it is at runtime: its overrides take the wrapped method
    first (``load(self, call, id)``), which is not the signature callers use."""
    return proxy


def as_async_store(proxy: sw.StoreProxy) -> sw.AsyncStore:
    return proxy


class LoadLog(sw.StoreProxy):
    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.log: list[str] = []

    def load(self, call: Any, id: str) -> Any:
        self.log.append(f"load {id}")
        return call(id)


class Upper(sw.StoreProxy):
    def load(self, call: Any, id: str) -> Any:
        record = call(id)
        return None if record is None else msgspec.structs.replace(record, data=record.data.upper())


def test_an_overridden_operation_is_intercepted() -> None:
    proxy = LoadLog(MemoryStore())
    record = make_record()
    proxy.save(record)
    assert as_store(proxy).load(record.id) == record
    assert proxy.log == [f"load {record.id}"]


def test_operations_not_overridden_go_straight_to_the_store() -> None:
    store = MemoryStore()
    proxy = LoadLog(store)
    assert proxy.save == store.save
    assert proxy.count == store.count


def test_proxies_stack() -> None:
    store = MemoryStore()
    logged = LoadLog(store)
    stacked = Upper(logged)
    record = make_record(data=b"abc")
    stacked.save(record)
    loaded = as_store(stacked).load(record.id)
    assert loaded is not None
    assert loaded.data == b"ABC"
    assert logged.log == [f"load {record.id}"]


def test_a_proxy_wraps_an_async_store_too() -> None:
    class AsyncLog(sw.StoreProxy):
        seen: list[str] = []

        async def load(self, call: Any, id: str) -> Any:
            self.seen.append(id)
            return await call(id)

    async def main() -> None:
        proxy = AsyncLog(AsyncMemoryStore())
        record = make_record()
        await proxy.save(record)
        assert await as_async_store(proxy).load(record.id) == record
        assert proxy.seen == [record.id]

    asyncio.run(main())


def test_a_proxied_store_serves_a_manager() -> None:
    proxy = LoadLog(MemoryStore())
    manager = sw.SessionManager(proxy, secret_key=SECRET)
    with manager.scope(None) as session:
        session["a"] = 1
    with manager.scope(session.cookie_value) as again:
        assert again["a"] == 1
    assert len(proxy.log) == 1


def test_every_store_operation_can_be_intercepted() -> None:
    from sessionware.stores.base import STORE_OPERATIONS

    seen: list[str] = []

    def interceptor(operation: str) -> Any:
        def intercept(self: Any, call: Any, *args: Any) -> Any:
            seen.append(operation)
            return call(*args)

        return intercept

    every_op = type("EveryOp", (sw.StoreProxy,), {op: interceptor(op) for op in STORE_OPERATIONS})
    proxy = every_op(MemoryStore())
    record = make_record()
    proxy.setup()
    proxy.save(record)
    assert proxy.save_if_version(record, 1)
    proxy.touch_many({record.id: record.expires_at})
    assert proxy.load(record.id) is not None
    assert list(proxy.ids()) == [record.id]
    assert proxy.count() == 1
    assert proxy.ids_for_user("nobody") == []
    proxy.mark_user_revoked("nobody", 1.0, 4_000_000_000.0)
    assert proxy.user_revoked_at("nobody") == 1.0
    assert proxy.purge_expired() == 0
    assert proxy.newest(5) == [record]
    assert proxy.delete_if_version(record.id, 0) is False
    assert proxy.delete(record.id) == 1
    assert proxy.delete_many([record.id]) == 0
    assert proxy.delete_all() == 0
    proxy.close()
    assert sorted(seen) == sorted(STORE_OPERATIONS)


def test_a_subclass_can_extend_an_override_with_super() -> None:
    class Counted(LoadLog):
        def load(self, call: Any, id: str) -> Any:
            self.log.append("counted")
            return super().load(call, id)

    proxy = Counted(MemoryStore())
    record = make_record()
    proxy.save(record)
    assert as_store(proxy).load(record.id) == record
    assert proxy.log == ["counted", f"load {record.id}"]


def test_keyword_arguments_reach_the_store_through_a_proxy() -> None:
    class Purge(sw.StoreProxy):
        def purge_expired(self, call: Any, now: float | None = None) -> Any:
            return call(now=now)

    store = MemoryStore()
    store.save(make_record(expires_in=10))
    assert as_store(Purge(store)).purge_expired(now=10**12) == 1


def test_backend_specific_attributes_stay_reachable_through_a_proxy() -> None:
    store = MemoryStore()
    store.custom_setting = 42  # type: ignore[attr-defined]
    assert LoadLog(LoadLog(store)).custom_setting == 42

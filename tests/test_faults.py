"""FaultInjector: make chosen store operations fail, for chaos tests of anything."""

from __future__ import annotations

import asyncio

import pytest

import sessionware as sw
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.testing import FaultInjector
from sessionware.testing._sync.conformance import make_record

from .conftest import SECRET


def test_a_named_operation_raises_the_given_exception() -> None:
    error = sw.StoreUnavailable("memory://", "down")
    store = FaultInjector(MemoryStore(), fail={"save_if_version": error})
    with pytest.raises(sw.StoreUnavailable) as raised:
        store.save_if_version(make_record(), 0)
    assert raised.value is error
    assert store.count() == 0
    assert store.injected["save_if_version"] == 1


def test_an_exception_class_is_raised_with_a_message_naming_the_operation() -> None:
    store = FaultInjector(MemoryStore(), fail={"load": TimeoutError})
    with pytest.raises(TimeoutError, match="injected fault in load"):
        store.load("0" * 40)


def test_other_operations_work_normally() -> None:
    store = FaultInjector(MemoryStore(), fail={"load": TimeoutError})
    record = make_record()
    store.save(record)
    assert store.count() == 1
    assert store.calls["save"] == 1


def test_heal_stops_the_faults() -> None:
    store = FaultInjector(MemoryStore(), fail={"load": TimeoutError})
    store.heal()
    assert store.load("0" * 40) is None


def test_times_limits_the_number_of_faults() -> None:
    store = FaultInjector(MemoryStore(), fail={"load": TimeoutError}, times=2)
    for _ in range(2):
        with pytest.raises(TimeoutError):
            store.load("0" * 40)
    assert store.load("0" * 40) is None
    assert store.injected["load"] == 2


def test_random_faults_are_reproducible_with_a_seed() -> None:
    def outcomes(seed: int) -> list[bool]:
        store = FaultInjector(MemoryStore(), fail={"count": OSError}, probability=0.5, seed=seed)
        results = []
        for _ in range(40):
            try:
                store.count()
                results.append(True)
            except OSError:
                results.append(False)
        return results

    first = outcomes(7)
    assert first == outcomes(7)
    assert 5 < first.count(False) < 35


def test_unknown_operations_and_bad_probabilities_are_refused() -> None:
    with pytest.raises(ValueError, match="lod"):
        FaultInjector(MemoryStore(), fail={"lod": OSError})
    with pytest.raises(ValueError, match="probability"):
        FaultInjector(MemoryStore(), probability=1.5)


def test_an_async_store_fails_when_awaited() -> None:
    async def main() -> None:
        store = FaultInjector(AsyncMemoryStore(), fail={"load": ConnectionError})
        pending = store.load("0" * 40)  # nothing raised until awaited
        with pytest.raises(ConnectionError):
            await pending
        await store.save(make_record())
        assert await store.count() == 1

    asyncio.run(main())


def test_injectors_stack_with_other_proxies() -> None:
    inner = FaultInjector(MemoryStore())
    outer = FaultInjector(inner, fail={"load": OSError})
    with pytest.raises(OSError, match="injected"):
        outer.load("0" * 40)
    assert inner.calls["load"] == 0


def test_a_failed_save_leaves_the_stored_session_unchanged() -> None:
    store = FaultInjector(MemoryStore())
    manager = sw.SessionManager(store, secret_key=SECRET)
    with manager.scope(None) as session:
        session["n"] = 1
    store.fail["save_if_version"] = sw.StoreUnavailable("memory://", "down")
    with pytest.raises(sw.StoreUnavailable), manager.scope(session.cookie_value) as again:
        again["n"] = 2
    store.heal()
    with manager.scope(session.cookie_value) as after:
        assert after["n"] == 1
    manager.close()

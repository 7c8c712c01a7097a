"""Fixtures shared by the whole suite: a settable clock, stores, managers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import sessionware as sw
from sessionware.stores.memory import MemoryStore

pytest_plugins = ["tests.servers"]

SECRET = "test-secret-key-that-is-long-enough-000"


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio unless their module asks for trio too (the modules
    of the embedded stores, the threaded store and the Starlette integration do):
    the Redis and SQL async clients are asyncio-only libraries."""
    return "asyncio"


class Clock:
    """A clock the test moves by hand (time is an input of the core, not a store)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingProxy(sw.StoreProxy):
    """Counts the store operations that reach the wrapped store."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.calls: list[str] = []

    def load(self, call: Any, id: str) -> Any:
        self.calls.append("load")
        return call(id)

    def save_if_version(self, call: Any, record: Any, expected: int) -> Any:
        self.calls.append("save_if_version")
        return call(record, expected)

    def save(self, call: Any, record: Any) -> Any:
        self.calls.append("save")
        return call(record)

    def touch_many(self, call: Any, expiries: Any) -> Any:
        self.calls.append("touch_many")
        return call(expiries)

    def delete(self, call: Any, id: str) -> Any:
        self.calls.append("delete")
        return call(id)

    def calls_to(self, operation: str) -> int:
        return self.calls.count(operation)

    def writes(self) -> int:
        return sum(self.calls.count(op) for op in ("save", "save_if_version", "touch_many"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def memory_store(clock: Clock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def counting_store(memory_store: MemoryStore) -> CountingProxy:
    return CountingProxy(memory_store)


@pytest.fixture
def manager(counting_store: CountingProxy, clock: Clock) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(counting_store, secret_key=SECRET, clock=clock)
    yield manager
    manager.close()


def cookie_for(manager: sw.SessionManager, **data: Any) -> str:
    """Create a stored session holding ``data``; its cookie value."""
    with manager.scope(None) as session:
        session.update(data)
    assert session.cookie_value is not None
    return session.cookie_value

"""Metrics: event counts from the listener side, latencies from the store side."""

from __future__ import annotations

import asyncio

import pytest

import sessionware as sw
from sessionware.metrics import Metrics
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET


def test_metrics_count_requests_and_time_store_operations() -> None:
    metrics = Metrics()
    manager = sw.SessionManager(metrics.wrap_store(MemoryStore()), secret_key=SECRET)
    manager.add_listener(metrics)
    with manager.scope(None) as session:
        session["n"] = 1
    with manager.scope(session.cookie_value) as again:
        again["n"] = 2
    snapshot = metrics.snapshot()
    assert snapshot["events"]["on_visit"] == 2
    assert snapshot["events"]["on_create"] == 1
    assert snapshot["events"]["on_save"] == 2
    assert snapshot["operations"]["load"]["count"] == 1
    assert snapshot["operations"]["save_if_version"]["count"] == 2
    assert snapshot["operations"]["load"]["p95_ms"] >= 0.0
    manager.close()


def test_a_failing_store_operation_is_counted_as_an_error() -> None:
    class Broken(sw.StoreProxy):
        def load(self, call: object, id: str) -> None:
            raise sw.StoreUnavailable("redis://h/0", "refused")

    metrics = Metrics()
    store = metrics.wrap_store(Broken(MemoryStore()))
    with pytest.raises(sw.StoreUnavailable):
        store.load("0" * 40)
    assert metrics.snapshot()["operations"]["load"]["errors"] == 1


def test_metrics_time_an_async_store() -> None:
    metrics = Metrics()
    store = metrics.wrap_store(AsyncMemoryStore())
    assert asyncio.run(store.load("0" * 40)) is None
    assert metrics.snapshot()["operations"]["load"]["count"] == 1

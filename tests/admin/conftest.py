"""Fixtures of the admin tests: a metered manager over a memory store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import sessionware as sw
from sessionware.metrics import Metrics

from .support import SECRET


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def store() -> sw.Store:
    return sw.open_store("memory://")


@pytest.fixture
def manager(store: sw.Store, metrics: Metrics) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(metrics.wrap_store(store), secret_key=SECRET)
    manager.add_listener(metrics)
    yield manager
    manager.close()

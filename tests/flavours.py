"""The few test helpers that differ by flavour, both side by side (hand-written, like
``sessionware._synchronization``). Tests in tests/_async/ use the ``async_`` names;
scripts/unasync.py renames them, so the generated tests in tests/_sync/ use the
sync ones."""

from __future__ import annotations

from collections.abc import Callable

from sessionware.stores.memory import AsyncMemoryStore, MemoryStore


def memory_store_on(clock: Callable[[], float]) -> MemoryStore:
    """A memory store whose expiry follows ``clock``."""
    return MemoryStore(clock=clock)


def async_memory_store_on(clock: Callable[[], float]) -> AsyncMemoryStore:
    """The async memory store, on a memory store whose expiry follows ``clock``."""
    return AsyncMemoryStore(MemoryStore(clock=clock))

"""sessionware.current(): one session per scope, per thread and per asyncio task."""

from __future__ import annotations

import asyncio
import threading

import pytest

import sessionware as sw
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET


def test_current_outside_a_scope_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="outside a session scope"):
        sw.current()


def test_current_is_the_scope_session_and_is_reset_after_an_error() -> None:
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET)
    with pytest.raises(ValueError, match="request failed"), manager.scope(None) as session:
        assert sw.current() is session
        raise ValueError("request failed")
    with pytest.raises(LookupError):
        sw.current()


def test_nested_scopes_restore_the_outer_session() -> None:
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET)
    with manager.scope(None) as outer:
        with manager.scope(None) as inner:
            assert sw.current() is inner
        assert sw.current() is outer


def test_each_thread_sees_its_own_session() -> None:
    manager = sw.SessionManager(MemoryStore(), secret_key=SECRET)
    barrier = threading.Barrier(8)
    mismatches: list[int] = []

    def worker(number: int) -> None:
        with manager.scope(None) as session:
            session["n"] = number
            barrier.wait(timeout=10)
            if sw.current() is not session or sw.current()["n"] != number:
                mismatches.append(number)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []


def test_each_asyncio_task_sees_its_own_session() -> None:
    async def main() -> list[bool]:
        manager = sw.AsyncSessionManager(AsyncMemoryStore(), secret_key=SECRET)

        async def task(number: int) -> bool:
            async with manager.scope(None) as session:
                session["n"] = number
                await asyncio.sleep(0.01)
                return sw.current() is session and sw.current()["n"] == number

        results = await asyncio.gather(*(task(n) for n in range(20)))
        await manager.close()
        return results

    assert all(asyncio.run(main()))

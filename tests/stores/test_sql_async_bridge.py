"""``GreenletBridge``: SQLAlchemy's greenlet bridge on reused greenlets.

The async SQL store runs the pool's checkout and checkin (which may connect, ping
or wait for a free connection through SQLAlchemy's ``await_``) in it, once or twice
per operation, so it must behave as ``greenlet_spawn`` does without starting a new
greenlet each time.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import pytest
from greenlet import getcurrent
from sqlalchemy.util import await_only

from sessionware.stores.sql._greenlet_bridge import GreenletBridge

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def current_greenlet() -> Any:
    return getcurrent()


@pytest.mark.anyio
async def test_a_call_returns_what_the_function_returns() -> None:
    assert await GreenletBridge().run(divmod, 7, 2) == (3, 1)


@pytest.mark.anyio
async def test_a_call_raises_what_the_function_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        await GreenletBridge().run(divmod, 1, 0)


@pytest.mark.anyio
async def test_the_function_may_await_through_sqlalchemy() -> None:
    def sleeps_then_answers() -> str:
        return await_only(asyncio.sleep(0.01, result="awake"))

    assert await GreenletBridge().run(sleeps_then_answers) == "awake"


@pytest.mark.anyio
async def test_calls_one_after_another_reuse_one_greenlet() -> None:
    bridge = GreenletBridge()
    first = await bridge.run(current_greenlet)
    with pytest.raises(ZeroDivisionError):
        await bridge.run(divmod, 1, 0)
    assert await bridge.run(current_greenlet) is first
    assert first is not getcurrent()


@pytest.mark.anyio
async def test_calls_that_overlap_each_run_on_a_greenlet_of_their_own() -> None:
    bridge = GreenletBridge()
    release = asyncio.Event()

    def waits() -> Any:
        await_only(release.wait())
        return getcurrent()

    first = asyncio.ensure_future(bridge.run(waits))
    second = asyncio.ensure_future(bridge.run(waits))
    await asyncio.sleep(0.01)
    release.set()
    assert (await first) is not (await second)


@pytest.mark.anyio
async def test_the_function_sees_the_context_variables_of_its_task() -> None:
    bridge = GreenletBridge()

    async def in_request(name: str) -> str:
        request_id.set(name)
        return await bridge.run(request_id.get)

    assert list(await asyncio.gather(in_request("a"), in_request("b"))) == ["a", "b"]
    assert await bridge.run(request_id.get) == "none"


@pytest.mark.anyio
async def test_a_cancelled_call_cancels_the_functions_await_and_the_bridge_still_works() -> None:
    bridge = GreenletBridge()
    seen: list[str] = []

    def waits_forever() -> None:
        try:
            await_only(asyncio.Event().wait())
        except asyncio.CancelledError:
            seen.append("cancelled inside")
            raise

    task = asyncio.ensure_future(bridge.run(waits_forever))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["cancelled inside"]
    assert await bridge.run(divmod, 9, 4) == (2, 1)


def test_each_thread_with_its_own_event_loop_gets_greenlets_of_its_own() -> None:
    bridge = GreenletBridge()
    results: list[Any] = []

    def in_thread() -> None:
        results.append(asyncio.run(bridge.run(current_greenlet)))

    for _ in range(2):
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join(timeout=30)
    assert len(results) == 2
    assert results[0] is not results[1]

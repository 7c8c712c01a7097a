"""Visit tracking: read-only requests queue their new expiry; a background flusher
writes the queue in bulk. Counted through store proxies on a real memory store."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sessionware as sw
from sessionware.core.retry import flush_backoff as next_delay
from sessionware.stores.base import STORE_OPERATIONS
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore
from sessionware.testing import FaultInjector

from .conftest import SECRET, Clock, CountingProxy, cookie_for

ROOT = Path(__file__).resolve().parent.parent


class EveryCall(sw.StoreProxy):
    """Records every operation that reaches the store, whatever it is."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.calls: list[str] = []
        for operation in STORE_OPERATIONS:
            setattr(self, operation, self._logged(operation, getattr(store, operation)))

    def _logged(self, operation: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def logged(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(operation)
            return call(*args, **kwargs)

        return logged


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


async def async_wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def visit(manager: sw.SessionManager, cookie: str) -> None:
    with manager.scope(cookie) as session:
        assert not session.is_new
        session.get("n")


def make_manager(store: Any, clock: Clock, **options: Any) -> sw.SessionManager:
    options.setdefault("idle_timeout", 600)
    return sw.SessionManager(store, secret_key=SECRET, clock=clock, **options)


# -- cost of a read-only request --------------------------------------------------------


def test_a_read_only_request_costs_exactly_one_store_round_trip(clock: Clock) -> None:
    store = EveryCall(MemoryStore(clock=clock))
    manager = make_manager(store, clock)
    cookie = cookie_for(manager, n=1)
    clock.advance(120)  # past the throttle: this visit does move the expiry
    store.calls.clear()
    visit(manager, cookie)
    assert store.calls == ["load"]
    manager.close()


def test_n_read_only_requests_within_one_interval_cause_at_most_one_write(
    counting_store: CountingProxy, clock: Clock
) -> None:
    manager = make_manager(counting_store, clock, visit_tracker=sw.VisitTracker(interval=5.0))
    cookie = cookie_for(manager, n=1)
    clock.advance(120)
    counting_store.calls.clear()
    for _ in range(100):
        visit(manager, cookie)
        clock.advance(0.04)  # 100 requests within 4 s, inside one 5 s interval
    manager.close()
    assert counting_store.writes() == 1
    assert counting_store.calls_to("touch_many") == 1


def test_visits_of_many_sessions_are_written_in_one_bulk_touch(
    counting_store: CountingProxy, clock: Clock
) -> None:
    manager = make_manager(counting_store, clock)
    cookies = [cookie_for(manager, n=i) for i in range(20)]
    clock.advance(120)
    for cookie in cookies:
        visit(manager, cookie)
    counting_store.calls.clear()
    assert manager.flush_visits() == 20
    assert counting_store.calls == ["touch_many"]
    manager.close()


# -- the background flusher -------------------------------------------------------------


def test_the_background_thread_flushes_on_its_interval(clock: Clock) -> None:
    store = MemoryStore(clock=clock)
    tracker = sw.VisitTracker(interval=0.05)
    manager = make_manager(store, clock, visit_tracker=tracker)
    cookie = cookie_for(manager, n=1)
    clock.advance(120)
    visit(manager, cookie)
    wait_until(lambda: tracker.stats.flushed == 1)
    (key,) = list(store.ids())
    record = store.load(key)
    assert record is not None
    assert record.expires_at == pytest.approx(clock() + 600)
    manager.close()


def test_reaching_max_pending_flushes_before_the_interval(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStore(clock=clock)
    tracker = sw.VisitTracker(interval=60, max_pending=3)
    manager = make_manager(store, clock, visit_tracker=tracker)
    cookies = [cookie_for(manager, n=i) for i in range(3)]
    assert manager._flusher is not None
    loop = manager._flusher._loop
    wakes: list[int] = []
    wake = loop.wake

    def counted_wake() -> None:
        wakes.append(len(tracker))
        wake()

    monkeypatch.setattr(loop, "wake", counted_wake)
    clock.advance(120)
    visit(manager, cookies[0])
    visit(manager, cookies[1])
    # Below the bound the flusher is never woken: with a 60 s interval nothing can
    # write the two queued touches before the third visit.
    assert wakes == []
    assert len(tracker) == 2
    assert tracker.stats.flushes == 0
    visit(manager, cookies[2])
    assert wakes == [3]  # the visit that reached the bound woke it
    wait_until(lambda: tracker.stats.flushed == 3, timeout=2.0)
    assert tracker.stats.flushes == 1
    manager.close()


def test_a_failing_flush_is_retried_with_back_off_until_it_succeeds(clock: Clock) -> None:
    store = FaultInjector(
        MemoryStore(clock=clock), fail={"touch_many": sw.StoreUnavailable("memory://", "down")}
    )
    tracker = sw.VisitTracker(interval=0.05)
    manager = make_manager(store, clock, visit_tracker=tracker)
    cookie = cookie_for(manager, n=1)
    clock.advance(120)
    visit(manager, cookie)
    wait_until(lambda: tracker.stats.failed_flushes >= 3)
    assert len(tracker) == 1  # the failed batch was put back
    assert manager._flusher is not None
    assert manager._flusher.horizon > tracker.interval  # backing off
    store.heal()
    wait_until(lambda: tracker.stats.flushed == 1)
    assert manager._flusher.horizon == tracker.interval
    # 3 failures with doubling delays (0.1 + 0.2 + 0.4 s...), not a retry per millisecond.
    assert store.injected["touch_many"] < 8
    manager.close()


def test_requests_never_wait_for_a_flush(clock: Clock) -> None:
    release = threading.Event()
    stuck = threading.Event()

    class StuckTouch(sw.StoreProxy):
        def touch_many(self, call: Any, expiries: Any) -> Any:
            stuck.set()
            release.wait(10)
            return call(expiries)

    tracker = sw.VisitTracker(interval=0.01)
    manager = make_manager(StuckTouch(MemoryStore(clock=clock)), clock, visit_tracker=tracker)
    cookies = [cookie_for(manager, n=i) for i in range(5)]
    clock.advance(120)
    visit(manager, cookies[0])
    assert stuck.wait(5)  # the flusher is now stuck in touch_many
    started = time.monotonic()
    for cookie in cookies[1:]:
        visit(manager, cookie)
    assert time.monotonic() - started < 0.5
    release.set()
    manager.close()
    assert tracker.stats.flushed == 5


def test_requests_go_on_while_every_flush_fails(clock: Clock) -> None:
    store = FaultInjector(MemoryStore(clock=clock), fail={"touch_many": TimeoutError})
    tracker = sw.VisitTracker(interval=0.02, max_pending=2)
    manager = make_manager(store, clock, visit_tracker=tracker)
    cookies = [cookie_for(manager, n=i) for i in range(10)]
    clock.advance(120)
    for _ in range(3):
        for cookie in cookies:
            with manager.scope(cookie) as session:
                assert session["n"] is not None
    # A full queue wakes the flusher, but a wake does not cut its back-off short:
    # a down store is not retried on every request.
    assert store.calls["touch_many"] < 10
    store.heal()
    manager.close()


def test_the_back_off_doubles_up_to_a_minute_and_never_below_the_interval() -> None:
    assert next_delay(5.0, 5.0) == 10.0
    assert next_delay(40.0, 5.0) == 60.0
    assert next_delay(60.0, 5.0) == 60.0
    assert next_delay(120.0, 120.0) == 120.0


# -- the bounded queue ------------------------------------------------------------------


def test_the_queue_is_bounded_dropping_the_oldest_and_counting_them() -> None:
    tracker = sw.VisitTracker(max_pending=3)
    for i in range(5):
        tracker.record(f"key{i}", 100.0 + i)
    assert len(tracker) == 3
    assert tracker.pending_expiry("key0") is None
    assert tracker.pending_expiry("key1") is None
    assert tracker.pending_expiry("key4") == 104.0
    assert tracker.stats.dropped == 2


def test_touches_of_one_session_coalesce_to_the_latest_expiry() -> None:
    tracker = sw.VisitTracker()
    for expires_at in (100.0, 300.0, 200.0):
        tracker.record("key", expires_at)
    assert len(tracker) == 1
    assert tracker.pending_expiry("key") == 300.0
    assert tracker.stats.queued == 1


def test_a_failed_batch_goes_back_without_growing_past_the_bound() -> None:
    tracker = sw.VisitTracker(max_pending=3)
    for i in range(3):
        tracker.record(f"old{i}", 100.0)
    batch = tracker.take_batch()
    tracker.record("new", 200.0)
    tracker.restore(batch)
    assert len(tracker) == 3
    assert tracker.pending_expiry("new") == 200.0
    assert tracker.stats.dropped == 1


def test_a_failed_batch_does_not_bring_back_a_touch_superseded_by_a_save() -> None:
    tracker = sw.VisitTracker()
    tracker.record("key", 100.0)
    batch = tracker.take_batch()
    tracker.discard("key")  # the session was saved (with a newer expiry) meanwhile
    tracker.restore(batch)
    assert tracker.pending_expiry("key") is None


def test_a_visit_written_at_once_drops_the_older_queued_touch(
    memory_store: MemoryStore, clock: Clock
) -> None:
    tracker = sw.VisitTracker(interval=5.0)
    manager = make_manager(memory_store, clock, idle_timeout=100, visit_tracker=tracker)
    cookie = cookie_for(manager, n=1)
    (key,) = list(memory_store.ids())
    tracker.record(key, clock() + 100.5)  # an earlier visit's touch, not flushed yet
    clock.advance(91)  # 9.5 s left, within two flush intervals: written at once
    visit(manager, cookie)
    assert len(tracker) == 0  # so no later flush can shorten the expiry just written
    manager.close()
    record = memory_store.load(key)
    assert record is not None
    assert record.expires_at == clock() + 100


# -- shutdown -------------------------------------------------------------------------


def test_close_flushes_the_queue_and_stops_the_thread(
    counting_store: CountingProxy, clock: Clock
) -> None:
    manager = make_manager(counting_store, clock, visit_tracker=sw.VisitTracker(interval=60))
    cookie = cookie_for(manager, n=1)
    clock.advance(120)
    visit(manager, cookie)
    assert any(t.name == "sessionware-visits" for t in threading.enumerate())
    counting_store.calls.clear()
    manager.close()
    assert counting_store.calls == ["touch_many"]
    assert manager._flusher is not None
    assert not manager._flusher._loop.running


EXIT_WITHOUT_CLOSE = textwrap.dedent(
    """
    import json, sys
    import sessionware as sw
    from sessionware.stores.memory import MemoryStore

    class Journal(sw.StoreProxy):
        # The memory store dies with this process: write what reaches it to a file.
        def touch_many(self, call, expiries):
            with open(sys.argv[1], "a") as journal:
                journal.write(json.dumps(dict(expiries)) + "\\n")
            return call(expiries)

    store = Journal(MemoryStore())
    manager = sw.SessionManager(store, secret_key="k3" * 8 + "0123456789abcdef", idle_timeout=600,
                                visit_tracker=sw.VisitTracker(interval=60))
    with manager.scope(None) as session:
        session["n"] = 1
    record = store.load(session.key)
    store.touch_many({})  # the journal exists even if nothing is flushed
    manager.core.policy.touch_threshold = 0  # let an immediate visit queue a touch
    with manager.scope(session.cookie_value) as again:
        again.get("n")
    print(json.dumps({"key": session.key, "saved_expiry": record.expires_at,
                      "queued": len(manager.visit_tracker)}))
    # exits without manager.close(): the atexit hook must flush
    """
)


def test_process_exit_flushes_queued_visits(tmp_path: Path) -> None:
    journal = tmp_path / "touches.jsonl"
    script = tmp_path / "app.py"
    script.write_text(EXIT_WITHOUT_CLOSE)
    result = subprocess.run(
        [sys.executable, str(script), str(journal)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=ROOT,
    )
    state = json.loads(result.stdout)
    assert state["queued"] == 1
    flushed = [json.loads(line) for line in journal.read_text().splitlines()]
    assert flushed[0] == {}
    assert len(flushed) == 2
    assert flushed[1][state["key"]] > state["saved_expiry"]


# -- expiry correctness ---------------------------------------------------------------


def test_a_queued_touch_never_keeps_a_session_alive_past_its_idle_timeout(
    memory_store: MemoryStore, clock: Clock
) -> None:
    tracker = sw.VisitTracker(interval=5.0)
    manager = make_manager(memory_store, clock, visit_tracker=tracker)
    cookie = cookie_for(manager, n=1)
    clock.advance(300)
    visit(manager, cookie)  # queues "alive until now + 600"
    assert len(tracker) == 1
    clock.advance(600)  # idle for exactly the timeout; the touch is still queued
    with manager.scope(cookie) as session:
        assert session.is_new
        assert "n" not in session
    manager.close()


def test_a_queued_touch_counts_as_the_expiry_while_not_yet_written(
    counting_store: CountingProxy, clock: Clock
) -> None:
    tracker = sw.VisitTracker(interval=5.0)
    manager = make_manager(counting_store, clock, visit_tracker=tracker)
    cookie = cookie_for(manager, n=1)
    clock.advance(300)
    visit(manager, cookie)  # queued: stored expiry at 600, queued one at 900
    clock.advance(60)
    with manager.scope(cookie) as session:
        # 60 s after the queued touch: not yet due again, and it expires at 900
        assert session.expires_at == pytest.approx(clock() - 60 + 600)
    assert counting_store.writes() == 1  # only the creation
    manager.close()


def test_a_session_visited_regularly_never_expires_with_real_time_flushes() -> None:
    # Real clock: a 1 s idle timeout, visits every 0.15 s for 3 s, flushes every
    # 0.1 s in the background thread. Every visit must find the session.
    store = MemoryStore()
    tracker = sw.VisitTracker(interval=0.1)
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=1.0, visit_tracker=tracker)
    cookie = cookie_for(manager, n=1)
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        visit(manager, cookie)
        time.sleep(0.15)
    assert tracker.stats.flushed >= 3
    time.sleep(1.1)  # then idle past the timeout: gone
    with manager.scope(cookie) as session:
        assert session.is_new
    manager.close()


# -- the async flusher ------------------------------------------------------------------


def async_manager(clock: Clock, tracker: sw.VisitTracker, store: Any = None) -> Any:
    store = store if store is not None else AsyncMemoryStore(MemoryStore(clock=clock))
    return sw.AsyncSessionManager(
        store, secret_key=SECRET, idle_timeout=600, visit_tracker=tracker, clock=clock
    )


async def async_cookie(manager: Any, n: int = 1) -> str:
    async with manager.scope(None) as session:
        session["n"] = n
    cookie: str = session.cookie_value
    return cookie


async def async_visit(manager: Any, cookie: str) -> None:
    async with manager.scope(cookie) as session:
        assert not session.is_new


def test_the_async_task_flushes_on_its_interval(clock: Clock) -> None:
    async def main() -> None:
        tracker = sw.VisitTracker(interval=0.05)
        manager = async_manager(clock, tracker)
        cookie = await async_cookie(manager)
        clock.advance(120)
        await async_visit(manager, cookie)
        await async_wait_until(lambda: tracker.stats.flushed == 1)
        await manager.close()

    asyncio.run(main())


def test_the_async_task_flushes_early_when_max_pending_is_reached(clock: Clock) -> None:
    async def main() -> None:
        tracker = sw.VisitTracker(interval=60, max_pending=2)
        manager = async_manager(clock, tracker)
        cookies = [await async_cookie(manager, i) for i in range(2)]
        clock.advance(120)
        for cookie in cookies:
            await async_visit(manager, cookie)
        await async_wait_until(lambda: tracker.stats.flushed == 2, timeout=2.0)
        await manager.close()

    asyncio.run(main())


def test_the_async_task_backs_off_while_flushes_fail(clock: Clock) -> None:
    async def main() -> None:
        store = FaultInjector(
            AsyncMemoryStore(MemoryStore(clock=clock)), fail={"touch_many": ConnectionError}
        )
        tracker = sw.VisitTracker(interval=0.05)
        manager = async_manager(clock, tracker, store)
        cookie = await async_cookie(manager)
        clock.advance(120)
        await async_visit(manager, cookie)
        await async_wait_until(lambda: tracker.stats.failed_flushes >= 3)
        assert len(tracker) == 1
        store.heal()
        await async_wait_until(lambda: tracker.stats.flushed == 1)
        assert store.injected["touch_many"] < 8
        await manager.close()

    asyncio.run(main())


def test_async_close_flushes_and_leaves_no_pending_task(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = sw.VisitTracker(interval=60)

    async def main() -> None:
        manager = async_manager(clock, tracker)
        cookie = await async_cookie(manager)
        clock.advance(120)
        await async_visit(manager, cookie)
        await manager.close()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == []

    asyncio.run(main())
    gc.collect()
    assert tracker.stats.flushed == 1
    assert "Task was destroyed" not in caplog.text


def test_an_event_loop_ending_without_close_still_flushes(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = sw.VisitTracker(interval=60)
    memory = MemoryStore(clock=clock)

    async def main() -> None:
        manager = async_manager(clock, tracker, AsyncMemoryStore(memory))
        cookie = await async_cookie(manager)
        clock.advance(120)
        await async_visit(manager, cookie)
        # no close(): asyncio.run cancels the flusher's task, which flushes first

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
        gc.collect()
    assert tracker.stats.flushed == 1
    (key,) = list(memory.ids())
    record = memory.load(key)
    assert record is not None
    assert record.expires_at == pytest.approx(clock() + 600)
    assert "Task was destroyed" not in caplog.text

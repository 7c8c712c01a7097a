"""Scenario 7: bytes the memory store holds per session beyond the payload, and the
visit queue's peak at its bound.

Measured with ``tracemalloc`` (Python allocations: what the process must keep
resident for the store; allocator slack comes on top) over N sessions with
distinct 1 KB payloads, keys and records, as a running app would have them.
The resident-set growth is reported next to it for reference. Target: <= 300
bytes per session beyond the payload.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
import tracemalloc

from sessionware import Record, VisitTracker
from sessionware.stores.memory import MemoryStore

from ..context import Bench
from ..report import Row

SCENARIO = "7 memory"
TARGET = 300
PAYLOAD = 1024


def run(bench: Bench) -> None:
    if "memory" not in bench.stores:
        return
    sessions: int = bench.setting("memory_sessions")
    _store_overhead(bench, sessions)
    _visit_queue(bench, sessions)


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _key(number: int) -> str:
    return hashlib.sha256(number.to_bytes(8, "big")).hexdigest()[:40]


def _store_overhead(bench: Bench, sessions: int) -> None:
    gc.collect()
    store = MemoryStore()
    now = time.time()
    rss_before = _rss()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for number in range(sessions):
        payload = os.urandom(PAYLOAD)  # distinct bytes per session, as in real use
        store.save(Record(_key(number), payload, now, now + 1800, 1, None))
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss_after = _rss()
    overhead = (after - before - sessions * PAYLOAD) / sessions
    bench.report.add(
        Row(
            SCENARIO,
            "memory",
            f"bytes per session beyond a {PAYLOAD} B payload ({sessions:,} sessions)",
            overhead,
            "B",
            f"<= {TARGET}",
            overhead <= TARGET,
            {"rss_per_session_beyond_payload": (rss_after - rss_before) / sessions - PAYLOAD},
        )
    )
    bench.report.add(
        Row(
            SCENARIO,
            "memory",
            "resident-set growth per session beyond payload (reference)",
            (rss_after - rss_before) / sessions - PAYLOAD,
            "B",
        )
    )
    del store


def _visit_queue(bench: Bench, bound: int) -> None:
    tracker = VisitTracker(max_pending=bound)
    now = time.time()
    gc.collect()
    tracemalloc.start()
    for number in range(bound):
        tracker.record(_key(number), now + 1800)
    _, peak_at_bound = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # Past the bound every new key drops the oldest one; time that against below it.
    below = VisitTracker(max_pending=bound * 2)
    extra = max(10, min(2000, bound // 50))
    keys = [_key(bound + number) for number in range(extra)]
    below_ns = _time_records(below, keys, now)
    full_ns = _time_records(tracker, keys, now)
    bench.report.add(
        Row(
            SCENARIO,
            "memory",
            f"visit queue peak at its bound (max_pending={bound:,})",
            peak_at_bound / 1e6,
            "MB",
            detail={"bytes_per_pending_visit": peak_at_bound / bound},
        )
    )
    bench.report.add(
        Row(
            SCENARIO,
            "memory",
            "visit queue record(): cost at its bound / below it",
            full_ns / below_ns,
            "x",
            detail={"below_bound_ns": below_ns, "at_bound_ns": full_ns},
        )
    )


def _time_records(tracker: VisitTracker, keys: list[str], now: float) -> float:
    started = time.perf_counter_ns()
    for key in keys:
        tracker.record(key, now + 1800)
    return (time.perf_counter_ns() - started) / len(keys)

"""A Redis master killed (SIGKILL) under load from 4 worker processes, each with its
own ``SessionManager`` creating and updating sessions: through the failover no
request fails (the store waits for the new master, up to ``failover_timeout``)
and no session acknowledged by a request that started after the kill is lost.
Writes acknowledged just before the kill may be lost (replication is
asynchronous): they are counted and printed, with the p99 request latency."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import sessionware as sw
from tests.conftest import SECRET
from tests.servers import RedisCluster, RedisSentinel

from .redis_helpers import unique_prefix

WORKERS = 4
WARM_UP = 1.0  # seconds of load before the kill
AFTER = 1.0  # seconds of load after the promotion
HARD_LIMIT = 45.0  # a worker stops by itself after this long
MAX_SESSIONS = 150  # per worker; then it only updates


@dataclass
class Ack:
    """One acknowledged write: the session held ``n`` once the request returned."""

    n: int
    started: float  # time.monotonic() when the request began


@dataclass
class WorkerResult:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (started, seconds)
    failures: list[str] = field(default_factory=list)
    acks: dict[str, list[Ack]] = field(default_factory=dict)  # cookie -> its acks
    vanished: list[tuple[str, Ack]] = field(default_factory=list)  # found gone: its last ack


def worker(url: str, prefix: str, stop: Any, ready: Any, results: Any, seed: int) -> None:
    store = sw.open_store(url, prefix=prefix)
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
    rng = random.Random(seed)
    result = WorkerResult()
    cookies: list[str] = []
    ends = time.monotonic() + HARD_LIMIT
    try:
        while not stop.is_set() and time.monotonic() < ends:
            started = time.monotonic()
            create = not cookies or (len(cookies) < MAX_SESSIONS and rng.random() < 0.3)
            cookie = None if create else rng.choice(cookies)
            try:
                with manager.scope(cookie) as session:
                    if cookie is not None and session.get("n") is None:
                        # A session this worker saw acknowledged is gone.
                        result.vanished.append((cookie, result.acks[cookie][-1]))
                        cookies.remove(cookie)
                        cookie = None
                    session["n"] = session.get("n", -1) + 1
                    value = session["n"]
            except Exception as exc:
                result.failures.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01)
                continue
            result.latencies.append((started, time.monotonic() - started))
            if cookie is None:  # a new session: its cookie was just set
                cookie = session.cookie_value
                assert cookie is not None
                cookies.append(cookie)
                result.acks[cookie] = []
            result.acks[cookie].append(Ack(value, started))
            if len(cookies) >= 5:
                ready.set()
    finally:
        results.put(result)
        manager.close()


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def run_through_failover(
    url: str, kill: Callable[[], float], label: str, url_after: Callable[[], str]
) -> None:
    """Load from ``WORKERS`` processes, ``kill()`` a master (it returns once the
    replica is promoted, giving the kill's time), more load, then the checks."""
    context = multiprocessing.get_context("fork")
    prefix = unique_prefix("failover-load")
    stop, results = context.Event(), context.Queue()
    readies = [context.Event() for _ in range(WORKERS)]
    processes = [
        context.Process(target=worker, args=(url, prefix, stop, readies[i], results, i))
        for i in range(WORKERS)
    ]
    for process in processes:
        process.start()
    gathered: list[WorkerResult] = []
    try:
        for ready in readies:
            assert ready.wait(20), "a worker never got going"
        time.sleep(WARM_UP)
        killed_at = kill()
        promoted_at = time.monotonic()
        time.sleep(AFTER)
        stop.set()
        for _ in processes:
            gathered.append(results.get(timeout=30))
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    # A Cluster's URL names a master, which may be the one killed: ask again.
    check(url_after(), prefix, gathered, killed_at, promoted_at, label)


def check(
    url: str,
    prefix: str,
    gathered: list[WorkerResult],
    killed_at: float,
    promoted_at: float,
    label: str,
) -> None:
    failures = [f for result in gathered for f in result.failures]
    latencies = [item for result in gathered for item in result.latencies]
    window = [
        seconds
        for started, seconds in latencies
        if started + seconds >= killed_at and started <= promoted_at
    ]
    store = sw.open_store(url, prefix=prefix)
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
    lost_after, lost_before, sessions = [], 0, 0
    try:
        for result in gathered:
            vanished = dict(result.vanished)
            for cookie, acks in result.acks.items():
                sessions += 1
                with manager.scope(cookie) as session:
                    stored = session.get("n", -1)
                if cookie in vanished:
                    stored = -1  # the worker found it gone (and started another)
                after = [a for a in acks if a.started > killed_at and a.n > stored]
                if after:
                    lost_after.append((cookie, stored, after[-1]))
                elif any(a.n > stored for a in acks):
                    lost_before += 1
        store.delete_all()
    finally:
        manager.close()
    print(
        f"\n{label}: {len(latencies)} requests from {WORKERS} processes, "
        f"{len(failures)} failed; {sessions} sessions, "
        f"{len(lost_after)} acknowledged after the kill lost, "
        f"{lost_before} with a write acknowledged just before the kill lost "
        f"(asynchronous replication); failover took {promoted_at - killed_at:.2f} s; "
        f"p99 latency {p99([s for _, s in latencies]) * 1000:.0f} ms overall, "
        f"{p99(window) * 1000:.0f} ms through the failover "
        f"(max {max(window, default=0) * 1000:.0f} ms, {len(window)} requests)"
    )
    assert not failures, failures[:5]
    assert not lost_after, lost_after[:5]
    assert window, "no request ran through the failover"


@pytest.mark.slow
def test_cluster_master_killed_under_load_fails_no_request(redis_cluster: RedisCluster) -> None:
    victim = None

    def kill() -> float:
        nonlocal victim
        victim = redis_cluster.kill_master(0)
        return redis_cluster.killed_at

    try:
        run_through_failover(redis_cluster.url, kill, "Cluster", lambda: redis_cluster.url)
    finally:
        if victim is not None:
            redis_cluster.restart_node(victim)


@pytest.mark.slow
def test_sentinel_master_killed_under_load_fails_no_request(
    redis_sentinel: RedisSentinel,
) -> None:
    victim = None

    def kill() -> float:
        nonlocal victim
        victim = redis_sentinel.kill_master()
        return redis_sentinel.killed_at

    try:
        run_through_failover(redis_sentinel.url, kill, "Sentinel", lambda: redis_sentinel.url)
    finally:
        if victim is not None:
            redis_sentinel.rejoin(victim)

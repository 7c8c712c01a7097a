"""A Redis master killed (SIGKILL) under load from 4 worker processes, each with its
own ``SessionManager`` creating and updating sessions: through the failover no
request fails (the store waits for the new master, up to ``failover_timeout``)
and no session acknowledged by a request that started after the kill is lost.
Writes acknowledged just before the kill may be lost (replication is
asynchronous): they are counted and printed, with the p99 request latency."""

from __future__ import annotations

import asyncio
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


class Load:
    """One worker's traffic: create sessions (up to ``MAX_SESSIONS``) and bump
    their counters, recording every outcome in ``result``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.result = WorkerResult()
        self.cookies: list[str] = []
        self.ends = time.monotonic() + HARD_LIMIT

    def pick(self) -> str | None:
        create = not self.cookies or (len(self.cookies) < MAX_SESSIONS and self.rng.random() < 0.3)
        return None if create else self.rng.choice(self.cookies)

    def update(self, cookie: str | None, session: Any) -> str | None:
        """Bump ``session``'s counter; the cookie to record it under (None: new)."""
        if cookie is not None and session.get("n") is None:
            # A session this worker saw acknowledged is gone.
            self.result.vanished.append((cookie, self.result.acks[cookie][-1]))
            self.cookies.remove(cookie)
            cookie = None
        session["n"] = session.get("n", -1) + 1
        return cookie

    def acknowledged(self, cookie: str | None, session: Any, started: float) -> None:
        self.result.latencies.append((started, time.monotonic() - started))
        if cookie is None:  # a new session: its cookie was just set
            cookie = session.cookie_value
            assert cookie is not None
            self.cookies.append(cookie)
            self.result.acks[cookie] = []
        self.result.acks[cookie].append(Ack(session["n"], started))

    def failed(self, exc: Exception) -> None:
        self.result.failures.append(f"{type(exc).__name__}: {exc}")


def worker(url: str, prefix: str, stop: Any, ready: Any, results: Any, seed: int) -> None:
    store = sw.open_store(url, prefix=prefix)
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
    load = Load(seed)
    try:
        while not stop.is_set() and time.monotonic() < load.ends:
            started, cookie = time.monotonic(), load.pick()
            try:
                with manager.scope(cookie) as session:
                    cookie = load.update(cookie, session)
            except Exception as exc:
                load.failed(exc)
                time.sleep(0.01)
                continue
            load.acknowledged(cookie, session, started)
            if len(load.cookies) >= 5:
                ready.set()
    finally:
        results.put(load.result)
        manager.close()


def async_worker(url: str, prefix: str, stop: Any, ready: Any, results: Any, seed: int) -> None:
    async def run() -> None:
        store = await sw.open_async_store(url, prefix=prefix)
        manager = sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=None)
        load = Load(seed)
        try:
            while not stop.is_set() and time.monotonic() < load.ends:
                started, cookie = time.monotonic(), load.pick()
                try:
                    async with manager.scope(cookie) as session:
                        cookie = load.update(cookie, session)
                except Exception as exc:
                    load.failed(exc)
                    await asyncio.sleep(0.01)
                    continue
                load.acknowledged(cookie, session, started)
                if len(load.cookies) >= 5:
                    ready.set()
        finally:
            results.put(load.result)
            await manager.close()

    asyncio.run(run())


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def run_through_failover(
    url: str,
    kill: Callable[[], float],
    label: str,
    url_after: Callable[[], str],
    flavour: str,
) -> None:
    """Load from ``WORKERS`` processes, ``kill()`` a master (it returns once the
    replica is promoted, giving the kill's time), more load, then the checks."""
    context = multiprocessing.get_context("fork")
    prefix = unique_prefix("failover-load")
    stop, results = context.Event(), context.Queue()
    readies = [context.Event() for _ in range(WORKERS)]
    processes = [
        context.Process(
            target=async_worker if flavour == "async" else worker,
            args=(url, prefix, stop, readies[i], results, i),
        )
        for i in range(WORKERS)
    ]
    for process in processes:
        process.start()
    gathered: list[WorkerResult] = []
    try:
        going = time.monotonic() + 20
        while not all(ready.is_set() for ready in readies):
            assert all(p.exitcode is None for p in processes), "a worker died at start"
            assert time.monotonic() < going, "a worker never got going"
            time.sleep(0.05)
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
    check(url_after(), prefix, gathered, killed_at, promoted_at, f"{label} ({flavour})")


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


FLAVOURS = pytest.mark.parametrize("flavour", ["sync", "async"])


@pytest.mark.slow
@FLAVOURS
def test_cluster_master_killed_under_load_fails_no_request(
    redis_cluster: RedisCluster, flavour: str
) -> None:
    victim = None

    def kill() -> float:
        nonlocal victim
        victim = redis_cluster.kill_master(0)
        return redis_cluster.killed_at

    try:
        run_through_failover(redis_cluster.url, kill, "Cluster", lambda: redis_cluster.url, flavour)
    finally:
        if victim is not None:
            redis_cluster.restart_node(victim)


@pytest.mark.slow
@FLAVOURS
def test_sentinel_master_killed_under_load_fails_no_request(
    redis_sentinel: RedisSentinel, flavour: str
) -> None:
    victim = None

    def kill() -> float:
        nonlocal victim
        victim = redis_sentinel.kill_master()
        return redis_sentinel.killed_at

    try:
        run_through_failover(
            redis_sentinel.url, kill, "Sentinel", lambda: redis_sentinel.url, flavour
        )
    finally:
        if victim is not None:
            redis_sentinel.rejoin(victim)

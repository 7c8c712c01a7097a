"""Load through a failover, for any store: ``WORKERS`` processes, each with its own
``SessionManager``, create and update sessions while the test disrupts the server
(kills a Redis master, restarts a PostgreSQL); then every acknowledged write is
checked against what the store holds.

``run_through`` drives it and returns an ``Outcome``; ``Outcome.losses`` reads the
sessions back; ``Outcome.report`` is the line a test prints (failed requests,
sessions lost, p99 latency overall and through the disruption). A worker may
first ``enter`` somewhere (another network namespace) before it opens the store.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sessionware as sw
from tests.conftest import SECRET

WORKERS = 4
WARM_UP = 1.0  # seconds of load before the disruption
AFTER = 1.0  # seconds of load after the server is back
HARD_LIMIT = 45.0  # a worker stops by itself after this long
MAX_SESSIONS = 150  # per worker; then it only updates

#: Called in each worker process (with its number) before it opens the store.
Enter = Callable[[int], None]


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


@dataclass(frozen=True)
class Job:
    """What every worker is given."""

    url: str
    options: dict[str, Any]  # store options (prefix=, table=, failover_timeout=...)
    stop: Any  # multiprocessing Event
    results: Any  # multiprocessing Queue
    enter: Enter | None = None


def worker(job: Job, number: int, ready: Any) -> None:
    if job.enter is not None:
        job.enter(number)
    store = sw.open_store(job.url, **job.options)
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
    load = Load(number)
    try:
        while not job.stop.is_set() and time.monotonic() < load.ends:
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
        job.results.put(load.result)
        manager.close()


def async_worker(job: Job, number: int, ready: Any) -> None:
    if job.enter is not None:
        job.enter(number)

    async def run() -> None:
        store = await sw.open_async_store(job.url, **job.options)
        manager = sw.AsyncSessionManager(store, secret_key=SECRET, idle_timeout=None)
        load = Load(number)
        try:
            while not job.stop.is_set() and time.monotonic() < load.ends:
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
            job.results.put(load.result)
            await manager.close()

    asyncio.run(run())


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


@dataclass
class Losses:
    """Acknowledged writes the store no longer holds, by when they were acknowledged."""

    sessions: int = 0
    after: list[tuple[str, int, Ack]] = field(default_factory=list)  # started after the cut
    before: int = 0  # sessions whose write acknowledged before the cut was lost


@dataclass
class Outcome:
    """What the workers saw, and when the server went away and came back."""

    gathered: list[WorkerResult]
    disrupted_at: float  # time.monotonic()
    recovered_at: float

    @property
    def failures(self) -> list[str]:
        return [f for result in self.gathered for f in result.failures]

    @property
    def latencies(self) -> list[tuple[float, float]]:
        return [item for result in self.gathered for item in result.latencies]

    @property
    def window(self) -> list[float]:
        """Latencies of the requests that ran while the server was away."""
        return [
            seconds
            for started, seconds in self.latencies
            if started + seconds >= self.disrupted_at and started <= self.recovered_at
        ]

    def losses(self, url: str, options: dict[str, Any]) -> Losses:
        """Read every acknowledged session back (``url`` and ``options`` open the store)."""
        store = sw.open_store(url, **options)
        manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
        losses = Losses()
        try:
            for result in self.gathered:
                vanished = dict(result.vanished)
                for cookie, acks in result.acks.items():
                    losses.sessions += 1
                    with manager.scope(cookie) as session:
                        stored = session.get("n", -1)
                    if cookie in vanished:
                        stored = -1  # the worker found it gone (and started another)
                    after = [a for a in acks if a.started > self.disrupted_at and a.n > stored]
                    if after:
                        losses.after.append((cookie, stored, after[-1]))
                    elif any(a.n > stored for a in acks):
                        losses.before += 1
            store.delete_all()
        finally:
            manager.close()
        return losses

    def report(self, label: str, losses: Losses, what: str = "the failover") -> str:
        window = self.window
        return (
            f"\n{label}: {len(self.latencies)} requests from {WORKERS} processes, "
            f"{len(self.failures)} failed; {losses.sessions} sessions, "
            f"{len(losses.after)} acknowledged after the cut lost, "
            f"{losses.before} with a write acknowledged before the cut lost; "
            f"{what} took {self.recovered_at - self.disrupted_at:.2f} s; "
            f"p99 latency {p99([s for _, s in self.latencies]) * 1000:.0f} ms overall, "
            f"{p99(window) * 1000:.0f} ms through {what} "
            f"(max {max(window, default=0) * 1000:.0f} ms, {len(window)} requests)"
        )


def run_through(
    url: str,
    options: dict[str, Any],
    disrupt: Callable[[], tuple[float, float]],
    flavour: str,
    enter: Enter | None = None,
    *,
    warm_up: float = WARM_UP,
    after: float = AFTER,
) -> Outcome:
    """Load from ``WORKERS`` processes; ``disrupt()`` the server (it returns once
    the server is back, with the monotonic times it went away and came back);
    more load; the workers' results."""
    context = multiprocessing.get_context("fork")
    job = Job(url, options, context.Event(), context.Queue(), enter)
    readies = [context.Event() for _ in range(WORKERS)]
    target = async_worker if flavour == "async" else worker
    processes = [context.Process(target=target, args=(job, i, readies[i])) for i in range(WORKERS)]
    for process in processes:
        process.start()
    gathered: list[WorkerResult] = []
    try:
        going = time.monotonic() + 20
        while not all(ready.is_set() for ready in readies):
            assert all(p.exitcode is None for p in processes), "a worker died at start"
            assert time.monotonic() < going, "a worker never got going"
            time.sleep(0.05)
        time.sleep(warm_up)
        disrupted_at, recovered_at = disrupt()
        time.sleep(after)
        job.stop.set()
        for _ in processes:
            gathered.append(job.results.get(timeout=30))
    finally:
        job.stop.set()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    return Outcome(gathered, disrupted_at, recovered_at)

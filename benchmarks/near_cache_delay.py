"""How long a near-cached session outlives its revocation in other processes.

``python -m benchmarks.near_cache_delay [--trials 1000] [--stores redis,postgresql]``

Four processes, each its own ``SessionManager`` on its own near-cached store: one
revoker and three readers. Per trial the revoker creates a session; each reader
loads it until it is cached (a hit), tells the parent it is polling, and then opens
the session by its cookie in a loop; the revoker then calls
``manager.invalidate(session)`` and notes the time it returned. A reader notes
the first time its open found no session. The delay of a trial is the latest
reader's time minus the return of ``invalidate`` (``time.monotonic``, one clock
for every process on Linux); negative when a reader heard of the deletion before
the revoking call had returned. Each reader then checks that the session stays
gone. The run prints p50, p99 and max in microseconds.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import sessionware as sw

from .stores import POSTGRES_URL, REDIS_URL

__all__ = ["DelayResult", "measure_delay", "near_cached_url"]

SECRET = "near-cache-delay-secret-key-000000000000"
READERS = 3
#: A reader gives up on one trial after this many seconds of polling.
POLL_LIMIT = 5.0
#: Opens a reader makes after the session went, to check it stays gone.
AFTERWARDS = 20
#: Seconds between a reader's opens while it polls (a spinning loop would keep the
#: GIL from the channel's thread for a switch interval, 5 ms).
POLL_PAUSE = 0.0001


def near_cached_url(kind: str, name: str) -> str:
    """A private prefix (Redis) or table (PostgreSQL) with the near cache on."""
    if kind == "redis":
        return f"{REDIS_URL}?prefix={name}:&near_cache=on"
    return f"{POSTGRES_URL}?table={name}&near_cache=on"


@dataclass
class DelayResult:
    delays_us: list[float]
    stale_after: int  # opens that served the session again after it had gone
    timeouts: int  # reader polls that never saw it go

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.delays_us)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    def summary(self) -> str:
        return (
            f"{len(self.delays_us)} trials: p50 {self.percentile(0.5):.0f} us, "
            f"p99 {self.percentile(0.99):.0f} us, max {max(self.delays_us):.0f} us, "
            f"mean {statistics.fmean(self.delays_us):.0f} us; served again after gone: "
            f"{self.stale_after}; timeouts: {self.timeouts}"
        )


def _manager(url: str) -> sw.SessionManager:
    store = sw.open_store(url)
    deadline = time.monotonic() + 5.0
    cache = getattr(store, "cache", None)
    while cache is not None and not cache.is_up and time.monotonic() < deadline:
        time.sleep(0.005)
    return sw.SessionManager(store, secret_key=SECRET, visit_tracker=False)


def _revoker(url: str, pipe: Connection) -> None:
    manager = _manager(url)
    try:
        pipe.send("ready")
        while (order := pipe.recv()) != "stop":
            if order == "create":
                with manager.scope(None) as session:
                    session["user"] = "alice"
                pipe.send(session.cookie_value)
            else:  # a cookie: invalidate that session now
                session = manager.open(order)
                session.get("user")  # loaded (the sync manager loads lazily)
                pipe.send("armed")
                pipe.recv()
                manager.invalidate(session)
                pipe.send(time.monotonic())
    finally:
        manager.close()


def _is_served(manager: sw.SessionManager, cookie: str) -> bool:
    session = manager.open(cookie)
    return bool(session.get("user") == "alice")


def _reader(url: str, pipe: Connection) -> None:
    manager = _manager(url)
    store: Any = manager.store
    try:
        pipe.send("ready")
        while (cookie := pipe.recv()) != "stop":
            for _ in range(1000):  # until a load is answered from the cache
                hits = store.cache.stats.hits
                if _is_served(manager, cookie) and store.cache.stats.hits > hits:
                    break
                time.sleep(0.001)
            pipe.send("polling")
            gone_at = None
            limit = time.monotonic() + POLL_LIMIT
            while time.monotonic() < limit:
                if not _is_served(manager, cookie):
                    gone_at = time.monotonic()
                    break
                time.sleep(POLL_PAUSE)  # a blocking pause: the channel thread gets the GIL
            stale = sum(_is_served(manager, cookie) for _ in range(AFTERWARDS))
            pipe.send((gone_at, stale))
    finally:
        manager.close()


def measure_delay(url: str, trials: int) -> DelayResult:
    """Run ``trials`` revocations on ``url`` (a near-cached store URL)."""
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    processes = []
    for index, target in enumerate([_revoker] + [_reader] * READERS):
        parent, child = context.Pipe()
        process = context.Process(target=target, args=(url, child), name=f"nc-delay-{index}")
        process.start()
        pipes.append(parent)
        processes.append(process)
    revoker, readers = pipes[0], pipes[1:]
    result = DelayResult([], 0, 0)
    try:
        for pipe in pipes:
            _expect(pipe, "ready")
        for _ in range(trials):
            _trial(revoker, readers, result)
        for pipe in pipes:
            pipe.send("stop")
    finally:
        for process in processes:
            process.join(10.0)
            if process.is_alive():  # only processes started here are ended
                process.terminate()
                process.join()
        _drop(url)
    return result


def _trial(revoker: Connection, readers: list[Connection], result: DelayResult) -> None:
    revoker.send("create")
    cookie = _answer(revoker)
    revoker.send(cookie)
    _expect(revoker, "armed")
    for reader in readers:
        reader.send(cookie)
    for reader in readers:
        _expect(reader, "polling")
    revoker.send("go")
    returned_at = _answer(revoker)
    latest = None
    for reader in readers:
        gone_at, stale = _answer(reader)
        result.stale_after += stale
        if gone_at is None:
            result.timeouts += 1
        elif latest is None or gone_at > latest:
            latest = gone_at
    if latest is not None:
        result.delays_us.append((latest - returned_at) * 1e6)


def _answer(pipe: Connection) -> Any:
    if not pipe.poll(30.0):
        raise TimeoutError("a delay-measuring process did not answer")
    return pipe.recv()


def _expect(pipe: Connection, word: str) -> None:
    answer = _answer(pipe)
    if answer != word:
        raise RuntimeError(f"expected {word!r}, got {answer!r}")


def _drop(url: str) -> None:
    store: Any = sw.open_store(url.replace("&near_cache=on", ""))
    try:
        drop = getattr(store, "drop_table", None)
        if drop is not None:
            drop()
        else:
            store.delete_all()
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.near_cache_delay")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--stores", default="redis,postgresql")
    args = parser.parse_args(argv)
    for kind in args.stores.split(","):
        name = f"bench_nc_{uuid.uuid4().hex[:10]}"
        result = measure_delay(near_cached_url(kind, name), args.trials)
        print(f"{kind}: {result.summary()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

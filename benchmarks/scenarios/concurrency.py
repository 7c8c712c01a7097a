"""Scenario 6: requests per second with 1 and with 4 worker processes on one store.

Each worker process opens the store from its URL, creates its own 50 sessions, then
runs the in-process WSGI driver in a loop for a fixed time: nine read-only requests
to one writing request. Workers start together (a shared event) and count the
requests they finished before the deadline. Only stores several processes can
share are measured (sqlite, redis).
"""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import sessionware as sw

from ..context import Bench, stored_session
from ..driver import wsgi_environ, wsgi_request
from ..payload import IDLE_TIMEOUT, SECRET
from ..report import Row
from ..stores import open_target
from .per_request import make_write_app, read_app

SCENARIO = "6 concurrency"
SESSIONS_PER_WORKER = 50
WRITE_EVERY = 10


def worker(url: str, seconds: float, start: Any, results: Any) -> None:
    store = sw.open_store(url)
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=IDLE_TIMEOUT)
    reader = sw.wsgi.SessionMiddleware(read_app, manager)
    writer = sw.wsgi.SessionMiddleware(make_write_app(), manager)
    cookies = [stored_session(manager) for _ in range(SESSIONS_PER_WORKER)]
    requests = [
        (wsgi_request(reader, wsgi_environ(cookie=c)), wsgi_request(writer, wsgi_environ(cookie=c)))
        for c in cookies
    ]
    start.wait()
    deadline = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < deadline:
        read, write = requests[done % SESSIONS_PER_WORKER]
        (write if done % WRITE_EVERY == 0 else read)()
        done += 1
    manager.close()
    results.put(done)


def _throughput(url: str, workers: int, seconds: float) -> float:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=worker, args=(url, seconds, start, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    time.sleep(0.5 + 0.25 * workers)  # let every worker import and open its store
    start.set()
    total: float = sum(results.get(timeout=seconds + 60) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    return total / seconds


def run(bench: Bench) -> None:
    seconds: float = bench.setting("concurrency_seconds")
    for spec in bench.specs(SCENARIO, only=("sqlite", "redis")):
        target = open_target(spec, bench.run, with_raw=False)
        try:
            one = _throughput(target.url, 1, seconds)
            four = _throughput(target.url, 4, seconds)
        finally:
            target.close()
        detail = {"seconds": seconds, "mix": f"1 write per {WRITE_EVERY} requests"}
        bench.report.add(
            Row(SCENARIO, spec.name, "requests/s, 1 worker process", one, "req/s", detail=detail)
        )
        bench.report.add(
            Row(SCENARIO, spec.name, "requests/s, 4 worker processes", four, "req/s", detail=detail)
        )
        bench.report.add(
            Row(
                SCENARIO,
                spec.name,
                "4 workers / 1 worker",
                four / one,
                "x",
                detail={"cpus": multiprocessing.cpu_count()},
            )
        )

"""Scenario 5: visit tracking writes grow with sessions, not with requests.

100 sessions, then 10,000 read-only requests spread round-robin over one simulated
hour (idle timeout 30 min, so the touch throttle is 3 min) through the WSGI
middleware, with the visit queue flushed every 5 simulated seconds. A
``sessionware.StoreProxy`` counts every store call and notes which happened inside
a request and which in a flush. Targets: one round trip (the load) per read-only
request, no write inside a read-only request, and at most one write per session
per flush interval.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import sessionware as sw

from ..context import Bench, stored_session
from ..driver import wsgi_environ, wsgi_request
from ..payload import IDLE_TIMEOUT
from ..report import Row
from ..stores import open_target
from .per_request import read_app

SCENARIO = "5 visits"
SESSIONS = 100
FLUSH_INTERVAL = 5.0
SIMULATED_SECONDS = 3600.0


class CountingProxy(sw.StoreProxy):
    """Counts store calls, split by whether a request or a flush issued them."""

    def __init__(self, store: Any, clock: Any) -> None:
        super().__init__(store)
        self.clock = clock
        self.in_request = False
        self.calls: Counter[str] = Counter()
        self.touched: list[tuple[float, list[str]]] = []

    def _count(self, operation: str) -> None:
        self.calls[f"{'request' if self.in_request else 'flush'} {operation}"] += 1

    def load(self, call: Any, id: str) -> Any:
        self._count("load")
        return call(id)

    def save(self, call: Any, record: Any) -> Any:
        self._count("save")
        return call(record)

    def save_if_version(self, call: Any, record: Any, expected: int) -> Any:
        self._count("save_if_version")
        return call(record, expected)

    def touch_many(self, call: Any, expiries: Any) -> Any:
        self._count("touch_many")
        self.touched.append((self.clock(), list(expiries)))
        return call(expiries)


class SimulatedClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def run(bench: Bench) -> None:
    requests: int = bench.setting("visit_requests")
    for spec in bench.specs(SCENARIO):
        target = open_target(spec, bench.run, with_raw=False)
        clock = SimulatedClock()
        proxy = CountingProxy(target.store, clock)
        manager = bench.manager(
            proxy,
            clock=clock,
            visit_tracker=sw.VisitTracker(interval=FLUSH_INTERVAL),
        )
        try:
            _simulate(bench, spec.name, manager, proxy, clock, requests)
        finally:
            manager.close()
            target.close()


def _simulate(
    bench: Bench,
    name: str,
    manager: sw.SessionManager,
    proxy: CountingProxy,
    clock: SimulatedClock,
    requests: int,
) -> None:
    app = sw.wsgi.SessionMiddleware(read_app, manager)
    drivers = [
        wsgi_request(app, wsgi_environ(cookie=stored_session(manager))) for _ in range(SESSIONS)
    ]
    proxy.calls.clear()
    step = SIMULATED_SECONDS / requests
    next_flush = clock.now + FLUSH_INTERVAL
    for number in range(requests):
        clock.now += step
        if clock.now >= next_flush:
            manager.flush_visits()
            next_flush += FLUSH_INTERVAL
        proxy.in_request = True
        try:
            drivers[number % SESSIONS]()
        finally:
            proxy.in_request = False
    manager.flush_visits()
    _report(bench, name, proxy, requests)


def _report(bench: Bench, name: str, proxy: CountingProxy, requests: int) -> None:
    calls = proxy.calls
    loads = calls["request load"]
    request_writes = sum(calls[f"request {op}"] for op in ("save", "save_if_version", "touch_many"))
    per_window: Counter[tuple[str, int]] = Counter()
    for at, keys in proxy.touched:
        for key in keys:
            per_window[(key, int(at // FLUSH_INTERVAL))] += 1
    worst = max(per_window.values(), default=0)
    touched_keys = sum(len(keys) for _, keys in proxy.touched)
    hours = SIMULATED_SECONDS / 3600
    detail = {
        "requests": requests,
        "sessions": SESSIONS,
        "idle_timeout": IDLE_TIMEOUT,
        "flush_interval": FLUSH_INTERVAL,
        "calls": dict(calls),
    }
    rows = [
        Row(
            SCENARIO,
            name,
            "store round trips per read-only request",
            (loads + request_writes) / requests,
            "",
            "<= 1",
            (loads + request_writes) / requests <= 1.0,
            detail,
        ),
        Row(
            SCENARIO,
            name,
            "writes inside read-only requests",
            request_writes,
            "",
            "== 0",
            request_writes == 0,
        ),
        Row(
            SCENARIO,
            name,
            "most writes of one session in one flush interval",
            worst,
            "",
            "<= 1",
            worst <= 1,
        ),
        Row(
            SCENARIO,
            name,
            f"expiry writes (sessions touched) per {requests:,} requests",
            touched_keys,
            "",
            detail={
                "per_session_per_hour": touched_keys / SESSIONS / hours,
                "touch_many_calls": len(proxy.touched),
            },
        ),
    ]
    for row in rows:
        bench.report.add(row)

"""Scenario 8: what a request costs the server behind the near cache.

On Redis and PostgreSQL, with the cache off and on: requests through a
``SessionManager`` on a session that is cached (read-only requests, then write
requests), counted twice: store calls on the request path (a counting proxy under
the cache) and work on the server.

* Redis: the commands clients sent to a private ``redis-server`` started for this
  scenario (the shared one serves every other client too), seen through
  ``MONITOR``, which tells them from the commands run inside Lua scripts (that
  ``INFO commandstats`` counts as well).
* PostgreSQL: statements on the benchmark's own sessions table (``idx_scan +
  seq_scan`` of ``pg_stat_user_tables``), flushed by closing the pool's
  connections before each reading (a backend's statistics are written when it
  ends; the cache and its channel are untouched by that).

Targets: a read-only request on a cached session makes 0 server commands; a write
request makes 1 round trip on the request path, and nothing else reaches the
server for it (on Redis the cache writes on a connection whose tracking leaves out
its own changes: no echo to read or confirm).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import sessionware as sw

from ..context import Bench
from ..payload import SECRET, session_data
from ..report import Row
from ..stores import POSTGRES_URL, StoreSpec

SCENARIO = "8 near cache"
REQUESTS = 200
#: Seconds for the echo of a write (PostgreSQL's notification) to settle before counting.
SETTLE = 0.3


class _Calls(sw.StoreProxy):
    """Counts the calls that reach the store under the cache from the request path."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.count = 0

    def load(self, call: Any, id: str) -> Any:
        self._count()
        return call(id)

    def save_if_version(self, call: Any, record: Any, expected: int) -> Any:
        self._count()
        return call(record, expected)

    def _count(self) -> None:
        # A channel's thread would not be the request path.
        if threading.current_thread() is threading.main_thread():
            self.count += 1


def run(bench: Bench) -> None:
    for logged_in in (False, True):
        _memory(bench, logged_in)
    for spec in bench.specs(SCENARIO, only=("redis", "postgresql")):
        with _server_counter(bench, spec) as (url, counter):
            if url is None:
                continue
            for cached in (False, True):
                _measure(bench, spec.name, url, counter, cached)


def _memory(bench: Bench, logged_in: bool, sessions: int = 20_000) -> None:
    """Bytes a cached session costs beyond its 1 KB payload (tracemalloc): the
    record, its id, the cache's entry and LRU slot, and a logged-in user's index."""
    import gc
    import secrets
    import tracemalloc

    from sessionware.stores.near_cache import NearCache

    cache = NearCache(max_entries=sessions, max_bytes=1 << 40)
    cache.up()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(sessions):
            user = f"user-{n}" if logged_in else None
            record = sw.Record(secrets.token_hex(16), secrets.token_bytes(1024), 0.0, 1e12, 3, user)
            cache.fill(cache.begin(record.id), record)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    kind = "logged-in" if logged_in else "anonymous"
    bench.report.add(
        Row(SCENARIO, "any", f"memory per cached {kind} session beyond a 1 KB payload "
            f"({sessions:,} sessions)", used / sessions - 1024, "B")
    )  # fmt: skip


def _measure(bench: Bench, store_name: str, url: str, counter: Any, cached: bool) -> None:
    inner = _Calls(sw.open_store(url))
    store: Any = inner
    if cached:
        from sessionware.stores.near_cache import NearCacheStore

        store = NearCacheStore(inner)
        store.setup()
    manager = sw.SessionManager(store, secret_key=SECRET, visit_tracker=False)
    label = "cache on" if cached else "cache off (reference)"
    try:
        cookie = _warm(manager)
        for kind, request in (("read-only", _read), ("write", _write)):
            inner.count = 0
            counter.start(inner)
            for n in range(REQUESTS):
                request(manager, cookie, n)
            calls = inner.count
            time.sleep(SETTLE)
            commands = counter.stop(inner)
            _rows(bench, store_name, label, kind, calls / REQUESTS, commands / REQUESTS, cached)
            time.sleep(SETTLE)
    finally:
        manager.close()
        with contextlib.suppress(Exception):
            _remove(url)


def _rows(
    bench: Bench, store: str, label: str, kind: str, calls: float, commands: float, cached: bool
) -> None:
    path_target = "" if not cached else ("== 0" if kind == "read-only" else "== 1")
    path_ok = None if not cached else calls == (0 if kind == "read-only" else 1)
    bench.report.add(
        Row(SCENARIO, store, f"{label}: store calls per {kind} request (request path)",
            calls, "", path_target, path_ok)
    )  # fmt: skip
    expected = 0 if kind == "read-only" else 1
    server_target = f"== {expected}" if cached else ""
    server_ok = commands == expected if cached else None
    unit = "commands" if store == "redis" else "statements"
    bench.report.add(
        Row(SCENARIO, store, f"{label}: server {unit} per {kind} request",
            commands, "", server_target, server_ok)
    )  # fmt: skip


def _warm(manager: sw.SessionManager) -> str:
    with manager.scope(None) as session:
        session.update(session_data(1024))
    cookie = session.cookie_value
    assert cookie is not None
    time.sleep(SETTLE)
    with manager.scope(cookie) as session:
        session["warm"] = session.get("count", 0)
    time.sleep(SETTLE)
    with manager.scope(cookie) as session:
        session.get("count")
    return cookie


def _read(manager: sw.SessionManager, cookie: str, n: int) -> None:
    with manager.scope(cookie) as session:
        session.get("count")


def _write(manager: sw.SessionManager, cookie: str, n: int) -> None:
    with manager.scope(cookie) as session:
        session["count"] = n


def _remove(url: str) -> None:
    store: Any = sw.open_store(url, setup=False)
    try:
        drop = getattr(store, "drop_table", None)
        if drop is not None:
            drop()
        else:
            store.delete_all()
    finally:
        store.close()


# -- counting on the server ------------------------------------------------------------


class _RedisCounter:
    """Commands sent by clients (not by scripts), as ``MONITOR`` reports them."""

    def __init__(self, port: int) -> None:
        import redis

        self.client = redis.Redis(host="127.0.0.1", port=port)
        self.count = 0
        self._monitor = self.client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                if self._monitor.next_command().get("client_type") != "lua":
                    self.count += 1

    def start(self, inner: Any) -> None:
        self.count = 0

    def stop(self, inner: Any) -> int:
        return self.count

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._monitor.__exit__(None, None, None)
        self.client.close()


class _PostgresCounter:
    """Statements on one table: ``idx_scan + seq_scan`` after the pool's backends end."""

    def __init__(self, table: str) -> None:
        import psycopg

        self.table = table
        self.connection = psycopg.connect(
            POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
        )
        self.before = 0

    def _read(self, inner: Any) -> int:
        engine = getattr(inner, "engine", None)
        if engine is not None:
            engine.dispose()  # the backends end and write their statistics
        time.sleep(0.5)
        self.connection.execute("SELECT pg_stat_clear_snapshot()")
        row = self.connection.execute(
            "SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) FROM pg_stat_user_tables "
            "WHERE relname = %s",
            (self.table,),
        ).fetchone()
        return int(row[0]) if row else 0

    def start(self, inner: Any) -> None:
        self.before = self._read(inner)

    def stop(self, inner: Any) -> int:
        return self._read(inner) - self.before


@contextlib.contextmanager
def _server_counter(bench: Bench, spec: StoreSpec) -> Iterator[tuple[str | None, Any]]:
    name = bench.run.unique("swbench_nc").replace("-", "_")
    if spec.name == "postgresql":
        rows = _PostgresCounter(name)
        try:
            yield f"{POSTGRES_URL}?table={name}", rows
        finally:
            rows.connection.close()
        return
    with _private_redis(bench) as port:
        if port is None:
            yield None, None
            return
        counter = _RedisCounter(port)
        try:
            yield f"redis://127.0.0.1:{port}/0?prefix={name}:", counter
        finally:
            counter.close()


@contextlib.contextmanager
def _private_redis(bench: Bench) -> Iterator[int | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        bench.report.skip(SCENARIO, "redis", "no redis-server binary for a private server")
        yield None
        return
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait(lambda: _answers(port))
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port).ping())
    except redis.RedisError:
        return False


def _wait(ready: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError("the private redis-server did not start")
        time.sleep(0.05)

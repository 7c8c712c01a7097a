"""Load + save of a 1 KB session: the SQL store against the raw driver doing the same
two statements on one connection (DESIGN.md section 6 budget: at most 1.3x).

    python benchmarks/sql_store_vs_raw.py [postgresql+psycopg://postgres@127.0.0.1:5432/test]

Uses a table of its own (dropped at the end). Prints microseconds per load+save.
Both sides run with ``synchronous_commit=off`` so that the disk flush of each commit
(identical for both, and noisy on a shared server) does not hide the session layer.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from sessionware.core.record import Record
from sessionware.core.signing import new_session_id, store_key
from sessionware.stores.sql import SQLStore

ROUNDS = 2000
REPEATS = 5
PAYLOAD = os.urandom(1024)


def per_call_us(functions: dict[str, Callable[[], None]], rounds: int = ROUNDS) -> dict[str, float]:
    """Median microseconds per call; the contenders take turns, so drift in the
    server (checkpoints, other sessions' load) hits them alike."""
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(REPEATS):
        for name, function in functions.items():
            started = time.perf_counter()
            for _ in range(rounds):
                function()
            samples[name].append((time.perf_counter() - started) / rounds * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def store_round(store: SQLStore, key: str) -> Callable[[], None]:
    def run() -> None:
        record = store.load(key)
        assert record is not None
        store.save_if_version(
            Record(key, PAYLOAD, record.created_at, time.time() + 600, record.version + 1),
            record.version,
        )

    return run


def raw_round(connection: psycopg.Connection, table: str, key: str) -> Callable[[], None]:
    select = f"SELECT data, created_at, expires_at, version, user_id FROM {table} WHERE id = %s AND expires_at > %s"  # noqa: E501
    upsert = (
        f"INSERT INTO {table} (id, data, created_at, expires_at, version, user_id) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET data = excluded.data, "
        "expires_at = excluded.expires_at, version = excluded.version"
    )

    def run() -> None:
        row = connection.execute(select, (key, time.time())).fetchone()
        assert row is not None
        connection.execute(upsert, (key, PAYLOAD, row[1], time.time() + 600, row[3] + 1, None))

    return run


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    table = f"sw_bench_{uuid.uuid4().hex[:8]}"
    no_flush: dict[str, Any] = {"options": "-c synchronous_commit=off"}
    store = SQLStore.from_url(url, table=table, connect_args=no_flush)
    store.setup()
    no_ping = SQLStore.from_url(url, table=table, pool_pre_ping=False, connect_args=no_flush)
    try:
        key = store_key(new_session_id())
        store.save(Record(key, PAYLOAD, time.time(), time.time() + 600, 1))
        dsn = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True, **no_flush) as connection:
            times = per_call_us(
                {
                    "raw": raw_round(connection, table, key),
                    "ours": store_round(store, key),
                    "no_ping": store_round(no_ping, key),
                }
            )
        raw, ours, ours_no_ping = times["raw"], times["ours"], times["no_ping"]
        print(f"raw psycopg SELECT + upsert        {raw:8.1f} us")
        print(f"SQLStore load + save_if_version    {ours:8.1f} us  ({ours / raw:.2f}x)")
        ratio = ours_no_ping / raw
        print(f"  same, pool_pre_ping=false        {ours_no_ping:8.1f} us  ({ratio:.2f}x)")
    finally:
        no_ping.close()
        store.drop_table()
        store.close()


if __name__ == "__main__":
    main()

"""Scenario 4: per-operation cost as the store grows, and as the payload grows.

Count axis: one store per population size (1e3 ... 1e6 sessions of 1 KB), all
populated first and then measured side by side: load + save_if_version of keys
spread over the whole population. Target: cost at the largest size / cost at 1e3
<= 1.2. Payload axis: 100 B ... 100 KB sessions in one store, sessionware's
load + save_if_version next to the raw client's read + upsert of the same bytes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from itertools import count, cycle
from typing import Any

from sessionware import Record

from ..context import Bench
from ..payload import encoded, filler_keys, record
from ..report import Row
from ..stores import StoreSpec, Target, open_target, populate
from ..timing import compare

SCENARIO = "4 scale"
TARGET = 1.2
PROBES = 1000  # distinct keys each contender cycles through


def run(bench: Bench) -> None:
    for spec in bench.specs(SCENARIO):
        _count_axis(bench, spec)
        _payload_axis(bench, spec)


def _round_trip(store: Any, keys: list[str], payload: bytes) -> Callable[[], None]:
    load, save_if_version = store.load, store.save_if_version
    upcoming = cycle(keys)

    def operation() -> None:
        key = next(upcoming)
        current = load(key)
        updated = Record(
            key, payload, current.created_at, current.expires_at, current.version + 1, None
        )
        save_if_version(updated, current.version)

    return operation


def _count_axis(bench: Bench, spec: StoreSpec) -> None:
    counts: list[int] = bench.setting("scale_counts")
    if spec.slow_fill:
        limit: int = bench.setting("slow_fill_limit")
        if counts[-1] > limit:
            bench.report.notes.append(
                f"scale: {spec.name} stops at {limit:,} sessions in {bench.mode} mode "
                f"(filling it is one file/record write per session or a slow bulk "
                f"insert: minutes for {counts[-1]:,}, twice with the raw twin)"
            )
        counts = [count for count in counts if count <= limit]
    payload = encoded(1024)
    targets: list[Target] = []
    contenders: dict[str, Callable[[], None]] = {}
    fill_seconds: dict[int, float] = {}
    try:
        for size in counts:
            target = open_target(spec, bench.run)
            targets.append(target)
            keys = filler_keys(size, f"{bench.run.tag}:{size}")
            now = time.time()
            started = time.perf_counter()
            populate(target, (record(key, payload, now=now) for key in keys))
            fill_seconds[size] = time.perf_counter() - started
            target.raw.save_many(record(key, payload, now=now) for key in keys)
            probes = random.Random(size).sample(keys, min(PROBES, size))
            contenders[str(size)] = _round_trip(target.store, probes, payload)
            contenders[f"raw {size}"] = _raw_cycle(target.raw, probes, payload, now)
        result = compare(contenders, bench.budget)
    finally:
        for target in targets:
            target.close()
    smallest, largest = str(counts[0]), str(counts[-1])
    for size in counts:
        bench.report.add(
            Row(
                SCENARIO,
                spec.name,
                f"load+save with {size:,} sessions",
                result.median_us(str(size)),
                "us",
                detail={"populate_seconds": round(fill_seconds[size], 2)},
            )
        )
    ratio = result.ratio(largest, smallest)
    bench.report.add(
        Row(
            SCENARIO,
            spec.name,
            f"cost at {int(largest):,} / at {int(smallest):,} sessions",
            ratio,
            "x",
            f"<= {TARGET}",
            ratio <= TARGET,
            {"raw_ratio": result.ratio(f"raw {largest}", f"raw {smallest}")},
        )
    )
    bench.report.add(
        Row(
            SCENARIO,
            spec.name,
            f"raw client: cost at {int(largest):,} / at {int(smallest):,} (reference)",
            result.ratio(f"raw {largest}", f"raw {smallest}"),
            "x",
        )
    )


def _payload_axis(bench: Bench, spec: StoreSpec) -> None:
    sizes: list[int] = bench.setting("payload_sizes")
    target = open_target(spec, bench.run)
    try:
        keys = filler_keys(1000, f"{bench.run.tag}:payload")
        now = time.time()
        populate(target, (record(key, encoded(1024), now=now) for key in keys))
        contenders: dict[str, Callable[[], None]] = {}
        for size in sizes:
            payload = encoded(size)
            key = f"{size:040x}"
            target.store.save(record(key, payload))
            prebuilt = record(key, payload)
            target.raw.save(prebuilt)
            contenders[f"sw {size}"] = _round_trip(target.store, [key], payload)
            contenders[f"raw {size}"] = _raw_round_trip(target.raw, prebuilt)
        result = compare(contenders, bench.budget)
    finally:
        target.close()
    for size in sizes:
        sw_us, raw_us = result.median_us(f"sw {size}"), result.median_us(f"raw {size}")
        bench.report.add(
            Row(
                SCENARIO,
                spec.name,
                f"load+save of {_size(size)} / raw",
                sw_us / raw_us,
                "x",
                detail={"sessionware_us": sw_us, "raw_us": raw_us},
            )
        )


def _raw_round_trip(raw: Any, prebuilt: Record) -> Callable[[], None]:
    load, save = raw.load, raw.save
    # Every save writes a new version, as a session save does: a database may skip
    # writing a row that an update leaves unchanged.
    versions = count(prebuilt.version + 1)

    def operation() -> None:
        load(prebuilt.id)
        save(_with_version(prebuilt, next(versions)))

    return operation


def _raw_cycle(raw: Any, keys: list[str], payload: bytes, now: float) -> Callable[[], None]:
    load, save = raw.load, raw.save
    upcoming = cycle([record(key, payload, now=now) for key in keys])
    versions = count(2)

    def operation() -> None:
        prebuilt = next(upcoming)
        load(prebuilt.id)
        save(_with_version(prebuilt, next(versions)))

    return operation


def _with_version(prebuilt: Record, version: int) -> Record:
    # Built as the sessionware side builds its record, so both sides pay the same.
    return Record(
        prebuilt.id, prebuilt.data, prebuilt.created_at, prebuilt.expires_at, version, None
    )


def _size(size: int) -> str:
    return f"{size // 1024} KB" if size >= 1024 else f"{size} B"

"""Scenario 1: load + save of a 1 KB session, sessionware vs the raw client.

``store``: ``store.load`` + ``store.save_if_version`` (what the manager issues).
``manager``: ``manager.open(cookie)``, read a key, change a key, ``save_changes``.
``raw``: the raw client's read + upsert of the same bytes (see ``stores.py``).
Target: sessionware / raw <= 1.3.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from sessionware import Record

from ..context import Bench, stored_session
from ..payload import encoded, record
from ..report import Row
from ..stores import open_target
from ..timing import compare

SCENARIO = "1 round trip"
TARGET = 1.3


def run(bench: Bench) -> None:
    for spec in bench.specs(SCENARIO):
        target = open_target(spec, bench.run)
        manager = bench.manager(target.store)
        try:
            _measure(bench, spec.name, target.store, target.raw, manager)
        finally:
            manager.close()
            target.close()


def _measure(bench: Bench, name: str, store: Any, raw: Any, manager: Any) -> None:
    payload = encoded(1024)
    key = "0" * 40
    store.save(record(key, payload))
    template = record(key, payload)
    raw.save(template)
    load, save_if_version = store.load, store.save_if_version

    def through_store() -> None:
        current = load(key)
        updated = Record(
            key, payload, current.created_at, current.expires_at, current.version + 1, None
        )
        save_if_version(updated, current.version)

    raw_load, raw_save = raw.load, raw.save

    def through_raw() -> None:
        raw_load(key)
        raw_save(template)

    cookie = stored_session(manager)
    numbers = count()

    def through_manager() -> None:
        session = manager.open(cookie)
        session.get("user")
        session["counter"] = next(numbers)
        manager.save_changes(session)

    result = compare(
        {"store": through_store, "manager": through_manager, "raw": through_raw}, bench.budget
    )
    raw_us = result.median_us("raw")
    for contender in ("store", "manager"):
        ratio = result.ratio(contender, "raw")
        bench.report.add(
            Row(
                SCENARIO,
                name,
                f"{contender} load+save / raw load+save",
                ratio,
                "x",
                f"<= {TARGET}",
                ratio <= TARGET,
                {"sessionware_us": result.median_us(contender), "raw_us": raw_us},
            )
        )
    bench.report.add(Row(SCENARIO, name, "raw load+save (reference)", raw_us, "us"))

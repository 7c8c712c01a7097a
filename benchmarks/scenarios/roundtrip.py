"""Scenario 1: load + save of a 1 KB session, sessionware vs the raw client.

``session``: ``manager.open(cookie)``, read a key, change a key, ``save_changes``
(the session layer: cookie check, store key, load, decode, change detection,
encode, compare-and-set save).
``raw + codec``: the raw client's read + upsert of the same bytes plus one JSON
decode and one encode of the 1 KB payload: the work any server-side session must
do. This is the judged baseline (target: session / raw + codec <= 1.3). For the
memory store it is a dict holding the encoded bytes, so the floor is the codec, not
a bare ``dict`` get/set that no session library could ever match.
``store``: ``store.load`` + ``store.save_if_version`` of prebuilt bytes (the store
layer alone) next to ``raw`` (the raw client's read + upsert of the same bytes),
reported for reference.
"""

from __future__ import annotations

from itertools import count
from typing import Any

from sessionware import Record
from sessionware.core.codecs import JsonCodec

from ..context import Bench, stored_session
from ..payload import encoded, record, session_data
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
    # Every raw save changes the row (a new version), as every session save does: a
    # database may skip writing and flushing a row that an update leaves unchanged.
    versions = count(2)
    created_at, expires_at = template.created_at, template.expires_at

    def through_raw() -> None:
        raw_load(key)
        raw_save(Record(key, payload, created_at, expires_at, next(versions)))

    codec = JsonCodec()
    data = session_data(1024)

    def through_raw_with_codec() -> None:
        raw_load(key)
        codec.decode(payload)
        raw_save(Record(key, codec.encode(data), created_at, expires_at, next(versions)))

    cookie = stored_session(manager)
    numbers = count()

    def through_manager() -> None:
        session = manager.open(cookie)
        session.get("user")
        session["counter"] = next(numbers)
        manager.save_changes(session)

    result = compare(
        {
            "session": through_manager,
            "raw + codec": through_raw_with_codec,
            "store": through_store,
            "raw": through_raw,
        },
        bench.budget,
    )
    ratio = result.ratio("session", "raw + codec")
    bench.report.add(
        Row(
            SCENARIO,
            name,
            "session load+change+save / raw load+save + JSON decode+encode",
            ratio,
            "x",
            f"<= {TARGET}",
            ratio <= TARGET,
            {
                "session_us": result.median_us("session"),
                "raw_with_codec_us": result.median_us("raw + codec"),
            },
        )
    )
    bench.report.add(
        Row(
            SCENARIO,
            name,
            "store load+save_if_version / raw load+save (store layer alone, reference)",
            result.ratio("store", "raw"),
            "x",
            detail={"store_us": result.median_us("store"), "raw_us": result.median_us("raw")},
        )
    )
    for contender in ("session", "raw + codec", "raw"):
        bench.report.add(
            Row(
                SCENARIO,
                name,
                f"{contender} (time per round trip)",
                result.median_us(contender),
                "us",
            )
        )

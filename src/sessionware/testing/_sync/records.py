# Generated from src/sessionware/testing/_async/records.py by scripts/unasync.py. Do not edit.
"""Saving, loading and expiring records.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import time

from ...stores.base import Store
from ..clock import FakeClock
from .helpers import (
    assert_same_record,
    make_record,
    new_key,
    now_on,
    pass_time_until,
    span_on,
    unique_user,
)

__all__ = ["RecordContract"]


class RecordContract:
    """Mixed into ``StoreConformance``, which provides the fixtures."""

    def test_setup_is_idempotent(self, store: Store) -> None:
        record = make_record()
        store.save(record)
        store.setup()
        store.setup()
        assert_same_record(store.load(record.id), record)

    def test_load_of_missing_key_is_none(self, store: Store) -> None:
        assert store.load(new_key()) is None

    def test_saved_record_loads_back_unchanged(self, store: Store) -> None:
        record = make_record(user_id=unique_user(), version=7)
        store.save(record)
        assert_same_record(store.load(record.id), record)

    def test_save_replaces_an_existing_record(self, store: Store) -> None:
        first = make_record(data=b"first")
        store.save(first)
        second = make_record(key=first.id, data=b"second", version=2)
        store.save(second)
        assert_same_record(store.load(first.id), second)
        assert store.count() == 1

    def test_records_are_independent(self, store: Store) -> None:
        one, two = make_record(data=b"one"), make_record(data=b"two")
        store.save(one)
        store.save(two)
        assert_same_record(store.load(one.id), one)
        assert_same_record(store.load(two.id), two)

    def test_binary_payload_with_every_byte_value_round_trips(
        self, store: Store
    ) -> None:
        record = make_record(data=bytes(range(256)) * 4)
        store.save(record)
        assert_same_record(store.load(record.id), record)

    def test_unicode_payload_and_user_round_trip(self, store: Store) -> None:
        user = unique_user("Ünïcødé-用户-🙂")
        record = make_record(data="ça va? 你好 🙂 \u0000 end".encode(), user_id=user)
        store.save(record)
        assert_same_record(store.load(record.id), record)
        assert store.ids_for_user(user) == [record.id]

    def test_empty_payload_round_trips(self, store: Store) -> None:
        record = make_record(data=b"")
        store.save(record)
        assert_same_record(store.load(record.id), record)

    def test_one_megabyte_payload_round_trips(self, store: Store) -> None:
        record = make_record(data=bytes(range(256)) * 4096)
        store.save(record)
        assert_same_record(store.load(record.id), record)

    # -- expiry ---------------------------------------------------------------

    def test_expired_record_does_not_load(self, store: Store) -> None:
        record = make_record(expires_in=-5)
        store.save(record)
        assert store.load(record.id) is None

    def test_record_stops_loading_once_its_expiry_passes(
        self, store: Store, store_clock: FakeClock | None
    ) -> None:
        record = make_record(now=now_on(store_clock), expires_in=span_on(store_clock))
        store.save(record)
        assert store.load(record.id) is not None
        pass_time_until(store_clock, record.expires_at)
        assert store.load(record.id) is None
        assert store.count() == 0

    def test_expired_records_are_not_counted_or_listed(self, store: Store) -> None:
        live, dead = make_record(), make_record(expires_in=-5)
        store.save(live)
        store.save(dead)
        assert store.count() == 1
        assert [key for key in store.ids()] == [live.id]

    def test_purge_expired_removes_only_expired_records(self, store: Store) -> None:
        live = make_record()
        dead = [make_record(expires_in=-5) for _ in range(3)]
        for record in [live, *dead]:
            store.save(record)
        removed = store.purge_expired()
        assert isinstance(removed, int)
        assert 0 <= removed <= 3
        assert_same_record(store.load(live.id), live)
        assert store.count() == 1
        assert store.purge_expired() == 0

    def test_purge_expired_honours_an_explicit_now(self, store: Store) -> None:
        soon = make_record(expires_in=30)
        store.save(soon)
        store.purge_expired(now=time.time())
        assert store.load(soon.id) is not None

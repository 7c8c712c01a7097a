# Generated from src/sessionware/testing/_async/removals.py by scripts/unasync.py. Do not edit.
"""Moving expiries (``touch_many``) and deleting records.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import time

from ...stores.base import Store
from .helpers import TIME_TOLERANCE, assert_same_record, make_record, new_key, unique_user

__all__ = ["TouchAndDeleteContract"]


class TouchAndDeleteContract:
    """Mixed into ``StoreConformance``, which provides the fixtures."""

    def test_touch_many_sets_new_expiries(self, store: Store) -> None:
        one, two = make_record(expires_in=60), make_record(expires_in=60)
        store.save(one)
        store.save(two)
        later = round(time.time() + 3600, 3)
        store.touch_many({one.id: later, two.id: later + 1})
        loaded_one, loaded_two = store.load(one.id), store.load(two.id)
        assert loaded_one is not None
        assert loaded_two is not None
        assert abs(loaded_one.expires_at - later) <= TIME_TOLERANCE
        assert abs(loaded_two.expires_at - (later + 1)) <= TIME_TOLERANCE
        assert loaded_one.data == one.data
        assert loaded_one.version == one.version

    def test_touch_many_never_shortens_an_expiry(self, store: Store) -> None:
        # A touch queued before a save that pushed the expiry further must not undo it.
        record = make_record(expires_in=3600)
        store.save(record)
        store.touch_many({record.id: round(time.time() + 600, 3)})
        assert_same_record(store.load(record.id), record)

    def test_touch_many_in_one_batch_extends_some_and_keeps_others(
        self, store: Store
    ) -> None:
        short, long = make_record(expires_in=60), make_record(expires_in=7200)
        store.save(short)
        store.save(long)
        new_expiry = round(time.time() + 3600, 3)
        store.touch_many({short.id: new_expiry, long.id: new_expiry})
        extended, kept = store.load(short.id), store.load(long.id)
        assert extended is not None
        assert abs(extended.expires_at - new_expiry) <= TIME_TOLERANCE
        assert extended.data == short.data
        assert_same_record(kept, long)

    def test_touch_many_never_creates_records(self, store: Store) -> None:
        key = new_key()
        store.touch_many({key: time.time() + 60})
        assert store.load(key) is None
        assert store.count() == 0

    def test_touch_many_does_not_revive_an_expired_record(self, store: Store) -> None:
        dead = make_record(expires_in=-5)
        store.save(dead)
        store.touch_many({dead.id: time.time() + 60})
        assert store.load(dead.id) is None

    def test_touch_many_with_nothing_is_a_no_op(self, store: Store) -> None:
        store.touch_many({})
        assert store.count() == 0

    def test_touch_many_handles_a_large_batch(self, store: Store) -> None:
        records = [make_record(expires_in=60, data=b"") for _ in range(500)]
        for record in records:
            store.save(record)
        later = round(time.time() + 7200, 3)
        store.touch_many({record.id: later for record in records})
        sample = store.load(records[-1].id)
        assert sample is not None
        assert abs(sample.expires_at - later) <= TIME_TOLERANCE

    # -- deleting -------------------------------------------------------------

    def test_delete_removes_a_record_and_reports_one(self, store: Store) -> None:
        record = make_record()
        store.save(record)
        assert store.delete(record.id) == 1
        assert store.load(record.id) is None

    def test_delete_of_a_missing_key_reports_zero(self, store: Store) -> None:
        assert store.delete(new_key()) == 0

    def test_delete_many_reports_how_many_existed(self, store: Store) -> None:
        records = [make_record() for _ in range(3)]
        for record in records:
            store.save(record)
        keep = make_record()
        store.save(keep)
        removed = store.delete_many([*(r.id for r in records), new_key()])
        assert removed == 3
        assert store.count() == 1
        assert store.load(keep.id) is not None

    def test_delete_many_of_nothing_is_zero(self, store: Store) -> None:
        assert store.delete_many([]) == 0

    def test_delete_all_empties_the_store(self, store: Store) -> None:
        for _ in range(4):
            store.save(make_record(user_id=unique_user()))
        assert store.delete_all() >= 4
        assert store.count() == 0
        assert [key for key in store.ids()] == []

    def test_deleted_record_leaves_the_user_index(self, store: Store) -> None:
        user = unique_user()
        record = make_record(user_id=user)
        store.save(record)
        store.delete(record.id)
        assert store.ids_for_user(user) == []

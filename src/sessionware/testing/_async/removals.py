"""Moving expiries (``touch_many``) and deleting records.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import time

from ...stores.base import AsyncStore
from .helpers import TIME_TOLERANCE, assert_same_record, make_record, new_key, unique_user

__all__ = ["AsyncTouchAndDeleteContract"]


class AsyncTouchAndDeleteContract:
    """Mixed into ``AsyncStoreConformance``, which provides the fixtures."""

    async def test_touch_many_sets_new_expiries(self, store: AsyncStore) -> None:
        one, two = make_record(expires_in=60), make_record(expires_in=60)
        await store.save(one)
        await store.save(two)
        later = round(time.time() + 3600, 3)
        await store.touch_many({one.id: later, two.id: later + 1})
        loaded_one, loaded_two = await store.load(one.id), await store.load(two.id)
        assert loaded_one is not None
        assert loaded_two is not None
        assert abs(loaded_one.expires_at - later) <= TIME_TOLERANCE
        assert abs(loaded_two.expires_at - (later + 1)) <= TIME_TOLERANCE
        assert loaded_one.data == one.data
        assert loaded_one.version == one.version

    async def test_touch_many_never_shortens_an_expiry(self, store: AsyncStore) -> None:
        # A touch queued before a save that pushed the expiry further must not undo it.
        record = make_record(expires_in=3600)
        await store.save(record)
        await store.touch_many({record.id: round(time.time() + 600, 3)})
        assert_same_record(await store.load(record.id), record)

    async def test_touch_many_in_one_batch_extends_some_and_keeps_others(
        self, store: AsyncStore
    ) -> None:
        short, long = make_record(expires_in=60), make_record(expires_in=7200)
        await store.save(short)
        await store.save(long)
        new_expiry = round(time.time() + 3600, 3)
        await store.touch_many({short.id: new_expiry, long.id: new_expiry})
        extended, kept = await store.load(short.id), await store.load(long.id)
        assert extended is not None
        assert abs(extended.expires_at - new_expiry) <= TIME_TOLERANCE
        assert extended.data == short.data
        assert_same_record(kept, long)

    async def test_touch_many_never_creates_records(self, store: AsyncStore) -> None:
        key = new_key()
        await store.touch_many({key: time.time() + 60})
        assert await store.load(key) is None
        assert await store.count() == 0

    async def test_touch_many_does_not_revive_an_expired_record(self, store: AsyncStore) -> None:
        dead = make_record(expires_in=-5)
        await store.save(dead)
        await store.touch_many({dead.id: time.time() + 60})
        assert await store.load(dead.id) is None

    async def test_touch_many_with_nothing_is_a_no_op(self, store: AsyncStore) -> None:
        await store.touch_many({})
        assert await store.count() == 0

    async def test_touch_many_handles_a_large_batch(self, store: AsyncStore) -> None:
        records = [make_record(expires_in=60, data=b"") for _ in range(500)]
        for record in records:
            await store.save(record)
        later = round(time.time() + 7200, 3)
        await store.touch_many({record.id: later for record in records})
        sample = await store.load(records[-1].id)
        assert sample is not None
        assert abs(sample.expires_at - later) <= TIME_TOLERANCE

    # -- deleting -------------------------------------------------------------

    async def test_delete_removes_a_record_and_reports_one(self, store: AsyncStore) -> None:
        record = make_record()
        await store.save(record)
        assert await store.delete(record.id) == 1
        assert await store.load(record.id) is None

    async def test_delete_of_a_missing_key_reports_zero(self, store: AsyncStore) -> None:
        assert await store.delete(new_key()) == 0

    async def test_delete_many_reports_how_many_existed(self, store: AsyncStore) -> None:
        records = [make_record() for _ in range(3)]
        for record in records:
            await store.save(record)
        keep = make_record()
        await store.save(keep)
        removed = await store.delete_many([*(r.id for r in records), new_key()])
        assert removed == 3
        assert await store.count() == 1
        assert await store.load(keep.id) is not None

    async def test_delete_many_of_nothing_is_zero(self, store: AsyncStore) -> None:
        assert await store.delete_many([]) == 0

    async def test_delete_all_empties_the_store(self, store: AsyncStore) -> None:
        for _ in range(4):
            await store.save(make_record(user_id=unique_user()))
        assert await store.delete_all() >= 4
        assert await store.count() == 0
        assert [key async for key in store.ids()] == []

    async def test_deleted_record_leaves_the_user_index(self, store: AsyncStore) -> None:
        user = unique_user()
        record = make_record(user_id=user)
        await store.save(record)
        await store.delete(record.id)
        assert await store.ids_for_user(user) == []

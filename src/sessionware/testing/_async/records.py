"""Saving, loading and expiring records.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import time

from ...stores.base import AsyncStore
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

__all__ = ["AsyncRecordContract"]


class AsyncRecordContract:
    """Mixed into ``AsyncStoreConformance``, which provides the fixtures."""

    async def test_setup_is_idempotent(self, store: AsyncStore) -> None:
        record = make_record()
        await store.save(record)
        await store.setup()
        await store.setup()
        assert_same_record(await store.load(record.id), record)

    async def test_load_of_missing_key_is_none(self, store: AsyncStore) -> None:
        assert await store.load(new_key()) is None

    async def test_saved_record_loads_back_unchanged(self, store: AsyncStore) -> None:
        record = make_record(user_id=unique_user(), version=7)
        await store.save(record)
        assert_same_record(await store.load(record.id), record)

    async def test_save_replaces_an_existing_record(self, store: AsyncStore) -> None:
        first = make_record(data=b"first")
        await store.save(first)
        second = make_record(key=first.id, data=b"second", version=2)
        await store.save(second)
        assert_same_record(await store.load(first.id), second)
        assert await store.count() == 1

    async def test_records_are_independent(self, store: AsyncStore) -> None:
        one, two = make_record(data=b"one"), make_record(data=b"two")
        await store.save(one)
        await store.save(two)
        assert_same_record(await store.load(one.id), one)
        assert_same_record(await store.load(two.id), two)

    async def test_binary_payload_with_every_byte_value_round_trips(
        self, store: AsyncStore
    ) -> None:
        record = make_record(data=bytes(range(256)) * 4)
        await store.save(record)
        assert_same_record(await store.load(record.id), record)

    async def test_unicode_payload_and_user_round_trip(self, store: AsyncStore) -> None:
        user = unique_user("Ünïcødé-用户-🙂")
        record = make_record(data="ça va? 你好 🙂 \u0000 end".encode(), user_id=user)
        await store.save(record)
        assert_same_record(await store.load(record.id), record)
        assert await store.ids_for_user(user) == [record.id]

    async def test_empty_payload_round_trips(self, store: AsyncStore) -> None:
        record = make_record(data=b"")
        await store.save(record)
        assert_same_record(await store.load(record.id), record)

    async def test_one_megabyte_payload_round_trips(self, store: AsyncStore) -> None:
        record = make_record(data=bytes(range(256)) * 4096)
        await store.save(record)
        assert_same_record(await store.load(record.id), record)

    # -- expiry ---------------------------------------------------------------

    async def test_expired_record_does_not_load(self, store: AsyncStore) -> None:
        record = make_record(expires_in=-5)
        await store.save(record)
        assert await store.load(record.id) is None

    async def test_record_stops_loading_once_its_expiry_passes(
        self, store: AsyncStore, store_clock: FakeClock | None
    ) -> None:
        record = make_record(now=now_on(store_clock), expires_in=span_on(store_clock))
        await store.save(record)
        assert await store.load(record.id) is not None
        await pass_time_until(store_clock, record.expires_at)
        assert await store.load(record.id) is None
        assert await store.count() == 0

    async def test_expired_records_are_not_counted_or_listed(self, store: AsyncStore) -> None:
        live, dead = make_record(), make_record(expires_in=-5)
        await store.save(live)
        await store.save(dead)
        assert await store.count() == 1
        assert [key async for key in store.ids()] == [live.id]

    async def test_purge_expired_removes_only_expired_records(self, store: AsyncStore) -> None:
        live = make_record()
        dead = [make_record(expires_in=-5) for _ in range(3)]
        for record in [live, *dead]:
            await store.save(record)
        removed = await store.purge_expired()
        assert isinstance(removed, int)
        assert 0 <= removed <= 3
        assert_same_record(await store.load(live.id), live)
        assert await store.count() == 1
        assert await store.purge_expired() == 0

    async def test_purge_expired_honours_an_explicit_now(self, store: AsyncStore) -> None:
        soon = make_record(expires_in=30)
        await store.save(soon)
        await store.purge_expired(now=time.time())
        assert await store.load(soon.id) is not None

"""The newest records (``newest``) and the version-guarded delete (``delete_if_version``).

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import time

import pytest

from ...stores.base import AsyncRecordListing, AsyncStore, has_record_listing
from .helpers import assert_same_record, make_record, unique_user

__all__ = ["AsyncRecordListingContract"]


class AsyncRecordListingContract:
    """Mixed into ``AsyncStoreConformance``, which provides the fixtures."""

    @pytest.fixture
    def listing(self, store: AsyncStore) -> AsyncRecordListing:
        """The store, as the one with ``newest`` and ``delete_if_version`` these tests
        need; skips them, visibly, for a store without (an optional part)."""
        if not has_record_listing(store):
            pytest.skip("this store has no newest() / delete_if_version()")
        assert isinstance(store, AsyncRecordListing)
        return store

    async def test_newest_lists_the_last_created_first_whatever_the_write_order(
        self, store: AsyncStore, listing: AsyncRecordListing
    ) -> None:
        now = time.time()
        ages = [50, 10, 40, 0, 30, 20]  # seconds before now; written in this order
        records = [make_record(created_at=now - age) for age in ages]
        for record in records:
            await store.save(record)
        newest = await listing.newest(3)
        by_age = dict(zip(ages, records, strict=True))
        assert [record.id for record in newest] == [by_age[0].id, by_age[10].id, by_age[20].id]
        assert_same_record(newest[0], by_age[0])

    async def test_newest_leaves_out_expired_records(
        self, store: AsyncStore, listing: AsyncRecordListing
    ) -> None:
        live = make_record(created_at=time.time() - 60)
        await store.save(live)
        await store.save(make_record(expires_in=-5))
        assert [record.id for record in await listing.newest(5)] == [live.id]

    async def test_newest_of_an_empty_store_is_empty(
        self, store: AsyncStore, listing: AsyncRecordListing
    ) -> None:
        assert await listing.newest(5) == []

    async def test_delete_if_version_removes_a_record_of_that_version(
        self, store: AsyncStore, listing: AsyncRecordListing
    ) -> None:
        user = unique_user()
        record = make_record(version=3, user_id=user)
        await store.save(record)
        assert await listing.delete_if_version(record.id, 3) is True
        assert await store.load(record.id) is None
        assert await store.ids_for_user(user) == []

    async def test_delete_if_version_keeps_a_record_rewritten_since(
        self, store: AsyncStore, listing: AsyncRecordListing
    ) -> None:
        record = make_record(version=3)
        await store.save(record)
        assert await listing.delete_if_version(record.id, 2) is False
        assert_same_record(await store.load(record.id), record)

    async def test_delete_if_version_of_a_missing_record_is_false(
        self, store: AsyncStore, listing: AsyncRecordListing
    ) -> None:
        assert await listing.delete_if_version(make_record().id, 1) is False

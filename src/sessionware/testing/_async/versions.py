"""``save_if_version``: the compare-and-set every save goes through.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import pytest

from ...core.record import Record
from ...stores.base import AsyncStore
from .helpers import assert_same_record, make_record, unique_user

__all__ = ["AsyncCompareAndSetContract"]


class AsyncCompareAndSetContract:
    """Mixed into ``AsyncStoreConformance``, which provides the fixtures."""

    async def test_save_if_version_zero_creates_a_missing_record(self, store: AsyncStore) -> None:
        record = make_record()
        assert await store.save_if_version(record, 0) is True
        assert_same_record(await store.load(record.id), record)

    async def test_save_if_version_zero_refuses_an_existing_record(self, store: AsyncStore) -> None:
        first = make_record(data=b"first")
        await store.save(first)
        assert await store.save_if_version(make_record(key=first.id, data=b"x"), 0) is False
        assert_same_record(await store.load(first.id), first)

    async def test_save_if_version_zero_replaces_an_expired_record(self, store: AsyncStore) -> None:
        dead = make_record(expires_in=-5, version=3)
        await store.save(dead)
        fresh = make_record(key=dead.id, data=b"fresh")
        assert await store.save_if_version(fresh, 0) is True
        assert_same_record(await store.load(dead.id), fresh)

    @pytest.mark.parametrize(("expected", "written"), [(4, True), (3, False)])
    async def test_save_if_version_writes_only_when_the_version_matches(
        self, store: AsyncStore, expected: int, written: bool
    ) -> None:
        first = make_record(version=4)
        await store.save(first)
        second = make_record(key=first.id, data=b"second", version=5)
        assert await store.save_if_version(second, expected) is written
        assert_same_record(await store.load(first.id), second if written else first)

    async def test_save_if_version_with_the_same_expiry_writes_the_new_data(
        self, store: AsyncStore
    ) -> None:
        first = make_record(version=4, user_id=unique_user())
        await store.save(first)
        second = Record(first.id, b"new", first.created_at, first.expires_at, 5, first.user_id)
        assert await store.save_if_version(second, 4) is True
        assert_same_record(await store.load(first.id), second)

    async def test_save_if_version_with_the_same_expiry_moves_the_user(
        self, store: AsyncStore
    ) -> None:
        alice, bob = unique_user("alice"), unique_user("bob")
        first = make_record(version=1, user_id=alice)
        await store.save(first)
        second = Record(first.id, first.data, first.created_at, first.expires_at, 2, bob)
        assert await store.save_if_version(second, 1) is True
        assert_same_record(await store.load(first.id), second)
        assert await store.ids_for_user(alice) == []
        assert await store.ids_for_user(bob) == [first.id]

    async def test_save_if_version_with_the_same_expiry_refuses_a_stale_version(
        self, store: AsyncStore
    ) -> None:
        first = make_record(version=4)
        await store.save(first)
        stale = Record(first.id, b"stale", first.created_at, first.expires_at, 4, None)
        assert await store.save_if_version(stale, 3) is False
        assert_same_record(await store.load(first.id), first)

    async def test_save_if_version_never_creates_when_a_version_is_expected(
        self, store: AsyncStore
    ) -> None:
        record = make_record(version=2)
        assert await store.save_if_version(record, 1) is False
        assert await store.load(record.id) is None

    async def test_save_if_version_moves_the_user_index(self, store: AsyncStore) -> None:
        alice, bob = unique_user("alice"), unique_user("bob")
        first = make_record(user_id=alice)
        await store.save(first)
        assert await store.save_if_version(make_record(key=first.id, user_id=bob, version=2), 1)
        assert await store.ids_for_user(alice) == []
        assert await store.ids_for_user(bob) == [first.id]

"""Listing records and the per-user index.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

from ...stores.base import AsyncStore
from .helpers import make_record, unique_user

__all__ = ["AsyncUserIndexContract"]


class AsyncUserIndexContract:
    """Mixed into ``AsyncStoreConformance``, which provides the fixtures."""

    async def test_count_and_ids_list_live_records(self, store: AsyncStore) -> None:
        records = [make_record() for _ in range(5)]
        for record in records:
            await store.save(record)
        assert await store.count() == 5
        assert sorted([key async for key in store.ids()]) == sorted(r.id for r in records)

    async def test_ids_for_user_finds_every_session_of_that_user(self, store: AsyncStore) -> None:
        user, other = unique_user(), unique_user()
        mine = [make_record(user_id=user) for _ in range(3)]
        for record in [*mine, make_record(user_id=other), make_record()]:
            await store.save(record)
        assert sorted(await store.ids_for_user(user)) == sorted(r.id for r in mine)

    async def test_ids_for_unknown_user_is_empty(self, store: AsyncStore) -> None:
        assert await store.ids_for_user(unique_user()) == []

    async def test_ids_for_user_skips_expired_sessions(self, store: AsyncStore) -> None:
        user = unique_user()
        live = make_record(user_id=user)
        await store.save(live)
        await store.save(make_record(user_id=user, expires_in=-5))
        assert await store.ids_for_user(user) == [live.id]

    async def test_saving_without_a_user_leaves_the_index(self, store: AsyncStore) -> None:
        user = unique_user()
        record = make_record(user_id=user)
        await store.save(record)
        await store.save(make_record(key=record.id, user_id=None, version=2))
        assert await store.ids_for_user(user) == []

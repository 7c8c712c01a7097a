# Generated from src/sessionware/testing/_async/users.py by scripts/unasync.py. Do not edit.
"""Listing records and the per-user index.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

from ...stores.base import Store
from .helpers import make_record, unique_user

__all__ = ["UserIndexContract"]


class UserIndexContract:
    """Mixed into ``StoreConformance``, which provides the fixtures."""

    def test_count_and_ids_list_live_records(self, store: Store) -> None:
        records = [make_record() for _ in range(5)]
        for record in records:
            store.save(record)
        assert store.count() == 5
        assert sorted([key for key in store.ids()]) == sorted(r.id for r in records)

    def test_ids_for_user_finds_every_session_of_that_user(self, store: Store) -> None:
        user, other = unique_user(), unique_user()
        mine = [make_record(user_id=user) for _ in range(3)]
        for record in [*mine, make_record(user_id=other), make_record()]:
            store.save(record)
        assert sorted(store.ids_for_user(user)) == sorted(r.id for r in mine)

    def test_ids_for_unknown_user_is_empty(self, store: Store) -> None:
        assert store.ids_for_user(unique_user()) == []

    def test_ids_for_user_skips_expired_sessions(self, store: Store) -> None:
        user = unique_user()
        live = make_record(user_id=user)
        store.save(live)
        store.save(make_record(user_id=user, expires_in=-5))
        assert store.ids_for_user(user) == [live.id]

    def test_saving_without_a_user_leaves_the_index(self, store: Store) -> None:
        user = unique_user()
        record = make_record(user_id=user)
        store.save(record)
        store.save(make_record(key=record.id, user_id=None, version=2))
        assert store.ids_for_user(user) == []

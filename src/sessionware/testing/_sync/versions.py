# Generated from src/sessionware/testing/_async/versions.py by scripts/unasync.py. Do not edit.
"""``save_if_version``: the compare-and-set every save goes through.

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import pytest

from ...core.record import Record
from ...stores.base import Store
from .helpers import assert_same_record, make_record, unique_user

__all__ = ["CompareAndSetContract"]


class CompareAndSetContract:
    """Mixed into ``StoreConformance``, which provides the fixtures."""

    def test_save_if_version_zero_creates_a_missing_record(self, store: Store) -> None:
        record = make_record()
        assert store.save_if_version(record, 0) is True
        assert_same_record(store.load(record.id), record)

    def test_save_if_version_zero_refuses_an_existing_record(self, store: Store) -> None:
        first = make_record(data=b"first")
        store.save(first)
        assert store.save_if_version(make_record(key=first.id, data=b"x"), 0) is False
        assert_same_record(store.load(first.id), first)

    def test_save_if_version_zero_replaces_an_expired_record(self, store: Store) -> None:
        dead = make_record(expires_in=-5, version=3)
        store.save(dead)
        fresh = make_record(key=dead.id, data=b"fresh")
        assert store.save_if_version(fresh, 0) is True
        assert_same_record(store.load(dead.id), fresh)

    @pytest.mark.parametrize(("expected", "written"), [(4, True), (3, False)])
    def test_save_if_version_writes_only_when_the_version_matches(
        self, store: Store, expected: int, written: bool
    ) -> None:
        first = make_record(version=4)
        store.save(first)
        second = make_record(key=first.id, data=b"second", version=5)
        assert store.save_if_version(second, expected) is written
        assert_same_record(store.load(first.id), second if written else first)

    def test_save_if_version_with_the_same_expiry_writes_the_new_data(
        self, store: Store
    ) -> None:
        first = make_record(version=4, user_id=unique_user())
        store.save(first)
        second = Record(first.id, b"new", first.created_at, first.expires_at, 5, first.user_id)
        assert store.save_if_version(second, 4) is True
        assert_same_record(store.load(first.id), second)

    def test_save_if_version_with_the_same_expiry_moves_the_user(
        self, store: Store
    ) -> None:
        alice, bob = unique_user("alice"), unique_user("bob")
        first = make_record(version=1, user_id=alice)
        store.save(first)
        second = Record(first.id, first.data, first.created_at, first.expires_at, 2, bob)
        assert store.save_if_version(second, 1) is True
        assert_same_record(store.load(first.id), second)
        assert store.ids_for_user(alice) == []
        assert store.ids_for_user(bob) == [first.id]

    def test_save_if_version_with_the_same_expiry_refuses_a_stale_version(
        self, store: Store
    ) -> None:
        first = make_record(version=4)
        store.save(first)
        stale = Record(first.id, b"stale", first.created_at, first.expires_at, 4, None)
        assert store.save_if_version(stale, 3) is False
        assert_same_record(store.load(first.id), first)

    def test_save_if_version_never_creates_when_a_version_is_expected(
        self, store: Store
    ) -> None:
        record = make_record(version=2)
        assert store.save_if_version(record, 1) is False
        assert store.load(record.id) is None

    def test_save_if_version_moves_the_user_index(self, store: Store) -> None:
        alice, bob = unique_user("alice"), unique_user("bob")
        first = make_record(user_id=alice)
        store.save(first)
        assert store.save_if_version(make_record(key=first.id, user_id=bob, version=2), 1)
        assert store.ids_for_user(alice) == []
        assert store.ids_for_user(bob) == [first.id]

"""Revocation markers (``mark_user_revoked`` / ``user_revoked_at``).

Part of the store conformance suite (async source; ``_sync/`` is generated).
"""

from __future__ import annotations

import time
from typing import Protocol

import pytest

from ...stores.base import AsyncRevocationMarkers, AsyncStore
from ..clock import FakeClock
from .helpers import assert_same_record, make_record, now_on, pass_time_until, span_on, unique_user

__all__ = ["AsyncRevocationMarkerContract"]


class AsyncStoreWithMarkers(AsyncStore, AsyncRevocationMarkers, Protocol):
    """A store that keeps revocation markers (the optional part of the protocol)."""


class AsyncRevocationMarkerContract:
    """Mixed into ``AsyncStoreConformance``, which provides the fixtures."""

    async def test_a_user_never_revoked_has_no_marker(
        self, store: AsyncStoreWithMarkers, markers: None
    ) -> None:
        assert await store.user_revoked_at(unique_user()) is None

    async def test_a_marker_gives_back_its_revocation_time(
        self, store: AsyncStoreWithMarkers, markers: None
    ) -> None:
        user, other = unique_user(), unique_user()
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert await store.user_revoked_at(user) == 100.0
        assert await store.user_revoked_at(other) is None

    @pytest.mark.parametrize("order", [(100.0, 200.0), (200.0, 100.0)], ids=["later", "earlier"])
    async def test_the_latest_revocation_wins_in_either_order(
        self, store: AsyncStoreWithMarkers, markers: None, order: tuple[float, float]
    ) -> None:
        user = unique_user()
        for revoked_at in order:
            await store.mark_user_revoked(user, revoked_at, time.time() + 60)
        assert await store.user_revoked_at(user) == 200.0

    async def test_a_marker_past_its_keep_until_is_not_reported(
        self, store: AsyncStoreWithMarkers, markers: None, store_clock: FakeClock | None
    ) -> None:
        user = unique_user()
        await store.mark_user_revoked(user, 100.0, now_on(store_clock) - 1)
        assert await store.user_revoked_at(user) is None

    async def test_a_marker_is_kept_until_its_keep_until_and_gone_after(
        self, store: AsyncStoreWithMarkers, markers: None, store_clock: FakeClock | None
    ) -> None:
        user = unique_user()
        keep_until = round(now_on(store_clock) + span_on(store_clock), 3)
        await store.mark_user_revoked(user, 100.0, keep_until)
        assert await store.user_revoked_at(user) == 100.0
        if store_clock is not None:
            store_clock.now = keep_until - 1
            assert await store.user_revoked_at(user) == 100.0
        await pass_time_until(store_clock, keep_until)
        assert await store.user_revoked_at(user) is None

    async def test_a_shorter_keep_until_never_shortens_the_marker(
        self, store: AsyncStoreWithMarkers, markers: None, store_clock: FakeClock | None
    ) -> None:
        user = unique_user()
        now = now_on(store_clock)
        await store.mark_user_revoked(user, 100.0, now + 60)
        await store.mark_user_revoked(user, 200.0, now + 1)
        await store.mark_user_revoked(user, 150.0, now - 1)
        if store_clock is not None:
            store_clock.now = now + 30  # past the shorter keep_until, before the longer
        assert await store.user_revoked_at(user) == 200.0
        assert await store.purge_expired() == 0  # a marker is not a session
        assert await store.user_revoked_at(user) == 200.0

    async def test_purge_expired_keeps_a_marker_until_its_keep_until(
        self, store: AsyncStoreWithMarkers, markers: None
    ) -> None:
        user = unique_user()
        keep_until = time.time() + 60
        await store.mark_user_revoked(user, 100.0, keep_until)
        assert await store.purge_expired(now=keep_until - 1) == 0
        assert await store.user_revoked_at(user) == 100.0

    async def test_markers_are_not_sessions(
        self, store: AsyncStoreWithMarkers, markers: None
    ) -> None:
        user = unique_user()
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert [key async for key in store.ids()] == []
        assert await store.count() == 0
        assert await store.ids_for_user(user) == []

    async def test_a_marker_leaves_the_users_sessions_alone(
        self, store: AsyncStoreWithMarkers, markers: None
    ) -> None:
        user = unique_user()
        record = make_record(user_id=user)
        await store.save(record)
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert [key async for key in store.ids()] == [record.id]
        assert await store.count() == 1
        assert await store.ids_for_user(user) == [record.id]
        assert_same_record(await store.load(record.id), record)

    async def test_delete_all_removes_markers_and_counts_only_sessions(
        self, store: AsyncStoreWithMarkers, markers: None
    ) -> None:
        user, other = unique_user(), unique_user()
        await store.save(make_record(user_id=user))
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        await store.mark_user_revoked(other, 100.0, time.time() + 60)
        assert await store.delete_all() == 1
        assert await store.user_revoked_at(user) is None
        assert await store.user_revoked_at(other) is None

    async def test_any_user_id_string_can_be_marked(
        self, store: AsyncStoreWithMarkers, markers: None
    ) -> None:
        user = unique_user("../ü ser/'\"; DROP TABLE x; --{slot}/") + "x" * 5000
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert await store.user_revoked_at(user) == 100.0
        assert await store.user_revoked_at(user[:-1]) is None
        assert [key async for key in store.ids()] == []

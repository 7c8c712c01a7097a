"""The store conformance suite (async source; ``_sync/conformance.py`` is generated)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from itertools import count as _counter

import pytest

from ...core.record import Record
from ...core.signing import new_session_id, store_key
from ...stores.base import AsyncStore
from ..clock import FakeClock

__all__ = ["AsyncStoreConformance"]

TIME_TOLERANCE = 0.002  # stores may keep milliseconds only
#: How far ahead a time-passing test sets an expiry: on a fake clock a realistic
#: span (it costs nothing to jump), on the real clock as little as a store's
#: millisecond times and a loaded machine allow.
FAKE_CLOCK_SPAN = 600.0
REAL_CLOCK_SPAN = 0.25
REAL_CLOCK_MARGIN = 0.05  # waited past the moment, for clock skew and rounding
_sequence: Iterator[int] = _counter()


def new_key() -> str:
    return store_key(new_session_id())


def make_record(
    *,
    key: str | None = None,
    data: bytes = b'{"n":1}',
    expires_in: float = 600.0,
    version: int = 1,
    user_id: str | None = None,
    created_at: float | None = None,
    now: float | None = None,
) -> Record:
    """A record that expires ``expires_in`` seconds after ``now`` (the real time)."""
    now = time.time() if now is None else now
    return Record(
        key or new_key(),
        data,
        round(now if created_at is None else created_at, 3),
        round(now + expires_in, 3),
        version,
        user_id,
    )


def now_on(clock: FakeClock | None) -> float:
    """The time the store reads: its fake clock's, or the real one."""
    return time.time() if clock is None else clock()


def span_on(clock: FakeClock | None) -> float:
    return REAL_CLOCK_SPAN if clock is None else FAKE_CLOCK_SPAN


async def pass_time_until(clock: FakeClock | None, moment: float) -> None:
    """Let the store's clock pass ``moment``: move the fake clock, or sleep."""
    if clock is None:
        await asyncio.sleep(max(0.0, moment - time.time()) + REAL_CLOCK_MARGIN)
    else:
        clock.now = max(clock.now, moment + REAL_CLOCK_MARGIN)


def unique_user(label: str = "user") -> str:
    return f"{label}-{next(_sequence)}-{new_session_id()[:8]}"


def assert_same_record(actual: Record | None, expected: Record) -> None:
    assert actual is not None, "record missing"
    assert actual.id == expected.id
    assert actual.data == expected.data
    assert actual.version == expected.version
    assert actual.user_id == expected.user_id
    assert abs(actual.created_at - expected.created_at) <= TIME_TOLERANCE
    assert abs(actual.expires_at - expected.expires_at) <= TIME_TOLERANCE


class AsyncStoreConformance:
    """Every behaviour of the store interface. Needs a ``store`` fixture.

    ``store_clock``: override it to return a ``FakeClock`` the store reads its time
    from, and the tests about time passing move it instead of sleeping.
    ``revocation_markers = False``: for a store that keeps no revocation markers.
    """

    pytestmark = pytest.mark.anyio  # unasync: remove

    revocation_markers = True

    @pytest.fixture  # unasync: remove
    def anyio_backend(self) -> str:  # unasync: remove
        return "asyncio"  # unasync: remove

    @pytest.fixture
    def store_clock(self) -> FakeClock | None:
        """None: the store reads the real clock."""
        return None

    @pytest.fixture
    def markers(self) -> None:
        """Requested by the revocation-marker tests: skips them, visibly, for a test
        class that says its store keeps no markers."""
        if not self.revocation_markers:
            pytest.skip("this store keeps no revocation markers (revocation_markers = False)")

    # -- setup, load and save -------------------------------------------------

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

    # -- compare-and-set ------------------------------------------------------

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

    async def test_save_if_version_writes_when_the_version_matches(self, store: AsyncStore) -> None:
        first = make_record(version=4)
        await store.save(first)
        second = make_record(key=first.id, data=b"second", version=5)
        assert await store.save_if_version(second, 4) is True
        assert_same_record(await store.load(first.id), second)

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

    async def test_save_if_version_refuses_a_stale_version(self, store: AsyncStore) -> None:
        first = make_record(version=4)
        await store.save(first)
        stale = make_record(key=first.id, data=b"stale", version=4)
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

    # -- touch ----------------------------------------------------------------

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

    # -- listing and the user index -------------------------------------------

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

    # -- revocation markers ---------------------------------------------------

    async def test_a_user_never_revoked_has_no_marker(
        self, store: AsyncStore, markers: None
    ) -> None:
        assert await store.user_revoked_at(unique_user()) is None

    async def test_a_marker_gives_back_its_revocation_time(
        self, store: AsyncStore, markers: None
    ) -> None:
        user, other = unique_user(), unique_user()
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert await store.user_revoked_at(user) == 100.0
        assert await store.user_revoked_at(other) is None

    async def test_a_later_revocation_moves_the_marker_forward(
        self, store: AsyncStore, markers: None
    ) -> None:
        user = unique_user()
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        await store.mark_user_revoked(user, 200.0, time.time() + 60)
        assert await store.user_revoked_at(user) == 200.0

    async def test_an_earlier_revocation_never_moves_the_marker_back(
        self, store: AsyncStore, markers: None
    ) -> None:
        user = unique_user()
        await store.mark_user_revoked(user, 200.0, time.time() + 60)
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert await store.user_revoked_at(user) == 200.0

    async def test_a_marker_past_its_keep_until_is_not_reported(
        self, store: AsyncStore, markers: None, store_clock: FakeClock | None
    ) -> None:
        user = unique_user()
        await store.mark_user_revoked(user, 100.0, now_on(store_clock) - 1)
        assert await store.user_revoked_at(user) is None

    async def test_a_marker_is_kept_until_its_keep_until_and_gone_after(
        self, store: AsyncStore, markers: None, store_clock: FakeClock | None
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
        self, store: AsyncStore, markers: None, store_clock: FakeClock | None
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
        self, store: AsyncStore, markers: None
    ) -> None:
        user = unique_user()
        keep_until = time.time() + 60
        await store.mark_user_revoked(user, 100.0, keep_until)
        assert await store.purge_expired(now=keep_until - 1) == 0
        assert await store.user_revoked_at(user) == 100.0

    async def test_markers_are_not_sessions(self, store: AsyncStore, markers: None) -> None:
        user = unique_user()
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert [key async for key in store.ids()] == []
        assert await store.count() == 0
        assert await store.ids_for_user(user) == []

    async def test_a_marker_leaves_the_users_sessions_alone(
        self, store: AsyncStore, markers: None
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
        self, store: AsyncStore, markers: None
    ) -> None:
        user, other = unique_user(), unique_user()
        await store.save(make_record(user_id=user))
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        await store.mark_user_revoked(other, 100.0, time.time() + 60)
        assert await store.delete_all() == 1
        assert await store.user_revoked_at(user) is None
        assert await store.user_revoked_at(other) is None

    async def test_any_user_id_string_can_be_marked(self, store: AsyncStore, markers: None) -> None:
        user = unique_user("../ü ser/'\"; DROP TABLE x; --{slot}/") + "x" * 5000
        await store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert await store.user_revoked_at(user) == 100.0
        assert await store.user_revoked_at(user[:-1]) is None
        assert [key async for key in store.ids()] == []

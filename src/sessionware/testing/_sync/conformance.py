# Generated from src/sessionware/testing/_async/conformance.py by scripts/unasync.py. Do not edit.
"""The store conformance suite (async source; ``_sync/conformance.py`` is generated)."""

from __future__ import annotations

import time
import time
from collections.abc import Iterator
from itertools import count as _counter

import pytest

from ...core.record import Record
from ...core.signing import new_session_id, store_key
from ...stores.base import Store
from ..clock import FakeClock

__all__ = ["StoreConformance"]

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


def pass_time_until(clock: FakeClock | None, moment: float) -> None:
    """Let the store's clock pass ``moment``: move the fake clock, or sleep."""
    if clock is None:
        time.sleep(max(0.0, moment - time.time()) + REAL_CLOCK_MARGIN)
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


class StoreConformance:
    """Every behaviour of the store interface. Needs a ``store`` fixture.

    ``store_clock``: override it to return a ``FakeClock`` the store reads its time
    from, and the tests about time passing move it instead of sleeping.
    ``revocation_markers = False``: for a store that keeps no revocation markers.
    """

    revocation_markers = True

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

    def test_setup_is_idempotent(self, store: Store) -> None:
        record = make_record()
        store.save(record)
        store.setup()
        store.setup()
        assert_same_record(store.load(record.id), record)

    def test_load_of_missing_key_is_none(self, store: Store) -> None:
        assert store.load(new_key()) is None

    def test_saved_record_loads_back_unchanged(self, store: Store) -> None:
        record = make_record(user_id=unique_user(), version=7)
        store.save(record)
        assert_same_record(store.load(record.id), record)

    def test_save_replaces_an_existing_record(self, store: Store) -> None:
        first = make_record(data=b"first")
        store.save(first)
        second = make_record(key=first.id, data=b"second", version=2)
        store.save(second)
        assert_same_record(store.load(first.id), second)
        assert store.count() == 1

    def test_records_are_independent(self, store: Store) -> None:
        one, two = make_record(data=b"one"), make_record(data=b"two")
        store.save(one)
        store.save(two)
        assert_same_record(store.load(one.id), one)
        assert_same_record(store.load(two.id), two)

    def test_binary_payload_with_every_byte_value_round_trips(
        self, store: Store
    ) -> None:
        record = make_record(data=bytes(range(256)) * 4)
        store.save(record)
        assert_same_record(store.load(record.id), record)

    def test_unicode_payload_and_user_round_trip(self, store: Store) -> None:
        user = unique_user("Ünïcødé-用户-🙂")
        record = make_record(data="ça va? 你好 🙂 \u0000 end".encode(), user_id=user)
        store.save(record)
        assert_same_record(store.load(record.id), record)
        assert store.ids_for_user(user) == [record.id]

    def test_empty_payload_round_trips(self, store: Store) -> None:
        record = make_record(data=b"")
        store.save(record)
        assert_same_record(store.load(record.id), record)

    def test_one_megabyte_payload_round_trips(self, store: Store) -> None:
        record = make_record(data=bytes(range(256)) * 4096)
        store.save(record)
        assert_same_record(store.load(record.id), record)

    # -- expiry ---------------------------------------------------------------

    def test_expired_record_does_not_load(self, store: Store) -> None:
        record = make_record(expires_in=-5)
        store.save(record)
        assert store.load(record.id) is None

    def test_record_stops_loading_once_its_expiry_passes(
        self, store: Store, store_clock: FakeClock | None
    ) -> None:
        record = make_record(now=now_on(store_clock), expires_in=span_on(store_clock))
        store.save(record)
        assert store.load(record.id) is not None
        pass_time_until(store_clock, record.expires_at)
        assert store.load(record.id) is None
        assert store.count() == 0

    def test_expired_records_are_not_counted_or_listed(self, store: Store) -> None:
        live, dead = make_record(), make_record(expires_in=-5)
        store.save(live)
        store.save(dead)
        assert store.count() == 1
        assert [key for key in store.ids()] == [live.id]

    def test_purge_expired_removes_only_expired_records(self, store: Store) -> None:
        live = make_record()
        dead = [make_record(expires_in=-5) for _ in range(3)]
        for record in [live, *dead]:
            store.save(record)
        removed = store.purge_expired()
        assert isinstance(removed, int)
        assert 0 <= removed <= 3
        assert_same_record(store.load(live.id), live)
        assert store.count() == 1
        assert store.purge_expired() == 0

    def test_purge_expired_honours_an_explicit_now(self, store: Store) -> None:
        soon = make_record(expires_in=30)
        store.save(soon)
        store.purge_expired(now=time.time())
        assert store.load(soon.id) is not None

    # -- compare-and-set ------------------------------------------------------

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

    def test_save_if_version_writes_when_the_version_matches(self, store: Store) -> None:
        first = make_record(version=4)
        store.save(first)
        second = make_record(key=first.id, data=b"second", version=5)
        assert store.save_if_version(second, 4) is True
        assert_same_record(store.load(first.id), second)

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

    def test_save_if_version_refuses_a_stale_version(self, store: Store) -> None:
        first = make_record(version=4)
        store.save(first)
        stale = make_record(key=first.id, data=b"stale", version=4)
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

    # -- touch ----------------------------------------------------------------

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

    # -- listing and the user index -------------------------------------------

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

    # -- revocation markers ---------------------------------------------------

    def test_a_user_never_revoked_has_no_marker(
        self, store: Store, markers: None
    ) -> None:
        assert store.user_revoked_at(unique_user()) is None

    def test_a_marker_gives_back_its_revocation_time(
        self, store: Store, markers: None
    ) -> None:
        user, other = unique_user(), unique_user()
        store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert store.user_revoked_at(user) == 100.0
        assert store.user_revoked_at(other) is None

    def test_a_later_revocation_moves_the_marker_forward(
        self, store: Store, markers: None
    ) -> None:
        user = unique_user()
        store.mark_user_revoked(user, 100.0, time.time() + 60)
        store.mark_user_revoked(user, 200.0, time.time() + 60)
        assert store.user_revoked_at(user) == 200.0

    def test_an_earlier_revocation_never_moves_the_marker_back(
        self, store: Store, markers: None
    ) -> None:
        user = unique_user()
        store.mark_user_revoked(user, 200.0, time.time() + 60)
        store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert store.user_revoked_at(user) == 200.0

    def test_a_marker_past_its_keep_until_is_not_reported(
        self, store: Store, markers: None, store_clock: FakeClock | None
    ) -> None:
        user = unique_user()
        store.mark_user_revoked(user, 100.0, now_on(store_clock) - 1)
        assert store.user_revoked_at(user) is None

    def test_a_marker_is_kept_until_its_keep_until_and_gone_after(
        self, store: Store, markers: None, store_clock: FakeClock | None
    ) -> None:
        user = unique_user()
        keep_until = round(now_on(store_clock) + span_on(store_clock), 3)
        store.mark_user_revoked(user, 100.0, keep_until)
        assert store.user_revoked_at(user) == 100.0
        if store_clock is not None:
            store_clock.now = keep_until - 1
            assert store.user_revoked_at(user) == 100.0
        pass_time_until(store_clock, keep_until)
        assert store.user_revoked_at(user) is None

    def test_a_shorter_keep_until_never_shortens_the_marker(
        self, store: Store, markers: None, store_clock: FakeClock | None
    ) -> None:
        user = unique_user()
        now = now_on(store_clock)
        store.mark_user_revoked(user, 100.0, now + 60)
        store.mark_user_revoked(user, 200.0, now + 1)
        store.mark_user_revoked(user, 150.0, now - 1)
        if store_clock is not None:
            store_clock.now = now + 30  # past the shorter keep_until, before the longer
        assert store.user_revoked_at(user) == 200.0
        assert store.purge_expired() == 0  # a marker is not a session
        assert store.user_revoked_at(user) == 200.0

    def test_purge_expired_keeps_a_marker_until_its_keep_until(
        self, store: Store, markers: None
    ) -> None:
        user = unique_user()
        keep_until = time.time() + 60
        store.mark_user_revoked(user, 100.0, keep_until)
        assert store.purge_expired(now=keep_until - 1) == 0
        assert store.user_revoked_at(user) == 100.0

    def test_markers_are_not_sessions(self, store: Store, markers: None) -> None:
        user = unique_user()
        store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert [key for key in store.ids()] == []
        assert store.count() == 0
        assert store.ids_for_user(user) == []

    def test_a_marker_leaves_the_users_sessions_alone(
        self, store: Store, markers: None
    ) -> None:
        user = unique_user()
        record = make_record(user_id=user)
        store.save(record)
        store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert [key for key in store.ids()] == [record.id]
        assert store.count() == 1
        assert store.ids_for_user(user) == [record.id]
        assert_same_record(store.load(record.id), record)

    def test_delete_all_removes_markers_and_counts_only_sessions(
        self, store: Store, markers: None
    ) -> None:
        user, other = unique_user(), unique_user()
        store.save(make_record(user_id=user))
        store.mark_user_revoked(user, 100.0, time.time() + 60)
        store.mark_user_revoked(other, 100.0, time.time() + 60)
        assert store.delete_all() == 1
        assert store.user_revoked_at(user) is None
        assert store.user_revoked_at(other) is None

    def test_any_user_id_string_can_be_marked(self, store: Store, markers: None) -> None:
        user = unique_user("../ü ser/'\"; DROP TABLE x; --{slot}/") + "x" * 5000
        store.mark_user_revoked(user, 100.0, time.time() + 60)
        assert store.user_revoked_at(user) == 100.0
        assert store.user_revoked_at(user[:-1]) is None
        assert [key for key in store.ids()] == []

# Generated from tests/_async/test_manager.py by scripts/unasync.py. Do not edit.
"""The session manager: one request's session lifecycle against a real (memory) store."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import sessionware as sw
from sessionware.core.codecs import JsonCodec
from sessionware.core.record import Record
from sessionware.core.signing import CookieSigner, new_session_id
from sessionware.stores.memory import MemoryStore

from ..conftest import SECRET, Clock, CountingProxy
from ..flavours import memory_store_on


@pytest.fixture
def memory_store(clock: Clock) -> MemoryStore:
    return memory_store_on(clock)


@pytest.fixture
def counting_store(memory_store: MemoryStore) -> CountingProxy:
    return CountingProxy(memory_store)


@pytest.fixture
def manager(
    counting_store: CountingProxy, clock: Clock
) -> Iterator[sw.SessionManager]:
    manager = sw.SessionManager(counting_store, secret_key=SECRET, clock=clock)
    yield manager
    manager.close()


def cookie_for(manager: sw.SessionManager, **data: object) -> str:
    """Create a stored session holding ``data``; its cookie value."""
    with manager.scope(None) as session:
        session.update(data)
    assert session.cookie_value is not None
    return session.cookie_value


# -- opening without a round trip ---------------------------------------------


def test_a_request_without_cookie_costs_no_store_call(
    manager: sw.SessionManager, counting_store: CountingProxy
) -> None:
    with manager.scope(None) as session:
        assert session.is_new
        assert session.get("anything") is None
    assert counting_store.calls == []
    assert session.cookie_value is None


@pytest.mark.parametrize(
    "cookie",
    ["", "garbage", "x" * 5000, new_session_id(), "a.b.c", "\x00;\n"],
    ids=["empty", "garbage", "oversized", "unsigned", "malformed", "control-chars"],
)
def test_a_bad_cookie_gets_a_fresh_session_without_store_call(
    manager: sw.SessionManager, counting_store: CountingProxy, cookie: str
) -> None:
    with manager.scope(cookie) as session:
        assert session.is_new
        assert dict(session) == {}
    assert counting_store.calls == []


def test_a_cookie_signed_with_another_key_never_reaches_the_store(
    manager: sw.SessionManager, counting_store: CountingProxy, clock: Clock
) -> None:
    forged = CookieSigner("attacker's own key, long enough as well").sign(new_session_id(), clock())
    with manager.scope(forged) as session:
        assert session.is_new
    assert counting_store.calls == []


# -- saving only what changed ---------------------------------------------------


def test_a_counter_survives_across_scopes(manager: sw.SessionManager) -> None:
    cookie = cookie_for(manager, n=0)
    for _ in range(3):
        with manager.scope(cookie) as session:
            session["n"] += 1
    with manager.scope(cookie) as session:
        assert session["n"] == 3


def test_a_session_that_stays_empty_is_not_saved(
    manager: sw.SessionManager, counting_store: CountingProxy
) -> None:
    with manager.scope(None) as session:
        session["x"] = 1
        del session["x"]
    assert counting_store.calls == []
    assert session.cookie_value is None


def test_a_new_session_with_data_is_saved_and_gets_a_cookie(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    with manager.scope(None) as session:
        session["cart"] = [1, 2]
    assert session.cookie_value is not None
    assert memory_store.count() == 1
    assert session.id not in session.cookie_value.split(".")[2]


def test_a_stored_session_comes_back_with_its_data(manager: sw.SessionManager) -> None:
    cookie = cookie_for(manager, cart=[1, 2], name="Zoë")
    with manager.scope(cookie) as session:
        assert not session.is_new
        assert dict(session) == {"cart": [1, 2], "name": "Zoë"}
    assert session.cookie_value is None  # nothing to set again


def test_a_read_only_request_writes_nothing(
    manager: sw.SessionManager, counting_store: CountingProxy
) -> None:
    cookie = cookie_for(manager, cart=[1])
    counting_store.calls.clear()
    with manager.scope(cookie) as session:
        assert session["cart"] == [1]
    assert counting_store.calls == ["load"]


def test_setting_a_key_to_its_current_value_writes_nothing(
    manager: sw.SessionManager, counting_store: CountingProxy
) -> None:
    cookie = cookie_for(manager, n=1)
    counting_store.calls.clear()
    with manager.scope(cookie) as session:
        session["n"] = 1
    assert counting_store.writes() == 0


def test_in_place_mutation_of_a_nested_value_is_saved(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, cart=[1, 2])
    with manager.scope(cookie) as session:
        session["cart"].append(3)
        assert session.modified
    with manager.scope(cookie) as session:
        assert session["cart"] == [1, 2, 3]


def test_modified_can_force_a_save(
    manager: sw.SessionManager, counting_store: CountingProxy
) -> None:
    cookie = cookie_for(manager, n=1)
    counting_store.calls.clear()
    with manager.scope(cookie) as session:
        session.modified = True
    assert counting_store.calls_to("save_if_version") == 1


# -- ids the store does not know, expiry ------------------------------------------


def test_a_genuine_cookie_for_an_unknown_id_gets_a_new_id(
    manager: sw.SessionManager, memory_store: MemoryStore, clock: Clock
) -> None:
    chosen = new_session_id()
    cookie = manager.core.signer.sign(chosen, clock())
    with manager.scope(cookie) as session:
        assert session.is_new
        session["x"] = 1
    assert session.id != chosen
    assert session.cookie_value is not None
    assert chosen not in session.cookie_value


def test_a_session_idle_past_its_timeout_is_gone(
    counting_store: CountingProxy, clock: Clock
) -> None:
    manager = sw.SessionManager(
        counting_store, secret_key=SECRET, idle_timeout=60, clock=clock
    )
    cookie = cookie_for(manager, n=1)
    clock.advance(61)
    with manager.scope(cookie) as session:
        assert session.is_new
        assert dict(session) == {}


def test_a_cookie_past_the_maximum_age_is_refused_without_store_call(
    counting_store: CountingProxy, clock: Clock
) -> None:
    manager = sw.SessionManager(
        counting_store, secret_key=SECRET, idle_timeout=None, max_age=100, clock=clock
    )
    cookie = cookie_for(manager, n=1)
    clock.advance(101)
    counting_store.calls.clear()
    with manager.scope(cookie) as session:
        assert session.is_new
    assert counting_store.calls == []


def test_maximum_age_caps_the_expiry_however_active_the_session(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = sw.SessionManager(
        memory_store, secret_key=SECRET, idle_timeout=60, max_age=100, clock=clock
    )
    cookie = cookie_for(manager, n=0)
    for step in range(1, 4):
        clock.advance(30)
        with manager.scope(cookie) as session:
            session["n"] = step
            assert session.expires_at <= session.created_at + 100
    clock.advance(15)  # 105 s after creation
    with manager.scope(cookie) as session:
        assert session.is_new


def test_a_save_after_the_lifetime_is_over_deletes_the_record(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = sw.SessionManager(
        memory_store, secret_key=SECRET, idle_timeout=None, max_age=100, clock=clock
    )
    cookie = cookie_for(manager, n=0)
    session = manager.open(cookie)
    session["n"] = 1
    clock.advance(200)
    assert manager.save_changes(session) is None
    assert memory_store.count() == 0
    assert session.invalidated


# -- failures -----------------------------------------------------------------------


def test_an_exception_in_the_scope_leaves_the_stored_session_as_it_was(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, n=1)
    with pytest.raises(RuntimeError):
        with manager.scope(cookie) as session:
            session["n"] = 2
            session["other"] = True
            raise RuntimeError("request failed")
    with manager.scope(cookie) as session:
        assert dict(session) == {"n": 1}


def test_an_exception_forgets_the_changes(manager: sw.SessionManager) -> None:
    cookie = cookie_for(manager, n=1)
    with pytest.raises(KeyError):
        with manager.scope(cookie) as session:
            session["n"] = 2
            raise KeyError("boom")
    with manager.scope(cookie) as session:
        assert session["n"] == 1


def test_undecodable_stored_data_is_a_fresh_session_and_is_logged(
    manager: sw.SessionManager,
    memory_store: MemoryStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cookie = cookie_for(manager, n=1)
    (key,) = [key for key in memory_store.ids()]
    good = memory_store.load(key)
    assert good is not None
    memory_store.save(
        Record(key, b"\xff not json", good.created_at, good.expires_at, 1, None)
    )
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        with manager.scope(cookie) as session:
            assert session.is_new
            assert dict(session) == {}
    assert "does not decode" in caplog.text


def test_a_non_string_key_is_a_type_error_when_set_and_the_store_is_untouched(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    cookie = cookie_for(manager, n=1)
    session = manager.open(cookie)
    with pytest.raises(TypeError, match="session key 3"):
        session[3] = "three"  # type: ignore[index]
    with pytest.raises(TypeError, match="session key 4"):
        session.setdefault(4, "four")  # type: ignore[call-overload]
    manager.save_changes(session)
    with manager.scope(cookie) as again:
        assert dict(again) == {"n": 1}


def test_an_unencodable_value_is_a_type_error_naming_its_key(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, n=1)
    session = manager.open(cookie)
    session["socket"] = object()
    with pytest.raises(TypeError, match="'socket'"):
        manager.save_changes(session)
    with manager.scope(cookie) as again:
        assert dict(again) == {"n": 1}


def test_pickle_needs_an_explicit_opt_in(
    memory_store: MemoryStore, clock: Clock
) -> None:
    with pytest.raises(ValueError, match="allow_pickle"):
        sw.SessionManager(memory_store, secret_key=SECRET, codec="pickle")
    manager = sw.SessionManager(
        memory_store, secret_key=SECRET, codec="pickle", allow_pickle=True, clock=clock
    )
    cookie = cookie_for(manager, when={1, 2})
    with manager.scope(cookie) as session:
        assert session["when"] == {1, 2}


# -- identity: regenerate, login, invalidate, revoke --------------------------------


def test_regenerate_moves_the_data_to_a_new_id_and_deletes_the_old(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    cookie = cookie_for(manager, cart=[1])
    with manager.scope(cookie) as session:
        old_key = session.key
        manager.regenerate(session)
    assert session.cookie_value is not None
    assert session.cookie_value != cookie
    assert memory_store.load(old_key) is None
    with manager.scope(session.cookie_value) as moved:
        assert moved["cart"] == [1]
    with manager.scope(cookie) as stale:
        assert stale.is_new


def test_regenerate_in_a_failed_request_keeps_the_old_id(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, cart=[1])
    with pytest.raises(RuntimeError):
        with manager.scope(cookie) as session:
            manager.regenerate(session)
            raise RuntimeError
    with manager.scope(cookie) as again:
        assert again["cart"] == [1]


def test_login_binds_the_user_and_changes_the_id(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    cookie = cookie_for(manager, cart=[1])
    with manager.scope(cookie) as session:
        manager.login(session, "alice")
    assert session.user_id == "alice"
    assert session.cookie_value not in (None, cookie)
    assert memory_store.ids_for_user("alice") == [session.key]


def test_login_of_a_brand_new_session_saves_it_even_without_data(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    with manager.scope(None) as session:
        manager.login(session, "alice")
    assert session.cookie_value is not None
    assert memory_store.ids_for_user("alice") == [session.key]


def test_login_and_revoke_user(manager: sw.SessionManager) -> None:
    with manager.scope(None) as session:
        manager.login(session, "alice")
    cookie = session.cookie_value
    assert manager.revoke_user("alice") == 1
    with manager.scope(cookie) as session:
        assert session.is_new


def test_revoke_user_deletes_every_session_of_that_user(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    cookies = []
    for _ in range(3):
        with manager.scope(None) as session:
            manager.login(session, "alice")
        cookies.append(session.cookie_value)
    with manager.scope(None) as bob:
        manager.login(bob, "bob")
    assert manager.revoke_user("alice") == 3
    for cookie in cookies:
        with manager.scope(cookie) as session:
            assert session.is_new
    assert memory_store.ids_for_user("bob") == [bob.key]


def test_invalidate_deletes_now_and_asks_for_the_cookie_to_go(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    cookie = cookie_for(manager, n=1)
    with manager.scope(cookie) as session:
        manager.invalidate(session)
        assert memory_store.count() == 0
    assert session.invalidated
    assert session.cookie_value is None


def test_data_written_after_invalidate_starts_a_new_session(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    cookie = cookie_for(manager, n=1)
    with manager.scope(cookie) as session:
        manager.invalidate(session)
        session["fresh"] = True
    assert session.cookie_value is not None
    with manager.scope(session.cookie_value) as again:
        assert dict(again) == {"fresh": True}


def test_purge_expired_removes_dead_sessions(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = sw.SessionManager(memory_store, secret_key=SECRET, idle_timeout=60, clock=clock)
    for _ in range(3):
        cookie_for(manager, n=1)
    clock.advance(61)
    cookie_for(manager, n=2)
    assert manager.purge_expired() == 3
    assert memory_store.count() == 1


# -- concurrent requests on one session ---------------------------------------------


def test_interleaved_requests_keep_each_others_keys(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, base=0)
    first, second = manager.open(cookie), manager.open(cookie)
    assert first["base"] == second["base"] == 0
    first["x"] = 1
    second["y"] = 2
    manager.save_changes(first)
    manager.save_changes(second)
    with manager.scope(cookie) as session:
        assert dict(session) == {"base": 0, "x": 1, "y": 2}


def test_a_key_deleted_by_one_request_stays_deleted(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, a=1, b=2)
    first, second = manager.open(cookie), manager.open(cookie)
    del first["a"]
    second["c"] = 3
    manager.save_changes(first)
    manager.save_changes(second)
    with manager.scope(cookie) as session:
        assert dict(session) == {"b": 2, "c": 3}


def test_same_key_conflicts_go_to_the_last_writer_by_default(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, n=0)
    first, second = manager.open(cookie), manager.open(cookie)
    first["n"], second["n"] = 1, 2
    manager.save_changes(first)
    manager.save_changes(second)
    with manager.scope(cookie) as session:
        assert session["n"] == 2


def test_same_key_conflicts_can_be_made_to_raise(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = sw.SessionManager(
        memory_store, secret_key=SECRET, same_key_conflicts="raise", clock=clock
    )
    cookie = cookie_for(manager, n=0)
    first, second = manager.open(cookie), manager.open(cookie)
    first["n"], second["n"] = 1, 2
    manager.save_changes(first)
    with pytest.raises(sw.ConcurrentUpdateError, match="'n'"):
        manager.save_changes(second)
    with manager.scope(cookie) as session:
        assert session["n"] == 1
    manager.close()


def test_a_session_invalidated_meanwhile_is_not_brought_back(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    cookie = cookie_for(manager, n=0)
    late = manager.open(cookie)
    late["n"] = 5
    with manager.scope(cookie) as session:
        manager.invalidate(session)
    assert manager.save_changes(late) is None
    assert memory_store.count() == 0
    assert late.invalidated


def test_a_session_revoked_meanwhile_is_not_brought_back(
    manager: sw.SessionManager, memory_store: MemoryStore
) -> None:
    with manager.scope(None) as session:
        manager.login(session, "alice")
    cookie = session.cookie_value
    late = manager.open(cookie)
    late["cart"] = [1]
    manager.revoke_user("alice")
    manager.save_changes(late)
    assert memory_store.count() == 0


# -- visits ---------------------------------------------------------------------------


def test_a_read_only_visit_queues_its_expiry_instead_of_writing(
    counting_store: CountingProxy, clock: Clock
) -> None:
    manager = sw.SessionManager(
        counting_store, secret_key=SECRET, idle_timeout=600, clock=clock
    )
    cookie = cookie_for(manager, n=1)
    clock.advance(120)  # past the throttle (a tenth of the idle timeout)
    counting_store.calls.clear()
    for _ in range(50):
        with manager.scope(cookie) as session:
            assert session["n"] == 1
    assert counting_store.calls == ["load"] * 50
    assert manager.flush_visits() == 1
    assert counting_store.calls_to("touch_many") == 1
    manager.close()


def test_a_visit_extends_the_expiry_once_flushed(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = sw.SessionManager(memory_store, secret_key=SECRET, idle_timeout=600, clock=clock)
    cookie = cookie_for(manager, n=1)
    clock.advance(500)
    with manager.scope(cookie) as session:
        assert session["n"] == 1
    manager.flush_visits()
    clock.advance(500)  # 1000 s after creation, 500 s after the visit
    with manager.scope(cookie) as session:
        assert session.get("n") == 1
    manager.close()


def test_a_visit_close_to_expiry_is_written_at_once(
    counting_store: CountingProxy, clock: Clock
) -> None:
    manager = sw.SessionManager(
        counting_store, secret_key=SECRET, idle_timeout=60, clock=clock
    )
    cookie = cookie_for(manager, n=1)
    clock.advance(55)  # 5 s left: cannot wait for a 5 s flush interval
    counting_store.calls.clear()
    with manager.scope(cookie) as session:
        assert session["n"] == 1
    assert counting_store.calls == ["load", "touch_many"]
    clock.advance(30)
    with manager.scope(cookie) as session:
        assert session.get("n") == 1
    manager.close()


def test_close_flushes_queued_visits(counting_store: CountingProxy, clock: Clock) -> None:
    manager = sw.SessionManager(
        counting_store, secret_key=SECRET, idle_timeout=600, clock=clock
    )
    cookie = cookie_for(manager, n=1)
    clock.advance(120)
    with manager.scope(cookie) as session:
        session.get("n")
    counting_store.calls.clear()
    manager.close()
    assert counting_store.calls == ["touch_many"]


def test_a_pending_touch_keeps_a_session_alive_until_flushed(
    memory_store: MemoryStore, clock: Clock
) -> None:
    tracker = sw.VisitTracker(interval=5.0)
    manager = sw.SessionManager(
        memory_store, secret_key=SECRET, idle_timeout=600, visit_tracker=tracker, clock=clock
    )
    cookie = cookie_for(manager, n=1)
    clock.advance(300)
    with manager.scope(cookie) as session:
        session.get("n")
    assert len(tracker) == 1
    (key,) = [key for key in memory_store.ids()]
    assert tracker.pending_expiry(key) == pytest.approx(clock() + 600)
    manager.close()


def test_read_only_visits_are_flushed_in_the_background(
    memory_store: MemoryStore, clock: Clock
) -> None:
    tracker = sw.VisitTracker(interval=0.05)
    manager = sw.SessionManager(
        memory_store, secret_key=SECRET, idle_timeout=600, visit_tracker=tracker, clock=clock
    )
    cookie = cookie_for(manager, n=1)
    clock.advance(300)
    with manager.scope(cookie) as session:
        assert session["n"] == 1
    assert len(tracker) == 1
    import time

    for _ in range(100):
        if tracker.stats.flushes:
            break
        time.sleep(0.02)
    assert tracker.stats.flushed == 1
    (record,) = [memory_store.load(key) for key in memory_store.ids()]
    assert record is not None
    assert record.expires_at == pytest.approx(clock() + 600)
    manager.close()


# -- listeners --------------------------------------------------------------------------


class SaveCounter:
    def __init__(self) -> None:
        self.saved: list[str] = []

    def on_save(self, session: sw.Session) -> None:
        self.saved.append(session.key)


def test_a_listener_gets_only_the_hooks_it_implements(
    manager: sw.SessionManager,
) -> None:
    listener = SaveCounter()
    manager.add_listener(listener)
    assert manager.events.has("on_save")
    assert not manager.events.has("on_load")
    cookie_for(manager, n=1)
    assert len(listener.saved) == 1


def test_a_failing_listener_does_not_break_the_request(
    manager: sw.SessionManager, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[str] = []

    class Broken:
        def on_create(self, session: sw.Session) -> None:
            raise ValueError("listener bug")

    class ErrorWatcher:
        def on_error(self, operation: str, exc: BaseException) -> None:
            errors.append(operation)

    manager.add_listener(Broken())
    manager.add_listener(ErrorWatcher())
    cookie = cookie_for(manager, n=1)
    assert cookie
    assert errors == ["on_create"]
    assert "listener bug" in caplog.text


def test_an_object_with_no_hooks_is_refused_as_a_listener(
    manager: sw.SessionManager,
) -> None:
    with pytest.raises(TypeError, match="none of the listener hooks"):
        manager.add_listener(object())


# -- change detection cost ----------------------------------------------------------


class CountingJson(JsonCodec):
    def __init__(self) -> None:
        super().__init__()
        self.encodes = 0

    def encode(self, data: dict[str, object]) -> bytes:
        self.encodes += 1
        return super().encode(data)


def test_reading_only_plain_values_skips_the_change_check(
    memory_store: MemoryStore, clock: Clock
) -> None:
    codec = CountingJson()
    manager = sw.SessionManager(memory_store, secret_key=SECRET, codec=codec, clock=clock)
    cookie = cookie_for(manager, name="Zoë", n=1, cart=[1])
    codec.encodes = 0
    with manager.scope(cookie) as session:
        assert session["name"] == "Zoë"
        assert session.get("n") == 1
        assert "cart" in session
    assert codec.encodes == 0


def test_reading_a_mutable_value_keeps_the_change_check(
    memory_store: MemoryStore, clock: Clock
) -> None:
    codec = CountingJson()
    manager = sw.SessionManager(memory_store, secret_key=SECRET, codec=codec, clock=clock)
    cookie = cookie_for(manager, cart=[1])
    codec.encodes = 0
    with manager.scope(cookie) as session:
        assert session["cart"] == [1]
    assert codec.encodes == 1


def test_a_nested_value_changed_after_a_save_is_saved_again(
    manager: sw.SessionManager,
) -> None:
    cookie = cookie_for(manager, cart=[1])
    session = manager.open(cookie)
    cart = session["cart"]
    cart.append(2)
    manager.save_changes(session)
    cart.append(3)
    manager.save_changes(session)
    with manager.scope(cookie) as again:
        assert again["cart"] == [1, 2, 3]


def test_a_write_within_the_throttle_keeps_the_stored_expiry(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = sw.SessionManager(memory_store, secret_key=SECRET, idle_timeout=600, clock=clock)
    cookie = cookie_for(manager, n=0)
    (key,) = [key for key in memory_store.ids()]
    first = memory_store.load(key)
    assert first is not None
    clock.advance(30)  # less than a tenth of the idle timeout
    with manager.scope(cookie) as session:
        session["n"] = 1
    second = memory_store.load(key)
    assert second is not None
    assert second.version == first.version + 1
    assert second.expires_at == first.expires_at


def test_a_write_past_the_throttle_moves_the_expiry(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = sw.SessionManager(memory_store, secret_key=SECRET, idle_timeout=600, clock=clock)
    cookie = cookie_for(manager, n=0)
    clock.advance(120)
    with manager.scope(cookie) as session:
        session["n"] = 1
    (key,) = [key for key in memory_store.ids()]
    record = memory_store.load(key)
    assert record is not None
    assert record.expires_at == clock() + 600

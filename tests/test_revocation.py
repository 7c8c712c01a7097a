"""Revocation is final: a session that was invalidated, revoked or logged out never
comes back, whatever a concurrent request that loaded it before does.

Every test runs two managers on two store connections (as two worker processes
would), on every store that can be shared, with the interleaving forced: request
A loads the session, request B deletes it (``invalidate``) or logs its user out
everywhere (``revoke_user``), then A changes, regenerates, logs in or only reads,
and saves. A last test repeats every pair 200 times with random interleavings.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import sessionware as sw
from sessionware.stores.memory import MemoryStore
from tests.conftest import SECRET, Clock
from tests.revocation_support import (
    REQUEST_OPS,
    REVOKER_OPS,
    USER,
    act,
    logged_in_cookie,
    shared_store,
)

STORES = ["memory", "files", "sqlite", "redis", "postgresql", "mariadb"]


class Pause(sw.StoreProxy):
    """Runs ``after_ids_for_user`` between revoke_user's read of the user index and
    its delete: the window in which a racing login or regenerate used to survive."""

    after_ids_for_user: Callable[[], None] | None = None

    def ids_for_user(self, call: Any, user_id: str) -> Any:
        keys = call(user_id)
        hook, self.after_ids_for_user = self.after_ids_for_user, None
        if hook is not None:
            hook()
        return keys


@dataclass
class Pair:
    """Two connections to one store, and what the test must clean up."""

    a: Any
    b: Any
    cleanup: Callable[[], None]


def _open_pair(url: str, **options: Any) -> Pair:
    a = sw.open_store(url, **options)
    b = sw.open_store(url, **options)

    def cleanup() -> None:
        a.delete_all()
        drop = getattr(a, "drop_table", None)
        b.close()
        if drop is not None:
            drop()
        a.close()

    return Pair(a, b, cleanup)


def _pair_for(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Pair:
    if kind == "memory":  # one process's memory: both managers share the one store
        store = MemoryStore()
        return Pair(store, store, store.close)
    url, options = shared_store(kind, request, tmp_path, "revoke")
    return _open_pair(url, **options)


@pytest.fixture(params=STORES)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Pair]:
    made = _pair_for(request.param, request, tmp_path)
    try:
        yield made
    finally:
        made.cleanup()


@dataclass
class Requests:
    """Request A's manager and request B's, each on its own connection."""

    a: sw.SessionManager
    b: sw.SessionManager
    store: Any
    clock: Clock
    paused: Pause


@pytest.fixture
def requests(pair: Pair) -> Requests:
    clock = Clock(time.time())
    paused = Pause(pair.b)
    options: dict[str, Any] = {"secret_key": SECRET, "visit_tracker": False, "clock": clock}
    a = sw.SessionManager(pair.a, **options)
    b = sw.SessionManager(paused, **options)
    return Requests(a, b, pair.a, clock, paused)


def revoke(manager: sw.SessionManager, cookie: str, op: str) -> None:
    if op == "invalidate":
        manager.invalidate(manager.open(cookie))
    else:
        manager.revoke_user(USER)


def assert_nothing_left(requests: Requests, cookie: str) -> None:
    assert requests.store.ids_for_user(USER) == []
    assert requests.store.count() == 0
    assert requests.a.open(cookie).is_new


@pytest.mark.parametrize("request_op", REQUEST_OPS)
@pytest.mark.parametrize("revoker_op", REVOKER_OPS)
def test_a_request_that_loaded_the_session_before_its_revocation_cannot_bring_it_back(
    requests: Requests, revoker_op: str, request_op: str
) -> None:
    cookie = logged_in_cookie(requests.a)
    session = requests.a.open(cookie)
    assert not session.is_new  # loaded before the revocation
    revoke(requests.b, cookie, revoker_op)
    requests.clock.advance(400)  # past the visit throttle: a read-only visit touches
    act(requests.a, session, request_op)

    assert requests.a.save_changes(session) is None
    assert session.cookie_value is None
    if request_op != "visit":  # a write that found its record gone starts fresh
        assert session.is_new
    assert_nothing_left(requests, cookie)


@pytest.mark.parametrize("request_op", ["regenerate", "login"])
def test_a_regenerate_or_login_landing_inside_revoke_user_does_not_survive_it(
    requests: Requests, request_op: str
) -> None:
    cookie = logged_in_cookie(requests.a)
    session = requests.a.open(cookie)
    act(requests.a, session, request_op)
    saved: list[str | None] = []
    requests.paused.after_ids_for_user = lambda: saved.append(requests.a.save_changes(session))

    requests.b.revoke_user(USER)

    assert saved == [None]
    assert_nothing_left(requests, cookie)


def test_a_first_login_landing_inside_revoke_user_does_not_survive_it(
    requests: Requests,
) -> None:
    session = requests.a.open(None)
    session["cart"] = [1]
    requests.a.login(session, USER)
    saved: list[str | None] = []
    requests.paused.after_ids_for_user = lambda: saved.append(requests.a.save_changes(session))

    requests.b.revoke_user(USER)

    assert saved == [None]
    assert requests.store.ids_for_user(USER) == []
    assert requests.store.count() == 0


def test_a_login_in_a_request_that_began_before_revoke_user_is_undone_when_it_saves(
    requests: Requests,
) -> None:
    session = requests.a.open(None)
    session["cart"] = [1]
    requests.clock.advance(1)
    requests.b.revoke_user(USER)
    requests.clock.advance(1)
    requests.a.login(session, USER)

    assert requests.a.save_changes(session) is None
    assert requests.store.ids_for_user(USER) == []


def test_a_login_in_a_request_that_began_after_revoke_user_stands(requests: Requests) -> None:
    logged_in_cookie(requests.a)
    requests.b.revoke_user(USER)
    requests.clock.advance(1)

    cookie = logged_in_cookie(requests.a)

    assert not requests.a.open(cookie).is_new
    assert len(requests.store.ids_for_user(USER)) == 1


def test_a_request_that_revokes_its_user_and_then_logs_in_again_keeps_its_own_login(
    requests: Requests,
) -> None:
    old_cookie = logged_in_cookie(requests.a)
    with requests.a.scope(old_cookie) as session:
        requests.a.revoke_user(USER)  # "log out everywhere else, keep me signed in"
        requests.a.login(session, USER)

    assert session.cookie_value is not None
    assert requests.store.ids_for_user(USER) == [session.key]
    assert requests.a.open(old_cookie).is_new


def test_a_later_revocation_elsewhere_still_undoes_a_request_that_revoked_earlier(
    requests: Requests,
) -> None:
    with requests.a.scope(None) as session:
        requests.a.revoke_user(USER)
        requests.clock.advance(1)
        elsewhere = threading.Thread(target=requests.b.revoke_user, args=(USER,))
        elsewhere.start()  # another worker, with a context of its own
        elsewhere.join(10)
        requests.a.login(session, USER)

    assert session.cookie_value is None
    assert requests.store.ids_for_user(USER) == []


# -- random interleavings ------------------------------------------------------------

TRIALS = 200


def _jitter(rng: random.Random) -> None:
    time.sleep(rng.choice((0.0, 0.0, 0.0002, 0.0005, 0.001)))


def _trial(requests: Requests, revoker_op: str, request_op: str, rng: random.Random) -> None:
    requests.clock.advance(1)  # this trial's requests begin after the last revocation
    cookie = logged_in_cookie(requests.a)
    session = requests.a.open(cookie)
    assert not session.is_new
    doomed = requests.b.open(cookie)
    assert not doomed.is_new
    doomed_key = doomed.key

    def request_a() -> None:
        _jitter(rng)
        act(requests.a, session, request_op)
        _jitter(rng)
        requests.a.save_changes(session)

    def request_b() -> None:
        _jitter(rng)
        if revoker_op == "invalidate":
            requests.b.invalidate(doomed)
        else:
            requests.b.revoke_user(USER)

    threads = [threading.Thread(target=request_a), threading.Thread(target=request_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    left = requests.store.ids_for_user(USER)
    if revoker_op == "revoke_user" or request_op in ("change", "visit"):
        # Both requests began before the revocation: it wins.
        assert left == [], (revoker_op, request_op)
    else:
        # invalidate names one id; a regenerate that completed first moved the
        # session to a new id, which that invalidate never named. Either way the
        # id B invalidated is gone, and at most A's new id remains.
        assert requests.store.load(doomed_key) is None
        assert len(left) <= 1
    requests.store.delete_many(left)


@pytest.mark.parametrize("request_op", REQUEST_OPS)
@pytest.mark.parametrize("revoker_op", REVOKER_OPS)
def test_random_interleavings_leave_no_revoked_session_behind(
    requests: Requests, revoker_op: str, request_op: str
) -> None:
    rng = random.Random(f"{revoker_op}-{request_op}")
    deadline = time.monotonic() + 60
    for _ in range(TRIALS):
        _trial(requests, revoker_op, request_op, rng)
        if time.monotonic() > deadline:
            break
    assert requests.store.count() == 0

"""``core.transition``: what a peer's cookie converts into during a switch, as
decisions over (cookie, time, imported record) -> answer. No store, no clock."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sessionware.core.lifecycle import Action
from sessionware.core.record import Record
from sessionware.core.session import Session
from sessionware.core.signing import store_key
from sessionware.core.transition import (
    PeerSession,
    TransitionPolicy,
    adopt_contents,
    adopt_record,
    import_key,
    peer_cookie_to_delete,
    until_timestamp,
)

from .support import NOW, make_core

UNTIL = NOW + 3600


class Peer:
    """A peer whose cookies are "ok-<id>"; anything else it would refuse."""

    name = "peer"
    cookie_name = "peer_session"

    def locate(self, cookie_value: str) -> str | None:
        return cookie_value[3:] if cookie_value.startswith("ok-") else None


def imported(key: str, *, expires_at: float = NOW + 600, user_id: str | None = "7") -> Record:
    payload = make_core().codec.encode({"cart": [1, 2]})
    return Record(key, payload, NOW - 86400, expires_at, 1, user_id)


def test_an_import_key_is_namespaced_by_peer_and_is_no_sessions_key() -> None:
    assert import_key("django", "abc") != import_key("beaker", "abc")
    assert import_key("django", "abc") != store_key("abc")
    assert len(import_key("django", "abc")) == 40


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        pytest.param(1_900_000_000, 1_900_000_000.0, id="unix-seconds"),
        pytest.param("2030-03-17T17:46:40", 1_900_000_000.0, id="naive-iso-is-utc"),
        pytest.param(
            datetime(2030, 3, 17, 17, 46, 40, tzinfo=timezone.utc), 1_900_000_000.0, id="aware"
        ),
        pytest.param(None, None, id="none"),
    ],
)
def test_until_timestamp(until: object, expected: float | None) -> None:
    assert until_timestamp(until) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("cookie", "now", "expected"),
    [
        pytest.param("ok-abc", NOW, import_key("peer", "abc"), id="in-the-period-its-import-key"),
        pytest.param("ok-abc", UNTIL, None, id="at-the-end-refused"),
        pytest.param("forged", NOW, None, id="refused-by-the-peer"),
        pytest.param(None, NOW, None, id="no-cookie"),
    ],
)
def test_what_a_peer_cookie_leads_to(cookie: str | None, now: float, expected: str | None) -> None:
    assert TransitionPolicy(Peer(), UNTIL).locate(cookie, now) == expected


def test_an_imported_record_becomes_a_session_with_its_data_user_and_creation_time() -> None:
    core = make_core()
    key = import_key("peer", "abc")
    session = adopt_record(core, key, imported(key), NOW)
    assert session is not None
    assert dict(session) == {"cart": [1, 2]}
    assert session.user_id == "7"
    assert session.created_at == NOW - 86400


def test_the_save_of_an_adopted_session_writes_a_new_key_and_deletes_the_import() -> None:
    core = make_core()
    key = import_key("peer", "abc")
    session = adopt_record(core, key, imported(key), NOW)
    assert session is not None
    plan = core.plan_save(session, NOW)
    assert plan.action is Action.WRITE
    assert plan.record is not None
    assert plan.record.id != key
    assert plan.delete_key == key  # converted once: the import goes with this save


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(None, id="not-imported"),
        pytest.param(imported(import_key("peer", "abc"), expires_at=NOW - 1), id="expired"),
        pytest.param(imported(import_key("peer", "other")), id="another-key"),
    ],
)
def test_no_live_imported_record_means_no_session(record: Record | None) -> None:
    assert adopt_record(make_core(), import_key("peer", "abc"), record, NOW) is None


def test_a_self_contained_peer_session_becomes_a_new_session_bound_to_its_user() -> None:
    core = make_core()
    contents = PeerSession("", {"cart": [1, 2]}, NOW - 60, NOW + 600, user_id="7")
    session = adopt_contents(core, contents, NOW)
    assert dict(session) == {"cart": [1, 2]}
    assert session.user_id == "7"
    assert core.plan_save(session, NOW).action is Action.WRITE


def saved_adopted_session() -> Session:
    """An adopted session whose save was written: it has a cookie to send."""
    core = make_core()
    key = import_key("peer", "abc")
    session = adopt_record(core, key, imported(key), NOW)
    assert session is not None
    core.saved(session, core.plan_save(session, NOW))
    return session


def test_the_peer_cookie_of_another_name_goes_once_the_converted_session_is_saved() -> None:
    session = saved_adopted_session()
    assert peer_cookie_to_delete("peer_session", "session", session) == "peer_session"


def test_a_peer_cookie_under_sessionwares_name_is_replaced_not_deleted() -> None:
    assert peer_cookie_to_delete("session", "session", saved_adopted_session()) is None


def test_a_converted_session_not_saved_keeps_the_peer_cookie() -> None:
    core = make_core()
    key = import_key("peer", "abc")
    session = adopt_record(core, key, imported(key), NOW)  # a 5xx: its changes forgotten
    assert session is not None
    assert peer_cookie_to_delete("peer_session", "session", session) is None


def test_without_a_conversion_no_peer_cookie_is_deleted() -> None:
    assert peer_cookie_to_delete(None, "session", saved_adopted_session()) is None

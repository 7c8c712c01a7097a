"""Opening a session from a cookie and attaching the record a store returned:
which cookies reach a store at all, and which records a session adopts."""

from __future__ import annotations

from typing import Any

import pytest

from sessionware.core.lifecycle import SessionCore
from sessionware.core.record import Record

from .support import IDLE, MAX_AGE, NOW, OLD_SECRET, SECRET, make_core, stored_record


def cookie(core: SessionCore, created_at: float = NOW) -> str:
    return stored_record(core, created_at=created_at)[0]


@pytest.mark.parametrize(
    ("value", "reaches_store"),
    [
        pytest.param(lambda core: None, False, id="no-cookie"),
        pytest.param(lambda core: "", False, id="empty"),
        pytest.param(lambda core: "garbage", False, id="garbage"),
        pytest.param(lambda core: cookie(core)[:-1] + "é", False, id="non-ascii"),
        pytest.param(lambda core: cookie(core)[:-1] + "A", False, id="bad-signature"),
        pytest.param(lambda core: cookie(core) + "x" * 5000, False, id="overlong"),
        pytest.param(lambda core: cookie(core, NOW - MAX_AGE), False, id="past-max-age"),
        pytest.param(lambda core: cookie(core, NOW - MAX_AGE + 1), True, id="just-within-max-age"),
        pytest.param(lambda core: cookie(core), True, id="genuine"),
        pytest.param(
            lambda core: cookie(make_core(secret_key=OLD_SECRET)), True, id="signed-by-a-fallback"
        ),
        pytest.param(
            lambda core: cookie(make_core(secret_key="Wq3eR5tY7uI9oP1aS2dF4gH6jK8lZ0xC-other")),
            False,
            id="signed-by-an-unknown-key",
        ),
    ],
)
def test_open_decides_whether_a_cookie_reaches_the_store(value: Any, reaches_store: bool) -> None:
    core = make_core(secret_key=[SECRET, OLD_SECRET])
    session = core.open(value(core), NOW)
    # A session to load has an id and no data yet; a fresh one is new with empty data.
    assert (session._id is not None and not session.loaded) is reaches_store


def test_a_cookie_signed_by_a_fallback_key_is_re_signed_with_the_current_key() -> None:
    core = make_core(secret_key=[SECRET, OLD_SECRET])
    old = cookie(make_core(secret_key=OLD_SECRET))
    session = core.open(old, NOW)
    assert session.cookie_value is not None
    assert session.cookie_value != old
    assert make_core().signer.unsign(session.cookie_value) is not None


def test_a_cookie_signed_by_the_current_key_needs_no_new_cookie() -> None:
    core = make_core(secret_key=[SECRET, OLD_SECRET])
    assert core.open(cookie(core), NOW).cookie_value is None


def attach_case(core: SessionCore, case: str) -> tuple[Any, Record | None, float | None]:
    value, record = stored_record(core, {"n": 1}, expires_at=NOW + IDLE)
    session = core.open(value, NOW)
    pending = None
    if case == "missing":
        return session, None, pending
    if case == "another-key":
        record = Record("cd" * 20, record.data, NOW, NOW + IDLE, 1, None)
    elif case == "expired":
        record = Record(record.id, record.data, NOW, NOW, 1, None)
    elif case == "expired-but-a-touch-is-queued":
        record = Record(record.id, record.data, NOW, NOW - 1, 1, None)
        pending = NOW + IDLE
    elif case == "undecodable":
        record = Record(record.id, b"\xff not json", NOW, NOW + IDLE, 1, None)
    return session, record, pending


@pytest.mark.parametrize(
    ("case", "adopted"),
    [
        ("live", True),
        ("missing", False),
        ("another-key", False),
        ("expired", False),
        ("expired-but-a-touch-is-queued", True),
        ("undecodable", False),
    ],
)
def test_attach_adopts_only_a_live_decodable_record_of_its_key(case: str, adopted: bool) -> None:
    core = make_core()
    session, record, pending = attach_case(core, case)
    assert core.attach(session, record, pending, NOW) is adopted


@pytest.mark.parametrize("case", ["missing", "another-key", "expired", "undecodable"])
def test_a_refused_record_leaves_a_fresh_session_with_no_cookie(case: str) -> None:
    core = make_core()
    session, record, pending = attach_case(core, case)
    core.attach(session, record, pending, NOW)
    assert (session._is_new, session._id, dict(session), session.cookie_value) == (
        True,
        None,
        {},
        None,
    )


def test_a_queued_touch_is_the_adopted_expiry_when_later() -> None:
    core = make_core()
    session, record, pending = attach_case(core, "expired-but-a-touch-is-queued")
    core.attach(session, record, pending, NOW)
    assert session.expires_at == pending


def test_an_adopted_record_gives_its_data_version_and_user() -> None:
    core = make_core()
    value, record = stored_record(core, {"n": 1}, version=7, user_id="alice")
    session = core.open(value, NOW)
    core.attach(session, record, None, NOW)
    assert (dict(session), session._version, session.user_id, session.is_new) == (
        {"n": 1},
        7,
        "alice",
        False,
    )

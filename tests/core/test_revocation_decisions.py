"""The core's revocation decisions, as tables: which writes must be checked against
a user's revocation marker (``binds_user``), whether a marker revokes this
request's login (``login_revoked``), whether a regenerate found its old record gone
(``replaced_record_gone``), and whether a refused record is damaged (``is_damaged``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sessionware.core.lifecycle import Action, SavePlan, SessionCore
from sessionware.core.record import Record
from sessionware.core.session import Session

from .support import NOW, loaded, make_core

KEY = "ab" * 20


def change(core: SessionCore, session: Session) -> None:
    session["n"] = 2


def regenerate(core: SessionCore, session: Session) -> None:
    core.regenerate(session)


def login(core: SessionCore, session: Session) -> None:
    core.login(session, "alice")


def read(core: SessionCore, session: Session) -> None:
    session.get("n")


@pytest.mark.parametrize(
    ("user_id", "act", "binds"),
    [
        pytest.param(None, login, True, id="anonymous-logs-in"),
        pytest.param("bob", login, True, id="another-user-logs-in"),
        pytest.param("alice", regenerate, True, id="logged-in-regenerated"),
        pytest.param(None, regenerate, False, id="anonymous-regenerated"),
        pytest.param("alice", change, False, id="logged-in-changed-under-its-own-key"),
        pytest.param(None, change, False, id="anonymous-changed"),
        pytest.param("alice", read, False, id="logged-in-read-nothing-written"),
    ],
)
def test_binds_user(user_id: str | None, act: Callable[..., Any], binds: bool) -> None:
    core = make_core()
    session, _ = loaded(core, user_id=user_id)
    act(core, session)
    assert core.binds_user(session, core.plan_save(session, NOW)) is binds


def test_a_new_session_logged_in_binds_its_user() -> None:
    core = make_core()
    session = core.fresh(NOW)
    core.login(session, "alice")
    assert core.binds_user(session, core.plan_save(session, NOW)) is True


BEGAN = NOW  # the request's start: ``session.last_access``


@pytest.mark.parametrize(
    ("revoked_at", "own", "revoked"),
    [
        pytest.param(None, None, False, id="no-marker"),
        pytest.param(BEGAN - 1, None, False, id="revoked-before-the-request-began"),
        pytest.param(BEGAN, None, True, id="revoked-as-the-request-began"),
        pytest.param(BEGAN + 1, None, True, id="revoked-during-the-request"),
        pytest.param(BEGAN + 1, {"alice": BEGAN + 1}, False, id="the-request-revoked-it-itself"),
        pytest.param(BEGAN + 2, {"alice": BEGAN + 1}, True, id="revoked-again-after-its-own"),
        pytest.param(BEGAN + 1, {"bob": BEGAN + 1}, True, id="it-revoked-another-user"),
    ],
)
def test_login_revoked(
    revoked_at: float | None, own: dict[str, float] | None, revoked: bool
) -> None:
    core = make_core()
    session = core.fresh(BEGAN)
    core.login(session, "alice")
    if own is not None:
        session._own_revocations = own
    assert core.login_revoked(session, revoked_at) is revoked


@pytest.mark.parametrize(
    ("delete_key", "removed", "gone"),
    [
        pytest.param(None, 0, False, id="no-old-record-to-remove"),
        pytest.param(None, 1, False, id="no-old-record-count-ignored"),
        pytest.param(KEY, 1, False, id="old-record-removed-as-planned"),
        pytest.param(KEY, 0, True, id="old-record-already-gone"),
    ],
)
def test_replaced_record_gone(delete_key: str | None, removed: int, gone: bool) -> None:
    plan = SavePlan(Action.WRITE, None, 0, delete_key)
    assert SessionCore.replaced_record_gone(plan, removed) is gone


def test_a_regenerate_plans_to_remove_the_record_it_replaces() -> None:
    core = make_core()
    session, record = loaded(core)
    core.regenerate(session)
    plan = core.plan_save(session, NOW)
    assert SessionCore.replaced_record_gone(plan, 0) is True
    assert plan.delete_key == record.id


@pytest.mark.parametrize(
    ("record_id", "damaged"),
    [
        pytest.param(None, False, id="no-record"),
        pytest.param(KEY, True, id="the-record-of-this-key"),
        pytest.param("cd" * 20, False, id="a-record-of-another-key"),
    ],
)
def test_is_damaged(record_id: str | None, damaged: bool) -> None:
    record = None if record_id is None else Record(record_id, b"\xff", NOW, NOW + 60, 1, None)
    assert SessionCore.is_damaged(record, KEY) is damaged

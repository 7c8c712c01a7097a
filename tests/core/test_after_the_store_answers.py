"""What the core does with the store's answer: a plan carried out (``saved``), a
record found gone (``deleted``), a request that failed (``forget``), and whether a
touch may wait for the visit queue (``touch_is_urgent``)."""

from __future__ import annotations

import pytest

from sessionware.core.lifecycle import Action, SessionCore

from .support import IDLE, NOW, loaded, make_core


@pytest.mark.parametrize(
    ("start", "act", "expected"),
    [
        # (is_new, version, a cookie to send) once the plan is carried out
        pytest.param("new", "set", (False, 1, True), id="first-write-sends-a-cookie"),
        pytest.param("stored", "set", (False, 4, False), id="change-keeps-the-cookie"),
        pytest.param("stored", "regenerate", (False, 1, True), id="new-key-new-cookie"),
        pytest.param("stored", "login", (False, 1, True), id="login-new-cookie"),
        pytest.param("stored-ago", "read", (False, 3, False), id="touch-changes-no-version"),
    ],
)
def test_saved(start: str, act: str, expected: tuple[bool, int, bool]) -> None:
    core = make_core()
    if start == "new":
        session = core.fresh(NOW)
    else:
        session, _ = loaded(core, version=3, expires_in=IDLE / 2 if start == "stored-ago" else IDLE)
    if act == "set":
        session["n"] = 2
    elif act == "read":
        session.get("n")
    elif act == "regenerate":
        core.regenerate(session)
    else:
        core.login(session, "alice")
    plan = core.plan_save(session, NOW)
    assert plan.action is not Action.NOTHING
    core.saved(session, plan)
    assert (session._is_new, session._version, session.cookie_value is not None) == expected


def test_after_a_save_nothing_is_left_to_write() -> None:
    core = make_core()
    session, _ = loaded(core, version=3)
    session["n"] = 2
    core.saved(session, core.plan_save(session, NOW))
    assert core.plan_save(session, NOW).action is Action.NOTHING


def test_a_deleted_session_is_fresh_invalidated_and_removes_its_cookie() -> None:
    core = make_core()
    session, _ = loaded(core, user_id="alice")
    core.deleted(session, NOW)
    assert (session._is_new, session.invalidated, session.cookie_value, session.user_id) == (
        True,
        True,
        None,
        None,
    )


@pytest.mark.parametrize(
    "act",
    ["set", "delete", "regenerate", "login", "force"],
)
def test_forget_brings_the_session_back_to_what_was_loaded(act: str) -> None:
    core = make_core()
    session, record = loaded(core, {"n": 1, "m": 2}, version=3)
    if act == "set":
        session["n"] = 2
    elif act == "delete":
        del session["m"]
    elif act == "regenerate":
        core.regenerate(session)
    elif act == "login":
        core.login(session, "alice")
    else:
        session.modified = True
    core.forget(session)
    assert (dict(session), session.key, session.user_id) == ({"n": 1, "m": 2}, record.id, None)
    assert core.plan_save(session, NOW).action is Action.NOTHING


@pytest.mark.parametrize(
    ("stored_in", "horizon", "urgent"),
    [
        pytest.param(600, None, True, id="no-queue-touch-now"),
        pytest.param(600, 5.0, False, id="far-from-expiry-queue-it"),
        pytest.param(10, 5.0, True, id="at-twice-the-horizon"),
        pytest.param(9, 5.0, True, id="within-twice-the-horizon"),
        pytest.param(11, 5.0, False, id="just-beyond-twice-the-horizon"),
        pytest.param(600, 400.0, True, id="backing-off-flusher-too-slow"),
    ],
)
def test_touch_is_urgent(stored_in: float, horizon: float | None, urgent: bool) -> None:
    core = make_core()
    session, _ = loaded(core, expires_in=stored_in)
    assert SessionCore.touch_is_urgent(session, NOW, horizon) is urgent

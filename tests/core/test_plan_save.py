"""``SessionCore.plan_save``: what a save must do, as a decision table.

Each row starts from a session in a known state (unloaded, new, or stored and
loaded), applies what the request did to it, plans the save ``later`` seconds
after the load, and names the plan: the action, the version the compare-and-set
expects, the version written, whether the old record must go, which expiry is
written, and the user bound. No store, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest

from sessionware.core.lifecycle import Action, SavePlan, SessionCore
from sessionware.core.session import Session

from .support import IDLE, MAX_AGE, NOW, loaded, make_core

Act = Callable[[SessionCore, Session], Any]


def nothing(core: SessionCore, session: Session) -> None:
    pass


def read(core: SessionCore, session: Session) -> None:
    session.get("n")  # an int: nothing mutable handed out


def set_new_value(core: SessionCore, session: Session) -> None:
    session["n"] = 2


def set_same_value(core: SessionCore, session: Session) -> None:
    session["n"] = 1


def add_key(core: SessionCore, session: Session) -> None:
    session["cart"] = [1]


def mutate_in_place(core: SessionCore, session: Session) -> None:
    session["items"].append(3)


def expose_without_change(core: SessionCore, session: Session) -> None:
    session["items"]  # a list handed out, left as it was


def force(core: SessionCore, session: Session) -> None:
    session.modified = True


def regenerate(core: SessionCore, session: Session) -> None:
    core.regenerate(session)


def login(core: SessionCore, session: Session) -> None:
    core.login(session, "alice")


@dataclass(frozen=True)
class Start:
    """The session before the request acts: ``kind`` is "unloaded" (opened from a
    cookie, never accessed), "new" or "stored"; the rest describe a stored one."""

    kind: str
    age: float = 0.0
    expires_in: float = IDLE  # stored expiry, seconds after the load
    user_id: str | None = None
    data: tuple[tuple[str, Any], ...] = (("n", 1), ("items", (1, 2)))


class Planned(NamedTuple):
    action: Action
    expected_version: int | None = None
    version: int | None = None
    replaces_old: bool = False
    expiry: str | None = None  # "stored" (kept), "idle" (now + idle), "max_age"
    user_id: str | None = None


FRESH = Start("new")
# Stored sessions are at version 3. The visit throttle is a tenth of the idle
# timeout (180 s): STORED's expiry was last extended a minute ago, so a visit now
# is not due to extend it; STORED_AGO's half an idle timeout ago.
STORED = Start("stored", expires_in=IDLE - 60)
STORED_AGO = Start("stored", expires_in=IDLE / 2)
LOGGED_IN = Start("stored", expires_in=IDLE - 60, user_id="alice")
OLD = Start("stored", age=MAX_AGE - 60, expires_in=30)  # a minute left of its maximum age

NOTHING, WRITE, TOUCH, DELETE = Action.NOTHING, Action.WRITE, Action.TOUCH, Action.DELETE
P = pytest.param

# fmt: off
TABLE = [
    # -- nothing to write ----------------------------------------------------------------
    P(Start("unloaded"), nothing, 0, Planned(NOTHING), id="never-accessed"),
    P(FRESH, nothing, 0, Planned(NOTHING), id="new-and-empty"),
    P(FRESH, read, 0, Planned(NOTHING), id="new-and-only-read"),
    P(STORED, read, 0, Planned(NOTHING), id="stored-read-touch-not-due"),
    P(STORED, set_same_value, 0, Planned(NOTHING), id="same-value-set-again"),
    P(STORED, expose_without_change, 0, Planned(NOTHING), id="exposed-unchanged"),
    # -- a new session's first write: it must not exist yet ------------------------------
    P(FRESH, add_key, 0, Planned(WRITE, 0, 1, expiry="idle"), id="new-with-data"),
    P(FRESH, force, 0, Planned(WRITE, 0, 1, expiry="idle"), id="new-forced"),
    P(FRESH, login, 0, Planned(WRITE, 0, 1, False, "idle", "alice"), id="new-logged-in"),
    # -- a stored session's change: compare-and-set on the loaded version ----------------
    P(STORED, set_new_value, 0, Planned(WRITE, 3, 4, expiry="stored"),
      id="changed-keeps-the-expiry-while-the-throttle-holds"),
    P(STORED, set_new_value, IDLE / 2, Planned(WRITE, 3, 4, expiry="idle"),
      id="changed-extends-the-expiry-once-due"),
    P(STORED, mutate_in_place, 0, Planned(WRITE, 3, 4, expiry="stored"),
      id="nested-value-changed-in-place"),
    P(STORED, force, 0, Planned(WRITE, 3, 4, expiry="stored"), id="stored-forced"),
    P(LOGGED_IN, set_new_value, 0, Planned(WRITE, 3, 4, False, "stored", "alice"),
      id="logged-in-change-keeps-the-user"),
    P(OLD, set_new_value, 0, Planned(WRITE, 3, 4, expiry="stored"), id="changed-near-max-age"),
    # -- a new key: written as new, the old record goes after it -------------------------
    P(STORED, regenerate, 0, Planned(WRITE, 0, 1, True, "idle"), id="regenerated"),
    P(STORED, login, 0, Planned(WRITE, 0, 1, True, "idle", "alice"), id="logged-in"),
    P(LOGGED_IN, regenerate, 0, Planned(WRITE, 0, 1, True, "idle", "alice"),
      id="logged-in-regenerated-keeps-the-user"),
    P(OLD, regenerate, 0, Planned(WRITE, 0, 1, True, "max_age"),
      id="regenerated-near-max-age-keeps-the-cap"),
    # -- only the expiry moves -----------------------------------------------------------
    P(STORED_AGO, read, 0, Planned(TOUCH, expiry="idle"), id="read-touch-due"),
    P(STORED, read, 119, Planned(NOTHING), id="read-just-below-the-throttle"),
    P(STORED, read, 120, Planned(TOUCH, expiry="idle"), id="read-at-the-throttle"),
    P(OLD, read, 0, Planned(NOTHING), id="read-near-max-age-the-cap-leaves-no-touch"),
    # -- at or past the maximum age: the record goes -------------------------------------
    P(OLD, read, 60, Planned(DELETE), id="read-at-the-max-age"),
    P(OLD, set_new_value, 120, Planned(DELETE), id="changed-past-the-max-age"),
]
# fmt: on


def start(core: SessionCore, begin: Start) -> tuple[Session, str | None]:
    """The session, and its stored key (None for a session never stored)."""
    if begin.kind == "new":
        return core.fresh(NOW), None
    session, record = loaded(
        core,
        {key: list(value) if isinstance(value, tuple) else value for key, value in begin.data},
        age=begin.age,
        expires_in=begin.expires_in,
        version=3,
        user_id=begin.user_id,
    )
    if begin.kind == "unloaded":
        session = core.open(session.cookie_value or core.signer.sign(session.id, NOW), NOW)
    return session, record.id


def expiry_name(plan: SavePlan, session: Session, now: float) -> str:
    """Which expiry the plan writes (checked in this order when two coincide; a new
    session has no stored expiry)."""
    assert plan.record is not None
    written = plan.record.expires_at
    for name, expiry in (
        ("stored", None if session._is_new else session._stored_expires_at),
        ("idle", now + IDLE),
        ("max_age", session._created_at + MAX_AGE),
    ):
        if written == expiry:
            return name
    return f"unexpected {written}"


def summary(plan: SavePlan, session: Session, old_key: str | None, now: float) -> Planned:
    if plan.action in (Action.NOTHING, Action.DELETE, Action.DROP):
        return Planned(plan.action)
    record = plan.record
    assert record is not None
    if plan.action is Action.TOUCH:
        return Planned(plan.action, expiry=expiry_name(plan, session, now))
    assert plan.delete_key in (None, old_key)
    return Planned(
        plan.action,
        plan.expected_version,
        record.version,
        plan.delete_key is not None,
        expiry_name(plan, session, now),
        record.user_id,
    )


@pytest.mark.parametrize(("begin", "act", "later", "expected"), TABLE)
def test_plan_save(begin: Start, act: Act, later: float, expected: Planned) -> None:
    core = make_core()
    session, old_key = start(core, begin)
    act(core, session)
    plan = core.plan_save(session, NOW + later)
    assert summary(plan, session, old_key, NOW + later) == expected


@pytest.mark.parametrize(
    "act", [set_new_value, regenerate, login], ids=["changed", "regenerated", "logged-in"]
)
def test_a_write_carries_the_session_data_encoded(act: Act) -> None:
    core = make_core()
    session, _ = loaded(core, {"n": 1})
    act(core, session)
    plan = core.plan_save(session, NOW)
    assert plan.record is not None
    assert core.codec.decode(plan.record.data) == dict(session)


def test_a_touch_carries_no_data() -> None:
    core = make_core()
    session, _ = loaded(core, expires_in=IDLE / 2)
    plan = core.plan_save(session, NOW)
    assert plan.action is Action.TOUCH
    assert plan.record is not None
    assert plan.record.data == b""


@pytest.mark.parametrize(
    ("act", "same_key"),
    [(set_new_value, True), (regenerate, False), (login, False)],
    ids=["changed-same-key", "regenerated-new-key", "logged-in-new-key"],
)
def test_a_write_goes_to_the_old_key_only_for_a_plain_change(act: Act, same_key: bool) -> None:
    core = make_core()
    session, record = loaded(core)
    act(core, session)
    plan = core.plan_save(session, NOW)
    assert plan.record is not None
    assert (plan.record.id == record.id) is same_key


def test_without_an_idle_timeout_a_read_never_touches() -> None:
    core = make_core(idle_timeout=None)
    session, _ = loaded(core, expires_in=60)
    read(core, session)
    assert core.plan_save(session, NOW + 30).action is Action.NOTHING

"""``SessionCore.replan_after_conflict``: a compare-and-set was lost; what next.

The table's rows: what this request did to the session it loaded (``mine``), what
the record another request wrote meanwhile holds (``theirs``; None: deleted), and
the plan that follows, with the data it writes. No store, no clock.
"""

from __future__ import annotations

from typing import Any

import pytest

from sessionware.core.lifecycle import Action, SavePlan
from sessionware.core.record import Record
from sessionware.errors import ConcurrentUpdateError

from .support import NOW, loaded, make_core

BASE = {"a": 1, "b": 1}


def set_a(session: Any) -> None:
    session["a"] = 2


def delete_b(session: Any) -> None:
    del session["b"]


def add_c(session: Any) -> None:
    session["c"] = 3


WRITE, NOTHING, DROP = Action.WRITE, Action.NOTHING, Action.DROP
P = pytest.param

# fmt: off
TABLE = [
    P(set_a, {"a": 1, "b": 9}, WRITE, {"a": 2, "b": 9}, id="disjoint-keys-merge"),
    P(add_c, {**BASE, "d": 4}, WRITE, {**BASE, "c": 3, "d": 4}, id="both-added-keys"),
    P(delete_b, {"a": 5, "b": 1}, WRITE, {"a": 5}, id="my-deletion-applies"),
    P(delete_b, {"a": 1}, NOTHING, {"a": 1}, id="both-deleted-the-same-key"),
    P(set_a, {"a": 2, "b": 1}, NOTHING, {"a": 2, "b": 1}, id="they-made-the-same-change"),
    P(set_a, {"a": 7, "b": 1}, WRITE, {"a": 2, "b": 1}, id="same-key-last-writer-wins"),
    P(add_c, {}, WRITE, {"c": 3}, id="they-cleared-everything-mine-stays"),
    P(set_a, None, DROP, None, id="their-record-is-gone-drop"),
]
# fmt: on


def outcome(core: Any, session: Any, plan: SavePlan) -> tuple[Action, dict[str, Any] | None]:
    """The replanned action, with the data it writes (WRITE), the data the session
    is left holding (NOTHING: the merge equals their record), or None (DROP)."""
    if plan.record is not None:
        return plan.action, core.codec.decode(plan.record.data)
    return plan.action, dict(session) if plan.action is Action.NOTHING else None


@pytest.mark.parametrize(("mine", "theirs", "action", "written"), TABLE)
def test_replan(
    mine: Any, theirs: dict[str, Any] | None, action: Action, written: dict[str, Any] | None
) -> None:
    core = make_core()
    session, record = loaded(core, dict(BASE), version=4)
    mine(session)
    plan = core.plan_save(session, NOW)
    current = None
    if theirs is not None:
        current = Record(record.id, core.codec.encode(theirs), NOW, NOW + 600, 5, None)
    replanned = core.replan_after_conflict(session, plan, current, NOW)
    assert outcome(core, session, replanned) == (action, written)


def test_a_merged_write_expects_their_version_and_writes_the_next() -> None:
    core = make_core()
    session, record = loaded(core, dict(BASE), version=4)
    set_a(session)
    current = Record(record.id, core.codec.encode({"a": 1, "b": 9}), NOW, NOW + 600, 9, None)
    replanned = core.replan_after_conflict(session, core.plan_save(session, NOW), current, NOW)
    assert replanned.record is not None
    assert (replanned.expected_version, replanned.record.version) == (9, 10)


def test_after_a_merge_the_session_holds_the_merged_data() -> None:
    core = make_core()
    session, record = loaded(core, dict(BASE), version=4)
    set_a(session)
    current = Record(record.id, core.codec.encode({"a": 1, "b": 9}), NOW, NOW + 600, 5, None)
    core.replan_after_conflict(session, core.plan_save(session, NOW), current, NOW)
    assert dict(session) == {"a": 2, "b": 9}


def test_a_merge_adopts_the_user_their_write_bound() -> None:
    core = make_core()
    session, record = loaded(core, dict(BASE), version=4)
    set_a(session)
    current = Record(record.id, core.codec.encode(BASE), NOW, NOW + 600, 5, "bob")
    replanned = core.replan_after_conflict(session, core.plan_save(session, NOW), current, NOW)
    assert replanned.record is not None
    assert replanned.record.user_id == "bob"


def test_their_undecodable_record_merges_as_empty() -> None:
    core = make_core()
    session, record = loaded(core, dict(BASE), version=4)
    set_a(session)
    current = Record(record.id, b"\xff not json", NOW, NOW + 600, 5, None)
    replanned = core.replan_after_conflict(session, core.plan_save(session, NOW), current, NOW)
    assert replanned.record is not None
    assert core.codec.decode(replanned.record.data) == {"a": 2}


@pytest.mark.parametrize(
    ("theirs", "raises"),
    [
        pytest.param({"a": 7, "b": 1}, True, id="they-changed-my-key"),
        pytest.param({"a": 1, "b": 9}, False, id="they-changed-another-key"),
        pytest.param({"b": 1}, True, id="they-deleted-my-key"),
    ],
)
def test_raise_policy_refuses_a_same_key_clash(theirs: dict[str, Any], raises: bool) -> None:
    core = make_core(same_key_conflicts="raise")
    session, record = loaded(core, dict(BASE), version=4)
    set_a(session)
    current = Record(record.id, core.codec.encode(theirs), NOW, NOW + 600, 5, None)
    plan = core.plan_save(session, NOW)
    try:
        core.replan_after_conflict(session, plan, current, NOW)
    except ConcurrentUpdateError:
        raised = True
    else:
        raised = False
    assert raised is raises


@pytest.mark.parametrize("first_write", ["new-session", "regenerate"])
def test_a_lost_must_not_exist_write_takes_a_new_key(first_write: str) -> None:
    # Expected version 0 lost: the new key exists already (an id collision).
    core = make_core()
    if first_write == "new-session":
        session = core.fresh(NOW)
        session["a"] = 1
    else:
        session, _ = loaded(core, dict(BASE))
        core.regenerate(session)
    plan = core.plan_save(session, NOW)
    assert plan.record is not None
    assert plan.expected_version == 0
    replanned = core.replan_after_conflict(session, plan, None, NOW)
    assert replanned.record is not None
    assert (replanned.action, replanned.expected_version) == (Action.WRITE, 0)
    assert replanned.record.id != plan.record.id
    assert replanned.record.id == session.key
    assert (replanned.record.data, replanned.delete_key) == (plan.record.data, plan.delete_key)


def test_the_drop_plan_carries_nothing_to_write() -> None:
    core = make_core()
    session, _ = loaded(core, dict(BASE), version=4)
    set_a(session)
    replanned = core.replan_after_conflict(session, core.plan_save(session, NOW), None, NOW)
    assert replanned == SavePlan(Action.DROP)

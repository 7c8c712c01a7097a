"""Typed sessions: ``SessionManager(schema=Cart, schema_version=N, migrations={...})``
decodes a session straight into ``Cart`` (``session.typed``), tracks and saves its
changes like the mapping's, and upgrades older records through the migration chain.
Stored data no migration repairs is a missing session: a fresh one, logged, the
record removed, never an error and never the data."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Any, TypedDict

import msgspec
import pytest

import sessionware as sw
from sessionware.core.encryption import new_encryption_key
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET, Clock


class Cart(msgspec.Struct):
    items: list[str] = []
    coupon: str | None = None
    total: int = 0


def up_1_2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept the items as one comma-separated string."""
    return {"items": [i for i in data.pop("items", "").split(",") if i], **data}


def up_2_3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 kept the total in a field named ``sum``."""
    data["total"] = data.pop("sum", 0)
    return data


MIGRATIONS = {1: up_1_2, 2: up_2_3}


@pytest.fixture
def store(clock: Clock) -> MemoryStore:
    return MemoryStore(clock=clock)


def typed_manager(store: MemoryStore, clock: Clock, **options: Any) -> sw.SessionManager[Cart]:
    return sw.SessionManager(
        store, secret_key=SECRET, clock=clock, visit_tracker=False, schema=Cart, **options
    )


@pytest.fixture
def manager(store: MemoryStore, clock: Clock) -> Iterator[sw.SessionManager[Cart]]:
    manager = typed_manager(store, clock, schema_version=3, migrations=MIGRATIONS)
    yield manager
    manager.close()


def plant(store: MemoryStore, key: str, payload: bytes) -> None:
    record = store.load(key)
    assert record is not None
    store.save(msgspec.structs.replace(record, data=payload))


def stored_cookie(manager: sw.SessionManager[Cart], *items: str) -> tuple[str, str]:
    with manager.scope(None) as session:
        session.typed.items.extend(items or ["apple"])
    assert session.cookie_value is not None
    return session.cookie_value, session.key


# -- the typed object -----------------------------------------------------------------


def test_a_new_session_is_the_schemas_defaults(manager: sw.SessionManager[Cart]) -> None:
    with manager.scope(None) as session:
        assert session.typed == Cart()


def test_a_new_session_left_at_its_defaults_is_not_stored(
    manager: sw.SessionManager[Cart], store: MemoryStore
) -> None:
    with manager.scope(None) as session:
        assert session.typed.items == []
    assert session.cookie_value is None
    assert store.count() == 0


def test_in_place_changes_to_the_typed_object_are_saved(
    manager: sw.SessionManager[Cart],
) -> None:
    cookie, _ = stored_cookie(manager, "apple")
    with manager.scope(cookie) as session:
        session.typed.items.append("pear")
        session.typed.total = 7
    with manager.scope(cookie) as session:
        assert session.typed == Cart(items=["apple", "pear"], total=7)


def test_assigning_a_new_object_replaces_the_data(manager: sw.SessionManager[Cart]) -> None:
    cookie, _ = stored_cookie(manager)
    with manager.scope(cookie) as session:
        session.typed = Cart(coupon="SALE")
    with manager.scope(cookie) as session:
        assert session.typed == Cart(coupon="SALE")


def test_a_request_that_only_reads_writes_nothing(
    manager: sw.SessionManager[Cart], store: MemoryStore
) -> None:
    cookie, key = stored_cookie(manager)
    before = store.load(key)
    with manager.scope(cookie) as session:
        assert session.typed.items == ["apple"]
    assert store.load(key) == before


def test_the_mapping_api_reads_and_writes_the_schemas_fields(
    manager: sw.SessionManager[Cart],
) -> None:
    cookie, _ = stored_cookie(manager, "apple")
    with manager.scope(cookie) as session:
        assert session["items"] == ["apple"]
        assert dict(session) == {"items": ["apple"], "coupon": None, "total": 0}
        session["coupon"] = "SALE"
    with manager.scope(cookie) as session:
        assert session.typed.coupon == "SALE"
        del session["coupon"]  # back to the field's default
    with manager.scope(cookie) as session:
        assert session.typed.coupon is None


def test_keys_that_are_not_fields_are_kept_beside_them(manager: sw.SessionManager[Cart]) -> None:
    cookie, _ = stored_cookie(manager, "apple")
    with manager.scope(cookie) as session:
        session["_flashes"] = ["saved"]  # what a framework keeps for itself
    with manager.scope(cookie) as session:
        assert session["_flashes"] == ["saved"]
        assert session.typed == Cart(items=["apple"])
        del session["_flashes"]
    with manager.scope(cookie) as session:
        assert "_flashes" not in session


def test_a_record_from_before_the_schema_keeps_its_other_keys(
    manager: sw.SessionManager[Cart], store: MemoryStore
) -> None:
    cookie, key = stored_cookie(manager)
    plant(store, key, b'{"items":"apple","_permanent":true}')
    with manager.scope(cookie) as session:
        assert session.typed.items == ["apple"]
        assert session["_permanent"] is True


def test_an_error_forgets_changes_to_the_typed_object(manager: sw.SessionManager[Cart]) -> None:
    cookie, _ = stored_cookie(manager, "apple")
    with pytest.raises(RuntimeError), manager.scope(cookie) as session:
        session.typed.items.append("lost")
        raise RuntimeError
    with manager.scope(cookie) as session:
        assert session.typed.items == ["apple"]


def test_concurrent_changes_to_different_fields_merge(manager: sw.SessionManager[Cart]) -> None:
    cookie, _ = stored_cookie(manager, "apple")
    first, second = manager.open(cookie), manager.open(cookie)
    first.typed.coupon = "SALE"
    second.typed.total = 3
    manager.save_changes(first)
    manager.save_changes(second)  # loses the compare-and-set, merges by field
    with manager.scope(cookie) as session:
        assert session.typed == Cart(items=["apple"], coupon="SALE", total=3)


def test_login_keeps_the_typed_data_under_the_new_id(manager: sw.SessionManager[Cart]) -> None:
    cookie, _ = stored_cookie(manager, "apple")
    with manager.scope(cookie) as session:
        manager.login(session, "alice")
    with manager.scope(session.cookie_value) as again:
        assert again.typed.items == ["apple"]
        assert again.user_id == "alice"


# -- migrations -------------------------------------------------------------------------


def test_a_record_from_before_the_schema_runs_the_whole_chain_and_is_saved_back(
    manager: sw.SessionManager[Cart], store: MemoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    cookie, key = stored_cookie(manager)
    plant(store, key, b'{"items":"apple,pear","sum":5}')  # an untyped record: version 1
    with caplog.at_level(logging.INFO, logger="sessionware"), manager.scope(cookie) as session:
        assert session.typed == Cart(items=["apple", "pear"], total=5)
        session.typed.coupon = "SALE"  # the next write saves the upgraded data
    record = store.load(key)
    assert record is not None
    assert record.data.startswith(b"[3,")
    assert any("from schema version 1 to 3" in r.getMessage() for r in caplog.records)


def test_a_version_2_record_runs_the_last_step_only(
    manager: sw.SessionManager[Cart], store: MemoryStore
) -> None:
    cookie, key = stored_cookie(manager)
    plant(store, key, b'[2,{"items":["fig"],"sum":9}]')
    with manager.scope(cookie) as session:
        assert session.typed == Cart(items=["fig"], total=9)


@pytest.mark.parametrize(
    "payload",
    [
        b'[3,{"items":"not a list"}]',
        b'[2,{"items":[1,2],"sum":"x"}]',
        b'[9,{"items":[]}]',
        b'"just a string"',
        b"not json at all",
    ],
    ids=["schema violation", "violation after migrating", "newer version", "not a mapping", "junk"],
)
def test_data_no_migration_repairs_is_a_fresh_session_logged_and_removed(
    manager: sw.SessionManager[Cart],
    store: MemoryStore,
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
) -> None:
    cookie, key = stored_cookie(manager)
    plant(store, key, payload)
    with caplog.at_level(logging.WARNING, logger="sessionware"), manager.scope(cookie) as session:
        assert session.is_new
        assert session.typed == Cart()
    assert store.load(key) is None
    assert any(key in r.getMessage() for r in caplog.records)


def test_a_migration_that_raises_is_a_fresh_session(
    store: MemoryStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(data: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("cart")

    manager = typed_manager(store, clock, schema_version=2, migrations={1: broken})
    cookie, key = stored_cookie(manager)
    plant(store, key, b'{"items":["x"]}')
    with caplog.at_level(logging.WARNING, logger="sessionware"), manager.scope(cookie) as session:
        assert session.is_new
    assert any("migration from schema version 1 failed" in r.getMessage() for r in caplog.records)


def test_a_gap_in_the_migration_chain_is_refused_when_the_manager_is_made(
    store: MemoryStore, clock: Clock
) -> None:
    with pytest.raises(ValueError, match=r"no step from version\(s\) \[2\]"):
        typed_manager(store, clock, schema_version=3, migrations={1: up_1_2})


def test_a_schema_field_without_a_default_is_refused(store: MemoryStore, clock: Clock) -> None:
    class Strict(msgspec.Struct):
        user: str

    with pytest.raises(ValueError, match="needs a default"):
        sw.SessionManager(store, secret_key=SECRET, schema=Strict)


def test_a_schema_needs_a_msgspec_codec(store: MemoryStore) -> None:
    with pytest.raises(ValueError, match="codec='json' or codec='msgpack'"):
        sw.SessionManager(store, secret_key=SECRET, schema=Cart, codec="pickle", allow_pickle=True)


# -- other schema kinds, codecs and features ---------------------------------------------


@dataclasses.dataclass
class Prefs:
    theme: str = "light"
    tags: list[str] = dataclasses.field(default_factory=list)


class Flags(TypedDict, total=False):
    beta: bool
    visits: int


def test_a_dataclass_schema_round_trips(store: MemoryStore, clock: Clock) -> None:
    manager = sw.SessionManager(store, secret_key=SECRET, clock=clock, schema=Prefs)
    with manager.scope(None) as session:
        session.typed.theme = "dark"
    with manager.scope(session.cookie_value) as again:
        assert again.typed == Prefs(theme="dark")


def test_a_typeddict_schema_is_a_validated_mapping(
    store: MemoryStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    manager = sw.SessionManager(store, secret_key=SECRET, clock=clock, schema=Flags)
    with manager.scope(None) as session:
        session.typed["beta"] = True
    with manager.scope(session.cookie_value) as again:
        assert again.typed == {"beta": True}
    plant(store, session.key, b'[1,{"beta":"yes"}]')
    warnings = caplog.at_level(logging.WARNING, logger="sessionware")
    with warnings, manager.scope(session.cookie_value) as third:
        assert third.is_new


def test_msgpack_works_as_the_typed_codec(store: MemoryStore, clock: Clock) -> None:
    manager = typed_manager(store, clock, codec="msgpack")
    cookie, _ = stored_cookie(manager, "apple")
    with manager.scope(cookie) as session:
        assert session.typed.items == ["apple"]


def test_a_typed_session_can_be_encrypted_too(store: MemoryStore, clock: Clock) -> None:
    manager = typed_manager(store, clock, encryption_keys=[new_encryption_key()])
    cookie, key = stored_cookie(manager, "secret-item")
    record = store.load(key)
    assert record is not None
    assert b"secret-item" not in record.data
    with manager.scope(cookie) as session:
        assert session.typed.items == ["secret-item"]


def test_an_untyped_sessions_typed_is_its_mapping(store: MemoryStore, clock: Clock) -> None:
    manager = sw.SessionManager(store, secret_key=SECRET, clock=clock)
    with manager.scope(None) as session:
        session.typed["n"] = 1
    with manager.scope(session.cookie_value) as again:
        assert again.typed == {"n": 1}


# -- the async manager -----------------------------------------------------------------


@pytest.mark.anyio
async def test_the_async_manager_decodes_saves_and_migrates(clock: Clock) -> None:
    memory = MemoryStore(clock=clock)
    manager = sw.AsyncSessionManager(
        AsyncMemoryStore(memory),
        secret_key=SECRET,
        clock=clock,
        schema=Cart,
        schema_version=3,
        migrations=MIGRATIONS,
        visit_tracker=False,
    )
    async with manager.scope(None) as session:
        session.typed.items.append("apple")
    async with manager.scope(session.cookie_value) as again:
        assert again.typed.items == ["apple"]
    plant(memory, session.key, b'{"items":"kiwi"}')
    async with manager.scope(session.cookie_value) as migrated:
        assert migrated.typed == Cart(items=["kiwi"])


@pytest.mark.anyio
async def test_the_async_manager_treats_a_schema_violation_as_a_fresh_session(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    memory = MemoryStore(clock=clock)
    manager = sw.AsyncSessionManager(
        AsyncMemoryStore(memory), secret_key=SECRET, clock=clock, schema=Cart, visit_tracker=False
    )
    async with manager.scope(None) as session:
        session.typed.total = 1
    plant(memory, session.key, b'[1,{"total":"many"}]')
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        async with manager.scope(session.cookie_value) as again:
            assert again.is_new
            assert again.typed == Cart()
    assert memory.load(session.key) is None


def test_a_schema_without_equality_still_leaves_an_untouched_new_session_unstored(
    store: MemoryStore, clock: Clock
) -> None:
    class Plain(msgspec.Struct, eq=False):
        n: int = 0

    manager = sw.SessionManager(store, secret_key=SECRET, clock=clock, schema=Plain)
    with manager.scope(None) as session:
        assert session.typed.n == 0
    assert store.count() == 0
    with manager.scope(None) as session:
        session.typed.n = 1
    assert store.count() == 1

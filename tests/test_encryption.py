"""Encryption at rest: ``SessionManager(encryption_keys=[current, *old])`` seals each
record's data with AES-256-GCM, bound to its store key. What a bad record gives
(unknown key, tampered, copied to another key, not encrypted): a fresh session,
logged, never an error and never the data. The stores' raw contents are checked
in ``tests/stores/test_encrypted_at_rest.py``."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import pytest

import sessionware as sw
from sessionware.core.encryption import (
    DecryptionError,
    RecordCipher,
    is_sealed,
    key_id,
    new_encryption_key,
)
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET, Clock

CURRENT, OLD, STRANGER = new_encryption_key(), new_encryption_key(), new_encryption_key()
KEY = "ab" * 20


def manager_with(store: MemoryStore, clock: Clock, *keys: str) -> sw.SessionManager:
    return sw.SessionManager(
        store, secret_key=SECRET, clock=clock, encryption_keys=list(keys), visit_tracker=False
    )


def stored_session(manager: sw.SessionManager, **data: Any) -> tuple[str, str]:
    """A saved session holding ``data``: its cookie and store key."""
    with manager.scope(None) as session:
        session.update(data)
    assert session.cookie_value is not None
    return session.cookie_value, session.key


def replace_data(store: MemoryStore, key: str, data: bytes) -> None:
    record = store.load(key)
    assert record is not None
    store.save(msgspec.structs.replace(record, data=data))


# -- the cipher ---------------------------------------------------------------


def test_a_sealed_payload_opens_with_the_same_store_key() -> None:
    cipher = RecordCipher([CURRENT])
    assert cipher.open(KEY, cipher.seal(KEY, b'{"a":1}')) == b'{"a":1}'


def test_a_sealed_payload_names_its_key_and_hides_the_plaintext() -> None:
    sealed = RecordCipher([CURRENT]).seal(KEY, b"marker-value")
    assert sealed[1:5] == key_id(CURRENT)
    assert b"marker-value" not in sealed
    assert is_sealed(sealed)


def test_sealing_twice_gives_different_bytes() -> None:
    cipher = RecordCipher([CURRENT])
    assert cipher.seal(KEY, b"x") != cipher.seal(KEY, b"x")


def test_a_payload_sealed_for_one_store_key_does_not_open_under_another() -> None:
    cipher = RecordCipher([CURRENT])
    with pytest.raises(DecryptionError, match="another key"):
        cipher.open("cd" * 20, cipher.seal(KEY, b"x"))


def test_a_flipped_ciphertext_byte_does_not_open() -> None:
    cipher = RecordCipher([CURRENT])
    sealed = bytearray(cipher.seal(KEY, b"some session data"))
    sealed[-20] ^= 1
    with pytest.raises(DecryptionError, match="tampered"):
        cipher.open(KEY, bytes(sealed))


def test_a_payload_sealed_by_an_unknown_key_names_the_key_id() -> None:
    sealed = RecordCipher([STRANGER]).seal(KEY, b"x")
    with pytest.raises(DecryptionError, match=key_id(STRANGER).hex()):
        RecordCipher([CURRENT, OLD]).open(KEY, sealed)


def test_an_old_key_opens_what_it_sealed_and_is_not_current() -> None:
    sealed = RecordCipher([OLD]).seal(KEY, b"x")
    cipher = RecordCipher([CURRENT, OLD])
    assert cipher.open(KEY, sealed) == b"x"
    assert not cipher.is_current(sealed)


@pytest.mark.parametrize("key", ["short", "not base64 !!", b"x" * 31])
def test_a_key_that_is_not_32_bytes_is_refused(key: Any) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        RecordCipher([key])


def test_a_single_key_not_in_a_list_is_refused() -> None:
    with pytest.raises(ValueError, match="list"):
        RecordCipher(CURRENT)


def test_raw_32_byte_keys_are_taken_as_they_are() -> None:
    cipher = RecordCipher([b"k" * 32])
    assert cipher.open(KEY, cipher.seal(KEY, b"x")) == b"x"


# -- through the manager --------------------------------------------------------


def test_a_session_is_stored_encrypted_and_reads_back(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = manager_with(memory_store, clock, CURRENT)
    cookie, key = stored_session(manager, cart=["marker-apple"])
    record = memory_store.load(key)
    assert record is not None
    assert b"marker-apple" not in record.data
    with manager.scope(cookie) as session:
        assert session["cart"] == ["marker-apple"]


def test_a_changed_encrypted_session_is_saved_and_an_unchanged_one_is_not(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = manager_with(memory_store, clock, CURRENT)
    cookie, key = stored_session(manager, n=1)
    first = memory_store.load(key)
    with manager.scope(cookie) as session:
        assert session["n"] == 1
    assert memory_store.load(key) == first  # read only: not re-sealed
    with manager.scope(cookie) as session:
        session["n"] = 2
    with manager.scope(cookie) as session:
        assert session["n"] == 2


def test_a_session_sealed_by_an_old_key_is_read_and_resealed_with_the_current_key(
    memory_store: MemoryStore, clock: Clock
) -> None:
    cookie, key = stored_session(manager_with(memory_store, clock, OLD), n=1)
    manager = manager_with(memory_store, clock, CURRENT, OLD)
    with manager.scope(cookie) as session:
        assert session["n"] == 1  # a read-only request
    record = memory_store.load(key)
    assert record is not None
    assert record.data[1:5] == key_id(CURRENT)
    with manager_with(memory_store, clock, CURRENT).scope(cookie) as session:
        assert session["n"] == 1  # the old key can go now


@pytest.mark.parametrize(
    "damage",
    ["unknown key", "tampered", "copied from another session", "not encrypted"],
)
def test_a_record_that_does_not_decrypt_is_a_fresh_session_logged_and_removed(
    memory_store: MemoryStore,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    manager = manager_with(memory_store, clock, CURRENT)
    cookie, key = stored_session(manager, secret="mine")
    _, other_key = stored_session(manager, secret="someone else's")
    record = memory_store.load(key)
    other = memory_store.load(other_key)
    assert record is not None
    assert other is not None
    bad = {
        "unknown key": RecordCipher([STRANGER]).seal(key, b'{"secret":"x"}'),
        "tampered": record.data[:-1] + bytes([record.data[-1] ^ 1]),
        "copied from another session": other.data,
        "not encrypted": b'{"secret":"planted"}',
    }[damage]
    replace_data(memory_store, key, bad)
    with caplog.at_level(logging.WARNING, logger="sessionware"), manager.scope(cookie) as session:
        assert session.is_new
        assert dict(session) == {}
    assert memory_store.load(key) is None
    assert any(key in r.getMessage() and "decode" in r.getMessage() for r in caplog.records)


def test_concurrent_changes_to_an_encrypted_session_merge(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = manager_with(memory_store, clock, CURRENT)
    cookie, _ = stored_session(manager, a=0, b=0)
    first, second = manager.open(cookie), manager.open(cookie)
    first["a"], second["b"] = 1, 2
    manager.save_changes(first)
    manager.save_changes(second)  # loses the compare-and-set, merges, retries
    with manager.scope(cookie) as session:
        assert dict(session) == {"a": 1, "b": 2}


def test_a_regenerated_encrypted_session_is_sealed_for_its_new_key(
    memory_store: MemoryStore, clock: Clock
) -> None:
    manager = manager_with(memory_store, clock, CURRENT)
    cookie, old_key = stored_session(manager, n=1)
    with manager.scope(cookie) as session:
        manager.login(session, "alice")
    assert memory_store.load(old_key) is None
    with manager.scope(session.cookie_value) as again:
        assert again["n"] == 1
        assert again.user_id == "alice"


@pytest.mark.anyio
async def test_the_async_manager_stores_encrypted_and_reads_back(clock: Clock) -> None:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    manager = sw.AsyncSessionManager(
        store, secret_key=SECRET, clock=clock, encryption_keys=[CURRENT], visit_tracker=False
    )
    async with manager.scope(None) as session:
        session["cart"] = "marker-pear"
    record = await store.load(session.key)
    assert record is not None
    assert b"marker-pear" not in record.data
    async with manager.scope(session.cookie_value) as again:
        assert again["cart"] == "marker-pear"


@pytest.mark.anyio
async def test_the_async_manager_treats_a_tampered_record_as_a_fresh_session(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    store = AsyncMemoryStore(MemoryStore(clock=clock))
    manager = sw.AsyncSessionManager(
        store, secret_key=SECRET, clock=clock, encryption_keys=[CURRENT], visit_tracker=False
    )
    async with manager.scope(None) as session:
        session["n"] = 1
    replace_data(store.sync_store, session.key, b"\x01" + b"\x00" * 40)
    with caplog.at_level(logging.WARNING, logger="sessionware"):
        async with manager.scope(session.cookie_value) as again:
            assert again.is_new
            assert dict(again) == {}
    assert any("does not decode" in r.getMessage() for r in caplog.records)

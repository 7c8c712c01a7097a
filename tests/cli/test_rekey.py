"""``sessionware rekey URL``: every session re-encrypted with the current key of
``SESSIONWARE_ENCRYPTION_KEYS``, in batches, resumable, never losing a session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from sessionware.cli.rekey import KEYS_VARIABLE, rekey_record, rekey_sessions
from sessionware.core.encryption import RecordCipher, key_id, new_encryption_key
from sessionware.core.record import Record

from .conftest import Run, key_of, put, single_error_line

CURRENT, OLD, STRANGER = new_encryption_key(), new_encryption_key(), new_encryption_key()
PLAIN = b'{"cart":{"apple":1}}'


@pytest.fixture
def keys() -> Iterator[None]:
    """The CLI's keys: current first, then the old one."""
    before = os.environ.get(KEYS_VARIABLE)
    os.environ[KEYS_VARIABLE] = f"{CURRENT}, {OLD}"
    yield
    if before is None:
        del os.environ[KEYS_VARIABLE]
    else:
        os.environ[KEYS_VARIABLE] = before


def sealed_by(key: str, n: int) -> bytes:
    return RecordCipher([key]).seal(key_of(n), PLAIN)


def test_rekey_reseals_old_key_sessions_with_the_current_key(
    run: Run, filled: tuple[str, Any], keys: None
) -> None:
    url, store = filled
    for n in range(3):
        put(store, n, data=sealed_by(OLD, n), version=2)

    result = run("rekey", url, "--batch-size", "2")

    assert result.exit_code == 0, result.output
    assert "re-encrypted 3" in result.stdout
    current = RecordCipher([CURRENT])
    for n in range(3):
        record = store.load(key_of(n))
        assert record.data[1:5] == key_id(CURRENT)
        assert current.open(record.id, record.data) == PLAIN
        assert record.version == 3


def test_rekey_run_again_finds_everything_current(
    run: Run, filled: tuple[str, Any], keys: None
) -> None:
    url, store = filled
    put(store, 1, data=sealed_by(OLD, 1))
    run("rekey", url)

    result = run("rekey", url)

    assert result.exit_code == 0
    assert "re-encrypted 0, already current 1" in result.stdout


def test_rekey_leaves_plaintext_alone_unless_asked(
    run: Run, filled: tuple[str, Any], keys: None
) -> None:
    url, store = filled
    put(store, 1, data=PLAIN)

    assert "not encrypted 1" in run("rekey", url).stdout
    assert store.load(key_of(1)).data == PLAIN
    result = run("rekey", url, "--encrypt-plaintext")

    assert "re-encrypted 1" in result.stdout
    record = store.load(key_of(1))
    assert RecordCipher([CURRENT]).open(record.id, record.data) == PLAIN


def test_rekey_reports_sessions_under_an_unknown_key_and_leaves_them(
    run: Run, filled: tuple[str, Any], keys: None
) -> None:
    url, store = filled
    stranger = put(store, 1, data=sealed_by(STRANGER, 1))
    put(store, 2, data=sealed_by(OLD, 2))

    result = run("rekey", url)

    assert result.exit_code == 1
    assert "Error: 1 sessions are encrypted with a key not in" in result.stderr
    assert "re-encrypted 1" in result.stdout
    assert store.load(key_of(1)) == stranger


def test_rekey_without_keys_is_a_usage_error(
    run: Run, filled: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)

    result = run("rekey", filled[0])

    assert result.exit_code == 2
    assert KEYS_VARIABLE in single_error_line(result)


def test_a_record_saved_meanwhile_is_counted_and_kept_as_the_application_wrote_it() -> None:
    cipher = RecordCipher([CURRENT, OLD])
    record = Record(key_of(1), sealed_by(OLD, 1), 1.0, 2.0e9, 4)
    outcome = rekey_record(cipher, record, encrypt_plaintext=False)
    assert isinstance(outcome, Record)
    assert outcome.version == 5

    class SavedMeanwhile:  # a store whose record moved on between load and save
        def ids(self) -> list[str]:
            return [record.id]

        def load(self, key: str) -> Record:
            return record

        def save_if_version(self, new: Record, expected: int) -> bool:
            return False

    report = rekey_sessions(SavedMeanwhile(), cipher)  # type: ignore[arg-type]
    assert report.changed == 1
    assert report.rekeyed == 0


def test_batches_report_their_progress() -> None:
    cipher = RecordCipher([CURRENT, OLD])
    records = {key_of(n): Record(key_of(n), sealed_by(OLD, n), 1.0, 2.0e9, 1) for n in range(5)}

    class Store:
        def ids(self) -> list[str]:
            return list(records)

        def load(self, key: str) -> Record:
            return records[key]

        def save_if_version(self, new: Record, expected: int) -> bool:
            records[new.id] = msgspec.structs.replace(new)
            return True

    seen: list[tuple[int, int]] = []
    rekey_sessions(Store(), cipher, batch_size=2, on_batch=lambda d, t: seen.append((d, t)))  # type: ignore[arg-type]
    assert seen == [(2, 5), (4, 5), (5, 5)]

"""``sessionware show`` of sessions encrypted at rest and of typed sessions, on every
store kind: decrypted with ``SESSIONWARE_ENCRYPTION_KEYS`` (the variable ``rekey``
reads) as the manager decrypts them, an old key's record too; without the variable
a clear line saying how to read it; keys that do not open it, or a malformed key,
one ``Error:`` line and no traceback."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

import sessionware as sw
from sessionware.cli.rekey import KEYS_VARIABLE
from sessionware.core.encryption import new_encryption_key

from .conftest import Run, single_error_line

SECRET = "cli-show-secret-key-long-enough-00000000"
CURRENT, OLD, STRANGER = new_encryption_key(), new_encryption_key(), new_encryption_key()


class Cart(msgspec.Struct):
    items: list[str] = []


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's keys: current first, then the old one."""
    monkeypatch.setenv(KEYS_VARIABLE, f"{CURRENT}, {OLD}")


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYS_VARIABLE, raising=False)


def saved(store: Any, key: str | None, schema: type[Any] | None = None) -> str:
    """The store key of a session saved with ``note`` (or a Cart of one apple)."""
    keys = None if key is None else [key]
    manager = sw.SessionManager(
        store, secret_key=SECRET, encryption_keys=keys, schema=schema, visit_tracker=False
    )
    with manager.scope(None) as session:
        if schema is Cart:
            session.typed.items.append("apple")
        else:
            session["note"] = "a plaintext marker"
    return session.key


@pytest.mark.usefixtures("keys")
def test_show_decrypts_an_encrypted_session(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    result = run("show", url, saved(store, CURRENT))

    assert result.exit_code == 0, result.output
    assert "data (json, decrypted):" in result.stdout
    assert '"note": "a plaintext marker"' in result.stdout


@pytest.mark.usefixtures("keys")
def test_show_decrypts_a_session_sealed_with_an_old_key(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    result = run("show", url, saved(store, OLD))

    assert result.exit_code == 0, result.output
    assert '"note": "a plaintext marker"' in result.stdout


@pytest.mark.usefixtures("no_keys")
def test_show_without_the_keys_says_how_to_read_an_encrypted_session(
    run: Run, filled: tuple[str, Any]
) -> None:
    url, store = filled
    result = run("show", url, saved(store, CURRENT))

    assert result.exit_code == 0, result.output
    assert f"data: encrypted; set {KEYS_VARIABLE} to read it" in result.stdout
    assert "shown as bytes" not in result.stdout


@pytest.mark.usefixtures("keys")
def test_show_with_keys_that_do_not_open_it_is_one_error_line(
    run: Run, filled: tuple[str, Any]
) -> None:
    url, store = filled
    result = run("show", url, saved(store, STRANGER))

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "does not decrypt with SESSIONWARE_ENCRYPTION_KEYS" in single_error_line(result)
    assert "unknown key" in result.stderr


def test_show_with_a_malformed_key_is_a_usage_error(
    run: Run, filled: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, store = filled
    key = saved(store, CURRENT)
    monkeypatch.setenv(KEYS_VARIABLE, "not-a-key")

    result = run("show", url, key)

    assert result.exit_code == 2
    assert single_error_line(result).startswith(f"Error: {KEYS_VARIABLE}: ")


@pytest.mark.usefixtures("keys")
def test_show_of_a_plaintext_session_with_keys_set_decodes_it_as_it_is(
    run: Run, filled: tuple[str, Any]
) -> None:
    url, store = filled
    result = run("show", url, saved(store, None))

    assert result.exit_code == 0, result.output
    assert "data (json):" in result.stdout
    assert '"note": "a plaintext marker"' in result.stdout


@pytest.mark.usefixtures("keys")
def test_show_raw_prints_the_sealed_bytes(run: Run, filled: tuple[str, Any]) -> None:
    url, store = filled
    result = run("show", url, saved(store, CURRENT), "--raw")

    assert result.exit_code == 0, result.output
    assert "00000000  01 " in result.stdout  # the sealed format's first byte
    assert "plaintext marker" not in result.stdout


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize("key", [None, CURRENT], ids=["plain", "encrypted"])
def test_show_decodes_a_typed_session(run: Run, filled: tuple[str, Any], key: str | None) -> None:
    url, store = filled
    result = run("show", url, saved(store, key, schema=Cart))

    assert result.exit_code == 0, result.output
    assert "typed, schema version 1" in result.stdout
    assert '"items": [' in result.stdout
    assert '"apple"' in result.stdout

"""Security properties that hold for every manager: secrets, cookie values, key rotation."""

from __future__ import annotations

import secrets

import pytest

import sessionware as sw
from sessionware.core.signing import CookieSigner
from sessionware.stores.memory import AsyncMemoryStore, MemoryStore

from .conftest import SECRET

# -- secrets that are too short or too predictable are refused ------------------


@pytest.mark.parametrize(
    "secret",
    ["k", "a long random secret", b"x" * 31, "é" * 15],
    ids=["one-character", "twenty-characters", "31-bytes", "30-utf8-bytes"],
)
def test_a_secret_shorter_than_32_bytes_is_refused(secret: str | bytes) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        CookieSigner(secret)


@pytest.mark.parametrize(
    "secret", ["a" * 40, "ab" * 20, "abc" * 11], ids=["one-char", "two-char-pattern", "abc"]
)
def test_a_predictable_str_secret_is_refused_even_when_long(secret: str) -> None:
    with pytest.raises(ValueError, match="too predictable"):
        CookieSigner(secret)


def test_the_usual_generated_secrets_are_accepted() -> None:
    from django.core.management.utils import get_random_secret_key

    for _ in range(200):
        CookieSigner(secrets.token_hex(16))
        CookieSigner(secrets.token_urlsafe(32))
        CookieSigner(get_random_secret_key())
        CookieSigner(secrets.token_bytes(32))


def test_random_bytes_are_judged_by_length_only() -> None:
    CookieSigner(b"\0" * 32)  # bytes carry no character distribution to estimate


def test_every_key_of_a_rotation_list_is_checked_and_named_by_position() -> None:
    with pytest.raises(ValueError, match=r"secret_key\[1\] is 3 bytes long"):
        CookieSigner([SECRET, "old"])


def test_the_refusal_never_shows_the_key() -> None:
    weak = "s3cr3t" * 2
    with pytest.raises(ValueError, match="bytes long") as caught:
        CookieSigner(weak)
    assert weak not in str(caught.value)


def test_the_managers_refuse_a_short_secret() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sw.SessionManager(MemoryStore(), secret_key="k")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        sw.AsyncSessionManager(AsyncMemoryStore(), secret_key="k")

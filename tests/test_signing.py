"""Session ids and signed cookies: what is accepted, and everything that is not."""

from __future__ import annotations

import pytest

from sessionware.core.signing import CookieSigner, new_session_id, store_key

NOW = 1_800_000_000


@pytest.fixture
def signer() -> CookieSigner:
    return CookieSigner("test signer key: 7c1f0e3a9b5d42f8a6e0")


def test_session_ids_carry_256_random_bits() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 43 for i in ids)


def test_store_key_is_a_hash_not_the_id() -> None:
    session_id = new_session_id()
    key = store_key(session_id)
    assert session_id not in key
    assert len(key) == 40
    assert int(key, 16) >= 0
    assert store_key(session_id) == key


def test_a_signed_cookie_verifies(signer: CookieSigner) -> None:
    session_id = new_session_id()
    signed = signer.unsign(signer.sign(session_id, NOW))
    assert signed is not None
    assert signed.session_id == session_id
    assert signed.created_at == NOW


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "a.b.c",
        "x" * 5000,
        "..",
        "\x00\x01\x02",
        "é" * 98,
    ],
    ids=["none", "empty", "garbage", "short-parts", "oversized", "dots", "control", "non-ascii"],
)
def test_malformed_cookies_are_rejected(signer: CookieSigner, value: str | None) -> None:
    assert signer.unsign(value) is None


def test_an_unsigned_id_is_rejected(signer: CookieSigner) -> None:
    assert signer.unsign(new_session_id()) is None


def test_a_tampered_id_is_rejected(signer: CookieSigner) -> None:
    cookie = signer.sign(new_session_id(), NOW)
    forged = ("A" if cookie[0] != "A" else "B") + cookie[1:]
    assert signer.unsign(forged) is None


def test_a_tampered_creation_time_is_rejected(signer: CookieSigner) -> None:
    session_id = new_session_id()
    cookie = signer.sign(session_id, NOW)
    assert signer.unsign(cookie.replace(str(NOW), str(NOW + 999))) is None


def test_a_cookie_signed_with_another_key_is_rejected(signer: CookieSigner) -> None:
    other = CookieSigner("another key entirely, also long enough")
    assert signer.unsign(other.sign(new_session_id(), NOW)) is None


def test_key_rotation_signs_with_the_first_and_verifies_with_all() -> None:
    old = CookieSigner("old key " * 4)
    rotated = CookieSigner(["new key " * 4, "old key " * 4])
    old_cookie = old.sign(new_session_id(), NOW)
    assert rotated.unsign(old_cookie) is not None
    new_cookie = rotated.sign(new_session_id(), NOW)
    assert old.unsign(new_cookie) is None
    assert CookieSigner("new key " * 4).unsign(new_cookie) is not None


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="0 bytes long"):
        CookieSigner("")
    with pytest.raises(ValueError, match="at least one"):
        CookieSigner([])


def test_remembered_genuine_cookies_stay_bounded_and_forgeries_are_still_refused() -> None:
    from sessionware.core import signing

    signer = signing.CookieSigner("test signer key: 7c1f0e3a9b5d42f8a6e0")
    values = [
        signer.sign(signing.new_session_id(), 1_700_000_000)
        for _ in range(signing.VERIFIED_CACHE_SIZE + 10)
    ]
    assert all(signer.unsign(value) is not None for value in values)
    assert len(signer._verified) <= signing.VERIFIED_CACHE_SIZE
    forged = values[-1][:-1] + ("A" if values[-1][-1] != "A" else "B")
    assert signer.unsign(forged) is None
    assert signer.unsign(values[0]) is not None  # dropped from the cache, verified again

"""The cookie signature is HMAC-SHA256 exactly as the standard library computes it."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sessionware.core.signing import SIGNATURE_LENGTH, CookieSigner, _derive, new_session_id

KEY = "a secret key of some length, long enough"
OLD_KEY = "old key: 0f4b9e2c7a1d63f5b8e0c4d2"
NEW_KEY = "new key: 5d2a8c1e9f7b3064a2c1e8f0"


def test_signature_matches_the_standard_library_hmac() -> None:
    signer = CookieSigner(KEY)
    session_id = new_session_id()
    cookie = signer.sign(session_id, 1_800_000_000)
    message, _, signature = cookie.rpartition(".")
    expected = hmac.digest(_derive(KEY), message.encode(), hashlib.sha256)
    assert signature == base64.urlsafe_b64encode(expected)[:SIGNATURE_LENGTH].decode()


def test_a_rotated_out_key_still_verifies_with_its_own_hmac() -> None:
    old = CookieSigner(OLD_KEY)
    rotated = CookieSigner([NEW_KEY, OLD_KEY])
    cookie = old.sign(new_session_id(), 1_800_000_000)
    assert rotated.unsign(cookie) is not None

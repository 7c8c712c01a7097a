"""The cookie signature is HMAC-SHA256 exactly as the standard library computes it."""

from __future__ import annotations

import base64
import hashlib
import hmac

from sessionware.core.signing import SIGNATURE_LENGTH, CookieSigner, _derive, new_session_id


def test_signature_matches_the_standard_library_hmac() -> None:
    signer = CookieSigner("a secret key of some length")
    session_id = new_session_id()
    cookie = signer.sign(session_id, 1_800_000_000)
    message, _, signature = cookie.rpartition(".")
    expected = hmac.digest(_derive("a secret key of some length"), message.encode(), hashlib.sha256)
    assert signature == base64.urlsafe_b64encode(expected)[:SIGNATURE_LENGTH].decode()


def test_a_rotated_out_key_still_verifies_with_its_own_hmac() -> None:
    old = CookieSigner("old key")
    rotated = CookieSigner(["new key", "old key"])
    cookie = old.sign(new_session_id(), 1_800_000_000)
    assert rotated.unsign(cookie) is not None

"""Session ids, their signed cookie form, and the store key derived from them.

A cookie is ``<id>.<created>.<signature>``: 256 random bits, the session's creation
time in whole seconds, and an HMAC-SHA256 over both. A value that fails any check
here never reaches a store.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import math
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

__all__ = [
    "MAX_COOKIE_LENGTH",
    "CookieSigner",
    "SignedId",
    "new_session_id",
    "store_key",
]

ID_BYTES = 32
ID_LENGTH = 43  # len(token_urlsafe(32))
SIGNATURE_LENGTH = 43  # unpadded base64 of a SHA-256 digest
MAX_COOKIE_LENGTH = 4096
#: Genuine cookie values remembered per signer, so a returning visitor's cookie is
#: verified once, not on every request (the HMAC was the largest step of a request).
VERIFIED_CACHE_SIZE = 4096
_ID_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_session_id() -> str:
    """A fresh session id with 256 bits from ``secrets``."""
    return secrets.token_urlsafe(ID_BYTES)


def store_key(session_id: str) -> str:
    """The key a store files a session under: SHA-256 of the id, 160 bits in hex.

    Stores never see the id itself, so a leaked store or backup cannot be replayed
    as cookies. Hex keeps the key safe as a file name, Redis key or SQL value.
    """
    return hashlib.sha256(session_id.encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class SignedId:
    """A verified cookie value. Slotted, not a NamedTuple: its fields are read on
    every request, and a slot read is the cheaper attribute access."""

    session_id: str
    created_at: int
    #: ``store_key(session_id)``, derived once when the cookie is first verified.
    key: str
    #: Verified by a fallback key, not the current one: re-sign it (key rotation).
    stale: bool = False


#: A signing key must be at least this long in bytes (a str counts as UTF-8).
MIN_SECRET_BYTES = 32
#: ...and a str key must carry at least this many bits by a Shannon estimate over its
#: characters. The estimate undercounts short random strings (32 random hex digits,
#: 128 true bits, score 92-120), so the bar sits well below the true entropy wanted:
#: it refuses repeated characters and short repeated patterns, not honest keys.
MIN_SECRET_BITS = 64
SECRET_RULE = (
    f"a secret_key needs at least {MIN_SECRET_BYTES} bytes and, for a str, "
    f"an estimated {MIN_SECRET_BITS} bits of entropy (Shannon, over its characters); "
    "make one with secrets.token_urlsafe(32)"
)


def estimated_bits(text: str) -> float:
    """Shannon estimate of a string's entropy: its length times the entropy of its
    character frequencies (0 for "aaaa", 1 bit a character for "abab")."""
    length = len(text)
    counts = Counter(text).values()
    return -sum(count * math.log2(count / length) for count in counts)


def check_secret(secret: str | bytes, index: int = 0) -> bytes:
    """The key as bytes, or a ValueError naming the rule it breaks.

    ``index`` names the key of a rotation list in the message (never the key)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    which = "secret_key" if index == 0 else f"secret_key[{index}]"
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(f"{which} is {len(raw)} bytes long: {SECRET_RULE}")
    if isinstance(secret, str) and estimated_bits(secret) < MIN_SECRET_BITS:
        raise ValueError(f"{which} is too predictable (repeated characters?): {SECRET_RULE}")
    return raw


def _derive(secret: str | bytes, index: int = 0) -> bytes:
    raw = check_secret(secret, index)
    return hmac.new(raw, b"sessionware cookie signature", hashlib.sha256).digest()


class CookieSigner:
    """Signs ids with the first key and verifies with every key (key rotation).

    A value that verified with a fallback key comes back ``stale``, so the caller can
    send the visitor a value signed with the current key (``resign``) and the old key
    can be retired before the longest session ends. Values that verified are
    remembered (at most ``VERIFIED_CACHE_SIZE``, oldest dropped first): the keys
    never change, so a value genuine once stays genuine.
    Only genuine values are kept, so forged ones cannot fill the cache.
    """

    __slots__ = ("_keys", "_verified")

    def __init__(self, secret_keys: str | bytes | Sequence[str | bytes]) -> None:
        keys = [secret_keys] if isinstance(secret_keys, (str, bytes)) else list(secret_keys)
        if not keys:
            raise ValueError("secret_key must name at least one key")
        # Keyed HMAC states prepared once; each signature copies one (cheaper than
        # hmac.digest, which re-derives the padded keys every time).
        self._keys = [
            hmac.new(_derive(key, index), digestmod=hashlib.sha256)
            for index, key in enumerate(keys)
        ]
        self._verified: dict[str, SignedId] = {}

    def sign(self, session_id: str, created_at: float) -> str:
        message = f"{session_id}.{int(created_at)}"
        return f"{message}.{self._signature(self._keys[0], message)}"

    def unsign(self, cookie_value: str | None) -> SignedId | None:
        """The id and creation time in a genuine cookie; None for anything else."""
        if not cookie_value or len(cookie_value) > MAX_COOKIE_LENGTH:
            return None
        known = self._verified.get(cookie_value)
        if known is not None:
            return known
        signed = self._verify(cookie_value)
        if signed is not None:
            self._remember(cookie_value, signed)
        return signed

    def resign(self, signed: SignedId) -> str:
        """The current key's cookie for a ``stale`` value, remembered as genuine so the
        visitor's next request needs no HMAC."""
        value = self.sign(signed.session_id, signed.created_at)
        self._remember(value, replace(signed, stale=False))
        return value

    def _verify(self, cookie_value: str) -> SignedId | None:
        message, _, signature = cookie_value.rpartition(".")
        session_id, _, created = message.partition(".")
        if (
            len(signature) != SIGNATURE_LENGTH
            # compare_digest refuses non-ASCII str (TypeError): such a value is forged.
            or not signature.isascii()
            or len(session_id) != ID_LENGTH
            or not created.isascii()
            or not created.isdigit()
            or not _ID_ALPHABET.issuperset(session_id)
        ):
            return None
        for index, key in enumerate(self._keys):
            if hmac.compare_digest(signature, self._signature(key, message)):
                return SignedId(session_id, int(created), store_key(session_id), index > 0)
        return None

    def _remember(self, cookie_value: str, signed: SignedId) -> None:
        verified = self._verified
        if len(verified) >= VERIFIED_CACHE_SIZE:
            # Threads may evict at once: losing a race only drops another entry.
            with contextlib.suppress(KeyError, RuntimeError, StopIteration):
                del verified[next(iter(verified))]
        verified[cookie_value] = signed

    @staticmethod
    def _signature(key: hmac.HMAC, message: str) -> str:
        mac = key.copy()
        mac.update(message.encode())
        digest = mac.digest()
        return base64.urlsafe_b64encode(digest)[:SIGNATURE_LENGTH].decode()

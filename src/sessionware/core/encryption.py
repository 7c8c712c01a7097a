"""Encryption at rest: a record's data sealed with AES-256-GCM before it reaches a store.

``RecordCipher(keys)``: the first key seals, every key opens (key rotation). A sealed
payload is laid out as::

    0x01 | key id (4 bytes) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes)

The key id names the key that sealed it (an HMAC of the key, so it says nothing
about the key itself), which lets an old key open old records while new saves use
the current one. The store key (the hash of the session id) is the associated
data: a record copied under another key, or any byte changed, fails to open.

The core hands only bytes in and out; the AES itself is ``cryptography``'s
(the ``[crypto]`` extra), imported when a cipher is made.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .codecs import CodecError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["DecryptionError", "RecordCipher", "is_sealed", "key_id", "new_encryption_key"]

_FORMAT = b"\x01"
_KEY_ID_SIZE = 4
_NONCE_SIZE = 12
_HEADER_SIZE = 1 + _KEY_ID_SIZE + _NONCE_SIZE
_KEY_SIZE = 32
_TAG_SIZE = 16

EncryptionKey = str | bytes


class DecryptionError(CodecError):
    """Stored bytes could not be opened: unknown key id, tampered, or not sealed."""


def new_encryption_key() -> str:
    """A fresh 256-bit key, URL-safe base64 (what ``encryption_keys`` takes as str)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(_KEY_SIZE)).decode()


def is_sealed(blob: bytes) -> bool:
    """Whether ``blob`` is laid out as a sealed payload (not whether it opens)."""
    return blob[:1] == _FORMAT and len(blob) >= _HEADER_SIZE + _TAG_SIZE


def raw_key(key: EncryptionKey) -> bytes:
    """The 32 key bytes of ``key``: bytes as they are, str as URL-safe base64."""
    if isinstance(key, str):
        try:
            key = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError(
                "an encryption key given as str must be 32 bytes in URL-safe base64"
            ) from exc
    if not isinstance(key, bytes) or len(key) != _KEY_SIZE:
        raise ValueError(
            "an encryption key must be 32 bytes (AES-256), or their URL-safe base64; "
            "make one with sessionware.core.encryption.new_encryption_key()"
        )
    return key


def key_id(key: EncryptionKey) -> bytes:
    """The 4-byte id a sealed record names its key by."""
    return hmac.digest(raw_key(key), b"sessionware record key id", hashlib.sha256)[:_KEY_ID_SIZE]


class RecordCipher:
    """Seals and opens record payloads with AES-256-GCM, the store key as associated data."""

    __slots__ = ("_ciphers", "_current", "_current_id", "_invalid_tag")

    def __init__(self, keys: Sequence[EncryptionKey]) -> None:
        if isinstance(keys, (str, bytes)) or not keys:
            raise ValueError("encryption_keys must be a non-empty list: [current, *old]")
        try:
            from cryptography.exceptions import InvalidTag
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError(
                "encryption_keys needs the 'cryptography' package: "
                "pip install 'sessionware[crypto]'"
            ) from exc
        self._ciphers: dict[bytes, AESGCM] = {}
        for key in keys:
            ident = key_id(key)
            if ident in self._ciphers:
                raise ValueError("encryption_keys holds the same key twice")
            self._ciphers[ident] = AESGCM(raw_key(key))
        self._current_id = key_id(keys[0])
        self._current = self._ciphers[self._current_id]
        self._invalid_tag = InvalidTag

    def seal(self, store_key: str, payload: bytes) -> bytes:
        """``payload`` encrypted with the current key, bound to ``store_key``."""
        nonce = os.urandom(_NONCE_SIZE)
        sealed = self._current.encrypt(nonce, payload, store_key.encode())
        return b"".join((_FORMAT, self._current_id, nonce, sealed))

    def open(self, store_key: str, blob: bytes) -> bytes:
        """The payload ``seal`` was given; ``DecryptionError`` if it cannot be."""
        if not is_sealed(blob):
            raise DecryptionError("stored data is not an encrypted sessionware record")
        ident = blob[1 : 1 + _KEY_ID_SIZE]
        cipher = self._ciphers.get(ident)
        if cipher is None:
            raise DecryptionError(
                f"stored data is encrypted with an unknown key (id {ident.hex()})"
            )
        nonce = blob[1 + _KEY_ID_SIZE : _HEADER_SIZE]
        try:
            return cipher.decrypt(nonce, blob[_HEADER_SIZE:], store_key.encode())
        except self._invalid_tag:
            raise DecryptionError(
                "stored data does not authenticate (tampered, or copied from another key)"
            ) from None

    def is_current(self, blob: bytes) -> bool:
        """Whether ``blob`` was sealed with the current key (else the next save re-seals)."""
        return blob[1 : 1 + _KEY_ID_SIZE] == self._current_id

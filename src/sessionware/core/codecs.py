"""Codecs turn a session's mapping into bytes and back.

JSON (msgspec) is the default; msgpack is available; pickle only on explicit opt-in and
then HMAC-signed, so data that was not written by this application is never unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import pickle
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import msgspec

__all__ = [
    "Codec",
    "CodecError",
    "JsonCodec",
    "MsgpackCodec",
    "PickleCodec",
    "check_key",
    "check_keys",
    "encode_checked",
    "encode_named",
    "raw_functions",
    "resolve_codec",
]


class CodecError(ValueError):
    """Stored bytes could not be decoded into a session mapping."""


@runtime_checkable
class Codec(Protocol):
    """Encodes a ``dict[str, Any]`` to bytes and back.

    ``encode`` raises ``TypeError`` for values it cannot represent; ``decode`` raises
    ``CodecError`` for bytes it cannot read.
    """

    name: str

    def encode(self, data: dict[str, Any]) -> bytes: ...

    def decode(self, payload: bytes) -> dict[str, Any]: ...


class _MsgspecCodec:
    name = "abstract"
    _encoder: msgspec.json.Encoder | msgspec.msgpack.Encoder
    _decoder: msgspec.json.Decoder[dict[str, Any]] | msgspec.msgpack.Decoder[dict[str, Any]]

    def encode(self, data: dict[str, Any]) -> bytes:
        try:
            return self._encoder.encode(data)
        except (msgspec.EncodeError, OverflowError) as exc:
            raise TypeError(str(exc)) from exc

    def decode(self, payload: bytes) -> dict[str, Any]:
        try:
            return self._decoder.decode(payload)
        except (msgspec.DecodeError, ValueError) as exc:
            raise CodecError(str(exc)) from exc


class JsonCodec(_MsgspecCodec):
    """JSON via msgspec: fast, portable, readable by any language. The default."""

    name = "json"

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(dict[str, Any])


class MsgpackCodec(_MsgspecCodec):
    """MessagePack via msgspec: smaller than JSON and keeps ``bytes`` values."""

    name = "msgpack"

    def __init__(self) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(dict[str, Any])


class PickleCodec:
    """Pickle, signed with HMAC-SHA256 so only this application's own bytes are unpickled.

    Pickle can run arbitrary code while loading; never enable it unless every value you
    store needs it, and keep ``secret_key`` secret.
    """

    name = "pickle"
    _SIGNATURE_SIZE = 32

    def __init__(self, secret_key: bytes) -> None:
        if not secret_key:
            raise ValueError("PickleCodec needs a non-empty secret key to sign its payloads")
        self._key = hmac.new(secret_key, b"sessionware pickle codec", hashlib.sha256).digest()

    def encode(self, data: dict[str, Any]) -> bytes:
        try:
            body = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, AttributeError) as exc:
            raise TypeError(str(exc)) from exc
        return hmac.digest(self._key, body, "sha256") + body

    def decode(self, payload: bytes) -> dict[str, Any]:
        signature, body = payload[: self._SIGNATURE_SIZE], payload[self._SIGNATURE_SIZE :]
        if not hmac.compare_digest(signature, hmac.digest(self._key, body, "sha256")):
            raise CodecError("pickle payload signature does not match; refusing to unpickle")
        try:
            data = pickle.loads(body)  # noqa: S301 - signed by our own key just above
        except Exception as exc:
            raise CodecError(f"pickle payload does not load: {exc}") from exc
        if not isinstance(data, dict):
            raise CodecError("pickle payload is not a mapping")
        return data


def resolve_codec(codec: str | Codec, *, secret_key: bytes, allow_pickle: bool) -> Codec:
    """The codec named by ``codec`` ("json", "msgpack", "pickle") or ``codec`` itself."""
    if not isinstance(codec, str):
        return codec
    if codec == "json":
        return JsonCodec()
    if codec == "msgpack":
        return MsgpackCodec()
    if codec == "pickle":
        if not allow_pickle:
            raise ValueError(
                'codec="pickle" can run arbitrary code when loading tampered data; '
                "pass allow_pickle=True to opt in explicitly"
            )
        return PickleCodec(secret_key)
    raise ValueError(f"unknown codec {codec!r}; expected 'json', 'msgpack' or 'pickle'")


#: What a codec's encoder may raise for a value it cannot represent.
ENCODE_ERRORS = (TypeError, OverflowError, msgspec.EncodeError)

Encode = Callable[[dict[str, Any]], bytes]
Decode = Callable[[bytes], dict[str, Any]]


def raw_functions(codec: Codec) -> tuple[Encode, Decode]:
    """The codec's encode and decode at their cheapest, for the per-request path.

    For the built-in msgspec codecs these are msgspec's own methods (one C call, no
    wrapper): their errors are an ``ENCODE_ERRORS`` member when encoding and a
    ``ValueError`` (as ``CodecError`` is) when decoding, and callers map them.
    """
    encode: Encode = codec.encode
    decode: Decode = codec.decode
    if isinstance(codec, _MsgspecCodec):
        # Only where a subclass has not put its own method in front.
        if type(codec).encode is _MsgspecCodec.encode:
            encode = codec._encoder.encode
        if type(codec).decode is _MsgspecCodec.decode:
            decode = codec._decoder.decode
    return encode, decode


def check_keys(data: dict[str, Any]) -> None:
    """``check_key`` for every key of ``data``."""
    for key in data:
        check_key(key)


def check_key(key: object) -> None:
    """Raise ``TypeError`` unless ``key`` is a ``str``: session keys are strings, as
    JSON object keys are."""
    if type(key) is not str:
        raise TypeError(f"session key {key!r} is not a string; session keys must be str")


def encode_checked(codec: Codec, data: dict[str, Any]) -> bytes:
    """Encode a mapping whose keys may not be checked yet, or raise a ``TypeError``
    that names the offending key."""
    check_keys(data)
    return encode_named(codec.encode, codec, data)


def encode_named(encode: Encode, codec: Codec, data: dict[str, Any]) -> bytes:
    """``encode(data)``; a value it cannot represent becomes a ``TypeError`` naming
    its key. The keys must be known to be strings (``Session`` checks them when set)."""
    try:
        return encode(data)
    except ENCODE_ERRORS as exc:
        for key, value in data.items():
            try:
                encode({key: value})
            except ENCODE_ERRORS:
                raise TypeError(
                    f"session value for key {key!r} cannot be encoded by the "
                    f"{codec.name!r} codec: {exc}"
                ) from exc
        raise TypeError(str(exc)) from exc

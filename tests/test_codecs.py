"""Codecs: JSON by default, msgpack, and pickle only by explicit, signed opt-in."""

from __future__ import annotations

import pickle

import pytest

from sessionware.core.codecs import (
    CodecError,
    JsonCodec,
    MsgpackCodec,
    PickleCodec,
    encode_checked,
    encode_named,
    raw_functions,
    resolve_codec,
)

SAMPLE = {"cart": [1, 2, 3], "name": "Zoë 用户", "nested": {"a": [True, None, 1.5]}}


@pytest.mark.parametrize("codec", [JsonCodec(), MsgpackCodec(), PickleCodec(b"k" * 32)])
def test_codecs_round_trip_a_session(codec: object) -> None:
    assert codec.decode(codec.encode(SAMPLE)) == SAMPLE  # type: ignore[attr-defined]


@pytest.mark.parametrize("codec", [JsonCodec(), MsgpackCodec(), PickleCodec(b"k" * 32)])
@pytest.mark.parametrize("payload", [b"", b"\xff\xfe garbage", b"[1,2]", b'"str"'])
def test_codecs_reject_undecodable_bytes(codec: object, payload: bytes) -> None:
    with pytest.raises(CodecError):
        codec.decode(payload)  # type: ignore[attr-defined]


def test_pickle_is_refused_without_opt_in() -> None:
    with pytest.raises(ValueError, match="allow_pickle"):
        resolve_codec("pickle", secret_key=b"k", allow_pickle=False)


def test_pickle_refuses_bytes_it_did_not_sign() -> None:
    codec = PickleCodec(b"k" * 32)
    unsigned = b"\x00" * 32 + pickle.dumps({"evil": 1})
    with pytest.raises(CodecError, match="signature"):
        codec.decode(unsigned)


def test_pickle_refuses_bytes_signed_with_another_key() -> None:
    payload = PickleCodec(b"other key" * 4).encode({"a": 1})
    with pytest.raises(CodecError):
        PickleCodec(b"k" * 32).decode(payload)


def test_unknown_codec_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown codec"):
        resolve_codec("yaml", secret_key=b"k", allow_pickle=False)


def test_encode_names_a_non_string_key() -> None:
    with pytest.raises(TypeError, match="session key 1 is not a string"):
        encode_checked(JsonCodec(), {"ok": 1, 1: "bad"})  # type: ignore[dict-item]


def test_encode_names_the_key_of_an_unencodable_value() -> None:
    with pytest.raises(TypeError, match="'handle'"):
        encode_checked(JsonCodec(), {"ok": 1, "handle": object()})


@pytest.mark.parametrize("codec", [JsonCodec(), MsgpackCodec()], ids=["json", "msgpack"])
def test_the_fast_decoder_of_a_builtin_codec_fails_with_a_value_error(codec: object) -> None:
    # The core catches ValueError: CodecError and msgspec's DecodeError both are one.
    _, decode = raw_functions(codec)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # noqa: PT011
        decode(b"\xff not a session")


@pytest.mark.parametrize("codec", [JsonCodec(), MsgpackCodec()], ids=["json", "msgpack"])
def test_encoding_with_the_fast_encoder_names_the_unencodable_key(codec: object) -> None:
    encode, _ = raw_functions(codec)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'handle'"):
        encode_named(encode, codec, {"ok": 1, "handle": object()})  # type: ignore[arg-type]


def test_a_custom_codec_is_used_as_it_is() -> None:
    codec = PickleCodec(b"key")
    assert raw_functions(codec) == (codec.encode, codec.decode)


def test_a_subclass_of_a_builtin_codec_keeps_its_own_methods() -> None:
    class Shouting(JsonCodec):
        def encode(self, data: dict[str, object]) -> bytes:
            return super().encode({k.upper(): v for k, v in data.items()})

    codec = Shouting()
    encode, decode = raw_functions(codec)
    assert encode({"a": 1}) == b'{"A":1}'
    assert decode(b'{"A":1}') == {"A": 1}

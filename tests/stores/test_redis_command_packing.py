"""The Redis store packs its commands with hiredis, not with redis-py's encoder: the
bytes on the wire must be the ones redis-py would send for every argument type the
store uses (str of any text, bytes of any shape, int, float)."""

from __future__ import annotations

from typing import Any

from hiredis import pack_command
from hypothesis import given
from hypothesis import strategies as st
from redis._parsers.encoders import Encoder
from redis.connection import PythonRespSerializer

ARGUMENT = st.one_of(
    st.text(),
    st.binary(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
)


def redis_py_packing(args: tuple[Any, ...]) -> bytes:
    serializer = PythonRespSerializer(6000, Encoder("utf-8", "strict", False).encode)
    return b"".join(serializer.pack(*args))


@given(st.tuples(st.sampled_from(["EVALSHA", "GET", "SET"]), st.lists(ARGUMENT, max_size=8)))
def test_a_command_is_packed_as_redis_py_packs_it(command: tuple[str, list[Any]]) -> None:
    name, arguments = command
    args = (name, *arguments)
    assert pack_command(args) == redis_py_packing(args)

"""How the async Redis store hands a command to a redis-py connection
(``async_send_packed``), on the real server: at once when the socket takes it, as
redis-py does otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hiredis import pack_command
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from sessionware.stores.redis._sending import async_send_packed

pytestmark = pytest.mark.anyio


@pytest.fixture
async def connection(redis_url: str) -> AsyncIterator[Any]:
    host, port = redis_url.split("//")[1].split("/")[0].split(":")
    connection = Connection(host=host, port=int(port), socket_timeout=5.0)
    await connection.connect()
    yield connection
    await connection.disconnect()


def packed(*args: Any) -> tuple[bytes]:
    return (pack_command(args),)


def finishes_without_yielding(coroutine: Any) -> bool:
    try:
        coroutine.send(None)
    except StopIteration:
        return True
    coroutine.close()
    return False


async def test_a_small_command_is_written_without_a_turn_of_the_event_loop(
    connection: Any,
) -> None:
    assert finishes_without_yielding(async_send_packed(connection, packed("PING")))
    assert await connection.read_response() == b"PONG"


async def test_a_command_the_socket_cannot_take_at_once_is_drained_as_redis_py_does(
    connection: Any,
) -> None:
    value = b"v" * (32 * 1024 * 1024)
    drains: list[Any] = []
    own_send = connection.send_packed_command

    async def watched(command: Any, check_health: bool = True) -> None:
        drains.append(command)
        await own_send(command, check_health)

    connection.send_packed_command = watched
    await async_send_packed(connection, packed("SET", "sending:big", value))
    assert drains == [()]  # written, then drained under redis-py's timeout
    assert await connection.read_response() == b"OK"
    await async_send_packed(connection, packed("DEL", "sending:big"))
    assert await connection.read_response() == 1


async def test_a_disconnected_connection_is_connected_again_by_redis_py(connection: Any) -> None:
    await connection.disconnect()
    await async_send_packed(connection, packed("PING"))
    assert await connection.read_response() == b"PONG"


async def test_a_connection_closing_under_it_raises_redis_pys_connection_error(
    connection: Any,
) -> None:
    connection._writer.transport.close()
    with pytest.raises(RedisConnectionError):
        await async_send_packed(connection, packed("PING"))

"""How a Redis store hands a packed command to a connection, in both flavours side
by side (per-flavour code ``scripts/unasync.py`` cannot generate): the async
sources call ``async_send_packed``, their generated twins ``send_packed``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["async_send_packed", "send_packed"]


def send_packed(connection: Any, command: Sequence[bytes]) -> None:
    """``connection.send_packed_command(command)``: the sync connection writes with
    ``sendall`` under its socket timeout, nothing to save there."""
    connection.send_packed_command(command)


async def async_send_packed(connection: Any, command: Sequence[bytes]) -> None:
    """``await connection.send_packed_command(command)``, written to the transport
    at once when the connection is up and has no health check due.

    redis-py's asyncio connection runs every write under ``asyncio.wait_for`` when
    it has a socket timeout: a task and three more turns of the event loop per
    command (five turns for a cached write instead of two, about 30 us here), for a
    write the transport takes whole at once unless its buffer is full. So: write
    now, and only when the socket did not take it all, wait for the rest as redis-py
    does (its ``drain`` under the timeout, its errors, a disconnect on failure)."""
    writer = getattr(connection, "_writer", None)
    if writer is None or connection.health_check_interval or writer.transport.is_closing():
        # Not a redis-py connection (a near cache's lane), not connected, a health
        # check may be due, or closed: redis-py's own path connects, checks, raises.
        await connection.send_packed_command(command)
        return
    writer.writelines(command)
    if writer.transport.get_write_buffer_size():
        await connection.send_packed_command(())

"""A Redis deployment that cannot be reached, whatever its topology (standalone,
Sentinel, Cluster) and flavour (sync, async), fails ``open_store`` with one short
``StoreUnavailable`` line that names the redacted URL: never a redis-py exception,
a client repr or the password."""

from __future__ import annotations

import asyncio

import pytest

import sessionware as sw
from sessionware.errors import StoreUnavailable
from tests.servers import free_port

PASSWORD = "pw-that-must-never-show-4c1e"
#: A reason that fits a log line (after the URL): the Sentinel one used to be over
#: 1,200 characters.
LONGEST_REASON = 440


def open_in(flavour: str, url: str) -> None:
    if flavour == "sync":
        sw.open_store(url).close()
    else:

        async def open_and_close() -> None:
            store = await sw.open_async_store(url)
            await store.close()

        asyncio.run(open_and_close())


def unreachable_url(topology: str) -> str:
    """A URL of ``topology`` whose every host is a loopback port nobody listens on."""
    first, second = free_port(), free_port()
    if topology == "sentinel":
        return f"redis+sentinel://:{PASSWORD}@127.0.0.1:{first},127.0.0.1:{second}/mymaster"
    if topology == "cluster":
        return f"redis+cluster://:{PASSWORD}@127.0.0.1:{first},127.0.0.1:{second}"
    return f"redis://:{PASSWORD}@127.0.0.1:{first}/0"


def failure(flavour: str, topology: str) -> StoreUnavailable:
    with pytest.raises(StoreUnavailable) as caught:
        open_in(flavour, unreachable_url(topology))
    return caught.value


FLAVOURS = pytest.mark.parametrize("flavour", ["sync", "async"])
TOPOLOGIES = pytest.mark.parametrize("topology", ["standalone", "sentinel", "cluster"])


@FLAVOURS
def test_an_unreachable_cluster_is_store_unavailable(flavour: str) -> None:
    error = failure(flavour, "cluster")

    assert "RedisClusterUnreachableError" in str(error)


@FLAVOURS
@TOPOLOGIES
def test_an_unreachable_deployment_is_one_short_line(flavour: str, topology: str) -> None:
    error = failure(flavour, topology)

    assert "\n" not in str(error)
    assert len(error.reason) <= LONGEST_REASON, error.reason


@FLAVOURS
@TOPOLOGIES
def test_an_unreachable_deployment_never_shows_the_password(flavour: str, topology: str) -> None:
    error = failure(flavour, topology)

    assert PASSWORD not in str(error)
    assert PASSWORD not in repr(error)
    assert ":***@127.0.0.1:" in str(error)


@FLAVOURS
def test_a_sentinel_failure_names_each_sentinel_instead_of_its_client_repr(flavour: str) -> None:
    url = unreachable_url("sentinel")
    ports = [part.partition(":")[2] for part in url.split("@")[1].split("/")[0].split(",")]
    with pytest.raises(StoreUnavailable) as caught:
        open_in(flavour, url)
    message = str(caught.value)

    assert "No master found for 'mymaster'" in message
    assert "<redis." not in message
    for port in ports:
        assert f"server 127.0.0.1:{port}" in message


@FLAVOURS
def test_a_failure_of_many_sentinels_names_every_one_without_being_cut(flavour: str) -> None:
    ports = [free_port() for _ in range(4)]
    hosts = ",".join(f"127.0.0.1:{port}" for port in ports)
    with pytest.raises(StoreUnavailable) as caught:
        open_in(flavour, f"redis+sentinel://:{PASSWORD}@{hosts}/mymaster")
    reason = caught.value.reason

    assert "\u2026" not in reason, reason  # not cut short
    for port in ports:
        assert f"server 127.0.0.1:{port} - ConnectionError: Connection refused" in reason

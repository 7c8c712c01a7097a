"""Beyond one host: the app processes each run in a network namespace of their own
(its own loopback and one veth, nothing else), the Redis Cluster and the
PostgreSQL in another, joined by a bridge; see ``tests/netns.py``. The test makes
the namespaces and removes them; no traffic leaves them.

Across them: the multi-worker correctness test (8 processes, each setting its own
keys on one session; every key must be there) and the failover test (a Cluster
master killed, a PostgreSQL restarted, under load from 4 processes: 0 failed
requests, 0 sessions acknowledged after the cut lost).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionware.stores.sql import SQLStore
from sessionware.testing import hammer_one_session
from tests.netns import (
    SERVER_ADDRESS,
    SUBNET,
    NamespacedStore,
    Network,
    inside,
    unavailable_reason,
)
from tests.private_postgres import PostgresProcess
from tests.processes import make_temp_dir, remove_temp_dir
from tests.servers import (
    BASE_CONFIG,
    CLUSTER_CONFIG,
    ClusterNode,
    RedisCluster,
    RedisServer,
    free_port,
    new_server_dir,
    require_redis_tools,
    start_on_fresh_ports,
)

from .failover_load import WORKERS, run_through
from .redis_helpers import unique_prefix
from .sql_support import unique_table

pytestmark = pytest.mark.slow

WRITERS = 8
UPDATES = 80  # per writer (tests/test_concurrency.py: 200): still hundreds of lost races


# ------------------------------------------------------------- the hosts


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"no separate hosts on this machine: {reason}")
    network = Network(apps=WORKERS).create()
    try:
        yield network
    finally:
        network.close()


def reachable_from_app_hosts() -> list[str]:
    """Config that makes a server in the server namespace listen on the bridge
    (for the app hosts; without protected mode, which serves loopback only) and on
    its loopback (for the test's own checks)."""
    return [
        f"bind {SERVER_ADDRESS} 127.0.0.1",
        "protected-mode no",
        f"cluster-announce-ip {SERVER_ADDRESS}",
    ]


@pytest.fixture(scope="module")
def cluster(network: Network) -> Iterator[RedisCluster]:
    """A Redis Cluster (3 masters, 3 replicas) in the server namespace, announcing
    the bridge address, so every host is sent there by its slot map."""
    tools = require_redis_tools()
    root = make_temp_dir("netns-cluster")
    nodes: list[ClusterNode] = []

    def make() -> list[RedisServer]:
        nodes.clear()
        for _ in range(6):
            port, bus_port = free_port(), free_port()
            config = [
                *BASE_CONFIG,
                *CLUSTER_CONFIG,
                f"cluster-port {bus_port}",
                *reachable_from_app_hosts(),
            ]
            directory = new_server_dir(root, "node", port)
            nodes.append(ClusterNode(RedisServer(tools, port, directory, config), bus_port))
        return [n.server for n in nodes]

    cluster = RedisCluster(tools, nodes)
    try:
        with inside(network.server):
            start_on_fresh_ports(make)
            cluster.create()
        yield cluster
    finally:
        cluster.stop()
        remove_temp_dir(root)


class BridgedPostgres(PostgresProcess):
    """A private PostgreSQL listening on the bridge too, letting the app hosts in;
    every commit flushed."""

    def prepare(self) -> None:
        super().prepare()
        with (self.data_dir / "pg_hba.conf").open("a") as rules:
            rules.write(f"host all all {SUBNET}.0/24 trust\n")

    def command(self) -> list[str]:
        listen = f"--listen_addresses={SERVER_ADDRESS},127.0.0.1"
        return [*super().command(), listen, "--synchronous_commit=on"]


@pytest.fixture(scope="module")
def postgres(network: Network) -> Iterator[PostgresProcess]:
    server = BridgedPostgres()
    try:
        with inside(network.server):
            server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def in_server_namespace(network: Network) -> Iterator[None]:
    """The test itself runs on the servers' host (it kills and restarts them there
    and reads the sessions back); the workers it starts move to their own."""
    with inside(network.server):
        yield


def cluster_url(cluster: RedisCluster) -> str:
    return f"redis+cluster://{SERVER_ADDRESS}:{cluster.masters[0].port}"


def postgres_url(server: PostgresProcess) -> str:
    return server.url.replace(f"@{server.host}:", f"@{SERVER_ADDRESS}:", 1)


# ----------------------------------------------------------------- tests


def test_an_app_host_reaches_the_servers_over_the_bridge_only(
    network: Network, postgres: PostgresProcess
) -> None:
    with inside(network.app_namespaces[0]):
        with socket.create_connection((SERVER_ADDRESS, postgres.port), timeout=2):
            pass
        with pytest.raises(ConnectionRefusedError):  # not on this host's own loopback
            socket.create_connection(("127.0.0.1", postgres.port), timeout=2).close()


@pytest.fixture
def postgres_store_url(postgres: PostgresProcess) -> str:
    url = f"{postgres_url(postgres)}?table={unique_table('netns')}"
    store = SQLStore.from_url(url)
    store.setup()
    store.close()
    return url


def hammer_across_hosts(network: Network, url: str, tmp_path: Path) -> None:
    store: Any = NamespacedStore(url, tuple(network.app_namespaces), str(tmp_path))
    result = hammer_one_session(store, writers=WRITERS, updates=UPDATES, mode="processes")
    assert result.ok, result.summary()
    assert result.tally.conflicts > 0, "the test did not produce any contention"
    assert len(list(tmp_path.iterdir())) == WRITERS  # every writer moved to an app host


def test_processes_on_separate_hosts_lose_no_update_in_a_redis_cluster(
    network: Network, cluster: RedisCluster, tmp_path: Path
) -> None:
    url = f"{cluster_url(cluster)}?prefix={unique_prefix('netns')}"
    hammer_across_hosts(network, url, tmp_path)


def test_processes_on_separate_hosts_lose_no_update_in_postgresql(
    network: Network, postgres_store_url: str, tmp_path: Path
) -> None:
    hammer_across_hosts(network, postgres_store_url, tmp_path)


def test_a_cluster_master_killed_under_load_from_other_hosts_fails_no_request(
    network: Network, cluster: RedisCluster
) -> None:
    options = {"prefix": unique_prefix("netns-failover")}
    victim = None

    def disrupt() -> tuple[float, float]:
        nonlocal victim
        victim = cluster.kill_master(0)
        return cluster.killed_at, time.monotonic()

    try:
        outcome = run_through(cluster_url(cluster), options, disrupt, "sync", network.enter_app)
    finally:
        if victim is not None:
            cluster.restart_node(victim)
    losses = outcome.losses(cluster_url(cluster), options)
    print(outcome.report("Cluster, app processes on 4 other hosts (sync)", losses))
    assert not outcome.failures, outcome.failures[:5]
    assert not losses.after, losses.after[:5]
    assert outcome.window, "no request ran through the failover"


def test_a_postgresql_restart_under_load_from_other_hosts_fails_no_request(
    network: Network, postgres: PostgresProcess
) -> None:
    url, options = postgres_url(postgres), {"table": unique_table("netns_restart")}
    setup = SQLStore.from_url(url, **options)
    setup.setup()
    setup.close()

    def disrupt() -> tuple[float, float]:
        stopped_at = time.monotonic()
        postgres.restart()
        return stopped_at, time.monotonic()

    outcome = run_through(url, options, disrupt, "async", network.enter_app)
    losses = outcome.losses(url, options)
    label = "PostgreSQL, app processes on 4 other hosts (async)"
    print(outcome.report(label, losses, "the restart"))
    assert not outcome.failures, outcome.failures[:5]
    assert not losses.after, losses.after[:5]
    assert losses.before == 0
    assert outcome.window, "no request ran through the restart"

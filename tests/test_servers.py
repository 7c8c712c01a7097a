"""The server fixtures of tests/servers.py really give working servers.

Talks to the servers with the raw clients (redis-py, psycopg, PyMySQL), so a
failure here points at the infrastructure, not at sessionware.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from urllib.parse import urlsplit

import pytest
import redis
from redis.cluster import ClusterNode
from redis.cluster import RedisCluster as ClusterClient
from redis.sentinel import Sentinel

from tests.processes import tcp_reachable
from tests.servers import (
    MYSQL,
    POSTGRES,
    REDIS,
    RedisCluster,
    RedisSentinel,
    RedisServerFactory,
    Standing,
    first_host_and_port,
    free_port,
    private_mysql_url,
    private_postgres_url,
    private_redis_url,
    reachable_url,
    standing_or_private,
    unavailable,
)


def cluster_client(cluster: RedisCluster) -> ClusterClient:
    nodes = [ClusterNode(host, port) for host, port in cluster.startup_nodes]
    return ClusterClient(startup_nodes=nodes, decode_responses=True, socket_timeout=5)


# ------------------------------------------------------------ skip or fail


def test_unavailable_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no server"):
        unavailable("no server")


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_unavailable_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        unavailable("no server")


def test_unreachable_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with socket.socket() as closed:  # bound, never listening: connecting is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        monkeypatch.setenv("SESSIONWARE_TEST_REDIS_URL", f"redis://127.0.0.1:{port}/0")
        with pytest.raises(
            pytest.skip.Exception, match=rf"127\.0\.0\.1:{port}.*SESSIONWARE_TEST_REDIS_URL"
        ):
            reachable_url("SESSIONWARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0", 6379, "Redis")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", ("127.0.0.1", 6379)),
        ("redis://:secret@127.0.0.1:7000", ("127.0.0.1", 7000)),
        ("postgresql+psycopg://postgres@127.0.0.1/test", ("127.0.0.1", 5432)),
        ("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/0", ("127.0.0.1", 26379)),
        ("redis://[::1]:6380/0", ("::1", 6380)),
        ("redis+unix:///run/redis/redis.sock", ("", 5432)),
    ],
)
def test_first_host_and_port(url: str, expected: tuple[str, int]) -> None:
    assert first_host_and_port(url, default_port=5432) == expected


# ------------------------------------------------------- standing servers


def test_redis_url_answers(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping()
    finally:
        client.close()


def test_postgres_url_logs_in_without_password(postgres_url: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    plain_url = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain_url, connect_timeout=5) as connection:
        assert connection.execute("select current_database()").fetchone() == ("test",)


def test_mysql_url_logs_in_as_root_without_password(mysql_url: str) -> None:
    pymysql = pytest.importorskip("pymysql")
    parts = urlsplit(mysql_url)
    connection = pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/"),
        connect_timeout=5,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("select database()")
            assert cursor.fetchone() == ("test",)
    finally:
        connection.close()


# ------------------------------------------ private servers when none is standing

PrivateUrl = Callable[[], AbstractContextManager[str]]
KINDS = [(REDIS, private_redis_url), (POSTGRES, private_postgres_url), (MYSQL, private_mysql_url)]


def at_port(standing: Standing, port: int) -> Standing:
    """The same kind of server, expected at another port."""
    default = standing.default.replace(f":{standing.default_port}/", f":{port}/")
    return dataclasses.replace(standing, default=default, default_port=port)


@pytest.mark.parametrize(("standing", "private"), KINDS, ids=["redis", "postgres", "mariadb"])
def test_nothing_at_the_default_url_starts_a_private_server_for_the_block(
    monkeypatch: pytest.MonkeyPatch, standing: Standing, private: PrivateUrl
) -> None:
    monkeypatch.delenv(standing.env_var, raising=False)
    nowhere = free_port()  # nobody listens there
    with standing_or_private(at_port(standing, nowhere), private) as url:
        host, port = first_host_and_port(url, standing.default_port)
        assert host == "127.0.0.1"
        assert port != nowhere
        assert tcp_reachable(host, port)
    assert not tcp_reachable(host, port)


def test_a_server_answering_at_the_default_url_is_used_as_it_is(
    monkeypatch: pytest.MonkeyPatch, redis_server_factory: RedisServerFactory
) -> None:
    monkeypatch.delenv(REDIS.env_var, raising=False)
    standing = at_port(REDIS, redis_server_factory().port)
    with standing_or_private(standing, private_redis_url) as url:
        assert url == standing.default


def test_a_url_given_in_the_environment_that_does_not_answer_skips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(REDIS.env_var, f"redis://127.0.0.1:{free_port()}/0")
    with (
        pytest.raises(pytest.skip.Exception, match=REDIS.env_var),
        standing_or_private(REDIS, private_redis_url),
    ):
        pytest.fail("no server should have been started")


# ---------------------------------------------------- standalone factory


def test_factory_server_stops_and_comes_back_on_the_same_port(
    redis_server_factory: RedisServerFactory,
) -> None:
    server = redis_server_factory()
    client = redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.set("before", "1")
        server.stop()
        assert not server.running
        with pytest.raises(redis.ConnectionError):
            client.ping()
        port = server.port
        server.start()
        assert server.port == port
        assert client.ping()  # redis-py reconnects by itself
        assert client.get("before") is None  # no persistence: a restart starts empty
    finally:
        client.close()


def test_factory_servers_are_separate_and_take_config(
    redis_server_factory: RedisServerFactory,
) -> None:
    first = redis_server_factory()
    second = redis_server_factory({"maxmemory": "7mb"})
    assert first.port != second.port
    client = redis.Redis.from_url(second.url, decode_responses=True)
    try:
        assert client.config_get("maxmemory") == {"maxmemory": str(7 * 1024 * 1024)}
    finally:
        client.close()
    second.stop()
    assert first.running
    assert not second.running


# ------------------------------------------------------------------ cluster


def test_cluster_has_three_masters_with_a_replica_each(redis_cluster: RedisCluster) -> None:
    assert len(redis_cluster.masters) == 3
    assert len(redis_cluster.replicas) == 3
    master_ids = {m.node_id for m in redis_cluster.masters}
    assert {r.master_id for r in redis_cluster.replicas} == master_ids
    assert redis_cluster.url == f"redis+cluster://127.0.0.1:{redis_cluster.masters[0].port}"


def test_cluster_set_get_across_slots(redis_cluster: RedisCluster) -> None:
    client = cluster_client(redis_cluster)
    try:
        keys = [f"key-{i}" for i in range(200)]
        for key in keys:
            client.set(key, key.upper())
        assert [client.get(key) for key in keys] == [key.upper() for key in keys]
        owners = {client.get_node_from_key(key).port for key in keys}
        assert owners == {m.port for m in redis_cluster.masters}
    finally:
        client.close()


def test_cluster_answers_after_kill_master_and_node_rejoins(redis_cluster: RedisCluster) -> None:
    client = cluster_client(redis_cluster)
    try:
        keys = [f"survivor-{i}" for i in range(60)]
        for key in keys:
            client.set(key, key)
        victim_port = redis_cluster.masters[0].port
        for master in redis_cluster.masters:  # every write reached a replica
            assert redis.Redis(master.host, master.port).execute_command("WAIT", 1, 2000) >= 1
    finally:
        client.close()

    victim = redis_cluster.kill_master(0)

    assert victim.port == victim_port
    assert not victim.alive
    assert len(redis_cluster.masters) == 3
    assert victim_port not in {m.port for m in redis_cluster.masters}
    client = cluster_client(redis_cluster)  # topology from the survivors
    try:
        assert [client.get(key) for key in keys] == keys
        client.set("after-failover", "yes")
        assert client.get("after-failover") == "yes"
    finally:
        client.close()

    redis_cluster.restart_node(victim)
    assert victim.alive
    assert victim.role == "replica"


# ----------------------------------------------------------------- sentinel


def test_sentinel_url_names_all_three_sentinels(redis_sentinel: RedisSentinel) -> None:
    hosts = ",".join(f"127.0.0.1:{port}" for _, port in redis_sentinel.sentinels)
    assert len(redis_sentinel.sentinels) == 3
    assert redis_sentinel.url == f"redis+sentinel://{hosts}/mymaster/0"


def test_sentinel_discovers_master_and_replica(redis_sentinel: RedisSentinel) -> None:
    sentinel = Sentinel(redis_sentinel.sentinels, socket_timeout=2)
    assert sentinel.discover_master("mymaster") == redis_sentinel.master.address
    assert sentinel.discover_slaves("mymaster") == [redis_sentinel.replica.address]
    master = sentinel.master_for("mymaster", decode_responses=True)
    try:
        master.set("greeting", "hello")
        assert master.get("greeting") == "hello"
    finally:
        master.close()


def test_sentinel_failover_promotes_the_replica(redis_sentinel: RedisSentinel) -> None:
    sentinel = Sentinel(redis_sentinel.sentinels, socket_timeout=2)
    old_master, old_replica = redis_sentinel.master, redis_sentinel.replica
    master = sentinel.master_for("mymaster", decode_responses=True)
    try:
        master.set("kept", "yes")
        assert master.execute_command("WAIT", 1, 2000) == 1

        assert redis_sentinel.failover() == old_replica.address

        assert sentinel.discover_master("mymaster") == old_replica.address
        assert redis_sentinel.replica is old_master
        assert master.get("kept") == "yes"  # the master_for client follows the sentinels
    finally:
        master.close()

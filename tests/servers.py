"""Pytest plugin: real servers for the test suite, never mocks.

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.servers"]``.

Session-scoped fixtures:

* ``redis_url``, ``postgres_url``, ``mysql_url`` -- URLs of the servers on
  127.0.0.1 at their default ports (6379, 5432, 3306; override with the
  ``SESSIONWARE_TEST_*_URL`` environment variables). When nothing answers at a
  default URL, the session starts a private server of its own from the Debian
  binaries (installing the package when missing and possible) on a free loopback
  port, and stops it at the end: ``scripts/services.sh`` is not needed first.
* ``redis_server_factory`` -- throwaway standalone ``redis-server`` processes that a
  test may stop and start again (fault tests).
* ``redis_cluster`` -- a 3-master + 3-replica Redis Cluster with ``kill_master(n)``.
* ``redis_sentinel`` -- one master, one replica and three sentinels (``mymaster``).
* ``chromium_executable`` -- Debian's ``/usr/bin/chromium`` for the browser tests,
  installed when missing and possible.

Function-scoped: ``private_postgres`` and ``private_mariadb`` -- a started
``PostgresProcess`` (``tests/private_postgres.py``) or ``MariaDBProcess``
(``tests/private_mariadb.py``) for one test, which may stop, restart or crash it.

A server that cannot be had skips the tests that need it, with the reason, except
when the ``CI`` environment variable is set: CI must never pass by skipping, so
there it fails. An ``SESSIONWARE_TEST_*_URL`` that does not answer skips too: a
URL given explicitly is never replaced by a private server.

Process hygiene (``tests/processes.py``): every process started here is a direct
child, signalled only through its own ``Popen`` handle; it is stopped at fixture
teardown, again at interpreter exit (``atexit``), and by the kernel if this
process dies without either (Linux parent-death signal). Temporary directories go
at teardown and atexit too; those of a run that was SIGKILLed are swept by the
next run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal, NoReturn

import pytest

from tests import debian_packages
from tests.chromium import require_chromium
from tests.private_mariadb import MariaDBProcess
from tests.private_postgres import PostgresProcess
from tests.processes import LOOPBACK as LOOPBACK
from tests.processes import PortInUseError as PortInUseError
from tests.processes import ServerStartError as ServerStartError
from tests.processes import free_port as free_port
from tests.processes import kill_child_when_parent_dies as kill_child_when_parent_dies
from tests.processes import leftovers, make_temp_dir, remove_temp_dir, tcp_reachable
from tests.processes import unavailable as unavailable
from tests.processes import wait_for as wait_for

START_TIMEOUT = 10.0  # one redis-server from exec to answering PING
CLUSTER_TIMEOUT = 30.0  # cluster creation, and health after a topology change
FAILOVER_TIMEOUT = 30.0  # a replica's promotion after its master died
STOP_TIMEOUT = 5.0  # SIGTERM to exit, before SIGKILL
CLUSTER_SLOTS = 16384
SENTINEL_SERVICE = "mymaster"
# A sentinel starts another failover of the same master only 2 x failover-timeout
# after its last one: kept short, and kill_master waits out the rest of that gap, so
# back-to-back failover tests each get a prompt promotion.
SENTINEL_FAILOVER_TIMEOUT_MS = 3000
SENTINEL_REFAILOVER_GAP = 2 * SENTINEL_FAILOVER_TIMEOUT_MS / 1000 + 0.5
START_ATTEMPTS = 3  # fresh ports to try when another process won the race for one

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/test"

Role = Literal["master", "replica"]


# ------------------------------------------------------------- server URLs


def first_host_and_port(url: str, default_port: int) -> tuple[str, int]:
    """Host and port of the first server named in a URL (host "" if it names none).

    Handles user info and comma-separated host lists (sentinel URLs), which
    ``urllib.parse`` cannot split.
    """
    netloc = url.partition("://")[2].split("/", 1)[0].rpartition("@")[2]
    first = netloc.split(",", 1)[0]
    if first.startswith("["):  # [::1]:6379
        host, _, rest = first[1:].partition("]")
        port_text = rest.removeprefix(":")
    else:
        host, _, port_text = first.partition(":")
    return host, int(port_text) if port_text else default_port


def reachable_url(env_var: str, default: str, default_port: int, server: str) -> str:
    url = os.environ.get(env_var) or default
    host, port = first_host_and_port(url, default_port)
    if not host:  # a unix-socket URL: nothing to probe over TCP
        return url
    if not tcp_reachable(host, port):
        unavailable(
            f"{server} is not reachable at {host}:{port} (from ${env_var} or its default); "
            "start it with scripts/services.sh"
        )
    return url


@dataclass(frozen=True)
class Standing:
    """Where the suite looks for a standing server of one kind."""

    server: str  # for messages
    env_var: str  # a URL given here is used as is, never replaced by a private server
    default: str
    default_port: int


REDIS = Standing("Redis", "SESSIONWARE_TEST_REDIS_URL", DEFAULT_REDIS_URL, 6379)
POSTGRES = Standing("PostgreSQL", "SESSIONWARE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL, 5432)
MYSQL = Standing("MariaDB", "SESSIONWARE_TEST_MYSQL_URL", DEFAULT_MYSQL_URL, 3306)


def standing_url(standing: Standing) -> str | None:
    """The URL of a server that answers, or None when a private one must be started.

    A URL from the environment variable is used as given (the test skips if it does
    not answer); the default one only when something answers there.
    """
    if os.environ.get(standing.env_var):
        return reachable_url(
            standing.env_var, standing.default, standing.default_port, standing.server
        )
    host, port = first_host_and_port(standing.default, standing.default_port)
    return standing.default if tcp_reachable(host, port) else None


@contextlib.contextmanager
def standing_or_private(
    standing: Standing, private: Callable[[], AbstractContextManager[str]]
) -> Iterator[str]:
    """The standing server's URL, else that of a private server started for the block."""
    url = standing_url(standing)
    if url is not None:
        yield url
        return
    with private() as private_url:
        yield private_url


@contextlib.contextmanager
def private_redis_url() -> Iterator[str]:
    tools = require_redis_tools()
    root = make_temp_dir("redis")

    def make() -> list[RedisServer]:
        port = free_port()
        return [RedisServer(tools, port, new_server_dir(root, "private", port), [*BASE_CONFIG])]

    try:
        [server] = start_on_fresh_ports(make)
        try:
            yield server.url
        finally:
            stop_all([server])
    finally:
        remove_temp_dir(root)


@contextlib.contextmanager
def private_postgres_url() -> Iterator[str]:
    with PostgresProcess() as server:
        yield server.url


@contextlib.contextmanager
def private_mysql_url() -> Iterator[str]:
    with MariaDBProcess() as server:
        yield server.url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with standing_or_private(REDIS, private_redis_url) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with standing_or_private(POSTGRES, private_postgres_url) as url:
        yield url


@pytest.fixture(scope="session")
def mysql_url() -> Iterator[str]:
    with standing_or_private(MYSQL, private_mysql_url) as url:
        yield url


@pytest.fixture
def private_postgres() -> Iterator[PostgresProcess]:
    """A started PostgreSQL server of this test's own, which it may stop and restart
    (see ``PostgresProcess``); stopped and removed after the test."""
    with PostgresProcess() as server:
        yield server


@pytest.fixture
def private_mariadb() -> Iterator[MariaDBProcess]:
    """A started MariaDB server of this test's own (see ``MariaDBProcess``)."""
    with MariaDBProcess() as server:
        yield server


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of Debian's Chromium, installed when missing (see ``tests/chromium.py``)."""
    return require_chromium()


# ------------------------------------------------------------- small helpers


def info_fields(text: str) -> dict[str, str]:
    """``key:value`` lines of INFO or CLUSTER INFO output."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and not key.startswith("#"):
            fields[key] = value
    return fields


# ------------------------------------------------------------ redis binaries


@dataclass(frozen=True)
class RedisTools:
    server: str
    cli: str

    def run(self, args: list[str], timeout: float) -> str:
        """Run redis-cli; raises on connection errors and error replies (``-e``)."""
        result = subprocess.run(
            [self.cli, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RedisCliError(f"redis-cli {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def command(self, port: int, *args: str, timeout: float = 5.0) -> str:
        """One command against the server on ``port``; raises on error replies."""
        return self.run(["-e", "-h", LOOPBACK, "-p", str(port), *args], timeout)

    def try_command(self, port: int, *args: str) -> str | None:
        """Like ``command`` but ``None`` instead of an error: for polling."""
        try:
            return self.command(port, *args, timeout=2.0)
        except (RedisCliError, subprocess.TimeoutExpired):
            return None

    def answers_ping(self, port: int) -> bool:
        return (self.try_command(port, "PING") or "").strip() == "PONG"

    def info(self, port: int, *args: str) -> dict[str, str]:
        """Fields of ``INFO <section>`` / ``CLUSTER INFO``; empty when unreachable."""
        return info_fields(self.try_command(port, *args) or "")

    def role(self, port: int) -> str | None:
        """``master`` or ``slave`` as the server itself reports it."""
        return self.info(port, "INFO", "replication").get("role")

    def replica_link_up(self, port: int) -> bool:
        """The server is a replica and in sync with its master."""
        return self.info(port, "INFO", "replication").get("master_link_status") == "up"


class RedisCliError(RuntimeError):
    pass


def find_redis_tools() -> RedisTools | None:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    return None if server is None or cli is None else RedisTools(server=server, cli=cli)


def require_redis_tools() -> RedisTools:
    """redis-server and redis-cli, installing Debian's redis-server when missing."""
    if (tools := find_redis_tools()) is not None:
        return tools
    failure = debian_packages.install(["redis-server"])
    if failure is None and (tools := find_redis_tools()) is not None:
        return tools
    unavailable(
        "redis-server and redis-cli are needed on PATH for this test and could not be "
        f"installed (Debian package redis-server): {failure or 'installed, yet not on PATH'}"
    )


def new_server_dir(root: Path, kind: str, port: int) -> Path:
    directory = root / f"{kind}-{port}"
    directory.mkdir()
    return directory


BASE_CONFIG = (
    f"bind {LOOPBACK}",
    "daemonize no",
    # No persistence: test data is throwaway and nothing should be left on disk.
    'save ""',
    "appendonly no",
    # Replicas sync at once instead of after the default 5 s wait for more replicas.
    "repl-diskless-sync yes",
    "repl-diskless-sync-delay 0",
)


@dataclass
class RedisServer:
    """One ``redis-server`` (or sentinel) process started from our own config file.

    ``stop()`` and ``start()`` may be called any number of times: the server comes
    back on the same port with the same configuration.
    """

    tools: RedisTools
    port: int
    directory: Path
    config_lines: list[str]
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    host: ClassVar[str] = LOOPBACK

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    @property
    def config_path(self) -> Path:
        return self.directory / ("sentinel.conf" if self.sentinel else "redis.conf")

    def start(self, wait: bool = True) -> None:
        """Start the process (no-op while running); by default wait for PING."""
        if self.running:
            return
        if not self.config_path.exists():  # a sentinel rewrites its own: keep that
            lines = [f"port {self.port}", f"dir {self.directory}", *self.config_lines]
            self.config_path.write_text("\n".join(lines) + "\n")
        mode = ["--sentinel"] if self.sentinel else []
        args = [self.tools.server, str(self.config_path), *mode]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C at the terminal must not race our teardown.
                start_new_session=True,
                preexec_fn=kill_child_when_parent_dies,
            )
        leftovers.add_server(self)
        if wait:
            self.wait_until_ready()

    def wait_until_ready(self, timeout: float = START_TIMEOUT) -> None:
        def ready() -> bool:
            if not self.running:
                self._raise_start_failure()
            return self.tools.answers_ping(self.port)

        wait_for(ready, timeout, f"redis-server on port {self.port} to answer PING")

    def _raise_start_failure(self) -> NoReturn:
        log_tail = self.log_tail()
        if "Address already in use" in log_tail:
            raise PortInUseError(log_tail)
        raise ServerStartError(f"redis-server on port {self.port} exited at start:\n{log_tail}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM), SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash, mid-whatever it was doing."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(STOP_TIMEOUT)


def stop_all(servers: Iterable[RedisServer]) -> None:
    """SIGTERM all first, then wait: shutting down in parallel is faster."""
    servers = list(servers)
    for server in servers:
        if server.running and server.process is not None:
            server.process.terminate()
    for server in servers:
        server.stop()
        leftovers.forget_server(server)


def start_on_fresh_ports(
    make: Callable[[], list[RedisServer]], attempts: int = START_ATTEMPTS
) -> list[RedisServer]:
    """Start the servers ``make`` builds; rebuild on new ports if a port was stolen.

    Starts them all before waiting for any, so a group comes up in one start time.
    """
    for attempt in range(1, attempts + 1):
        servers = make()
        try:
            for server in servers:
                server.start(wait=False)
            for server in servers:
                server.wait_until_ready()
            return servers
        except PortInUseError:
            stop_all(servers)
            if attempt == attempts:
                raise
        except BaseException:
            stop_all(servers)  # the caller never gets them, so cannot stop them
            raise
    raise AssertionError("unreachable")


# ---------------------------------------------------------- standalone servers


class RedisServerFactory:
    """Calling it starts a new standalone redis-server on a free loopback port."""

    def __init__(self, tools: RedisTools, root: Path) -> None:
        self._tools = tools
        self._root = root
        self._servers: list[RedisServer] = []

    def __call__(self, config: Mapping[str, str] | None = None) -> RedisServer:
        """``config`` adds redis.conf directives, e.g. ``{"maxmemory": "10mb"}``."""
        extra = [f"{name} {value}" for name, value in (config or {}).items()]

        def make() -> list[RedisServer]:
            port = free_port()
            directory = new_server_dir(self._root, "standalone", port)
            return [RedisServer(self._tools, port, directory, [*BASE_CONFIG, *extra])]

        [server] = start_on_fresh_ports(make)
        self._servers.append(server)
        return server

    def close(self) -> None:
        stop_all(self._servers)
        self._servers.clear()


@pytest.fixture(scope="session")
def redis_server_factory() -> Iterator[RedisServerFactory]:
    tools = require_redis_tools()
    root = make_temp_dir("redis-standalone")
    factory = RedisServerFactory(tools, root)
    try:
        yield factory
    finally:
        factory.close()
        remove_temp_dir(root)


# ----------------------------------------------------------------- cluster


@dataclass
class ClusterNode:
    server: RedisServer
    bus_port: int
    role: Role = "master"
    node_id: str = ""
    master_id: str | None = None  # the master's node id, for a replica

    @property
    def host(self) -> str:
        return self.server.host

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.server.process

    @property
    def alive(self) -> bool:
        return self.server.running


@dataclass(frozen=True)
class ClusterNodeView:
    """One line of CLUSTER NODES, as one node sees the cluster."""

    node_id: str
    port: int
    role: Role
    master_id: str | None
    failed: bool

    @classmethod
    def parse(cls, line: str) -> ClusterNodeView:
        # <id> <ip:port@cport[,hostname]> <flags> <master id or -> <ping-sent>
        # <pong-received> <config-epoch> <link-state> <slot> <slot> ...
        node_id, address, flags, master, *_ = line.split()
        flag_set = set(flags.split(","))
        return cls(
            node_id=node_id,
            port=int(address.split("@", 1)[0].rpartition(":")[2]),
            role="replica" if "slave" in flag_set else "master",
            master_id=None if master == "-" else master,
            failed="fail" in flag_set,
        )


CLUSTER_CONFIG = (
    "cluster-enabled yes",
    "cluster-config-file nodes.conf",
    # Fast failure detection (default 15 s) so a failover takes about two seconds.
    "cluster-node-timeout 1000",
    # Any replica may take over, however long ago it last heard from its master.
    "cluster-replica-validity-factor 0",
)


class RedisCluster:
    """A running Redis Cluster of 3 masters, each with one replica."""

    def __init__(self, tools: RedisTools, nodes: list[ClusterNode]) -> None:
        self._tools = tools
        self.nodes = nodes
        self.killed_at = 0.0  # time.monotonic() right after the last kill_master's kill
        self._last_failover = -SENTINEL_REFAILOVER_GAP  # when the last failover began

    @property
    def masters(self) -> list[ClusterNode]:
        """Live masters, ordered by port: ``kill_master(n)`` picks from this list."""
        return sorted(
            (n for n in self.nodes if n.alive and n.role == "master"), key=lambda n: n.port
        )

    @property
    def replicas(self) -> list[ClusterNode]:
        return sorted(
            (n for n in self.nodes if n.alive and n.role == "replica"), key=lambda n: n.port
        )

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(n.host, n.port) for n in self.nodes if n.alive]

    @property
    def url(self) -> str:
        """``redis+cluster://`` URL naming a live master (so it is valid after a kill)."""
        master = self.masters[0]
        return f"redis+cluster://{master.host}:{master.port}"

    def create(self, timeout: float = CLUSTER_TIMEOUT) -> None:
        """Join the started nodes into a cluster with ``redis-cli --cluster create``."""
        addresses = [f"{n.host}:{n.port}" for n in self.nodes]
        replicas = ["--cluster-replicas", "1", "--cluster-yes"]
        self._tools.run(["--cluster", "create", *addresses, *replicas], timeout)
        self.wait_until_healthy(timeout)

    def views(self, node: ClusterNode) -> list[ClusterNodeView]:
        text = self._tools.try_command(node.port, "CLUSTER", "NODES") or ""
        return [ClusterNodeView.parse(line) for line in text.splitlines() if line.strip()]

    def refresh_roles(self) -> None:
        """Take roles and ids from a live node's view of the cluster."""
        by_port = {view.port: view for view in self.views(self._any_live_node())}
        for node in self.nodes:
            if view := by_port.get(node.port):
                node.node_id, node.role, node.master_id = view.node_id, view.role, view.master_id

    def _any_live_node(self) -> ClusterNode:
        return next(n for n in self.nodes if n.alive)

    def is_healthy(self) -> bool:
        """Every live node reports ok, and every live replica's link is up."""
        live = [n for n in self.nodes if n.alive]
        if not all(self._reports_ok(node) for node in live):
            return False
        self.refresh_roles()
        return all(self._tools.replica_link_up(n.port) for n in live if n.role == "replica")

    def _reports_ok(self, node: ClusterNode) -> bool:
        info = self._tools.info(node.port, "CLUSTER", "INFO")
        return (
            info.get("cluster_state") == "ok"
            and info.get("cluster_slots_ok") == str(CLUSTER_SLOTS)
            and info.get("cluster_known_nodes") == str(len(self.nodes))
        )

    def wait_until_healthy(self, timeout: float = CLUSTER_TIMEOUT) -> None:
        wait_for(self.is_healthy, timeout, "the Redis Cluster to report cluster_state:ok")

    def kill_master(self, n: int = 0, timeout: float = FAILOVER_TIMEOUT) -> ClusterNode:
        """SIGKILL the n-th live master; return once its replica has taken over.

        Writes not yet replicated when it dies are lost, as in production; use
        ``WAIT 1 <ms>`` after a write that must survive. Raises when that master
        has no replica left to promote.
        """
        self.refresh_roles()
        victim = self.masters[n]
        heirs = [r for r in self.replicas if r.master_id == victim.node_id]
        if not heirs:
            raise RuntimeError(f"master on port {victim.port} has no replica to take over")
        victim.server.kill()
        self.killed_at = time.monotonic()  # the victim is dead: it serves nothing after
        # Right after the kill every node still says cluster_state:ok (the failure
        # is only declared after cluster-node-timeout), so wait for the promotion
        # itself first, then for every survivor to agree on the new topology.
        wait_for(
            lambda: any(self._tools.role(heir.port) == "master" for heir in heirs),
            timeout,
            f"a replica of the killed master (port {victim.port}) to be promoted",
        )
        wait_for(
            lambda: self._all_see_failed(victim) and self.is_healthy(),
            timeout,
            "the cluster to be healthy again after the failover",
        )
        return victim

    def _all_see_failed(self, victim: ClusterNode) -> bool:
        return all(
            any(v.node_id == victim.node_id and v.failed for v in self.views(node))
            for node in self.nodes
            if node.alive
        )

    def restart_node(self, node: ClusterNode, timeout: float = CLUSTER_TIMEOUT) -> None:
        """Bring a killed node back: it rejoins from nodes.conf, as a replica.

        A former master first comes back believing it still owns its slots and is
        only demoted once it hears of the newer configuration, while its peers list
        it as a master without slots: wait until it and every peer call it a replica.
        """
        node.server.start()
        wait_for(
            lambda: (
                self._tools.replica_link_up(node.port)
                and self._every_view_sees_replica(node)
                and not any(v.failed for v in self.views(self._any_live_node()))
                and self.is_healthy()
            ),
            timeout,
            f"node on port {node.port} to rejoin the cluster as a replica",
        )

    def _every_view_sees_replica(self, node: ClusterNode) -> bool:
        for peer in self.nodes:
            if not peer.alive:
                continue
            roles = {view.port: view.role for view in self.views(peer)}
            if roles.get(node.port) != "replica":
                return False
        return True

    def stop(self) -> None:
        stop_all(n.server for n in self.nodes)


def build_cluster_nodes(tools: RedisTools, root: Path, count: int) -> list[ClusterNode]:
    nodes: list[ClusterNode] = []
    for _ in range(count):
        port, bus_port = free_port(), free_port()
        directory = new_server_dir(root, "node", port)
        # An explicit bus port: the default (port + 10000) may be taken or past 65535.
        config = [*BASE_CONFIG, *CLUSTER_CONFIG, f"cluster-port {bus_port}"]
        nodes.append(ClusterNode(RedisServer(tools, port, directory, config), bus_port))
    return nodes


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    tools = require_redis_tools()
    root = make_temp_dir("redis-cluster")
    nodes: list[ClusterNode] = []

    def make() -> list[RedisServer]:
        nodes[:] = build_cluster_nodes(tools, root, count=6)
        return [n.server for n in nodes]

    cluster = RedisCluster(tools, nodes)
    try:
        start_on_fresh_ports(make)
        cluster.create()
        yield cluster
    finally:
        cluster.stop()
        remove_temp_dir(root)


# ---------------------------------------------------------------- sentinel


class RedisSentinel:
    """One master, one replica and three sentinels watching them as ``mymaster``."""

    service_name = SENTINEL_SERVICE

    def __init__(
        self,
        tools: RedisTools,
        data_servers: list[RedisServer],
        sentinel_servers: list[RedisServer],
    ) -> None:
        self._tools = tools
        self.data_servers = data_servers  # [initial master, initial replica]
        self.sentinel_servers = sentinel_servers
        self.killed_at = 0.0  # time.monotonic() right after the last kill_master's kill
        self._last_failover = -SENTINEL_REFAILOVER_GAP  # when the last failover began

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [s.address for s in self.sentinel_servers]

    @property
    def url(self) -> str:
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service_name}/0"

    def master_address(self, sentinel: RedisServer | None = None) -> tuple[str, int] | None:
        """The master's address as a sentinel (by default the first) reports it."""
        port = (sentinel or self.sentinel_servers[0]).port
        reply = self._tools.try_command(
            port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name
        )
        parts = (reply or "").split()
        return (parts[0], int(parts[1])) if len(parts) == 2 else None

    @property
    def master(self) -> RedisServer:
        """The data server the sentinels currently name as master."""
        address = self.master_address()
        for server in self.data_servers:
            if server.address == address:
                return server
        raise RuntimeError(f"the sentinels name {address} as master, which is none of ours")

    @property
    def replica(self) -> RedisServer:
        master = self.master
        return next(s for s in self.data_servers if s is not master)

    def is_ready(self) -> bool:
        """Every sentinel knows the master, its replica and the two other sentinels."""
        for sentinel in self.sentinel_servers:
            reply = self._tools.try_command(sentinel.port, "SENTINEL", "MASTER", self.service_name)
            lines = (reply or "").splitlines()
            state = dict(zip(lines[::2], lines[1::2], strict=False))
            if state.get("flags") != "master" or state.get("num-slaves") != "1":
                return False
            if state.get("num-other-sentinels") != str(len(self.sentinel_servers) - 1):
                return False
        return True

    def wait_until_ready(self, timeout: float = CLUSTER_TIMEOUT) -> None:
        wait_for(self.is_ready, timeout, "the sentinels to agree on master, replica and each other")

    def failover(self, timeout: float = FAILOVER_TIMEOUT) -> tuple[str, int]:
        """Force a failover (SENTINEL FAILOVER); return the new master's address."""
        old_master, new_master = self.master, self.replica
        time.sleep(max(0.0, self._last_failover + SENTINEL_REFAILOVER_GAP - time.monotonic()))
        self._last_failover = time.monotonic()
        self._tools.command(
            self.sentinel_servers[0].port, "SENTINEL", "FAILOVER", self.service_name
        )
        wait_for(
            lambda: (
                all(self.master_address(s) == new_master.address for s in self.sentinel_servers)
                and self._tools.role(new_master.port) == "master"
            ),
            timeout,
            f"sentinels to promote port {new_master.port} in place of {old_master.port}",
        )
        # Sentinel would turn the old master into a replica too, but only after it
        # has kept reporting the wrong role for 8 s; do what it would do, at once.
        self._tools.command(old_master.port, "REPLICAOF", new_master.host, str(new_master.port))
        wait_for(
            lambda: self._tools.replica_link_up(old_master.port),
            timeout,
            f"the old master (port {old_master.port}) to sync as a replica",
        )
        self.wait_until_ready(timeout)
        return new_master.address

    def kill_master(self, timeout: float = FAILOVER_TIMEOUT) -> RedisServer:
        """SIGKILL the master; return it once the sentinels have promoted its replica
        (``killed_at``: ``time.monotonic()`` right after the kill). Bring it back
        with ``rejoin``."""
        old_master, new_master = self.master, self.replica
        time.sleep(max(0.0, self._last_failover + SENTINEL_REFAILOVER_GAP - time.monotonic()))
        old_master.kill()
        self.killed_at = self._last_failover = time.monotonic()
        wait_for(
            lambda: (
                all(self.master_address(s) == new_master.address for s in self.sentinel_servers)
                and self._tools.role(new_master.port) == "master"
            ),
            timeout,
            f"sentinels to promote port {new_master.port} after port {old_master.port} died",
        )
        return old_master

    def rejoin(self, server: RedisServer, timeout: float = FAILOVER_TIMEOUT) -> None:
        """Restart a killed data server as a replica of the current master (what the
        sentinels would do, at once) and wait until the setup is as at the start."""
        master = self.master
        server.start()
        self._tools.command(server.port, "REPLICAOF", master.host, str(master.port))
        wait_for(
            lambda: self._tools.replica_link_up(server.port),
            timeout,
            f"port {server.port} to sync as a replica of {master.port}",
        )
        self.wait_until_ready(timeout)

    def stop(self) -> None:
        stop_all([*self.sentinel_servers, *self.data_servers])


def sentinel_config(master_port: int, quorum: int) -> list[str]:
    name = SENTINEL_SERVICE
    return [
        f"bind {LOOPBACK}",
        "daemonize no",
        f"sentinel monitor {name} {LOOPBACK} {master_port} {quorum}",
        # Fast detection (default 30 s) so failover tests stay short.
        f"sentinel down-after-milliseconds {name} 1000",
        f"sentinel failover-timeout {name} {SENTINEL_FAILOVER_TIMEOUT_MS}",
    ]


@pytest.fixture(scope="session")
def redis_sentinel() -> Iterator[RedisSentinel]:
    tools = require_redis_tools()
    root = make_temp_dir("redis-sentinel")
    data_servers: list[RedisServer] = []
    sentinel_servers: list[RedisServer] = []

    def make_data_servers() -> list[RedisServer]:
        master_port, replica_port = free_port(), free_port()
        data_servers[:] = [
            RedisServer(
                tools, master_port, new_server_dir(root, "master", master_port), [*BASE_CONFIG]
            ),
            RedisServer(
                tools,
                replica_port,
                new_server_dir(root, "replica", replica_port),
                [*BASE_CONFIG, f"replicaof {LOOPBACK} {master_port}"],
            ),
        ]
        return data_servers

    def make_sentinels() -> list[RedisServer]:
        master_port = data_servers[0].port
        sentinel_servers[:] = [
            RedisServer(
                tools,
                port,
                new_server_dir(root, "sentinel", port),
                sentinel_config(master_port, quorum=2),
                sentinel=True,
            )
            for port in (free_port(), free_port(), free_port())
        ]
        return sentinel_servers

    setup = RedisSentinel(tools, data_servers, sentinel_servers)
    try:
        start_on_fresh_ports(make_data_servers)
        # Sentinels find replicas through the master's INFO, asked for at once and
        # then only every 10 s: have the replica attached before they start.
        wait_for(
            lambda: tools.replica_link_up(data_servers[1].port),
            START_TIMEOUT,
            "the replica to sync with the master",
        )
        start_on_fresh_ports(make_sentinels)
        setup.wait_until_ready()
        yield setup
    finally:
        setup.stop()
        remove_temp_dir(root)

"""Redis Cluster failover: a master is killed mid-run and its replica promoted.
Errors in the failover window are ``StoreUnavailable`` (never wrong data), requests
work again after it, and nothing written after it is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

import sessionware as sw
from sessionware.errors import StoreUnavailable
from sessionware.stores.redis import RedisStore
from tests.conftest import SECRET
from tests.servers import RedisCluster, wait_for

from .redis_helpers import unique_prefix

SESSIONS = 60
TRAFFIC_LIMIT = 60.0  # seconds: the background traffic stops by itself


@dataclass
class Tracked:
    """What we know about one session's counter: it is at least ``floor`` (written
    and replicated before the kill) and at most ``ceiling`` (every attempt that
    may have been written)."""

    cookie: str
    floor: int = 0
    confirmed: int = 0
    uncertain: int = 0

    @property
    def ceiling(self) -> int:
        return self.confirmed + self.uncertain


def replicated(cluster: RedisCluster) -> bool:
    """Every replica has processed everything its master has (WAIT, seen from outside)."""
    tools = cluster._tools
    cluster.refresh_roles()
    for master in cluster.masters:
        offset = int(tools.info(master.port, "INFO", "replication").get("master_repl_offset", -1))
        for replica in cluster.replicas:
            if replica.master_id == master.node_id:
                fields = tools.info(replica.port, "INFO", "replication")
                if int(fields.get("slave_repl_offset", -2)) < offset:
                    return False
    return True


def bump(manager: sw.SessionManager, tracked: Tracked) -> None:
    with manager.scope(tracked.cookie) as session:
        if session.is_new or session.get("n") is None:
            raise AssertionError(f"session lost: {tracked}")
        session["n"] += 1


def stored_count(manager: sw.SessionManager, tracked: Tracked) -> int:
    with manager.scope(tracked.cookie) as session:
        assert not session.is_new, f"session lost: {tracked}"
        return int(session["n"])


class Traffic(threading.Thread):
    """Bumps counters round-robin until stopped, sorting every outcome."""

    def __init__(self, manager: sw.SessionManager, sessions: list[Tracked]) -> None:
        super().__init__(daemon=True)
        self.manager, self.sessions = manager, sessions
        self.stop = threading.Event()
        self.unavailable = 0
        self.unexpected: list[BaseException] = []

    def run(self) -> None:
        deadline = time.monotonic() + TRAFFIC_LIMIT
        i = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            tracked = self.sessions[i % len(self.sessions)]
            i += 1
            try:
                bump(self.manager, tracked)
                tracked.confirmed += 1
            except StoreUnavailable:
                self.unavailable += 1
                tracked.uncertain += 1  # the write may or may not have happened
                time.sleep(0.01)
            except BaseException as exc:
                self.unexpected.append(exc)
                return


@pytest.fixture
def manager(redis_cluster: RedisCluster) -> Iterator[sw.SessionManager]:
    store = sw.open_store(redis_cluster.url, prefix=unique_prefix("failover"))
    manager = sw.SessionManager(store, secret_key=SECRET, idle_timeout=None)
    yield manager
    store.delete_all()
    manager.close()


def new_sessions(manager: sw.SessionManager, count: int) -> list[Tracked]:
    made = []
    for _ in range(count):
        with manager.scope(None) as session:
            session["n"] = 0
        assert session.cookie_value is not None
        made.append(Tracked(session.cookie_value))
    return made


@pytest.mark.slow
def test_cluster_failover_mid_run_loses_nothing_written_after_it(
    redis_cluster: RedisCluster, manager: sw.SessionManager
) -> None:
    sessions = new_sessions(manager, SESSIONS)
    for tracked in sessions:
        bump(manager, tracked)
        tracked.confirmed = 1
    wait_for(lambda: replicated(redis_cluster), 10, "replicas to catch up")
    for tracked in sessions:
        tracked.floor = tracked.confirmed

    traffic = Traffic(manager, sessions)
    traffic.start()
    time.sleep(0.3)
    victim = redis_cluster.kill_master(0)
    time.sleep(0.3)  # some traffic on the new topology too
    traffic.stop.set()
    traffic.join(timeout=30)
    assert not traffic.unexpected, traffic.unexpected
    assert sum(t.confirmed - t.floor for t in sessions) > 0, "the traffic never ran"

    try:
        # After the failover every request works, and no counter holds a value
        # nobody wrote.
        for tracked in sessions:
            count = stored_count(manager, tracked)
            assert tracked.floor <= count <= tracked.ceiling, (count, tracked)
            tracked.confirmed, tracked.uncertain = count, 0
        for tracked in sessions:
            bump(manager, tracked)
            tracked.confirmed += 1
        after = new_sessions(manager, 20)
        for tracked in [*sessions, *after]:
            assert stored_count(manager, tracked) == tracked.confirmed

        # The killed node rejoins as a replica: still nothing written after the
        # failover is lost, through a fresh client too.
        redis_cluster.restart_node(victim)
        assert isinstance(manager.store, RedisStore)
        fresh_store = sw.open_store(redis_cluster.url, prefix=manager.store.keys.prefix)
        fresh = sw.SessionManager(fresh_store, secret_key=SECRET, idle_timeout=None)
        try:
            for tracked in [*sessions, *after]:
                assert stored_count(fresh, tracked) == tracked.confirmed
        finally:
            fresh.close()
    finally:
        if not victim.alive:
            redis_cluster.restart_node(victim)

"""A Redis master killed (SIGKILL) under load from 4 worker processes, each with its
own ``SessionManager`` creating and updating sessions: through the failover no
request fails (the store waits for the new master, up to ``failover_timeout``)
and no session acknowledged by a request that started after the kill is lost.
Writes acknowledged just before the kill may be lost (replication is
asynchronous): they are counted and printed, with the p99 request latency."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.servers import RedisCluster, RedisSentinel

from .failover_load import run_through
from .redis_helpers import unique_prefix


def run_through_failover(
    url: str,
    kill: Callable[[], float],
    label: str,
    url_after: Callable[[], str],
    flavour: str,
) -> None:
    """Load from 4 processes, ``kill()`` a master (it returns once the replica is
    promoted, giving the kill's time), more load, then the checks."""
    options = {"prefix": unique_prefix("failover-load")}

    def disrupt() -> tuple[float, float]:
        killed_at = kill()
        return killed_at, time.monotonic()

    outcome = run_through(url, options, disrupt, flavour)
    # A Cluster's URL names a master, which may be the one killed: ask again.
    losses = outcome.losses(url_after(), options)
    print(outcome.report(f"{label} ({flavour})", losses))
    assert not outcome.failures, outcome.failures[:5]
    assert not losses.after, losses.after[:5]
    assert outcome.window, "no request ran through the failover"


FLAVOURS = pytest.mark.parametrize("flavour", ["sync", "async"])


@pytest.mark.slow
@FLAVOURS
def test_cluster_master_killed_under_load_fails_no_request(
    redis_cluster: RedisCluster, flavour: str
) -> None:
    victim = None

    def kill() -> float:
        nonlocal victim
        victim = redis_cluster.kill_master(0)
        return redis_cluster.killed_at

    try:
        run_through_failover(redis_cluster.url, kill, "Cluster", lambda: redis_cluster.url, flavour)
    finally:
        if victim is not None:
            redis_cluster.restart_node(victim)


@pytest.mark.slow
@FLAVOURS
def test_sentinel_master_killed_under_load_fails_no_request(
    redis_sentinel: RedisSentinel, flavour: str
) -> None:
    victim = None

    def kill() -> float:
        nonlocal victim
        victim = redis_sentinel.kill_master()
        return redis_sentinel.killed_at

    try:
        run_through_failover(
            redis_sentinel.url, kill, "Sentinel", lambda: redis_sentinel.url, flavour
        )
    finally:
        if victim is not None:
            redis_sentinel.rejoin(victim)

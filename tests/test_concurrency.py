"""No lost updates: many writers on one session, each setting its own keys.

``hammer_one_session`` (sessionware.testing) runs 8 writers that each open the
session by its cookie, set ``writer-i-update-j`` and save, with the manager's
compare-and-set, merge and retry. Every key must be there at the end.

Threads share one manager (a threaded server); processes each open the store by URL
(several workers). Add a store to ``PROCESS_STORES`` with one line.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sessionware import open_store
from sessionware.stores.memory import MemoryStore
from sessionware.testing import hammer_one_session

# 8 x 200 with processes (not 8 x 500): each store still sees hundreds of lost
# compare-and-set races and retries, and the whole set stays well under a minute.
PROCESS_UPDATES = 200

StoreURL = Callable[[pytest.FixtureRequest, Path], str]


@pytest.fixture
def fine_grained_thread_switching() -> Iterator[None]:
    # Switch threads every 10 us instead of 5 ms, so loads and saves of different
    # writers interleave and the compare-and-set really loses races.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("fine_grained_thread_switching")
def test_eight_threads_lose_none_of_4000_updates_to_one_session() -> None:
    result = hammer_one_session(
        MemoryStore, writers=8, updates=500, mode="threads", shared_manager=False
    )
    assert result.ok, result.summary()
    assert result.expected == 4000
    assert result.tally.conflicts > 0, "the test did not produce any contention"


@pytest.mark.usefixtures("fine_grained_thread_switching")
def test_threads_sharing_a_manager_settle_every_conflict_on_the_first_retry() -> None:
    # The manager lets one thread at a time save a session, so a conflict can only
    # come from a load that went stale before the save: one merge settles it.
    result = hammer_one_session(MemoryStore, writers=8, updates=500, mode="threads")
    assert result.ok, result.summary()
    assert result.tally.most_attempts <= 2


@pytest.mark.usefixtures("fine_grained_thread_switching")
def test_dbm_threads_with_their_own_managers_lose_no_update(tmp_path: Path) -> None:
    # A dbm file belongs to one process (the store refuses a second one), so its
    # concurrency is threads: here each with its own manager, racing like processes.
    store = functools.partial(open_store, f"dbm://{tmp_path}/sessions.dbm")
    result = hammer_one_session(store, writers=8, updates=200, shared_manager=False)
    assert result.ok, result.summary()


def test_too_few_attempts_are_reported_as_gave_up_never_as_silent_loss() -> None:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        result = hammer_one_session(MemoryStore, 8, 200, shared_manager=False, max_save_attempts=1)
    finally:
        sys.setswitchinterval(previous)
    # Every update either is stored or raised ConcurrentUpdateError to its writer.
    assert len(result.missing) == result.tally.gave_up
    assert not result.tally.errors


def test_processes_cannot_share_a_memory_store() -> None:
    with pytest.raises(ValueError, match="per process"):
        hammer_one_session("memory://", mode="processes")


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        hammer_one_session(MemoryStore, mode="fibers")  # type: ignore[arg-type]


# -- processes, against every store that can be shared between processes ---------------


def _needs(module: str) -> None:
    # Every store module is part of the package: a broken import must fail the
    # multi-process tests, never skip them.
    importlib.import_module(module)


def _embedded(module: str, prefix: str) -> StoreURL:
    def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
        _needs(module)
        return f"{prefix}{tmp_path / 'sessions'}"

    return url


def _server(module: str, fixture: str) -> StoreURL:
    def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
        _needs(module)
        value: str = request.getfixturevalue(fixture)
        return value

    return url


#: name -> how to get its URL.
PROCESS_STORES: dict[str, StoreURL] = {
    "files": _embedded("sessionware.stores.files", "file://"),
    # sqlite:/// + an absolute path: four slashes, as in SQLAlchemy's URLs.
    "sqlite": _embedded("sessionware.stores.sqlite", "sqlite:///"),
    "redis": _server("sessionware.stores.redis", "redis_url"),
    "postgresql": _server("sessionware.stores.sql", "postgres_url"),
    "mariadb": _server("sessionware.stores.sql", "mysql_url"),
}


@pytest.fixture(params=sorted(PROCESS_STORES))
def shared_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return PROCESS_STORES[request.param](request, tmp_path)


def test_eight_processes_lose_no_update_to_one_session(shared_store_url: str) -> None:
    result = hammer_one_session(
        shared_store_url, writers=8, updates=PROCESS_UPDATES, mode="processes"
    )
    assert result.ok, result.summary()
    assert result.tally.conflicts > 0, "the test did not produce any contention"

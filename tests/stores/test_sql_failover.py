"""The SQL store through a database restart: an operation that cannot reach the
database waits for it (with backoff, up to ``failover_timeout``) instead of
failing, and a compare-and-set whose outcome is unknown is settled by reading the
record back, never sent twice blindly.

The load tests restart a private PostgreSQL (and MariaDB) of the test's own while
4 worker processes create and update sessions: 0 failed requests, 0 acknowledged
sessions lost; each prints the p99 latency through the restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from sessionware.core.record import Record
from sessionware.errors import StoreUnavailable
from sessionware.stores.sql import SQLStore
from sessionware.stores.sql._engine import DEFAULT_FAILOVER_TIMEOUT, SQLOptions
from sessionware.testing._sync.conformance import make_record
from tests.private_mariadb import MariaDBProcess
from tests.private_postgres import PostgresProcess
from tests.server_process import StopMode

from .failover_load import run_through
from .sql_support import dropped_afterwards, server_sql_url, unique_table

__all__ = ["server_sql_url"]  # fixture


# ---------------------------------------------- the decision, deterministically


@pytest.fixture
def store(server_sql_url: str) -> Iterator[SQLStore]:
    store = SQLStore.from_url(server_sql_url, table=unique_table("failover"), failover_timeout=2)
    store.setup()
    with dropped_afterwards(store):
        yield store


def newer(record: Record, data: bytes) -> Record:
    return Record(
        record.id, data, record.created_at, record.expires_at, record.version + 1, record.user_id
    )


def dropped_connection() -> OperationalError:
    """What SQLAlchemy raises when the server closed the connection mid-statement."""
    return OperationalError(
        "UPDATE sessions ...",
        None,
        Exception("server closed the connection unexpectedly"),
        connection_invalidated=True,
    )


def refused_connection() -> OperationalError:
    """What SQLAlchemy raises when no connection could be made (nothing was sent)."""
    return OperationalError(None, None, Exception("connection refused"))


def drop_once(
    store: SQLStore,
    monkeypatch: pytest.MonkeyPatch,
    *,
    applied: bool,
    before: Callable[[], Any] | None = None,
    error: Callable[[], Exception] = dropped_connection,
) -> list[int]:
    """The next compare-and-set runs ``before``, is applied or not, then fails with
    ``error``; later ones go through. Returns the expected versions tried."""
    real = store._compare_and_set
    attempts: list[int] = []

    def flaky(params: dict[str, Any], expected_version: int) -> bool:
        attempts.append(expected_version)
        if len(attempts) == 1:
            if before is not None:
                before()
            if applied:
                real(params, expected_version)
            raise error()
        return real(params, expected_version)

    monkeypatch.setattr(store, "_compare_and_set", flaky)
    return attempts


def test_a_compare_and_set_applied_before_the_drop_is_reported_done_not_sent_again(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    second = newer(first, b"second")
    attempts = drop_once(store, monkeypatch, applied=True)
    assert store.save_if_version(second, first.version) is True
    assert attempts == [first.version]  # read back, found ours: not sent again
    assert store.load(first.id) == second


def test_a_compare_and_set_lost_with_the_connection_is_sent_again(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    second = newer(first, b"second")
    attempts = drop_once(store, monkeypatch, applied=False)
    assert store.save_if_version(second, first.version) is True
    assert attempts == [first.version, first.version]
    assert store.load(first.id) == second


def test_a_compare_and_set_overtaken_meanwhile_is_a_conflict(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    other, ours = newer(first, b"other"), newer(first, b"ours")
    attempts = drop_once(store, monkeypatch, applied=False, before=lambda: store.save(other))
    assert store.save_if_version(ours, first.version) is False  # the manager merges
    assert attempts == [first.version]
    assert store.load(first.id) == other


def test_a_create_whose_outcome_is_unknown_is_checked_too(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = make_record()
    attempts = drop_once(store, monkeypatch, applied=True)
    assert store.save_if_version(record, 0) is True
    assert attempts == [0]
    assert store.load(record.id) == record


def test_a_compare_and_set_that_never_reached_the_server_is_sent_again_unread(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_record()
    store.save(first)
    reads: list[str] = []
    real_read = store._read

    def read(id: str) -> Record | None:
        reads.append(id)
        return real_read(id)

    monkeypatch.setattr(store, "_read", read)
    attempts = drop_once(store, monkeypatch, applied=False, error=refused_connection)
    assert store.save_if_version(newer(first, b"second"), first.version) is True
    assert attempts == [first.version, first.version]
    assert reads == []  # no statement was sent: nothing to find out


def test_failover_timeout_is_an_option_and_a_url_parameter() -> None:
    url = "postgresql+psycopg://app@db/app"
    assert SQLOptions.parse(url, {}).failover_timeout == DEFAULT_FAILOVER_TIMEOUT == 5.0
    parsed = SQLOptions.parse(f"{url}?failover_timeout=1.5", {})
    assert parsed.failover_timeout == 1.5
    assert "failover_timeout" not in parsed.url.query  # not passed on to the driver
    assert SQLOptions.parse(url, {"failover_timeout": 0}).failover_timeout == 0.0
    with pytest.raises(ValueError, match="failover_timeout"):
        SQLOptions.parse(url, {"failover_timeout": -1})


# ------------------------------------------------- a private server going away


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresProcess]:
    with DurablePostgres() as server:
        yield server


@pytest.fixture
def postgres(postgres_server: PostgresProcess) -> PostgresProcess:
    """The module's private PostgreSQL, running (a test before may have stopped it)."""
    postgres_server.start()
    return postgres_server


@pytest.fixture(scope="module")
def mariadb() -> Iterator[MariaDBProcess]:
    with MariaDBProcess() as server:
        yield server


class DurablePostgres(PostgresProcess):
    """A private PostgreSQL that flushes every commit before it answers
    (``synchronous_commit=on``), so even an immediate shutdown loses nothing
    acknowledged; the shared launcher turns that off for speed."""

    def command(self) -> list[str]:
        return [*super().command(), "--synchronous_commit=on"]


def with_password(url: str) -> str:
    """``url`` with a password in it (trust authentication ignores it)."""
    return url.replace("postgres@", "postgres:hunter2-the-password@", 1)


def test_past_the_deadline_the_error_is_store_unavailable_without_the_password(
    postgres: PostgresProcess,
) -> None:
    store = SQLStore.from_url(with_password(postgres.url), failover_timeout=0.5)
    store.setup()
    try:
        postgres.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            store.load(make_record().id)
        assert 0.5 <= time.monotonic() - started < 3.0
        assert "hunter2" not in str(caught.value)
    finally:
        store.close()


def test_a_database_that_does_not_exist_fails_at_once(postgres: PostgresProcess) -> None:
    # Retrying cannot cure it: no wait for the deadline.
    url = postgres.url.rsplit("/", 1)[0] + "/no_such_database"
    store = SQLStore.from_url(url, failover_timeout=5)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.load(make_record().id)
        assert time.monotonic() - started < 1.0
    finally:
        store.close()


def test_a_load_waits_for_a_database_that_is_starting_again(postgres: PostgresProcess) -> None:
    store = SQLStore.from_url(postgres.url, table=unique_table("restart"))
    store.setup()
    record = make_record()
    store.save(record)
    try:
        postgres.restart()
        assert store.load(record.id) == record
    finally:
        store.close()


# ------------------------------------------------------------ under load


Server = PostgresProcess | MariaDBProcess


def restart_under_load(server: Server, label: str, mode: StopMode, flavour: str) -> None:
    options = {"table": unique_table("failover_load")}
    setup = SQLStore.from_url(server.url, **options)
    setup.setup()  # once, before the workers open it
    setup.close()

    def disrupt() -> tuple[float, float]:
        stopped_at = time.monotonic()
        server.restart(mode)
        return stopped_at, time.monotonic()

    outcome = run_through(server.url, options, disrupt, flavour)
    losses = outcome.losses(server.url, options)
    print(outcome.report(f"{label}, {mode} restart ({flavour})", losses, "the restart"))
    assert not outcome.failures, outcome.failures[:5]
    assert not losses.after, losses.after[:5]
    assert losses.before == 0  # a committed write survives a restart
    assert outcome.window, "no request ran through the restart"


FLAVOURS = pytest.mark.parametrize("flavour", ["sync", "async"])


@pytest.mark.slow
@FLAVOURS
def test_a_postgresql_restart_under_load_fails_no_request_and_loses_no_session(
    postgres: PostgresProcess, flavour: str
) -> None:
    restart_under_load(postgres, "PostgreSQL", "fast", flavour)


@pytest.mark.slow
def test_a_postgresql_crash_and_recovery_under_load_fails_no_request_and_loses_no_session(
    postgres: PostgresProcess,
) -> None:
    # Immediate shutdown: the server exits at once, as in a crash, and recovers
    # from its WAL at the next start.
    restart_under_load(postgres, "PostgreSQL", "immediate", "sync")


@pytest.mark.slow
@FLAVOURS
def test_a_mariadb_restart_under_load_fails_no_request_and_loses_no_session(
    mariadb: MariaDBProcess, flavour: str
) -> None:
    restart_under_load(mariadb, "MariaDB", "fast", flavour)

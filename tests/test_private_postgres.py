"""``PostgresProcess`` really gives a private PostgreSQL that a test may restart.

Talks to the server with psycopg directly, so a failure here points at the
launcher, not at sessionware.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.private_postgres import PostgresProcess
from tests.processes import process_exists, tcp_reachable


def count_rows(server: PostgresProcess) -> object:
    with server.connect() as connection:
        row = connection.execute("select count(*) from kept").fetchone()
    return None if row is None else row[0]


def test_the_fixture_gives_a_started_server_with_database_test(
    private_postgres: PostgresProcess,
) -> None:
    with private_postgres.connect() as connection:
        row = connection.execute("select current_database(), current_user").fetchone()
    assert row == ("test", "postgres")


def test_its_url_is_a_sqlalchemy_psycopg_url_on_loopback(
    private_postgres: PostgresProcess,
) -> None:
    port = private_postgres.port
    assert private_postgres.url == f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"


def test_restart_keeps_the_port_and_the_data(private_postgres: PostgresProcess) -> None:
    port = private_postgres.port
    with private_postgres.connect() as connection:
        connection.execute("create table kept (n int)")
        connection.execute("insert into kept values (1), (2)")
    private_postgres.restart()
    assert private_postgres.port == port
    assert count_rows(private_postgres) == 2


def test_restart_breaks_open_connections(private_postgres: PostgresProcess) -> None:
    with private_postgres.connect() as connection:
        private_postgres.restart()
        with pytest.raises(psycopg.OperationalError):
            connection.execute("select 1")


def test_an_immediate_stop_is_recovered_at_the_next_start(
    private_postgres: PostgresProcess,
) -> None:
    with private_postgres.connect() as connection:
        connection.execute("create table kept (n int)")
        connection.execute("insert into kept values (1)")
        connection.execute("checkpoint")  # fsync is off: make the row reach the disk
    private_postgres.stop(mode="immediate")
    assert not tcp_reachable(private_postgres.host, private_postgres.port)
    private_postgres.start()
    assert count_rows(private_postgres) == 1


def test_close_leaves_no_process_and_no_directory() -> None:
    server = PostgresProcess()
    server.start()
    assert server.process is not None
    pid, directory = server.process.pid, server.directory
    server.close()
    assert not process_exists(pid)
    assert not directory.exists()

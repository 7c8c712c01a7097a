"""``PostgresProcess`` really gives a private PostgreSQL that a test may restart.

Talks to the server with psycopg directly, so a failure here points at the
launcher, not at sessionware.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.private_postgres import PostgresProcess
from tests.processes import process_exists, sweep_stale_temp_dirs, tcp_reachable, wait_for

ROOT = Path(__file__).resolve().parent.parent
# A test run that starts a server, says its pid, and then hangs until killed.
HANGING_RUN = """
import time
from tests.private_postgres import PostgresProcess
server = PostgresProcess()
server.start()
print(server.process.pid, flush=True)
time.sleep(120)
"""


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


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return process_exists(pid)
    return state != "Z"


def test_the_server_dies_with_a_test_run_that_is_sigkilled() -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", HANGING_RUN], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert run.stdout is not None
        pid = int(run.stdout.readline())
        assert alive(pid)
        os.kill(run.pid, signal.SIGKILL)  # no teardown, no atexit: only the kernel is left
        wait_for(lambda: not alive(pid), 15, f"PostgreSQL (pid {pid}) to die with its parent")
    finally:
        run.kill()
        run.wait(10)
        sweep_stale_temp_dirs()  # what the killed run left on disk, as the next run would

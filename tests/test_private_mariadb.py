"""``MariaDBProcess`` really gives a private MariaDB set up as the tests expect.

Talks to the server with PyMySQL directly, so a failure here points at the
launcher, not at sessionware.
"""

from __future__ import annotations

from tests.private_mariadb import MariaDBProcess
from tests.processes import process_exists


def test_root_logs_in_over_tcp_without_a_password_to_database_test(
    private_mariadb: MariaDBProcess,
) -> None:
    connection = private_mariadb.connect()
    with connection.cursor() as cursor:
        cursor.execute("select database(), @@character_set_server")
        assert cursor.fetchone() == ("test", "utf8mb4")
    connection.close()


def test_its_url_is_a_sqlalchemy_pymysql_url_on_loopback(
    private_mariadb: MariaDBProcess,
) -> None:
    assert private_mariadb.url == f"mysql+pymysql://root@127.0.0.1:{private_mariadb.port}/test"


def test_restart_keeps_the_port_and_the_data(private_mariadb: MariaDBProcess) -> None:
    port = private_mariadb.port
    connection = private_mariadb.connect()
    with connection.cursor() as cursor:
        cursor.execute("create table kept (n int)")
        cursor.execute("insert into kept values (1), (2)")
    connection.close()
    private_mariadb.restart()
    connection = private_mariadb.connect()
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from kept")
        assert cursor.fetchone() == (2,)
    connection.close()
    assert private_mariadb.port == port


def test_close_leaves_no_process_and_no_directory() -> None:
    server = MariaDBProcess()
    server.start()
    assert server.process is not None
    pid, directory = server.process.pid, server.directory
    server.close()
    assert not process_exists(pid)
    assert not directory.exists()

"""MariaDB servers of the test run's own, started from the Debian binaries.

``MariaDBProcess`` is one ``mariadbd`` on a free loopback port, its data directory,
socket, pid file and log in a temporary directory, configured as the standing
server of ``scripts/services.sh`` is (root with an empty password over TCP,
database ``test``, utf8mb4). The ``mysql_url`` fixture of ``tests/servers.py``
starts one for the whole session when nothing answers on 127.0.0.1:3306.

Binaries: ``mariadbd`` (or ``mysqld``) and ``mariadb-install-db`` (or
``mysql_install_db``); when missing, the Debian package ``mariadb-server`` is
installed (root and apt-get needed), else the test skips (fails under ``CI``).
As root the server runs as the ``mysql`` user (or ``nobody``): started as that
user rather than switching itself (``--user``), so it keeps the parent-death
signal.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pymysql

from tests import debian_packages
from tests.processes import LOOPBACK, ServerStartError, unavailable
from tests.server_process import ServerProcess, run_as, unprivileged_user

USER = "root"
DATABASE = "test"
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin")
# Ignore every my.cnf (--no-defaults) and say here what the Debian one says that
# the tests may notice, plus small InnoDB files: the data directory is throwaway.
COMMON_OPTIONS = ("--innodb-log-file-size=8M", "--innodb-buffer-pool-size=64M")
SERVER_OPTIONS = (
    f"--bind-address={LOOPBACK}",
    "--skip-networking=0",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--skip-log-bin",
    "--innodb-flush-log-at-trx-commit=0",
    *COMMON_OPTIONS,
)


@dataclass(frozen=True)
class MariaDBBinaries:
    server: str
    install_db: str

    @classmethod
    def find(cls) -> MariaDBBinaries | None:
        path = ":".join((*SBIN_DIRS, "/usr/bin"))
        server = shutil.which("mariadbd", path=path) or shutil.which("mysqld", path=path)
        install_db = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if server is None or install_db is None:
            return None
        return cls(server, install_db)


def require_mariadb_binaries() -> MariaDBBinaries:
    """The binaries, installing Debian's ``mariadb-server`` when missing; else skip."""
    if (found := MariaDBBinaries.find()) is not None:
        return found
    failure = debian_packages.install(["mariadb-server"])
    if failure is None and (found := MariaDBBinaries.find()) is not None:
        return found
    unavailable(
        "MariaDB's mariadbd/mariadb-install-db are missing and could not be installed "
        f"(Debian package mariadb-server): {failure or 'installed, yet still not found'}"
    )


class MariaDBProcess(ServerProcess):
    """One private MariaDB server: a direct child of pytest, on 127.0.0.1.

    ``url`` is ``mysql+pymysql://root@127.0.0.1:PORT/test`` (the form the
    ``mysql_url`` fixture gives). The rest is ``ServerProcess``'s: ``start()``,
    ``stop(mode="fast")`` (SIGTERM: a clean shutdown; ``"immediate"`` is SIGKILL),
    ``restart()`` on the same port and data, ``kill()``, ``close()``, and use as a
    context manager. ``connect()`` gives a PyMySQL connection (autocommit).
    """

    name = "MariaDB"
    kind = "mariadb"

    def __init__(self, directory: Path | None = None, *, port: int | None = None) -> None:
        """``directory``: where the data and log go (default: a new temporary one).
        ``port``: the TCP port (default: a free one, kept across restarts)."""
        self.binaries = require_mariadb_binaries()
        super().__init__(directory, port, unprivileged_user("mysql", self.name))

    @property
    def url(self) -> str:
        return f"mysql+pymysql://{USER}@{self.host}:{self.port}/{DATABASE}"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def connect(self, database: str = DATABASE) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=USER,
            password="",
            database=database,
            connect_timeout=5,
            autocommit=True,
        )

    def prepared(self) -> bool:
        return self.data_dir.exists()

    def prepare(self) -> None:
        args = [
            self.binaries.install_db,
            "--no-defaults",
            f"--datadir={self.data_dir}",
            # root logs in with an empty password (not only through the unix socket),
            # as root@localhost, root@127.0.0.1 and root@::1.
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *COMMON_OPTIONS,
        ]
        result = run_as(self.user, args)
        if result.returncode != 0:
            raise ServerStartError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")

    def command(self) -> list[str]:
        files = [
            f"--datadir={self.data_dir}",
            f"--socket={self.directory / 'mysqld.sock'}",
            f"--pid-file={self.directory / 'mysqld.pid'}",
            f"--tmpdir={self.directory}",
            f"--port={self.port}",
        ]
        # --no-defaults must come first; the log goes to stderr, that is server.log.
        return [self.binaries.server, "--no-defaults", *files, *SERVER_OPTIONS]

    def accepts_login(self) -> bool:
        try:
            self.connect(database="mysql").close()
        except pymysql.err.OperationalError:
            return False
        return True

    def after_first_start(self) -> None:
        connection = self.connect(database="mysql")
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        finally:
            connection.close()

    def __enter__(self) -> MariaDBProcess:
        self.start()
        return self

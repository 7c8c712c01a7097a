"""PostgreSQL servers of the test run's own, started from the Debian binaries.

``PostgresProcess`` is one ``postgres`` server on a free loopback port with its data
directory in a temporary directory; a test may stop, restart or crash it at will
(the standing server on :5432 is shared and must never stop). The
``private_postgres`` fixture of ``tests/servers.py`` gives a started one per test;
the ``postgres_url`` fixture starts one for the whole session when nothing answers
on 127.0.0.1:5432.

Binaries come from ``/usr/lib/postgresql/<version>/bin`` (the newest version), else
from ``initdb`` on PATH; when there are none the Debian package ``postgresql`` is
installed (root and apt-get needed), else the test skips (fails under ``CI``).
PostgreSQL refuses to run as root: as root the server runs as the ``postgres``
user (or ``nobody``), which owns the data directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import psycopg

from tests import debian_packages
from tests.processes import (
    LOOPBACK,
    ServerStartError,
    chown_tree,
    make_temp_dir,
    remove_temp_dir,
    unavailable,
)
from tests.server_process import ServerProcess, StopMode, run_as, unprivileged_user

USER = "postgres"
DATABASE = "test"
# 1 MB WAL segments instead of 16: a smaller data directory to copy.
INITDB_OPTIONS = ("-A", "trust", "-U", USER, "-E", "UTF8", "--no-sync", "--wal-segsize=1")
SERVER_SETTINGS = {
    "listen_addresses": LOOPBACK,
    # Throwaway data: durability costs time and buys nothing.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    # In the data directory, so that even a SIGKILLed server leaves nothing outside it.
    "dynamic_shared_memory_type": "mmap",
    "max_connections": "100",
}

# ------------------------------------------------------------------ binaries


@dataclass(frozen=True)
class PostgresBinaries:
    """The directory holding ``initdb`` and ``postgres``."""

    bin_dir: Path

    def program(self, name: str) -> str:
        return str(self.bin_dir / name)

    @classmethod
    def find(cls) -> PostgresBinaries | None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
        if found:
            return cls(Path(found[-1]).parent)
        initdb = shutil.which("initdb")
        if initdb is not None:
            bin_dir = Path(os.path.realpath(initdb)).parent
            if (bin_dir / "postgres").exists():
                return cls(bin_dir)
        return None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def require_postgres_binaries() -> PostgresBinaries:
    """The binaries, installing Debian's ``postgresql`` when missing; else skip."""
    if (found := PostgresBinaries.find()) is not None:
        return found
    failure = debian_packages.install(["postgresql"])
    if failure is None and (found := PostgresBinaries.find()) is not None:
        return found
    unavailable(
        "PostgreSQL's initdb/postgres binaries are missing and could not be installed "
        f"(Debian package postgresql): {failure or 'installed, yet still not found'}"
    )


# ---------------------------------------------------------- the data directory

_templates: dict[PostgresBinaries, Path] = {}


def template_data_dir(binaries: PostgresBinaries, user: pwd.struct_passwd | None) -> Path:
    """An initialised data directory with database ``test``, made once per session.

    Every server copies it: a copy takes a tenth of the time ``initdb`` takes.
    """
    if binaries in _templates:
        return _templates[binaries]
    root = make_temp_dir("postgres-template", in_memory=True)
    data = root / "data"
    if user is not None:
        os.chown(root, user.pw_uid, user.pw_gid)
    steps = [
        ([binaries.program("initdb"), "-D", str(data), *INITDB_OPTIONS], ""),
        # Single-user mode: the database is made without opening any port.
        (
            [binaries.program("postgres"), "--single", "-D", str(data), "-F", USER],
            f"CREATE DATABASE {DATABASE};\n",
        ),
    ]
    for args, stdin in steps:
        result = run_as(user, args, stdin)
        if result.returncode != 0:
            remove_temp_dir(root)
            raise ServerStartError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    _templates[binaries] = data
    return data


# ------------------------------------------------------------------- servers


class PostgresProcess(ServerProcess):
    """One private PostgreSQL server: a direct child of pytest, on 127.0.0.1.

    Usage::

        with PostgresProcess() as server:         # or server.start() ... server.close()
            engine = create_engine(server.url)    # postgresql+psycopg://postgres@127.0.0.1:PORT/test
            server.restart()                      # same port, same data: rows survive
            server.stop(mode="immediate")         # like a crash; start() runs recovery
            server.start()

    * ``url`` -- SQLAlchemy URL (``postgresql+psycopg://postgres@127.0.0.1:PORT/test``),
      the form the ``postgres_url`` fixture gives; ``libpq_url`` is the same without
      ``+psycopg`` (for psycopg/asyncpg directly). User ``postgres``, trust auth (no
      password), database ``test`` already created.
    * ``start(timeout=30)`` -- start (no-op while running) and wait until a login to
      ``test`` works. The first start copies a session-wide template data directory
      (``initdb`` runs once per session) and, unless a port was given, retries on a
      fresh port if another process took the chosen one.
    * ``stop(mode="fast", timeout=30)`` -- ``"fast"`` (SIGINT: clients are cut off,
      clean shutdown), ``"smart"`` (SIGTERM: waits for clients to leave) or
      ``"immediate"`` (SIGQUIT: exits at once like a crash). SIGKILL if it has not
      exited after ``timeout``. No-op when not running. Returns once it has exited,
      so the port is free for the next start.
    * ``restart(mode="fast")`` -- ``stop(mode)`` then ``start()``: same port, same
      data directory, so open pools see their connections broken and new ones work.
    * ``kill()`` -- immediate shutdown, SIGKILL after a few seconds if still there.
    * ``running``, ``port``, ``host``, ``data_dir``, ``log_path``, ``log_tail()``,
      ``connect()`` (a psycopg connection in autocommit mode, for checks).
    * ``close()`` -- stop and remove the directory (when this object made it).
      Also registered for interpreter exit, and the kernel kills the server if
      pytest dies (parent-death signal).

    The server runs with ``fsync=off`` and its default directory is under /dev/shm
    (tmpfs) where there is one: its data is throwaway, and a ``kill()`` or
    ``stop(mode="immediate")`` may lose the last commits (not so a ``stop()`` in
    ``"fast"`` or ``"smart"`` mode, which checkpoints).
    """

    name = "PostgreSQL"
    kind = "postgres"
    # PostgreSQL's shutdown modes are signals to the postmaster (see pg_ctl's -m).
    stop_signals: ClassVar[Mapping[StopMode, signal.Signals]] = {
        "smart": signal.SIGTERM,
        "fast": signal.SIGINT,
        "immediate": signal.SIGQUIT,
    }

    def __init__(self, directory: Path | None = None, *, port: int | None = None) -> None:
        """``directory``: where the data and log go (default: a new temporary one).
        ``port``: the TCP port (default: a free one, kept across restarts)."""
        self.binaries = require_postgres_binaries()
        super().__init__(directory, port, unprivileged_user(USER, self.name))

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}@{self.host}:{self.port}/{DATABASE}"

    @property
    def libpq_url(self) -> str:
        return f"postgresql://{USER}@{self.host}:{self.port}/{DATABASE}"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.libpq_url, connect_timeout=5, autocommit=True)

    def prepared(self) -> bool:
        return self.data_dir.exists()

    def prepare(self) -> None:
        shutil.copytree(template_data_dir(self.binaries, self.user), self.data_dir, symlinks=True)
        if self.user is not None:
            chown_tree(self.data_dir, self.user.pw_uid, self.user.pw_gid)

    def command(self) -> list[str]:
        settings = [f"--{name}={value}" for name, value in SERVER_SETTINGS.items()]
        where = ["-D", str(self.data_dir), "-p", str(self.port), "-k", str(self.directory)]
        return [self.binaries.program("postgres"), *where, *settings]

    def accepts_login(self) -> bool:
        try:
            with psycopg.connect(self.libpq_url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def __enter__(self) -> PostgresProcess:
        self.start()
        return self

"""Real databases for the SQL and tiered store tests.

* ``sql_url`` -- parametrized over PostgreSQL, MariaDB and SQLite (through
  SQLAlchemy), from the standing servers of ``tests/servers.py``.
* ``unique_table()`` -- a table name no other test run uses; tests drop it.
* ``throwaway_postgres`` -- a PostgreSQL cluster of our own on a free port, which a
  test may stop and start (the system server is shared and must never stop).
* module-level worker functions, importable by ``spawn``-ed processes.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sessionware.stores.sql import AsyncSQLStore
from tests.servers import (
    LOOPBACK,
    free_port,
    kill_child_when_parent_dies,
    unavailable,
    wait_for,
)

BACKENDS = ("postgresql", "mariadb", "sqlite")
SERVER_BACKENDS = ("postgresql", "mariadb")
SECRET = "test-secret-key-that-is-long-enough-000"
INITDB_OPTIONS = ("-U", "postgres", "-E", "UTF8", "--no-sync")
SERVER_OPTIONS = ("-c", "fsync=off", "-c", "max_connections=50")


def unique_table(label: str = "t") -> str:
    return f"sw_{label}_{os.getpid()}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite+pysqlite:///{tmp_path_factory.mktemp('sql') / 'sessions.db'}"


def backend_url(request: pytest.FixtureRequest, backend: str) -> str:
    fixture = {"postgresql": "postgres_url", "mariadb": "mysql_url", "sqlite": "sqlite_url"}
    return str(request.getfixturevalue(fixture[backend]))


@pytest.fixture(params=BACKENDS)
def sql_url(request: pytest.FixtureRequest) -> str:
    return backend_url(request, request.param)


@pytest.fixture(params=SERVER_BACKENDS)
def server_sql_url(request: pytest.FixtureRequest) -> str:
    return backend_url(request, request.param)


# ------------------------------------------------------------ our own PostgreSQL


def postgres_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(os.path.realpath(initdb)).parent if initdb else None


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL server only this test run uses: ``stop()`` and ``start()`` at will.

    Its URL carries a password (trust auth ignores it) so tests can check that
    error messages redact it.
    """

    bin_dir: Path
    root: Path
    port: int
    user: str | None  # run as this OS user (PostgreSQL refuses to run as root)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    password = "throwaway-pw-not-secret"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres:{self.password}@{LOOPBACK}:{self.port}/postgres"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def program(self, name: str) -> str:
        return str(self.bin_dir / name)

    def initdb(self) -> None:
        subprocess.run(
            [self.program("initdb"), "-D", str(self.data_dir), "-A", "trust", *INITDB_OPTIONS],
            user=self.user,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        log = (self.root / "postgres.log").open("ab")
        where = ["-D", str(self.data_dir), "-p", str(self.port), "-k", str(self.root)]
        self.process = subprocess.Popen(
            [
                self.program("postgres"),
                *where,
                "-c",
                f"listen_addresses={LOOPBACK}",
                *SERVER_OPTIONS,
            ],
            user=self.user,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=kill_child_when_parent_dies,
        )
        log.close()
        wait_for(self.ready, 30, f"throwaway PostgreSQL on port {self.port}")

    def ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            log = (self.root / "postgres.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"throwaway PostgreSQL exited:\n{log}")
        probe = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-h", LOOPBACK, "-p", str(self.port)],
            capture_output=True,
            check=False,
            timeout=10,
        )
        return probe.returncode == 0

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)  # "fast" shutdown: clients are cut off
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def run_as_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable("running as root and there is no 'postgres' user to run a cluster as")
    return "postgres"


@pytest.fixture(scope="session")
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None or not (bin_dir / "postgres").exists():
        unavailable(
            "initdb/postgres binaries not found (Debian package postgresql); "
            "needed to stop and restart a PostgreSQL server of our own"
        )
    user = run_as_user()
    root = Path(tempfile.mkdtemp(prefix="sessionware-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = ThrowawayPostgres(bin_dir, root, free_port(), user)
    atexit.register(shutil.rmtree, root, True)
    atexit.register(server.stop)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------ work for spawned processes


def setup_in_process(url: str, table: str, barrier: Any) -> None:
    """One of many processes calling ``setup()`` on a fresh table at the same moment."""
    from sessionware.stores.sql import SQLStore

    store = SQLStore.from_url(url, table=table)
    try:
        barrier.wait(timeout=60)
        store.setup()
    finally:
        store.close()


def counting_app(worker: int) -> Any:
    import sessionware as sw

    key = f"w{worker}"

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = sw.current()
        assert session is not None
        session[key] = session.get(key, 0) + 1
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(session[key]).encode()]

    return app


def wsgi_worker(
    url: str, table: str, shared: list[str], worker: int, requests: int, results: Any
) -> None:
    """``requests`` requests through the WSGI middleware: mostly on sessions every
    worker shares (each worker counts in its own key), every 50th one on a new
    session of its own. Reports its counts and every unexpected answer."""
    from werkzeug.test import Client

    import sessionware as sw
    from sessionware.stores.sql import SQLStore
    from sessionware.wsgi import SessionMiddleware

    store = SQLStore.from_url(url, table=table, pool_size=4)
    manager = sw.SessionManager(store, secret_key=SECRET)
    client = Client(SessionMiddleware(counting_app(worker), manager), use_cookies=False)
    counts: dict[str, int] = {}
    errors: list[str] = []
    try:
        for number in range(requests):
            cookie = None if number % 50 == 0 else shared[number % len(shared)]
            headers = {"Cookie": f"session={cookie}"} if cookie else {}
            response = client.get("/", headers=headers)
            if cookie is None:
                cookie = _set_cookie_value(response.headers.getlist("Set-Cookie"))
            if cookie is None:
                errors.append(f"request {number}: no session cookie ({response.status})")
                continue
            counts[cookie] = counts.get(cookie, 0) + 1
            if response.status_code != 200 or response.text != str(counts[cookie]):
                errors.append(
                    f"request {number}: {response.status} {response.text!r}, "
                    f"expected {counts[cookie]}"
                )
    finally:
        manager.close()
    results.put((worker, counts, errors))


def _set_cookie_value(headers: list[str]) -> str | None:
    for header in headers:
        name, _, rest = header.partition("=")
        if name.strip() == "session":
            return rest.split(";", 1)[0] or None
    return None


@contextlib.contextmanager
def dropped_afterwards(store: Any) -> Iterator[Any]:
    try:
        yield store
    finally:
        with contextlib.suppress(Exception):
            store.drop_table()
        store.close()


@contextlib.asynccontextmanager
async def async_sql_store(url: str, **options: Any) -> AsyncIterator[AsyncSQLStore]:
    """A set-up async store in a fresh table (``unique_table()`` unless ``table=``
    is given), dropped and closed afterwards."""
    options.setdefault("table", unique_table())
    store = AsyncSQLStore.from_url(url, **options)
    await store.setup()
    try:
        yield store
    finally:
        await store.drop_table()
        await store.close()

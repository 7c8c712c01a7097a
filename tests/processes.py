"""Process hygiene shared by every server the test suite starts itself.

The rules each launcher (``tests/servers.py`` for Redis, ``tests/private_postgres.py``,
``tests/private_mariadb.py``) follows:

* a server is a direct child, signalled only through its own ``Popen`` handle;
* the kernel SIGKILLs it if pytest dies without cleaning up (parent-death signal,
  set by ``kill_child_when_parent_dies`` between fork and exec);
* it is registered in ``leftovers`` so that interpreter exit (``atexit``) stops it
  even when fixture teardown never ran;
* its files live in a directory from ``make_temp_dir``, removed at teardown and at
  exit; those of a run that was SIGKILLed are swept by the next run;
* it listens on 127.0.0.1 only, on a port from ``free_port``.

A server the suite cannot have skips the tests that need it (``unavailable``),
except under ``CI``, where that fails instead: CI must never pass by skipping.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, Protocol

import pytest

LOOPBACK = "127.0.0.1"
POLL_INTERVAL = 0.05

# Ports are drawn below the kernel's ephemeral range: a server we stop and start
# again (a restart, a failover) must get its port back, and an outgoing connection
# could otherwise take it as its local port in between.
PORT_RANGE_START = 20000

TEMP_DIR_PREFIX = "sessionware-test-"
OWNER_FILE = "owner.pid"


# --------------------------------------------------------------- skip or fail


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


def unavailable(reason: str) -> NoReturn:
    """Skip the test for lack of a server; under CI fail instead, loudly."""
    if running_in_ci():
        pytest.fail(f"{reason} [CI is set: server tests must run, not skip]", pytrace=False)
    pytest.skip(reason)


# -------------------------------------------------------------- waiting, ports


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; bounded in time and so in count."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


def tcp_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_is_free(port: int) -> bool:
    # No SO_REUSEADDR: a port with sockets in TIME_WAIT counts as taken too.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def ephemeral_port_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_ports_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on, never the same one twice per session."""
    high = ephemeral_port_start()
    low = PORT_RANGE_START if high - PORT_RANGE_START >= 1000 else 1024
    for _ in range(500):
        port = random.randrange(low, high)
        if port not in _ports_handed_out and port_is_free(port):
            _ports_handed_out.add(port)
            return port
    raise RuntimeError(f"found no free loopback port in {low}..{high}")


class PortInUseError(RuntimeError):
    """Another process took the port between choosing it and binding it."""


class ServerStartError(RuntimeError):
    pass


# ------------------------------------------------------------ child processes

# Looked up once here: the child between fork and exec should do as little as possible.
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def kill_child_when_parent_dies() -> None:
    """Runs in the child before exec: the kernel SIGKILLs it if pytest dies.

    The backstop for what neither teardown nor atexit can cover: pytest itself
    being SIGKILLed (a CI timeout, the OOM killer). ``Popen(user=...)`` switches
    user before this runs, so the setting survives the switch.
    """
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Killable(Protocol):
    def kill(self) -> None:
        """Stop at once (no-op when not running); never raises for a dead process."""


class Leftovers:
    """What teardown must remove; atexit runs it again in case teardown never ran."""

    def __init__(self) -> None:
        self.servers: list[Killable] = []
        self.directories: list[Path] = []

    def add_server(self, server: Killable) -> None:
        if not any(known is server for known in self.servers):
            self.servers.append(server)

    def forget_server(self, server: Killable) -> None:
        self.servers[:] = [known for known in self.servers if known is not server]

    def remove_all(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):  # one failure must not spare the rest
                server.kill()
        for directory in self.directories:
            shutil.rmtree(directory, ignore_errors=True)
        self.servers.clear()
        self.directories.clear()


leftovers = Leftovers()
atexit.register(leftovers.remove_all)


# -------------------------------------------------------- temporary directories


def sweep_stale_temp_dirs() -> None:
    """Remove directories left by a test run that was SIGKILLed.

    Its servers died with it (parent-death signal) but nothing removed their
    directories. A directory whose owner file is not written yet is being set up
    by a live run, so it stays.
    """
    bases = {Path(tempfile.gettempdir()), memory_temp_base() or Path(tempfile.gettempdir())}
    for directory in (d for base in bases for d in base.glob(f"{TEMP_DIR_PREFIX}*")):
        try:
            owner = int((directory / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not process_exists(owner):
            shutil.rmtree(directory, ignore_errors=True)


def memory_temp_base() -> Path | None:
    """/dev/shm when it is a writable directory (tmpfs on Linux), else None."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def make_temp_dir(kind: str, in_memory: bool = False) -> Path:
    """A fresh directory for one fixture's servers, removed at exit at the latest.

    ``in_memory``: under /dev/shm where there is one, for a database's data files
    (initialising and copying them there takes a tenth of the time it takes on disk).
    """
    sweep_stale_temp_dirs()
    base = (memory_temp_base() if in_memory else None) or Path(tempfile.gettempdir())
    directory = Path(tempfile.mkdtemp(prefix=f"{TEMP_DIR_PREFIX}{kind}-", dir=base))
    (directory / OWNER_FILE).write_text(str(os.getpid()))
    leftovers.directories.append(directory)
    return directory


def remove_temp_dir(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    with contextlib.suppress(ValueError):
        leftovers.directories.remove(directory)


def chown_tree(directory: Path, uid: int, gid: int) -> None:
    """Hand a directory (and all in it) to the user a server runs as."""
    os.chown(directory, uid, gid)
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)

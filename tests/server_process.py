"""``ServerProcess``: what a private database server of the test run does, whatever it is.

A subclass says how to prepare its data directory, which command to run and how
to tell that it accepts logins; this class starts it as a direct child of pytest
(parent-death signal, own session, registered for exit) on a free loopback port,
as an unprivileged user when we are root, and stops it through its ``Popen``
handle. ``tests/private_postgres.py`` and ``tests/private_mariadb.py`` are the two.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Literal, NoReturn

from tests.processes import (
    LOOPBACK,
    PortInUseError,
    ServerStartError,
    free_port,
    kill_child_when_parent_dies,
    leftovers,
    make_temp_dir,
    remove_temp_dir,
    unavailable,
    wait_for,
)

START_TIMEOUT = 30.0  # exec to accepting logins, crash recovery included
STOP_TIMEOUT = 30.0  # a shutdown request to exit, before SIGKILL
START_ATTEMPTS = 3  # fresh ports to try when another process won the race for one
StopMode = Literal["smart", "fast", "immediate"]
PORT_TAKEN = ("Address already in use", "Do you already have another server running")


def unprivileged_user(preferred: str, server: str) -> pwd.struct_passwd | None:
    """The user to run a server as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in (preferred, "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    unavailable(f"running as root, and there is no '{preferred}' or 'nobody' user to run {server}")


def as_user(user: pwd.struct_passwd | None) -> dict[str, Any]:
    """``subprocess`` arguments that run the child as ``user`` (no extra groups).

    The switch happens before ``preexec_fn``, so the parent-death signal set
    there survives it (a server that switched user itself would lose it).
    """
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def run_as(
    user: pwd.struct_passwd | None, args: list[str], stdin: str = "", timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run a set-up command (initdb...) to its end as ``user``."""
    return subprocess.run(
        args,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **as_user(user),
    )


class ServerProcess(ABC):
    """One server process on 127.0.0.1 with its files in one directory.

    ``start()`` / ``stop()`` / ``restart()`` any number of times: the server comes
    back on the same port with the same data. ``close()`` (or leaving the ``with``
    block) stops it and removes the directory when this object made it.
    """

    host = LOOPBACK
    name = "server"  # for messages
    kind = "server"  # the temporary directory's name part
    stop_signals: ClassVar[Mapping[StopMode, signal.Signals]] = {
        "smart": signal.SIGTERM,
        "fast": signal.SIGTERM,
        "immediate": signal.SIGKILL,
    }

    def __init__(
        self,
        directory: Path | None,
        port: int | None,
        user: pwd.struct_passwd | None,
    ) -> None:
        self.user = user
        self._owns_directory = directory is None
        if directory is None:
            directory = make_temp_dir(self.kind, in_memory=True)
            if user is not None:
                os.chown(directory, user.pw_uid, user.pw_gid)
        self.directory = directory
        self._port_chosen = port is not None
        self.port = free_port() if port is None else port
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    # ------------------------------------------------- what a subclass says

    @abstractmethod
    def prepared(self) -> bool:
        """The data directory exists (a first start prepares it, a restart not)."""

    @abstractmethod
    def prepare(self) -> None:
        """Create the data directory, owned by ``self.user``."""

    @abstractmethod
    def command(self) -> list[str]:
        """The server's command line, listening on ``self.port``."""

    @abstractmethod
    def accepts_login(self) -> bool:
        """A login to the test database works now (False, not an error, when not yet)."""

    def after_first_start(self) -> None:  # noqa: B027 -- optional, so not abstract
        """Runs once the server first accepts logins (e.g. to create a database)."""

    # ------------------------------------------------------- where it is

    @property
    def log_path(self) -> Path:
        return self.directory / "server.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the server logged since its latest start."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------ its lifetime

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start (no-op while running) and wait until a login works."""
        if self.running:
            return
        first = not self.prepared()
        if first:
            self.prepare()
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._spawn()
                wait_for(self._ready, timeout, f"{self.name} on port {self.port} to accept a login")
                break
            except PortInUseError:
                self._reap()
                if self._port_chosen or attempt == START_ATTEMPTS:
                    raise
                self.port = free_port()
            except BaseException:
                self.kill()
                raise
        if first:
            self.after_first_start()

    def stop(self, mode: StopMode = "fast", timeout: float = STOP_TIMEOUT) -> None:
        """Shut down: ``"fast"`` (clients are cut off, clean shutdown), ``"smart"``
        (waits for clients to leave, where the server knows how) or ``"immediate"``
        (at once, like a crash). SIGKILL if it has not exited after ``timeout``.
        Returns once it has exited, so the port is free. No-op when not running."""
        if self.process is None or not self.running:
            return
        self.process.send_signal(self.stop_signals[mode])
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        leftovers.forget_server(self)

    def restart(self, mode: StopMode = "fast", timeout: float = START_TIMEOUT) -> None:
        """``stop(mode)`` then ``start()``: same port, same data directory."""
        self.stop(mode)
        self.start(timeout)

    def kill(self) -> None:
        """Immediate shutdown, SIGKILL if it is still there after a few seconds."""
        self.stop("immediate", timeout=5.0)

    def close(self) -> None:
        self.stop()
        if self._owns_directory:
            remove_temp_dir(self.directory)

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------- details

    def _spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C at the terminal must not shut it down under us.
                start_new_session=True,
                preexec_fn=kill_child_when_parent_dies,
                **as_user(self.user),
            )
        leftovers.add_server(self)

    def _ready(self) -> bool:
        if not self.running:
            self._raise_start_failure()
        return self.accepts_login()

    def _raise_start_failure(self) -> NoReturn:
        tail = self.log_tail()
        if any(sign in tail for sign in PORT_TAKEN):
            raise PortInUseError(tail)
        raise ServerStartError(f"{self.name} on port {self.port} exited at start:\n{tail}")

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait(STOP_TIMEOUT)
        leftovers.forget_server(self)

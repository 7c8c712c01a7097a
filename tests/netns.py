"""Separate hosts on one machine: Linux network namespaces made by the test itself.

``Network`` makes one server namespace holding a bridge (``SERVER_ADDRESS``) and
``apps`` app namespaces, each with only its loopback and one veth into that bridge
(``10.211.0.11``, ``.12``...): every app namespace is a host of its own, which
reaches the servers over the veth and nothing else. No traffic leaves the
namespaces made here (no route to the machine's own network, no NAT).

``enter(name)`` moves the calling thread (and every process it forks afterwards)
into a namespace; ``inside(name)`` does so for a ``with`` block and moves back.
Servers are started from a thread inside the server namespace, so they listen
there; worker processes ``enter`` their app namespace before opening a store.

Names carry this process's id, so parallel runs never meet; ``close()`` deletes
the namespaces (and with them their veths and the bridge), and is registered for
interpreter exit. Needs root and ``ip`` (iproute2); ``unavailable_reason()`` says
why not otherwise.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "SERVER_ADDRESS",
    "SUBNET",
    "NamespacedStore",
    "Network",
    "enter",
    "inside",
    "unavailable_reason",
]

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
SUBNET = "10.211.0"
SERVER_ADDRESS = f"{SUBNET}.1"
PREFIX_LENGTH = 24
_libc = ctypes.CDLL(None, use_errno=True)


def enter(name: str) -> None:
    """Move the calling thread into network namespace ``name`` (``setns``)."""
    with open(NETNS_DIR / name) as handle:
        _setns(handle.fileno())


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


@contextlib.contextmanager
def inside(name: str) -> Iterator[None]:
    """The ``with`` block runs in namespace ``name``; then back where it was."""
    with open("/proc/thread-self/ns/net") as home:
        enter(name)
        try:
            yield
        finally:
            _setns(home.fileno())


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *(["-n", namespace] if namespace else []), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {result.stderr.strip()}")


def unavailable_reason() -> str | None:
    """Why this machine cannot make namespaces here, or None when it can."""
    if not os.path.exists("/proc/thread-self/ns/net"):
        return "not Linux: no network namespaces"
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is missing"
    probe = f"swprobe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except RuntimeError as exc:
        return f"cannot make a network namespace: {exc}"
    with contextlib.suppress(RuntimeError):
        _ip("netns", "delete", probe)
    return None


@dataclass
class Network:
    """One server namespace with a bridge, and ``apps`` app namespaces joined to it."""

    apps: int
    tag: str = field(default_factory=lambda: f"sw{os.getpid() % 100000}")
    made: list[str] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"{self.tag}-srv"

    @property
    def app_namespaces(self) -> list[str]:
        return [f"{self.tag}-app{i}" for i in range(self.apps)]

    @staticmethod
    def app_address(number: int) -> str:
        return f"{SUBNET}.{11 + number}"

    def create(self) -> Network:
        atexit.register(self.close)
        try:
            self._add(self.server)
            _ip("link", "add", "br0", "type", "bridge", namespace=self.server)
            _ip(
                "addr",
                "add",
                f"{SERVER_ADDRESS}/{PREFIX_LENGTH}",
                "dev",
                "br0",
                namespace=self.server,
            )
            _ip("link", "set", "br0", "up", namespace=self.server)
            for number, name in enumerate(self.app_namespaces):
                self._join(number, name)
        except BaseException:
            self.close()
            raise
        return self

    def _add(self, name: str) -> None:
        _ip("netns", "add", name)
        self.made.append(name)
        _ip("link", "set", "lo", "up", namespace=name)

    def _join(self, number: int, name: str) -> None:
        """App namespace ``name``: its loopback, and ``eth0`` into the bridge."""
        self._add(name)
        inner, outer = f"{self.tag}a{number}", f"{self.tag}b{number}"
        _ip("link", "add", inner, "type", "veth", "peer", "name", outer, namespace=self.server)
        _ip("link", "set", inner, "netns", name, namespace=self.server)
        _ip("link", "set", outer, "master", "br0", namespace=self.server)
        _ip("link", "set", outer, "up", namespace=self.server)
        _ip("link", "set", inner, "name", "eth0", namespace=name)
        address = f"{self.app_address(number)}/{PREFIX_LENGTH}"
        _ip("addr", "add", address, "dev", "eth0", namespace=name)
        _ip("link", "set", "eth0", "up", namespace=name)

    def enter_app(self, number: int) -> None:
        """For worker ``number`` (round robin over the app namespaces)."""
        enter(self.app_namespaces[number % self.apps])

    def close(self) -> None:
        """Delete the namespaces made (veths and the bridge go with them)."""
        while self.made:
            with contextlib.suppress(RuntimeError):
                _ip("netns", "delete", self.made.pop())


@dataclass(frozen=True)
class NamespacedStore:
    """A picklable store factory for ``hammer_one_session`` in processes: each
    process that calls it (other than the one that made it) first claims the next
    app namespace, then opens ``url`` from there."""

    url: str
    namespaces: tuple[str, ...]
    claims: str  # a directory: one file per claimed slot
    owner: int = field(default_factory=os.getpid)

    def __call__(self) -> object:
        from sessionware import open_store

        if os.getpid() != self.owner:
            enter(self.namespaces[self._claim() % len(self.namespaces)])
        return open_store(self.url, setup=False)

    def _claim(self) -> int:
        for slot in range(1000):
            try:
                os.close(os.open(os.path.join(self.claims, str(slot)), os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                continue
            return slot
        raise RuntimeError("no namespace slot left")

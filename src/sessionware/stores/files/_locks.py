"""The file store's 256 shard locks: a thread lock plus an ``flock`` on
``locks/<shard>.lock`` each, so writers of one key exclude each other across
threads and processes."""

from __future__ import annotations

import fcntl
import os
import threading

from .._embedded.errors import store_error
from ._disk import CLOEXEC, open_creating_dirs

__all__ = ["LOCK_SHARDS", "ShardLock", "ShardLocks"]

LOCK_SHARDS = 256


class ShardLocks:
    """Every shard's lock in one process; each lock file is opened on first use."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.reset()

    def reset(self) -> None:
        """Forget every descriptor (the caller has closed them, or must not)."""
        self._thread_locks = [threading.Lock() for _ in range(LOCK_SHARDS)]
        self._lock_fds: dict[int, int] = {}
        self._fd_guard = threading.Lock()

    def after_fork(self) -> None:
        # Inherited descriptors share the parent's flock: a child needs its own.
        for fd in self._lock_fds.values():
            os.close(fd)
        self.reset()

    def lock(self, key: str) -> ShardLock:
        """The lock of the shard that ``key`` (a hex string) falls in."""
        shard = int(key[:2], 16)
        return ShardLock(self._thread_locks[shard], self._lock_fd(shard))

    def _lock_fd(self, shard: int) -> int:
        fd = self._lock_fds.get(shard)
        if fd is None:
            with self._fd_guard:
                fd = self._lock_fds.get(shard)
                if fd is None:
                    path = f"{self.directory}/{shard:02x}.lock"
                    try:
                        fd = open_creating_dirs(path, os.O_RDWR | os.O_CREAT | CLOEXEC)
                    except OSError as exc:
                        raise store_error("file", "open lock file", path, exc) from exc
                    self._lock_fds[shard] = fd
        return fd

    def close(self) -> None:
        with self._fd_guard:
            for fd in self._lock_fds.values():
                os.close(fd)
            self._lock_fds.clear()


class ShardLock:
    """Holds a shard's thread lock, then its ``flock``: threads of this process
    and other processes are both kept out."""

    __slots__ = ("_fd", "_lock")

    def __init__(self, lock: threading.Lock, fd: int) -> None:
        self._lock = lock
        self._fd = fd

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc_info: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

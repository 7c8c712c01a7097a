"""``DbmFile``: one open dbm database, whichever flavour, whose every read and
write reports a failure as a ``StoreError`` naming the file."""

from __future__ import annotations

import dbm
import errno
import fcntl
import os
from types import ModuleType
from typing import Any

from ...errors import StoreUnavailable
from .._embedded.errors import store_error
from ._dumb import DumbReader, repair_dumb_files

__all__ = ["DBM_ERRORS", "DbmFile", "ProcessLock"]

DBM_ERRORS: tuple[type[BaseException], ...] = (OSError, *dbm.error)


class DbmFile:
    """The database handle, and for ``dbm.dumb`` the reader that bypasses it."""

    __slots__ = ("db", "keep_length", "path", "reader")

    def __init__(self, path: str, db: Any) -> None:
        self.path = path
        self.db = db
        # dbm.dumb rewrites a value in place only if it is no longer than before.
        self.keep_length = type(db).__module__ == "dbm.dumb"
        self.reader = DumbReader.attach(db)

    @classmethod
    def open(cls, path: str, module: ModuleType | None) -> DbmFile:
        """Open (creating) ``path`` with ``module``, or with ``dbm.open``'s pick
        when None; raises one of ``DBM_ERRORS``."""
        if module is None or module.__name__ == "dbm.dumb":
            repair_dumb_files(path)
        opener = dbm.open if module is None else module.open
        return cls(path, opener(path, "c", 0o600))

    def __contains__(self, key: bytes) -> bool:
        return key in self.db

    def get(self, key: bytes) -> bytes | None:
        reader = self.reader
        try:
            value: bytes | None = self.db.get(key) if reader is None else reader.get(key)
        except DBM_ERRORS as exc:
            raise store_error("dbm", "read", self.path, exc) from exc
        return value

    def set(self, key: bytes, value: bytes) -> None:
        try:
            self.db[key] = value
        except DBM_ERRORS as exc:
            raise store_error("dbm", "write", self.path, exc) from exc

    def delete(self, key: bytes) -> None:
        try:
            del self.db[key]
        except KeyError:
            pass
        except DBM_ERRORS as exc:
            raise store_error("dbm", "delete from", self.path, exc) from exc

    def all_keys(self) -> list[bytes]:
        try:
            return list(self.db.keys())  # dbm.dumb and gdbm handles are not iterable alike
        except DBM_ERRORS as exc:
            raise store_error("dbm", "list", self.path, exc) from exc

    def sync(self) -> None:
        # dbm.dumb only writes its index here (and on close): a good moment to.
        sync = getattr(self.db, "sync", None)
        if sync is not None:
            try:
                sync()
            except DBM_ERRORS as exc:
                raise store_error("dbm", "sync", self.path, exc) from exc

    def close(self) -> None:
        reader, self.reader = self.reader, None
        try:
            self.db.close()
        except DBM_ERRORS as exc:
            raise store_error("dbm", "close", self.path, exc) from exc
        finally:
            if reader is not None:
                reader.close()


class ProcessLock:
    """An exclusive ``flock`` on ``<file>.lock``: one process (one store instance)
    uses a dbm file at a time, the others get ``StoreUnavailable``."""

    __slots__ = ("_fd", "path", "url")

    def __init__(self, path: str, url: str) -> None:
        self.path = path + ".lock"
        self.url = url
        self._fd: int | None = None

    def take(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreUnavailable(self.url, exc) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise StoreUnavailable(
                    self.url,
                    "in use by another process or store instance (a dbm file serves one "
                    "process; use sqlite:// or file:// for several workers)",
                ) from exc
            raise StoreUnavailable(self.url, exc) from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None

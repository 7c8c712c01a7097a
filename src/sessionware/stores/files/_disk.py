"""The file store's system calls: reading a record file, replacing one
atomically, and the small helpers around them (never following a symlink)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable

from .._embedded import framing
from .._embedded.errors import store_error

__all__ = [
    "CLOEXEC",
    "FIRST_READ",
    "MARKER_FLAGS",
    "TMP_SUFFIX",
    "listdir",
    "open_creating_dirs",
    "read",
    "unlink",
    "write_atomically",
]

FIRST_READ = 8192  # one read() gets the header, the user and most payloads
TMP_SUFFIX = ".tmp"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | CLOEXEC
MARKER_FLAGS = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | CLOEXEC


def read(path: str, limit: int | None = None) -> bytes | None:
    """The file's bytes (the first ``limit`` at most), or None when missing."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a symlink: never followed, never ours
            return b""
        raise store_error("file", "read", path, exc) from exc
    try:
        return _read_record_bytes(fd, limit)
    except OSError as exc:
        raise store_error("file", "read", path, exc) from exc
    finally:
        os.close(fd)


def write_atomically(path: str, parts: Iterable[bytes], fsync: bool) -> None:
    """Atomically put ``parts`` at ``path``. The caller holds the key's lock,
    which is why one fixed temporary name per key is enough."""
    temporary = path + TMP_SUFFIX
    try:
        fd = open_creating_dirs(temporary, _WRITE_FLAGS, 0o600)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise store_error("file", "write", temporary, exc) from exc
        unlink(temporary)  # someone planted a symlink: remove it, never follow it
        fd = os.open(temporary, _WRITE_FLAGS, 0o600)
    try:
        try:
            _write_all(fd, list(parts))
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        if fsync:
            _fsync_directory(os.path.dirname(path))
    except OSError as exc:
        unlink(temporary)
        raise store_error("file", "write", path, exc) from exc


def open_creating_dirs(path: str, flags: int, mode: int = 0o600) -> int:
    try:
        return os.open(path, flags, mode)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, flags, mode)


def _read_record_bytes(fd: int, limit: int | None) -> bytes:
    first = os.read(fd, FIRST_READ if limit is None else min(limit, FIRST_READ))
    if limit is not None and len(first) >= limit:
        return first
    header = framing.parse_header(first)
    if header is None or len(first) >= framing.total_size(header):
        return first
    chunks = [first]
    remaining = framing.total_size(header) - len(first) + 1  # +1: notice trailing garbage
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, parts: list[bytes]) -> None:
    total = sum(len(part) for part in parts)
    written = os.writev(fd, parts)
    if written < total:  # a short write: finish it the slow way
        rest = b"".join(parts)[written:]
        while rest:
            rest = rest[os.write(fd, rest) :]


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise store_error("file", "remove", path, exc) from exc


def listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise store_error("file", "list", directory, exc) from exc

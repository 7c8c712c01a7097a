"""Reading without waiting, for an event loop (used by the embedded stores' loads).

A thread hop costs 100-200 us on a busy 2-core machine; reading a small file that
the OS has in memory costs a few. These helpers read only what is already in
memory and raise BlockingIOError where anything would have to wait for the disk,
so a store can answer a load on the event loop and hand the rest to a thread.
Linux only (openat2 RESOLVE_CACHED: 5.12, preadv2 RWF_NOWAIT, cachestat: 6.5;
tmpfs, which has no RWF_NOWAIT, is read when cachestat finds the pages in
memory); elsewhere they always raise BlockingIOError: everything goes to a thread.
"""

from __future__ import annotations

import errno
import mmap
import os
import sys
import time
from collections.abc import Callable

__all__ = [
    "NOWAIT_READ_LIMIT",
    "ResidentFiles",
    "cached_pages",
    "open_cached",
    "pread_nowait",
    "read_cached_file",
]

NOWAIT_READ_LIMIT = 256 * 1024  # larger values are copied in a thread, not on the loop
_AT_FDCWD = -100
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_CACHED = 0x20
_SYS_OPENAT2 = 437  # one number on every architecture, as for all calls since Linux 5.1
_SYS_CACHESTAT = 451
_NOWAIT_FLAGS = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOATIME", 0)
_RWF_NOWAIT = getattr(os, "RWF_NOWAIT", 0)


class _Kernel:
    """The two system calls Python has no wrapper for, bound on first use (ctypes
    is imported only by stores that read without waiting). A call the kernel lacks
    is remembered as missing."""

    def __init__(self) -> None:
        self.loaded = False
        self.openat2: Callable[[str], int] | None = None
        self.cachestat: Callable[[int, int, int], int] | None = None
        self._keep: object = None

    def load(self) -> None:
        self.loaded = True
        if sys.platform != "linux" or not _RWF_NOWAIT:
            return
        try:
            self._bind()
        except (ImportError, OSError, AttributeError):  # no ctypes, or no libc to call
            self.openat2 = self.cachestat = None

    def _bind(self) -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        c_u64 = ctypes.c_uint64

        class OpenHow(ctypes.Structure):
            _fields_ = [("flags", c_u64), ("mode", c_u64), ("resolve", c_u64)]

        class CacheStat(ctypes.Structure):
            _fields_ = [(name, c_u64) for name in ("cache", "dirty", "writeback", "ev", "rev")]

        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        # Never follow a symlink, never wait for a directory read, never dirty the
        # inode with an access time (O_NOATIME: the store owns its files).
        how = OpenHow(_NOWAIT_FLAGS, 0, _RESOLVE_CACHED | _RESOLVE_NO_SYMLINKS)
        how_at, how_size = ctypes.addressof(how), ctypes.sizeof(how)

        def openat2(path: str) -> int:
            fd: int = syscall(
                ctypes.c_long(_SYS_OPENAT2),
                ctypes.c_long(_AT_FDCWD),
                ctypes.c_char_p(os.fsencode(path)),
                ctypes.c_void_p(how_at),
                ctypes.c_size_t(how_size),
            )
            if fd < 0:
                raise _os_error(ctypes.get_errno(), path)
            return fd

        def cachestat(fd: int, offset: int, length: int) -> int:
            # One range and result per call: threads may check at the same time.
            where, stat = (c_u64 * 2)(offset, length), CacheStat()
            arguments = (ctypes.byref(where), ctypes.byref(stat), ctypes.c_long(0))
            if syscall(ctypes.c_long(_SYS_CACHESTAT), ctypes.c_long(fd), *arguments) < 0:
                raise _os_error(ctypes.get_errno(), "")
            return int(stat.cache)

        self.openat2, self.cachestat = openat2, cachestat
        self._keep = how  # the memory openat2 points into


_KERNEL = _Kernel()
_MISSING = frozenset({errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP})  # an older kernel


def _os_error(number: int, path: str) -> OSError:
    return OSError(number, os.strerror(number), path) if path else OSError(number, "")


def _kernel() -> _Kernel:
    if not _KERNEL.loaded:
        _KERNEL.load()
    return _KERNEL


def open_cached(path: str) -> int:
    """A read-only descriptor for ``path``, or BlockingIOError when finding the file
    would read a directory from disk (or cannot be done without waiting here).
    FileNotFoundError when the cache knows the file is missing; a symlink anywhere
    on the way is refused (OSError ELOOP)."""
    openat2 = _kernel().openat2
    if openat2 is None:
        raise BlockingIOError(errno.EAGAIN, "no non-blocking open here", path)
    try:
        return openat2(path)
    except OSError as exc:
        if exc.errno in _MISSING:
            _KERNEL.openat2 = None  # never try again
        # EAGAIN: not in the directory cache; EPERM: O_NOATIME on a file not ours.
        if exc.errno in _MISSING or exc.errno in (errno.EAGAIN, errno.EPERM):
            raise BlockingIOError(errno.EAGAIN, str(exc), path) from exc
        raise


def pread_nowait(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset``, all from the page cache, or BlockingIOError: when
    they are not, when only some are (a short read without waiting is not an
    answer), and on any error (the blocking read in a thread then reports it)."""
    if size > NOWAIT_READ_LIMIT:
        raise BlockingIOError(errno.EAGAIN, "too large to copy on the event loop")
    if size == 0:
        return b""
    buffer = bytearray(size)
    try:
        got = os.preadv(fd, [buffer], offset, _RWF_NOWAIT)
    except OSError as exc:  # EAGAIN, or an error the blocking read will report
        if exc.errno != errno.EOPNOTSUPP or not _all_cached(fd, offset, size):
            raise BlockingIOError(errno.EAGAIN, f"not read without waiting: {exc}") from exc
        # tmpfs has no RWF_NOWAIT; its pages were all in memory a moment ago.
        got = _pread_into(fd, buffer, offset)
    if got != size:
        raise BlockingIOError(errno.EAGAIN, "only partly in the page cache")
    return bytes(buffer)


def read_cached_file(path: str, defer_close: Callable[[int], None]) -> bytes | None:
    """The whole file at ``path`` if finding and reading it needs no disk access;
    None when it is missing; BlockingIOError when it would have to wait.

    A file replaced (renamed over) while it was open is not closed here:
    dropping the last reference to a deleted inode frees its blocks, which can
    wait for the file system's journal; ``defer_close`` gets the descriptor, to
    close in a thread."""
    try:
        fd = open_cached(path)
    except FileNotFoundError:
        return None
    except BlockingIOError:
        raise
    except OSError as exc:  # a symlink, a permission problem: load() says what
        raise BlockingIOError(errno.EAGAIN, str(exc), path) from exc
    try:
        return pread_nowait(fd, _file_size(fd), 0)
    finally:
        if _unlinked(fd):
            defer_close(fd)
        else:
            os.close(fd)


def _file_size(fd: int) -> int:
    try:
        return os.fstat(fd).st_size
    except OSError as exc:
        raise BlockingIOError(errno.EAGAIN, str(exc)) from exc


def _unlinked(fd: int) -> bool:
    try:
        return os.fstat(fd).st_nlink == 0
    except OSError:
        return False


def _all_cached(fd: int, offset: int, size: int) -> bool:
    page = mmap.PAGESIZE
    pages = (offset + size - 1) // page - offset // page + 1
    cached = cached_pages(fd, offset, size)
    return cached is not None and cached >= pages


def _pread_into(fd: int, buffer: bytearray, offset: int) -> int:
    try:
        return os.preadv(fd, [buffer], offset)
    except OSError as exc:
        raise BlockingIOError(errno.EAGAIN, str(exc)) from exc


def cached_pages(fd: int, offset: int = 0, size: int = 0) -> int | None:
    """How many pages of the open file (of ``size`` bytes from ``offset``; 0: to
    the end) are in the page cache, never reading them; None where the kernel
    cannot tell (no cachestat: before Linux 6.5)."""
    cachestat = _kernel().cachestat
    if cachestat is None:
        return None
    try:
        return cachestat(fd, offset, size)
    except OSError as exc:
        if exc.errno in _MISSING:
            _KERNEL.cachestat = None
            return None
        raise


class ResidentFiles:
    """Whether some files are wholly in the page cache, so that reading any part of
    them cannot wait for the disk: a verdict at most ``INTERVAL`` seconds old
    (checking costs about 80 us per GB of file, and large files are checked less
    often, so that checking never takes more than 0.5% of the time). The files are
    opened here, once: call the constructor from a worker thread. Without
    cachestat (Linux 6.5) nothing is ever resident."""

    __slots__ = ("_fds", "_valid_until", "_verdict")

    INTERVAL = 0.25

    def __init__(self, paths: list[str]) -> None:
        self._fds: list[int] = []
        try:
            for path in paths:
                self._fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            self.close()
            raise
        self._valid_until = 0.0
        self._verdict = False

    def resident(self) -> bool:
        now = time.monotonic()
        if now < self._valid_until:
            return self._verdict
        self._verdict = self._check()
        self._valid_until = now + max(self.INTERVAL, (time.monotonic() - now) * 200)
        return self._verdict

    def _check(self) -> bool:
        try:
            for fd in self._fds:
                cached = cached_pages(fd)
                if cached is None or cached < -(-os.fstat(fd).st_size // mmap.PAGESIZE):
                    return False
        except OSError:
            return False
        return True

    def doubt(self) -> None:
        """Check again before the next read (one was slow: perhaps pages were evicted)."""
        self._valid_until = 0.0

    def close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)

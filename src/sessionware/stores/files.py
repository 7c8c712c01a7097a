"""``file:///dir``: one file per session, safe for many threads and processes.

Layout under the directory::

    data/ab/cd/<key>          one record (see ``_framing``), sharded by the key's
                              first four hex digits so no directory gets huge
    users/ab/cd/<user>/<key>  empty marker files: the user index
    revoked/ab/cd/<user>      a user's revocation marker: two floats, revoked_at
                              and keep_until (``<user>`` is the user id's hash)
    locks/ab.lock             256 shard locks (``flock``), created on first use

Every write goes to ``<key>.tmp`` in the same directory and is renamed over the
record (``os.replace``), so a reader or a crash sees the old record or the new
one, never a mix. Writers of a key hold its shard lock (a thread lock plus an
``flock`` on the shard's lock file), which makes ``save_if_version`` atomic
across processes. ``fsync=True`` (``?fsync=1``) also survives power loss.

Under ``ThreadedStore`` a load is answered on the event loop when the record is
in the kernel's caches (``load_nowait``); writes always run in a thread.

The user index is a hint checked when read: a marker is written before its
record and removed after, so a crash can leave a stale marker (dropped when
``ids_for_user`` or ``purge_expired`` meets it) but never a record that its
user's index misses.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..core.record import Record
from ..errors import StoreError, StoreUnavailable
from . import _framing as framing
from ._damaged import log_damaged
from ._local import as_bool, call_in_forked_child, split_url, store_error
from ._nowait import read_cached_file

__all__ = ["FileStore"]

LOCK_SHARDS = 256
FIRST_READ = 8192  # one read() gets the header, the user and most payloads
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_READ_FLAGS = os.O_RDONLY | _NOFOLLOW | _CLOEXEC
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | _CLOEXEC
_MARKER_FLAGS = os.O_WRONLY | os.O_CREAT | _NOFOLLOW | _CLOEXEC
_TMP_SUFFIX = ".tmp"
_MARKER = struct.Struct("<dd")  # a revocation marker file: revoked_at, keep_until


class InvalidKeyError(StoreError, ValueError):
    """A key that is not 40 lowercase hex characters reached the file store."""


class _Peek:
    """What a writer needs to know about the stored record: its header and user."""

    __slots__ = ("header", "user_id")

    def __init__(self, header: framing.Header, user_id: str | None) -> None:
        self.header = header
        self.user_id = user_id


class FileStore:
    def __init__(self, directory: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.directory = os.path.abspath(os.fspath(directory))
        self.fsync = fsync
        self._data = os.path.join(self.directory, "data")
        self._users = os.path.join(self.directory, "users")
        self._revoked = os.path.join(self.directory, "revoked")
        self._locks = os.path.join(self.directory, "locks")
        self._reset_locks()
        call_in_forked_child(self._after_fork)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FileStore:
        path, query = split_url(url)
        if not path:
            raise ValueError(f"file store URL needs a directory: {url!r}")
        settings: dict[str, Any] = {**query, **options}
        fsync = as_bool("fsync", settings.pop("fsync", False))
        if settings:
            raise TypeError(f"unknown file store options: {sorted(settings)}")
        return cls(path, fsync=fsync)

    def __repr__(self) -> str:
        return f"FileStore({self.directory!r}, fsync={self.fsync})"

    # -- paths and locks --------------------------------------------------------

    def _after_fork(self) -> None:
        # Inherited descriptors share the parent's flock: a child needs its own.
        for fd in [*self._lock_fds.values(), *self._unclosed]:
            os.close(fd)
        self._reset_locks()

    def _close_unclosed(self) -> None:
        """Close descriptors ``load_nowait`` left open (it runs on an event loop)."""
        unclosed = self._unclosed
        while True:
            try:
                fd = unclosed.pop()  # atomic: threads may drain it at once
            except IndexError:
                return
            os.close(fd)

    def _reset_locks(self) -> None:
        self._unclosed: list[int] = []
        self._thread_locks = [threading.Lock() for _ in range(LOCK_SHARDS)]
        self._lock_fds: dict[int, int] = {}
        self._fd_guard = threading.Lock()

    def _record_path(self, key: str) -> str:
        return f"{self._data}/{key[:2]}/{key[2:4]}/{key}"

    def _user_dir(self, user_id: str) -> str:
        name = framing.user_key(user_id)
        return f"{self._users}/{name[:2]}/{name[2:4]}/{name}"

    def _revoked_path(self, name: str) -> str:
        return f"{self._revoked}/{name[:2]}/{name[2:4]}/{name}"

    def _lock_fd(self, shard: int) -> int:
        fd = self._lock_fds.get(shard)
        if fd is None:
            with self._fd_guard:
                fd = self._lock_fds.get(shard)
                if fd is None:
                    path = f"{self._locks}/{shard:02x}.lock"
                    try:
                        fd = _open_creating_dirs(path, os.O_RDWR | os.O_CREAT | _CLOEXEC)
                    except OSError as exc:
                        raise store_error("file", "open lock file", path, exc) from exc
                    self._lock_fds[shard] = fd
        return fd

    def _locked(self, key: str) -> _ShardLock:
        if self._unclosed:
            self._close_unclosed()
        shard = int(key[:2], 16)
        return _ShardLock(self._thread_locks[shard], self._lock_fd(shard))

    # -- reading ----------------------------------------------------------------

    def _read(self, path: str, limit: int | None = None) -> bytes | None:
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

    def _peek(self, path: str) -> _Peek | None:
        """Header and user of the stored record; None when missing or damaged."""
        blob = self._read(path, FIRST_READ)
        if blob is None:
            return None
        header = framing.parse_header(blob)
        if header is None:
            return None
        user_id = framing.stored_user(header, blob)
        if user_id is None and header.user_len != framing.NO_USER:
            user_id = self._full_user(path, header)
        return _Peek(header, user_id)

    def _full_user(self, path: str, header: framing.Header) -> str | None:
        # A user id longer than the first read: rare, so read the whole file.
        blob = self._read(path)
        return None if blob is None else framing.stored_user(header, blob)

    def _expiry_of(self, path: str) -> float | None:
        blob = self._read(path, framing.HEADER_SIZE)
        header = None if blob is None else framing.parse_header(blob)
        return None if header is None else header.expires_at

    # -- writing ----------------------------------------------------------------

    def _write(self, path: str, parts: Iterable[bytes]) -> None:
        """Atomically put ``parts`` at ``path``. The caller holds the key's lock,
        which is why one fixed temporary name per key is enough."""
        temporary = path + _TMP_SUFFIX
        try:
            fd = _open_creating_dirs(temporary, _WRITE_FLAGS, 0o600)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise store_error("file", "write", temporary, exc) from exc
            _unlink(temporary)  # someone planted a symlink: remove it, never follow it
            fd = os.open(temporary, _WRITE_FLAGS, 0o600)
        try:
            try:
                _write_all(fd, list(parts))
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, path)
            if self.fsync:
                _fsync_directory(os.path.dirname(path))
        except OSError as exc:
            _unlink(temporary)
            raise store_error("file", "write", path, exc) from exc

    def _put(self, record: Record, previous: _Peek | None, now: float) -> None:
        key = record.id
        before = None
        if previous is not None and previous.header.expires_at > now:
            before = previous.user_id
        after = record.user_id
        if after is not None and before != after:
            self._add_marker(after, key)  # before the record: the index never misses it
        self._write(self._record_path(key), framing.encode_parts(record))
        if before is not None and before != after:
            self._remove_marker(before, key)

    def _add_marker(self, user_id: str, key: str) -> None:
        path = f"{self._user_dir(user_id)}/{key}"
        try:
            os.close(_open_creating_dirs(path, _MARKER_FLAGS, 0o600))
        except OSError as exc:
            raise store_error("file", "index user of", path, exc) from exc

    def _remove_marker(self, user_id: str, key: str) -> None:
        _unlink(f"{self._user_dir(user_id)}/{key}")

    def _remove(self, key: str) -> int:
        """Delete one record and its marker; the caller holds the key's lock."""
        path = self._record_path(key)
        previous = self._peek(path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise store_error("file", "delete", path, exc) from exc
        if previous is not None and previous.user_id is not None:
            self._remove_marker(previous.user_id, key)
        return 1

    def _discard_if_damaged(self, key: str) -> None:
        """Remove a record that failed to decode, if it still does under the lock
        (a writer may have replaced it meanwhile)."""
        path = self._record_path(key)
        with self._locked(key):
            blob = self._read(path)
            if blob is not None and framing.decode(key, blob) is None:
                _unlink(path)
                log_damaged(f"file://{self.directory}", key)

    # -- the store interface ----------------------------------------------------

    def setup(self) -> None:
        try:
            for directory in (self._data, self._users, self._revoked, self._locks):
                os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"file://{self.directory}", exc) from exc

    def load(self, id: str) -> Record | None:
        if self._unclosed:
            self._close_unclosed()
        if not framing.valid_key(id):
            return None
        blob = self._read(self._record_path(id))
        if blob is None:
            return None
        record = framing.decode(id, blob)
        if record is None:
            self._discard_if_damaged(id)
            return None
        return record if record.expires_at > time.time() else None

    def load_nowait(self, id: str) -> Record | None:
        """``load``, from an event loop: raises BlockingIOError instead of waiting
        (``ThreadedStore`` then runs ``load`` in a thread).

        Never waits, because: a load takes no lock (writers rename whole files);
        the file is opened only if every directory on its path is in the kernel's
        cache (openat2 RESOLVE_CACHED) and read only if all of it is in the page
        cache (preadv2 RWF_NOWAIT), without updating its access time (O_NOATIME,
        which would dirty the inode for the journal). A damaged record goes to the
        thread too, where ``load`` removes it under the key's lock. A file replaced
        while it was read is closed later, by the next operation in a thread
        (closing the last reference to a deleted file may wait for the journal).
        """
        if not framing.valid_key(id):
            return None
        blob = read_cached_file(self._record_path(id), self._unclosed.append)
        if blob is None:
            return None
        record = framing.decode(id, blob)
        if record is None:
            raise BlockingIOError(errno.EAGAIN, "a damaged record: load() removes it")
        return record if record.expires_at > time.time() else None

    def save(self, record: Record) -> None:
        key = _checked(record.id)
        with self._locked(key):
            self._put(record, self._peek(self._record_path(key)), time.time())

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        key = _checked(record.id)
        now = time.time()
        with self._locked(key):
            previous = self._peek(self._record_path(key))
            if _live_version(previous, now) != expected_version:
                return False
            self._put(record, previous, now)
            return True

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        now = time.time()
        for key, expires_at in expiries.items():
            if framing.valid_key(key):
                self._touch(key, expires_at, now)

    def _touch(self, key: str, expires_at: float, now: float) -> None:
        path = self._record_path(key)
        with self._locked(key):
            blob = self._read(path)
            if blob is None:
                return
            header = framing.parse_header(blob)
            # Only ever later: a touch queued earlier must not undo a later save.
            if header is None or not now < header.expires_at < expires_at:
                return
            self._write(path, (framing.with_expiry(blob, header, expires_at),))

    def delete(self, id: str) -> int:
        if not framing.valid_key(id):
            return 0
        with self._locked(id):
            return self._remove(id)

    def delete_many(self, ids: Iterable[str]) -> int:
        return sum(self.delete(id) for id in ids)

    def delete_all(self) -> int:
        removed = sum(self.delete(key) for key in list(self._stored_keys()))
        self._purge_markers(None)
        return removed

    def ids(self) -> Iterator[str]:
        now = time.time()
        for key in self._stored_keys():
            expires_at = self._expiry_of(self._record_path(key))
            if expires_at is not None and expires_at > now:
                yield key

    def count(self) -> int:
        return sum(1 for _ in self.ids())

    def ids_for_user(self, user_id: str) -> list[str]:
        directory = self._user_dir(user_id)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise store_error("file", "list", directory, exc) from exc
        found = []
        for key in names:
            if not framing.valid_key(key):
                continue
            record = self.load(key)
            if record is not None and record.user_id == user_id:
                found.append(key)
            else:  # gone, expired, damaged or moved to another user
                self._drop_stale_marker(user_id, key)
        return found

    def _drop_stale_marker(self, user_id: str, key: str) -> None:
        with self._locked(key):
            peek = self._peek(self._record_path(key))
            if peek is None or peek.user_id != user_id:
                self._remove_marker(user_id, key)

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        # Read, take the max, replace: under the shard lock, so atomic across processes.
        name = framing.user_key(user_id)
        path = self._revoked_path(name)
        with self._locked(name):
            old = _marker(self._read(path))
            if old is not None:
                revoked_at, keep_until = max(old[0], revoked_at), max(old[1], keep_until)
            self._write(path, [_MARKER.pack(revoked_at, keep_until)])

    def user_revoked_at(self, user_id: str) -> float | None:
        # No lock: os.replace means a reader sees the old marker or the new one.
        marker = _marker(self._read(self._revoked_path(framing.user_key(user_id))))
        if marker is None or marker[1] <= time.time():
            return None
        return marker[0]

    def _purge_markers(self, cutoff: float | None) -> None:
        """Remove the markers kept until ``cutoff`` or before (every one if None)."""
        for first in _listdir(self._revoked):
            for second in _listdir(f"{self._revoked}/{first}"):
                directory = f"{self._revoked}/{first}/{second}"
                for name in _listdir(directory):
                    key = name.removesuffix(_TMP_SUFFIX)
                    if framing.valid_key(key):
                        with self._locked(key):  # re-read: it may have been renewed
                            self._drop_marker_file(f"{directory}/{name}", cutoff)

    def _drop_marker_file(self, path: str, cutoff: float | None) -> None:
        marker = None if path.endswith(_TMP_SUFFIX) else _marker(self._read(path))
        if cutoff is None or marker is None or marker[1] <= cutoff:
            _unlink(path)

    def purge_expired(self, now: float | None = None) -> int:
        """Walks every shard; each removal takes only its own key's lock, so
        requests are never held up for more than one file operation."""
        cutoff = time.time() if now is None else now
        self._purge_markers(cutoff)
        removed = 0
        for directory, name in self._shard_entries():
            if name.endswith(_TMP_SUFFIX):
                self._remove_leftover_temporary(directory, name)
                continue
            if not framing.valid_key(name):
                continue
            expires_at = self._expiry_of(f"{directory}/{name}")
            if expires_at is None or expires_at <= cutoff:
                removed += self._purge_one(name, cutoff)
        return removed

    def _purge_one(self, key: str, cutoff: float) -> int:
        with self._locked(key):
            expires_at = self._expiry_of(self._record_path(key))
            if expires_at is not None and expires_at > cutoff:
                return 0  # re-saved meanwhile
            return self._remove(key)

    def _remove_leftover_temporary(self, directory: str, name: str) -> None:
        key = name[: -len(_TMP_SUFFIX)]
        if framing.valid_key(key):
            with self._locked(key):  # writers hold this lock while their temp exists
                _unlink(f"{directory}/{name}")

    def close(self) -> None:
        self._close_unclosed()
        with self._fd_guard:
            for fd in self._lock_fds.values():
                os.close(fd)
            self._lock_fds.clear()

    # -- walking ----------------------------------------------------------------

    def _shard_entries(self) -> Iterator[tuple[str, str]]:
        for first in _listdir(self._data):
            for second in _listdir(f"{self._data}/{first}"):
                directory = f"{self._data}/{first}/{second}"
                for name in _listdir(directory):
                    yield directory, name

    def _stored_keys(self) -> Iterator[str]:
        for _, name in self._shard_entries():
            if framing.valid_key(name):
                yield name


class _ShardLock:
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


def _live_version(peek: _Peek | None, now: float) -> int:
    if peek is None or peek.header.expires_at <= now:
        return 0
    return peek.header.version


def _marker(blob: bytes | None) -> tuple[float, float] | None:
    """``(revoked_at, keep_until)`` from a marker file; None when missing or damaged."""
    if blob is None or len(blob) != _MARKER.size:
        return None
    revoked_at, keep_until = _MARKER.unpack(blob)
    return float(revoked_at), float(keep_until)


def _checked(key: str) -> str:
    if not framing.valid_key(key):
        raise InvalidKeyError(f"file store keys are 40 lowercase hex characters, got {key!r}")
    return key


def _open_creating_dirs(path: str, flags: int, mode: int = 0o600) -> int:
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
    fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise store_error("file", "remove", path, exc) from exc


def _listdir(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise store_error("file", "list", directory, exc) from exc

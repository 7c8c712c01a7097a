"""``FileStore``: the store interface over the files laid out as the package
docstring says (``_disk`` does the system calls, ``_locks`` the shard locks,
``_revocations`` the revocation markers)."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ...core.record import Record
from ...errors import StoreError, StoreUnavailable
from .._damaged import log_damaged
from .._embedded import framing
from .._embedded.errors import store_error
from .._embedded.forking import call_in_forked_child
from .._embedded.nowait import read_cached_file
from .._embedded.urls import as_bool, no_more_settings, url_settings
from ..listing import newest_first, newest_keys
from . import _disk as disk
from ._disk import FIRST_READ, MARKER_FLAGS, TMP_SUFFIX, listdir, open_creating_dirs, unlink
from ._locks import ShardLock, ShardLocks
from ._revocations import RevocationMarkers

__all__ = ["FileStore", "InvalidKeyError"]


class InvalidKeyError(StoreError, ValueError):
    """A key that is not 40 lowercase hex characters reached the file store."""


class _Peek:
    """What a writer needs to know about the stored record: its header and user."""

    __slots__ = ("header", "user_id")

    def __init__(self, header: framing.Header, user_id: str | None) -> None:
        self.header = header
        self.user_id = user_id


class FileStore:
    """``file:///dir``: one file per session under ``directory``, written atomically
    (a temporary file, then a rename; ``fsync=True`` also survives a power cut).

    Safe for many threads and processes of one machine: a compare-and-set holds an
    ``flock`` on its key's shard. Keys are checked to be 40 hex characters before any
    path is built, and files are opened without following symlinks."""

    def __init__(self, directory: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.directory = os.path.abspath(os.fspath(directory))
        self.fsync = fsync
        self._data = os.path.join(self.directory, "data")
        self._users = os.path.join(self.directory, "users")
        self._revoked = os.path.join(self.directory, "revoked")
        self._locks = os.path.join(self.directory, "locks")
        self._unclosed: list[int] = []
        self._shards = ShardLocks(self._locks)
        self._markers = RevocationMarkers(self._revoked, self._locked, self._write)
        call_in_forked_child(self._after_fork)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> FileStore:
        path, settings = url_settings(url, options, "file store URL needs a directory")
        fsync = as_bool("fsync", settings.pop("fsync", False))
        no_more_settings("file", settings)
        return cls(path, fsync=fsync)

    def __repr__(self) -> str:
        return f"FileStore({self.directory!r}, fsync={self.fsync})"

    # -- paths and locks --------------------------------------------------------

    def _after_fork(self) -> None:
        # Inherited descriptors share the parent's flock: a child needs its own.
        for fd in self._unclosed:
            os.close(fd)
        self._unclosed = []
        self._shards.after_fork()

    def _close_unclosed(self) -> None:
        """Close descriptors ``load_nowait`` left open (it runs on an event loop)."""
        unclosed = self._unclosed
        while True:
            try:
                fd = unclosed.pop()  # atomic: threads may drain it at once
            except IndexError:
                return
            os.close(fd)

    def _record_path(self, key: str) -> str:
        return f"{self._data}/{key[:2]}/{key[2:4]}/{key}"

    def _user_dir(self, user_id: str) -> str:
        name = framing.user_key(user_id)
        return f"{self._users}/{name[:2]}/{name[2:4]}/{name}"

    def _locked(self, key: str) -> ShardLock:
        if self._unclosed:
            self._close_unclosed()
        return self._shards.lock(key)

    # -- reading and writing ----------------------------------------------------

    def _peek(self, path: str) -> _Peek | None:
        """Header and user of the stored record; None when missing or damaged."""
        blob = disk.read(path, FIRST_READ)
        if blob is None:
            return None
        header = framing.parse_header(blob)
        if header is None:
            return None
        user_id = framing.stored_user(header, blob)
        if user_id is None and header.user_len != framing.NO_USER:
            # A user id longer than the first read: rare, so read the whole file.
            whole = disk.read(path)
            user_id = None if whole is None else framing.stored_user(header, whole)
        return _Peek(header, user_id)

    def _header_at(self, path: str) -> framing.Header | None:
        blob = disk.read(path, framing.HEADER_SIZE)
        return None if blob is None else framing.parse_header(blob)

    def _expiry_of(self, path: str) -> float | None:
        header = self._header_at(path)
        return None if header is None else header.expires_at

    def _write(self, path: str, parts: Iterable[bytes]) -> None:
        disk.write_atomically(path, parts, self.fsync)

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
            os.close(open_creating_dirs(path, MARKER_FLAGS, 0o600))
        except OSError as exc:
            raise store_error("file", "index user of", path, exc) from exc

    def _remove_marker(self, user_id: str, key: str) -> None:
        unlink(f"{self._user_dir(user_id)}/{key}")

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
            blob = disk.read(path)
            if blob is not None and framing.decode(key, blob) is None:
                unlink(path)
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
        blob = disk.read(self._record_path(id))
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
            blob = disk.read(path)
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
        self._markers.purge(None)
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

    def newest(self, limit: int) -> list[Record]:
        """Reads each record's header only, and then the ``limit`` newest whole."""
        now = time.time()
        headers = ((key, self._header_at(self._record_path(key))) for key in self._stored_keys())
        created = (
            (h.created_at, key) for key, h in headers if h is not None and h.expires_at > now
        )
        loaded = (self.load(key) for key in newest_keys(created, limit))
        return newest_first((record for record in loaded if record is not None), limit)

    def delete_if_version(self, id: str, expected_version: int) -> bool:
        if not framing.valid_key(id):
            return False
        with self._locked(id):
            peek = self._peek(self._record_path(id))
            if peek is None or peek.header.version != expected_version:
                return False
            return self._remove(id) == 1

    def _drop_stale_marker(self, user_id: str, key: str) -> None:
        with self._locked(key):
            peek = self._peek(self._record_path(key))
            if peek is None or peek.user_id != user_id:
                self._remove_marker(user_id, key)

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        self._markers.mark(user_id, revoked_at, keep_until)

    def user_revoked_at(self, user_id: str) -> float | None:
        return self._markers.revoked_at(user_id)

    def purge_expired(self, now: float | None = None) -> int:
        """Walks every shard; each removal takes only its own key's lock, so
        requests are never held up for more than one file operation."""
        cutoff = time.time() if now is None else now
        self._markers.purge(cutoff)
        removed = 0
        for directory, name in self._shard_entries():
            if name.endswith(TMP_SUFFIX):
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
        key = name[: -len(TMP_SUFFIX)]
        if framing.valid_key(key):
            with self._locked(key):  # writers hold this lock while their temp exists
                unlink(f"{directory}/{name}")

    def close(self) -> None:
        self._close_unclosed()
        self._shards.close()

    # -- walking ----------------------------------------------------------------

    def _shard_entries(self) -> Iterator[tuple[str, str]]:
        for first in listdir(self._data):
            for second in listdir(f"{self._data}/{first}"):
                directory = f"{self._data}/{first}/{second}"
                for name in listdir(directory):
                    yield directory, name

    def _stored_keys(self) -> Iterator[str]:
        for _, name in self._shard_entries():
            if framing.valid_key(name):
                yield name


def _live_version(peek: _Peek | None, now: float) -> int:
    if peek is None or peek.header.expires_at <= now:
        return 0
    return peek.header.version


def _checked(key: str) -> str:
    if not framing.valid_key(key):
        raise InvalidKeyError(f"file store keys are 40 lowercase hex characters, got {key!r}")
    return key

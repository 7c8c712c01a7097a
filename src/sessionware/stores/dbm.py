"""``dbm:///path/file``: sessions in a stdlib ``dbm`` database, for one process.

Whichever ``dbm`` flavour Python has is used (``dbm.gnu``, ``dbm.ndbm``, else the
pure-Python ``dbm.dumb``), or the one named with ``?flavour=dumb``. Records are
stored one key each (``_framing``: fixed header with expiry, version and CRCs), so
a save writes one value and never the whole file. The user index lives in the
same database under ``u:<sha256(user)>`` keys (40-hex record keys cannot collide
with it) and is checked when read; revocation markers live under
``r:<sha256(user)>`` keys (``revoked_at`` and ``keep_until`` as two doubles).

One process only: ``dbm`` files cannot be shared by processes (each keeps its own
view), so the store takes an exclusive ``flock`` on ``<file>.lock`` and a second
process gets ``StoreUnavailable``; use ``sqlite://`` or ``file://`` for several
workers. Threads of the process share one handle behind a lock. Being the
file's only user, the store remembers the header of each record it read or
wrote, so a save does not read the value back; ``dbm.dumb`` values are read
with one ``pread`` (``_DumbReader``), and under ``ThreadedStore`` on the event
loop when they are in memory (``load_nowait``).

Crashes: a damaged value fails its CRC and reads as a missing session (and is
removed), never as wrong data, and a torn ``dbm.dumb`` index is repaired on open.
``dbm.dumb`` keeps some index changes in memory until ``sync()`` (run by
``close()``, ``purge_expired()`` and every delete), so after a SIGKILL: a new
session is there or missing; a rewrite that fits the value's old space (the store
pads shorter values to the old length so that it always does unless the session
grew) is the new value, or the old one, or missing if the kill tore the write; a
session that grew past its old space comes back as its last version from before
the last sync. gdbm and ndbm give their own (format-specific) guarantees.
"""

from __future__ import annotations

import ast
import dbm
import errno
import fcntl
import importlib
import os
import shutil
import struct
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any, NamedTuple

from ..core.record import Record
from ..errors import StoreError, StoreUnavailable
from . import _framing as framing
from ._damaged import log_damaged
from ._local import call_in_forked_child, split_url, store_error
from ._nowait import pread_nowait

__all__ = ["DbmStore"]

FLAVOURS = ("gnu", "ndbm", "dumb")
BATCH = 1000  # keys handled per lock hold in scans, so requests get in between
_USER_PREFIX = b"u:"
_REVOKED_PREFIX = b"r:"
_MARKER = struct.Struct("<dd")  # a revocation marker: revoked_at, keep_until
_KEY_LENGTH = 40
KNOWN_LIMIT = 10_000  # records whose stored header is remembered (about 1 MB)
_ERRORS: tuple[type[BaseException], ...] = (OSError, *dbm.error)


class _Known(NamedTuple):
    """What a writer needs to know about a stored value: its live version and
    expiry, its user (for the index) and its stored length (for dumb's padding)."""

    version: int
    expires_at: float
    user_id: str | None
    length: int


def _known(record: Record, length: int) -> _Known:
    return _Known(record.version, record.expires_at, record.user_id, length)


def _damaged(length: int) -> _Known:
    """A stored value whose header does not parse: no live version, no user."""
    return _Known(0, 0.0, None, length)


class DbmStore:
    def __init__(self, path: str | os.PathLike[str], *, flavour: str | None = None) -> None:
        if flavour is not None and flavour not in FLAVOURS:
            raise ValueError(f"dbm flavour must be one of {FLAVOURS}, got {flavour!r}")
        self.path = os.path.abspath(os.fspath(path))
        self.flavour = flavour
        self._lock = threading.Lock()
        self._db: Any = None
        self._reader: _DumbReader | None = None
        self._keep_length = False
        # The header of each record last read or written, so that a save does not
        # read the value back first. Sound because this instance is the file's only
        # user (the flock below) and every write goes through it; cleared on open
        # and close. Bounded: the oldest entries go first.
        self._known: dict[bytes, _Known] = {}
        self._lock_fd: int | None = None
        self._forked = False  # a hook, not os.getpid() on every operation
        call_in_forked_child(self._mark_forked)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DbmStore:
        path, query = split_url(url)
        if not path:
            raise ValueError(f"dbm store URL needs a file path: {url!r}")
        settings: dict[str, Any] = {**query, **options}
        flavour = settings.pop("flavour", None) or settings.pop("flavor", None)
        if settings:
            raise TypeError(f"unknown dbm store options: {sorted(settings)}")
        return cls(path, flavour=flavour)

    def __repr__(self) -> str:
        return f"DbmStore({self.path!r}, flavour={self.flavour!r})"

    @property
    def url(self) -> str:
        return f"dbm://{self.path}"

    # -- opening ----------------------------------------------------------------

    def _mark_forked(self) -> None:
        self._forked = True

    def _handle(self) -> Any:
        """The open database; the caller holds ``self._lock``."""
        if self._forked:
            raise StoreError(
                f"dbm store {self.path} was opened before a fork; open it in each process"
            )
        if self._db is None:
            self._open()
        return self._db

    def _open(self) -> None:
        self._take_process_lock()
        self._known.clear()
        try:
            module = self._module()
            if module is None or module.__name__ == "dbm.dumb":
                _repair_dumb_files(self.path)
            opener = dbm.open if module is None else module.open
            self._db = opener(self.path, "c", 0o600)
            self._keep_length = type(self._db).__module__ == "dbm.dumb"
            self._reader = _DumbReader.attach(self._db)
        except BaseException as exc:
            self._release_process_lock()
            if isinstance(exc, _ERRORS):
                raise StoreUnavailable(self.url, exc) from exc
            raise

    def _module(self) -> ModuleType | None:
        """The flavour asked for, else None: ``dbm.open`` picks it."""
        if self.flavour is None:
            return None
        try:
            return importlib.import_module(f"dbm.{self.flavour}")
        except ImportError as exc:
            raise StoreUnavailable(self.url, f"dbm.{self.flavour} is not available") from exc

    def _take_process_lock(self) -> None:
        path = self.path + ".lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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
        self._lock_fd = fd

    def _release_process_lock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # -- record helpers (caller holds self._lock) -------------------------------

    def _get(self, db: Any, key: bytes) -> bytes | None:
        reader = self._reader
        try:
            value: bytes | None = db.get(key) if reader is None else reader.get(key)
        except _ERRORS as exc:
            raise store_error("dbm", "read", self.path, exc) from exc
        return value

    def _set(self, db: Any, key: bytes, value: bytes) -> None:
        try:
            db[key] = value
        except _ERRORS as exc:
            raise store_error("dbm", "write", self.path, exc) from exc

    def _delete_key(self, db: Any, key: bytes) -> None:
        try:
            del db[key]
        except KeyError:
            pass
        except _ERRORS as exc:
            raise store_error("dbm", "delete from", self.path, exc) from exc

    def _previous(self, db: Any, key: bytes) -> _Known | None:
        """The stored value's header, remembered or read; None when there is none."""
        known = self._known.get(key)
        if known is not None:
            return known
        blob = self._get(db, key)
        if blob is None:
            return None
        header = framing.parse_header(blob)
        if header is None:
            return _damaged(len(blob))
        user_id = framing.stored_user(header, blob)
        return _Known(header.version, header.expires_at, user_id, len(blob))

    def _remember(self, key: bytes, known: _Known) -> None:
        known_headers = self._known
        known_headers.pop(key, None)  # re-inserted last: the oldest go first
        if len(known_headers) >= KNOWN_LIMIT:
            del known_headers[next(iter(known_headers))]
        known_headers[key] = known

    def _put(self, db: Any, record: Record, previous: _Known | None, now: float) -> None:
        key = record.id.encode()
        before = None
        if previous is not None and previous.expires_at > now:
            before = previous.user_id
        after = record.user_id
        if after is not None and after != before:
            self._index_add(db, after, key)  # before the record: the index never misses it
        value = self._stored_form(record, previous)
        self._known.pop(key, None)  # a write that fails leaves the value unknown
        self._set(db, key, value)
        self._remember(key, _known(record, len(value)))
        if before is not None and before != after:
            self._index_remove(db, before, key)

    def _stored_form(self, record: Record, previous: _Known | None) -> bytes:
        value = b"".join(framing.encode_parts(record))
        if self._keep_length and previous is not None and previous.length > len(value):
            # dbm.dumb writes a value that fits in place, but keeps a changed length
            # in memory until sync: padded to the old length, the on-disk index stays
            # right, so the new value is what a crash leaves (decode skips padding).
            value += bytes(previous.length - len(value))
        return value

    def _remove(self, db: Any, key: bytes) -> int:
        self._known.pop(key, None)
        previous = self._get(db, key)
        if previous is None:
            return 0
        self._delete_key(db, key)
        header = framing.parse_header(previous)
        user_id = None if header is None else framing.stored_user(header, previous)
        if user_id is not None:
            self._index_remove(db, user_id, key)
        return 1

    def _index_keys(self, db: Any, user_id: str) -> tuple[bytes, list[bytes]]:
        index_key = _USER_PREFIX + framing.user_key(user_id).encode()
        value = self._get(db, index_key) or b""
        keys = [value[i : i + _KEY_LENGTH] for i in range(0, len(value), _KEY_LENGTH)]
        return index_key, keys

    def _index_add(self, db: Any, user_id: str, key: bytes) -> None:
        index_key, keys = self._index_keys(db, user_id)
        if key not in keys:
            self._set(db, index_key, b"".join([*keys, key]))

    def _index_remove(self, db: Any, user_id: str, key: bytes) -> None:
        index_key, keys = self._index_keys(db, user_id)
        if key in keys:
            # An emptied index keeps its key: deleting rewrites dbm.dumb's whole index.
            self._set(db, index_key, b"".join(k for k in keys if k != key))

    def _marker(self, db: Any, key: bytes) -> tuple[float, float] | None:
        blob = self._get(db, key)
        if blob is None or len(blob) != _MARKER.size:
            return None  # missing, or damaged: overwritten or purged
        revoked_at, keep_until = _MARKER.unpack(blob)
        return float(revoked_at), float(keep_until)

    def _remove_markers(self, cutoff: float | None) -> None:
        """Remove the markers kept until ``cutoff`` or before (every one if None)."""
        with self._lock:
            db = self._handle()
            try:
                keys = list(db.keys())  # dbm.dumb and gdbm handles are not iterable alike
            except _ERRORS as exc:
                raise store_error("dbm", "list", self.path, exc) from exc
            for key in (key for key in keys if key.startswith(_REVOKED_PREFIX)):
                marker = self._marker(db, key)
                if cutoff is None or marker is None or marker[1] <= cutoff:
                    self._delete_key(db, key)

    def _record_keys(self, db: Any) -> list[bytes]:
        try:
            keys = list(db.keys())
        except _ERRORS as exc:
            raise store_error("dbm", "list", self.path, exc) from exc
        return [key for key in keys if len(key) == _KEY_LENGTH and framing.valid_key(key.decode())]

    def _batches(self) -> Iterator[tuple[Any, list[bytes]]]:
        """The record keys in batches, each handed out with the lock held."""
        with self._lock:
            keys = self._record_keys(self._handle())
        for start in range(0, len(keys), BATCH):
            with self._lock:
                yield self._handle(), keys[start : start + BATCH]

    # -- the store interface ----------------------------------------------------

    def setup(self) -> None:
        with self._lock:
            self._handle()

    def load(self, id: str) -> Record | None:
        if not framing.valid_key(id):
            return None
        key = id.encode()
        with self._lock:
            db = self._handle()
            blob = self._get(db, key)
            if blob is None:
                return None
            record = framing.decode(id, blob, allow_trailing=True)
            if record is None:  # damaged: a missing session, and removed
                self._remove(db, key)
                log_damaged(f"dbm://{self.path}", id)
                return None
            self._remember(key, _known(record, len(blob)))
        return record if record.expires_at > time.time() else None

    def load_nowait(self, id: str) -> Record | None:
        """``load``, from an event loop: raises BlockingIOError instead of waiting
        (``ThreadedStore`` then runs ``load`` in a thread).

        Never waits, because: the store's lock is only tried (a thread writing
        holds it); only an open ``dbm.dumb`` file is read, whose index is in
        memory, and its value only if all of it is in the page cache (preadv2
        RWF_NOWAIT). Opening the file, other dbm flavours (their reads are C
        library I/O) and a damaged value (removed by ``load``) go to the thread.
        """
        if not framing.valid_key(id):
            return None
        if not self._lock.acquire(blocking=False):
            raise BlockingIOError(errno.EAGAIN, "the dbm store is busy")
        key = id.encode()
        try:
            reader = self._reader  # read under the lock: close() clears it
            if reader is None or self._forked:
                raise BlockingIOError(errno.EAGAIN, "the dbm file is not open")
            blob = reader.get_nowait(key)
            if blob is None:
                return None
            record = framing.decode(id, blob, allow_trailing=True)
            if record is None:
                raise BlockingIOError(errno.EAGAIN, "a damaged value: load() removes it")
            self._remember(key, _known(record, len(blob)))
        finally:
            self._lock.release()
        return record if record.expires_at > time.time() else None

    def save(self, record: Record) -> None:
        key = _checked(record.id)
        with self._lock:
            db = self._handle()
            self._put(db, record, self._previous(db, key), time.time())

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        key = _checked(record.id)
        now = time.time()
        with self._lock:
            db = self._handle()
            previous = self._previous(db, key)
            live = 0 if previous is None or previous.expires_at <= now else previous.version
            if live != expected_version:
                return False
            self._put(db, record, previous, now)
            return True

    def touch_many(self, expiries: Mapping[str, float]) -> None:
        items = [(k.encode(), v) for k, v in expiries.items() if framing.valid_key(k)]
        for start in range(0, len(items), BATCH):
            now = time.time()
            with self._lock:
                db = self._handle()
                for key, expires_at in items[start : start + BATCH]:
                    self._touch(db, key, expires_at, now)

    def _touch(self, db: Any, key: bytes, expires_at: float, now: float) -> None:
        blob = self._get(db, key)
        header = None if blob is None else framing.parse_header(blob)
        # Only ever later: a touch queued earlier must not undo a later save.
        if blob is not None and header is not None and now < header.expires_at < expires_at:
            # Same length as before: dbm.dumb rewrites it in place.
            self._known.pop(key, None)
            self._set(db, key, framing.with_expiry(blob, header, expires_at))
            user_id = framing.stored_user(header, blob)
            self._remember(key, _Known(header.version, expires_at, user_id, len(blob)))

    def delete(self, id: str) -> int:
        if not framing.valid_key(id):
            return 0
        with self._lock:
            return self._remove(self._handle(), id.encode())

    def delete_many(self, ids: Iterable[str]) -> int:
        keys = [id.encode() for id in ids if framing.valid_key(id)]
        with self._lock:
            db = self._handle()
            return sum(self._remove(db, key) for key in keys)

    def delete_all(self) -> int:
        removed = 0
        for db, keys in self._batches():
            removed += sum(self._remove(db, key) for key in keys)
        self._remove_markers(None)
        return removed

    def ids(self) -> Iterator[str]:
        now = time.time()
        live: list[str] = []
        for db, keys in self._batches():
            live.extend(key.decode() for key in keys if self._expiry(db, key) > now)
        return iter(live)

    def _expiry(self, db: Any, key: bytes) -> float:
        blob = self._get(db, key)
        header = None if blob is None else framing.parse_header(blob)
        return 0.0 if header is None else header.expires_at

    def count(self) -> int:
        return sum(1 for _ in self.ids())

    def ids_for_user(self, user_id: str) -> list[str]:
        now = time.time()
        with self._lock:
            db = self._handle()
            index_key, keys = self._index_keys(db, user_id)
            found, keep = [], []
            for key in keys:
                blob = self._get(db, key)
                record = (
                    None
                    if blob is None
                    else framing.decode(key.decode(), blob, allow_trailing=True)
                )
                if record is None or record.user_id != user_id:
                    continue  # stale entry: dropped below
                keep.append(key)
                if record.expires_at > now:
                    found.append(key.decode())
            if len(keep) != len(keys):
                self._set(db, index_key, b"".join(keep))
        return found

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        key = _REVOKED_PREFIX + framing.user_key(user_id).encode()
        with self._lock:  # one process owns the file: the lock makes this atomic
            db = self._handle()
            old = self._marker(db, key)
            if old is not None:
                revoked_at, keep_until = max(old[0], revoked_at), max(old[1], keep_until)
            self._set(db, key, _MARKER.pack(revoked_at, keep_until))

    def user_revoked_at(self, user_id: str) -> float | None:
        key = _REVOKED_PREFIX + framing.user_key(user_id).encode()
        with self._lock:
            marker = self._marker(self._handle(), key)
        if marker is None or marker[1] <= time.time():
            return None
        return marker[0]

    def purge_expired(self, now: float | None = None) -> int:
        cutoff = time.time() if now is None else now
        self._remove_markers(cutoff)
        removed = 0
        for db, keys in self._batches():
            for key in keys:
                if self._expiry(db, key) <= cutoff:
                    removed += self._remove(db, key)
        with self._lock:
            self._sync(self._handle())
        return removed

    def _sync(self, db: Any) -> None:
        # dbm.dumb only writes its index here (and on close): a good moment to.
        sync = getattr(db, "sync", None)
        if sync is not None:
            try:
                sync()
            except _ERRORS as exc:
                raise store_error("dbm", "sync", self.path, exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._db is not None and not self._forked:
                reader, self._reader = self._reader, None
                try:
                    self._db.close()
                except _ERRORS as exc:
                    raise store_error("dbm", "close", self.path, exc) from exc
                finally:
                    if reader is not None:
                        reader.close()
                    self._db = None
                    self._known.clear()
                    self._release_process_lock()


class _DumbReader:
    """Reads ``dbm.dumb`` values straight from its data file: one ``pread`` on a
    descriptor kept open, where dumb itself opens, seeks, reads and closes the file
    on every read (seven system calls). It looks values up in dumb's in-memory index
    (``_index``: key -> (offset, size), updated after each write has reached the
    file); writes still go through dumb. Used only where dumb has that index."""

    __slots__ = ("_db", "_fd")

    def __init__(self, db: Any, fd: int) -> None:
        self._db = db
        self._fd = fd

    @classmethod
    def attach(cls, db: Any) -> _DumbReader | None:
        datfile = getattr(db, "_datfile", None)
        index = getattr(db, "_index", None)
        if not isinstance(index, dict) or not isinstance(datfile, (str, bytes)):
            return None
        try:
            return cls(db, os.open(datfile, os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            return None

    def get(self, key: bytes) -> bytes | None:
        where = self._db._index.get(key)
        if where is None:
            return None
        position, size = where
        return os.pread(self._fd, size, position)

    def get_nowait(self, key: bytes) -> bytes | None:
        """``get`` from the page cache only: BlockingIOError if it would wait."""
        where = self._db._index.get(key)
        if where is None:
            return None
        position, size = where
        return pread_nowait(self._fd, size, position)

    def close(self) -> None:
        os.close(self._fd)


def _checked(key: str) -> bytes:
    if not framing.valid_key(key):
        raise _InvalidKey(f"dbm store keys are 40 lowercase hex characters, got {key!r}")
    return key.encode()


class _InvalidKey(StoreError, ValueError):
    pass


def _repair_dumb_files(path: str) -> None:
    """Make a ``dbm.dumb`` database that a crash interrupted openable again.

    dumb rewrites its ``.dir`` index by renaming it to ``.bak`` and writing a new
    one, and appends a line per new key: a kill can leave no ``.dir`` (restored
    from ``.bak``) or a torn last line (dropped: that key reads as missing).
    """
    directory, backup = path + ".dir", path + ".bak"
    if not os.path.exists(path + ".dat"):
        return
    if not os.path.exists(directory) and os.path.exists(backup):
        shutil.copyfile(backup, directory)
    try:
        with open(directory, encoding="Latin-1") as file:
            lines = file.read().splitlines()
    except FileNotFoundError:
        return
    good = [line for line in lines if _is_index_line(line)]
    if len(good) != len(lines):
        temporary = directory + ".repair"
        with open(temporary, "w", encoding="Latin-1") as file:
            file.writelines(line + "\n" for line in good)
        os.replace(temporary, directory)


def _is_index_line(line: str) -> bool:
    try:
        key, (position, size) = ast.literal_eval(line.rstrip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return isinstance(key, str) and isinstance(position, int) and isinstance(size, int)

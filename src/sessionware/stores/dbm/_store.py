"""``DbmStore``: the store interface over one dbm file (``_database``), with the
key layout of ``_keys`` and the remembered headers of ``_headers``."""

from __future__ import annotations

import errno
import importlib
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from itertools import chain
from types import ModuleType
from typing import Any

from ...core.record import Record
from ...errors import StoreError, StoreUnavailable
from .._damaged import log_damaged
from .._embedded import framing
from .._embedded.forking import call_in_forked_child
from .._embedded.urls import no_more_settings, url_settings
from ..listing import newest_first
from ._database import DBM_ERRORS, DbmFile, ProcessLock
from ._headers import Known, KnownHeaders, known, read_known
from ._keys import (
    REVOKED_PREFIX,
    checked,
    index_add,
    index_keys,
    index_remove,
    is_record_key,
    marker_key,
    pack_marker,
    read_marker,
)

__all__ = ["BATCH", "FLAVOURS", "DbmStore"]

FLAVOURS = ("gnu", "ndbm", "dumb")
BATCH = 1000  # keys handled per lock hold in scans, so requests get in between


class DbmStore:
    """``dbm:///file``: sessions in one stdlib ``dbm`` file (``flavour`` ``gnu``,
    ``ndbm`` or ``dumb``), used by one process only.

    The store locks the file; another process opening it gets ``StoreUnavailable``.
    Records carry CRCs, so a torn write reads as a missing session, never as wrong
    data."""

    def __init__(self, path: str | os.PathLike[str], *, flavour: str | None = None) -> None:
        if flavour is not None and flavour not in FLAVOURS:
            raise ValueError(f"dbm flavour must be one of {FLAVOURS}, got {flavour!r}")
        self.path = os.path.abspath(os.fspath(path))
        self.flavour = flavour
        self._lock = threading.Lock()
        self._db: DbmFile | None = None
        # See ``_headers``: what this instance, the file's only user, last read or wrote.
        self._known = KnownHeaders()
        self._process_lock = ProcessLock(self.path, self.url)
        self._forked = False  # a hook, not os.getpid() on every operation
        call_in_forked_child(self._mark_forked)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DbmStore:
        path, settings = url_settings(url, options, "dbm store URL needs a file path")
        flavour = settings.pop("flavour", None) or settings.pop("flavor", None)
        no_more_settings("dbm", settings)
        return cls(path, flavour=flavour)

    def __repr__(self) -> str:
        return f"DbmStore({self.path!r}, flavour={self.flavour!r})"

    @property
    def url(self) -> str:
        return f"dbm://{self.path}"

    # -- opening ----------------------------------------------------------------

    def _mark_forked(self) -> None:
        self._forked = True

    def _handle(self) -> DbmFile:
        """The open database; the caller holds ``self._lock``."""
        if self._forked:
            raise StoreError(
                f"dbm store {self.path} was opened before a fork; open it in each process"
            )
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> DbmFile:
        self._process_lock.take()
        self._known.clear()
        try:
            return DbmFile.open(self.path, self._module())
        except BaseException as exc:
            self._process_lock.release()
            if isinstance(exc, DBM_ERRORS):
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

    # -- record helpers (caller holds self._lock) -------------------------------

    def _previous(self, db: DbmFile, key: bytes) -> Known | None:
        """The stored value's header, remembered or read; None when there is none."""
        remembered = self._known.get(key)
        if remembered is not None:
            return remembered
        blob = db.get(key)
        return None if blob is None else read_known(blob)

    def _put(self, db: DbmFile, record: Record, previous: Known | None, now: float) -> None:
        key = record.id.encode()
        before = None
        if previous is not None and previous.expires_at > now:
            before = previous.user_id
        after = record.user_id
        if after is not None and after != before:
            index_add(db, after, key)  # before the record: the index never misses it
        value = self._stored_form(db, record, previous)
        self._known.pop(key, None)  # a write that fails leaves the value unknown
        db.set(key, value)
        self._known.remember(key, known(record, len(value)))
        if before is not None and before != after:
            index_remove(db, before, key)

    def _stored_form(self, db: DbmFile, record: Record, previous: Known | None) -> bytes:
        value = b"".join(framing.encode_parts(record))
        if db.keep_length and previous is not None and previous.length > len(value):
            # dbm.dumb writes a value that fits in place, but keeps a changed length
            # in memory until sync: padded to the old length, the on-disk index stays
            # right, so the new value is what a crash leaves (decode skips padding).
            value += bytes(previous.length - len(value))
        return value

    def _remove(self, db: DbmFile, key: bytes) -> int:
        self._known.pop(key, None)
        previous = db.get(key)
        if previous is None:
            return 0
        db.delete(key)
        header = framing.parse_header(previous)
        user_id = None if header is None else framing.stored_user(header, previous)
        if user_id is not None:
            index_remove(db, user_id, key)
        return 1

    def _remove_markers(self, cutoff: float | None) -> None:
        """Remove the markers kept until ``cutoff`` or before (every one if None)."""
        with self._lock:
            db = self._handle()
            for key in (key for key in db.all_keys() if key.startswith(REVOKED_PREFIX)):
                marker = read_marker(db, key)
                if cutoff is None or marker is None or marker[1] <= cutoff:
                    db.delete(key)

    def _batches(self) -> Iterator[tuple[DbmFile, list[bytes]]]:
        """The record keys in batches, each handed out with the lock held."""
        with self._lock:
            keys = [key for key in self._handle().all_keys() if is_record_key(key)]
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
            blob = db.get(key)
            if blob is None:
                return None
            record = framing.decode(id, blob, allow_trailing=True)
            if record is None:  # damaged: a missing session, and removed
                self._remove(db, key)
                log_damaged(f"dbm://{self.path}", id)
                return None
            self._known.remember(key, known(record, len(blob)))
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
            db = self._db  # read under the lock: close() clears it
            reader = None if db is None else db.reader
            if reader is None or self._forked:
                raise BlockingIOError(errno.EAGAIN, "the dbm file is not open")
            blob = reader.get_nowait(key)
            if blob is None:
                return None
            record = framing.decode(id, blob, allow_trailing=True)
            if record is None:
                raise BlockingIOError(errno.EAGAIN, "a damaged value: load() removes it")
            self._known.remember(key, known(record, len(blob)))
        finally:
            self._lock.release()
        return record if record.expires_at > time.time() else None

    def save(self, record: Record) -> None:
        key = checked(record.id)
        with self._lock:
            db = self._handle()
            self._put(db, record, self._previous(db, key), time.time())

    def save_if_version(self, record: Record, expected_version: int) -> bool:
        key = checked(record.id)
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

    def _touch(self, db: DbmFile, key: bytes, expires_at: float, now: float) -> None:
        blob = db.get(key)
        header = None if blob is None else framing.parse_header(blob)
        # Only ever later: a touch queued earlier must not undo a later save.
        if blob is not None and header is not None and now < header.expires_at < expires_at:
            # Same length as before: dbm.dumb rewrites it in place.
            self._known.pop(key, None)
            db.set(key, framing.with_expiry(blob, header, expires_at))
            user_id = framing.stored_user(header, blob)
            self._known.remember(key, Known(header.version, expires_at, user_id, len(blob)))

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
            live.extend(key.decode() for key in keys if _expiry(db, key) > now)
        return iter(live)

    def count(self) -> int:
        return sum(1 for _ in self.ids())

    def newest(self, limit: int) -> list[Record]:
        now = time.time()
        newest: list[Record] = []
        for db, keys in self._batches():  # a bounded heap, merged batch by batch
            newest = newest_first(chain(newest, _live_records(db, keys, now)), limit)
        return newest

    def delete_if_version(self, id: str, expected_version: int) -> bool:
        if not framing.valid_key(id):
            return False
        key = id.encode()
        with self._lock:
            db = self._handle()
            previous = self._previous(db, key)
            if previous is None or previous.version != expected_version:
                return False
            return self._remove(db, key) == 1

    def ids_for_user(self, user_id: str) -> list[str]:
        now = time.time()
        with self._lock:
            db = self._handle()
            index_key, keys = index_keys(db, user_id)
            found, keep = [], []
            for key in keys:
                blob = db.get(key)
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
                db.set(index_key, b"".join(keep))
        return found

    def mark_user_revoked(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        key = marker_key(user_id)
        with self._lock:  # one process owns the file: the lock makes this atomic
            db = self._handle()
            old = read_marker(db, key)
            if old is not None:
                revoked_at, keep_until = max(old[0], revoked_at), max(old[1], keep_until)
            db.set(key, pack_marker(revoked_at, keep_until))

    def user_revoked_at(self, user_id: str) -> float | None:
        key = marker_key(user_id)
        with self._lock:
            marker = read_marker(self._handle(), key)
        if marker is None or marker[1] <= time.time():
            return None
        return marker[0]

    def purge_expired(self, now: float | None = None) -> int:
        cutoff = time.time() if now is None else now
        self._remove_markers(cutoff)
        removed = 0
        for db, keys in self._batches():
            for key in keys:
                if _expiry(db, key) <= cutoff:
                    removed += self._remove(db, key)
        with self._lock:
            self._handle().sync()
        return removed

    def close(self) -> None:
        with self._lock:
            db = self._db
            if db is not None and not self._forked:
                try:
                    db.close()
                finally:
                    self._db = None
                    self._known.clear()
                    self._process_lock.release()


def _live_records(db: DbmFile, keys: list[bytes], now: float) -> Iterator[Record]:
    for key in keys:
        blob = db.get(key)
        record = None if blob is None else framing.decode(key.decode(), blob, allow_trailing=True)
        if record is not None and record.expires_at > now:  # a damaged one: load removes it
            yield record


def _expiry(db: DbmFile, key: bytes) -> float:
    blob = db.get(key)
    header = None if blob is None else framing.parse_header(blob)
    return 0.0 if header is None else header.expires_at

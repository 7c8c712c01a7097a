"""What the dbm store does for ``dbm.dumb`` alone: reading its values with one
``pread`` (``DumbReader``), and repairing its index after a crash."""

from __future__ import annotations

import ast
import os
import shutil
from typing import Any

from .._embedded.nowait import pread_nowait

__all__ = ["DumbReader", "repair_dumb_files"]


class DumbReader:
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
    def attach(cls, db: Any) -> DumbReader | None:
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


def repair_dumb_files(path: str) -> None:
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

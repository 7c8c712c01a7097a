"""The file store's revocation markers: ``revoked/ab/cd/<user>`` holds two
doubles, ``revoked_at`` and ``keep_until`` (``<user>`` is the user id's hash).

A marker is replaced whole (``os.replace``) under its name's shard lock, keeping
the later of each time, so concurrent revocations from several processes never
lose one; a reader takes no lock and sees the old marker or the new one.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterable

from .._embedded import framing
from ._disk import TMP_SUFFIX, listdir, read, unlink
from ._locks import ShardLock

__all__ = ["RevocationMarkers"]

_MARKER = struct.Struct("<dd")  # a revocation marker file: revoked_at, keep_until


class RevocationMarkers:
    def __init__(
        self,
        directory: str,
        locked: Callable[[str], ShardLock],
        write: Callable[[str, Iterable[bytes]], None],
    ) -> None:
        self.directory = directory
        self._locked = locked
        self._write = write

    def _path(self, name: str) -> str:
        return f"{self.directory}/{name[:2]}/{name[2:4]}/{name}"

    def mark(self, user_id: str, revoked_at: float, keep_until: float) -> None:
        # Read, take the max, replace: under the shard lock, so atomic across processes.
        name = framing.user_key(user_id)
        path = self._path(name)
        with self._locked(name):
            old = _marker(read(path))
            if old is not None:
                revoked_at, keep_until = max(old[0], revoked_at), max(old[1], keep_until)
            self._write(path, [_MARKER.pack(revoked_at, keep_until)])

    def revoked_at(self, user_id: str) -> float | None:
        # No lock: os.replace means a reader sees the old marker or the new one.
        marker = _marker(read(self._path(framing.user_key(user_id))))
        if marker is None or marker[1] <= time.time():
            return None
        return marker[0]

    def purge(self, cutoff: float | None) -> None:
        """Remove the markers kept until ``cutoff`` or before (every one if None)."""
        for first in listdir(self.directory):
            for second in listdir(f"{self.directory}/{first}"):
                directory = f"{self.directory}/{first}/{second}"
                for name in listdir(directory):
                    key = name.removesuffix(TMP_SUFFIX)
                    if framing.valid_key(key):
                        with self._locked(key):  # re-read: it may have been renewed
                            _drop_marker_file(f"{directory}/{name}", cutoff)


def _drop_marker_file(path: str, cutoff: float | None) -> None:
    marker = None if path.endswith(TMP_SUFFIX) else _marker(read(path))
    if cutoff is None or marker is None or marker[1] <= cutoff:
        unlink(path)


def _marker(blob: bytes | None) -> tuple[float, float] | None:
    """``(revoked_at, keep_until)`` from a marker file; None when missing or damaged."""
    if blob is None or len(blob) != _MARKER.size:
        return None
    revoked_at, keep_until = _MARKER.unpack(blob)
    return float(revoked_at), float(keep_until)

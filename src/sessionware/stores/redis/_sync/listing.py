# Generated from src/sessionware/stores/redis/_async/listing.py by scripts/unasync.py. Do not edit.
"""The Redis store's ``newest`` and ``delete_if_version`` (``stores.base.RecordListing``)."""

from __future__ import annotations

import functools
import time
from typing import Any

from ....core.record import Record
from ...listing import newest_first, newest_keys
from .._codec import decode_user, record_from_value, times_of_header, version_arg
from .._errors import translate_errors
from .._keys import KeyLayout
from .._scripts import DELETE_IF_VERSION_SCRIPT
from .commands import RedisCommands

__all__ = ["RedisListing"]

#: Session keys whose headers one pipeline reads.
HEADER_BATCH = 500
SCAN_COUNT = 1000


class RedisListing(RedisCommands):
    """Mixed into ``RedisStore``. Redis keeps no order of creation (a sorted set
    of every session would be one more write per new session, and a key no Cluster
    slot could share), so ``newest`` scans the session keys, reads only each one's
    28-byte header (pipelined GETRANGE), keeps the newest in a bounded heap, and
    then reads those records whole."""

    keys: KeyLayout
    url: str

    @functools.cached_property
    def _delete_if_version(self) -> Any:
        return self.client.register_script(DELETE_IF_VERSION_SCRIPT)

    def newest(self, limit: int) -> list[Record]:
        with translate_errors(self.url):
            keys = newest_keys(self._creation_times(time.time()), limit)
            values = self._values(keys)
        records = (
            record_from_value(self.keys.id_of(key), value, self.url)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        )
        return newest_first((record for record in records if record is not None), limit)

    def _creation_times(self, now: float) -> list[tuple[float, str]]:
        """``(created_at, key)`` of every live session; a batch's headers at a time."""
        created: list[tuple[float, str]] = []
        batch: list[Any] = []
        for key in self.client.scan_iter(match=self.keys.session_pattern, count=SCAN_COUNT):
            batch.append(key)
            if len(batch) >= HEADER_BATCH:
                created += self._headers(batch, now)
                batch = []
        return created + self._headers(batch, now)

    def _headers(self, keys: list[Any], now: float) -> list[tuple[float, str]]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:  # one key per command: never cross-slot
            pipe.getrange(key, 0, 27)
        created = []
        for key, head in zip(keys, pipe.execute(), strict=True):
            times = times_of_header(head)
            if times is not None and times[1] > now:
                created.append((times[0], key.decode() if isinstance(key, bytes) else key))
        return created

    def _values(self, keys: list[str]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        return list(pipe.execute()) if keys else []

    def delete_if_version(self, id: str, expected_version: int) -> bool:
        key, args = self.keys.session(id), [version_arg(expected_version)]
        script = self._delete_if_version
        with translate_errors(self.url):
            # Sent again after a failover: a second try finds nothing to remove.
            removed, raw_user = self._retrying(lambda: self._eval(script, key, args))
            user = decode_user(raw_user)
            if removed and user is not None:
                self._retrying(lambda: self._unindex_one(user, id))
        return bool(removed)

    def _unindex_one(self, user_id: str, id: str) -> None:
        self.client.zrem(self.keys.user(user_id), self.keys.session(id))

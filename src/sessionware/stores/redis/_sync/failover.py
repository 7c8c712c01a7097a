# Generated from src/sessionware/stores/redis/_async/failover.py by scripts/unasync.py. Do not edit.
"""A write that meets a failover: tried again until the deadline, and never sent
twice blindly (async source; ``_sync/failover.py`` is generated)."""

from __future__ import annotations

from typing import Any

from ....core.record import Record
from ..._failover import settled_by
from .._codec import record_from_value
from .._errors import REDIS_ERRORS, outcome_unknown
from .._keys import KeyLayout
from .commands import RedisCommands, Deadline, pause_for

__all__ = ["FailoverWrites"]


class FailoverWrites(RedisCommands):
    """``_write_through_failover`` for the store, which provides ``_write_once``."""

    url: str
    keys: KeyLayout

    def _write_once(self, record: Record, expected_version: int) -> Any:
        raise NotImplementedError

    def _write_through_failover(
        self, record: Record, expected_version: int, exc: BaseException
    ) -> Any:
        """``_write_once`` tried again after ``exc`` until the failover deadline.

        A conditional write (``expected_version`` >= 0) that may have been applied
        (the connection broke after it was sent) is not sent again before the
        record is read: if it holds exactly what we wrote, the write was applied
        (1); if it still holds the expected version, the write is sent again;
        otherwise another write won (0: the manager reloads and merges). So a
        write is neither applied twice nor lost. An unconditional save is
        simply sent again."""
        deadline = Deadline.after(self.failover_timeout, exc)
        if deadline is None:
            raise exc
        key = self.keys.session(record.id)
        while True:
            if expected_version >= 0 and outcome_unknown(exc):
                value = self._retrying(lambda: self._command("GET", key), deadline)
                stored = None if value is None else record_from_value(record.id, value, self.url)
                settled = settled_by(stored, record, expected_version)
                if settled is not None:
                    return settled
            try:
                return self._write_once(record, expected_version)
            except REDIS_ERRORS as again:
                exc = again
                pause = deadline.pause(exc)
                if pause is None:
                    raise
            pause_for(pause)

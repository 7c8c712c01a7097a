"""What a compare-and-set whose outcome is unknown (the connection broke after it
was sent) turned out to do, judged from the record read back afterwards."""

from __future__ import annotations

from ...core.record import Record
from ._codec import record_from_value

__all__ = ["settled_by_reading"]


def settled_by_reading(
    value: bytes | None, record: Record, expected_version: int, url: str
) -> int | None:
    """1: the stored value is exactly ``record`` (the write was applied); 0: another
    write won (the manager reloads and merges); None: the record still has the
    expected version (or is still missing for a create), so the write may be sent
    again."""
    stored = None if value is None else record_from_value(record.id, value, url)
    if stored == record:
        return 1
    if expected_version == 0:
        return None if value is None else 0
    if stored is None or stored.version != expected_version:
        return 0
    return None

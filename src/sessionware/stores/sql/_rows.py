"""What goes into the tables and comes out: a record as statement parameters, a row
as a record, a user id as its revocation marker's key, and lists of keys."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ...core.record import Record

__all__ = ["batches", "marker_key", "record_params", "row_to_record", "unique_keys"]


def record_params(record: Record) -> dict[str, Any]:
    return {
        "r_id": record.id,
        "r_data": record.data,
        "r_created_at": record.created_at,
        "r_expires_at": record.expires_at,
        "r_version": record.version,
        "r_user_id": record.user_id,
    }


def row_to_record(id: str, row: Sequence[Any]) -> Record:
    data, created_at, expires_at, version, user_id = row
    return Record(id, bytes(data), created_at, expires_at, version, user_id)


def batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def marker_key(user_id: str) -> str:
    """The revocation table's key for ``user_id``: fixed length, any string."""
    return hashlib.sha256(user_id.encode()).hexdigest()


def unique_keys(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))

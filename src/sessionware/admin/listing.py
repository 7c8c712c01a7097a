"""What the dashboard shows of sessions, made from store records (no I/O): the
rows of the table, a page of them, and one session's details."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..cli._format import expires_in, human_bytes, local_time
from ..core.codecs import CodecError
from ..core.record import Record

__all__ = ["PAGE_SIZE", "Detail", "Listing", "Row", "detail_of", "is_store_key", "page_of"]

PAGE_SIZE = 20
_STORE_KEY = re.compile(r"[0-9a-f]{40}")


def is_store_key(text: str) -> bool:
    """A store key as the manager makes them (40 hex digits): nothing else reaches
    the store."""
    return _STORE_KEY.fullmatch(text) is not None


@dataclass(frozen=True)
class Row:
    """One session as the table shows it: its store key, user, and formatted times
    and size (never its data)."""

    key: str
    user: str | None
    created: str
    expires: str
    version: int
    size: str


@dataclass(frozen=True)
class Listing:
    """One page of the sessions that match a search, and the store's live count
    read in the same pass (the tile and the table agree)."""

    rows: list[Row]
    query: str
    page: int
    pages: int
    matched: int
    live: int
    truncated: bool


def matches(record: Record, needle: str) -> bool:
    """``needle`` (already casefolded) is empty or part of the record's user."""
    return not needle or (record.user_id is not None and needle in record.user_id.casefold())


def page_of(
    records: Sequence[Record], query: str, page: int, now: float, *, live: int, truncated: bool
) -> Listing:
    """Page ``page`` (from 1, clamped) of ``records`` (the matching ones), newest first."""
    ordered = sorted(records, key=lambda r: r.created_at, reverse=True)
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(max(1, page), pages)
    chosen = ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    rows = [
        Row(
            key=r.id,
            user=r.user_id,
            created=local_time(r.created_at),
            expires=expires_in(r.expires_at, now),
            version=r.version,
            size=human_bytes(len(r.data)),
        )
        for r in chosen
    ]
    return Listing(rows, query, page, pages, len(ordered), live, truncated)


@dataclass(frozen=True)
class Detail:
    """One session: its row, the names of its keys, and their values only when the
    admin was configured with ``show_values=True`` (``values`` is None otherwise)."""

    row: Row
    keys: list[str]
    values: dict[str, str] | None
    readable: bool


def detail_of(
    record: Record, decode: Callable[[Record], dict[str, Any]], now: float, *, show_values: bool
) -> Detail:
    """``decode``: the record's data as the manager reads it (decrypted, decoded)."""
    row = page_of([record], "", 1, now, live=1, truncated=False).rows[0]
    try:
        data = decode(record)
    except (CodecError, ValueError):  # sealed by an unknown key, another codec's, damaged
        return Detail(row, [], None, readable=False)
    keys = sorted(data)
    values = {key: repr(data[key]) for key in keys} if show_values else None
    return Detail(row, keys, values, readable=True)

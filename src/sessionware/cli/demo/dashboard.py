"""The admin dashboard's data: a paged, searchable table of live sessions, and the
metrics feed its charts poll."""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass

from werkzeug.wrappers import Response

from ...core.record import Record
from ...errors import redact_url
from ...metrics import Metrics
from ...stores.base import Store
from .._format import expires_in, human_bytes, local_time

__all__ = ["CHARTED_OPERATIONS", "Listing", "list_sessions", "metrics_response"]

PAGE_SIZE = 20
#: The table reads at most this many sessions; a demo store is small, a real one
#: would want ``sessionware list --user`` (the user index) instead of a scan.
SCAN_LIMIT = 5000
CHARTED_OPERATIONS = ("load", "save_if_version", "touch_many", "delete", "delete_many")
_STORE_KEY = re.compile(r"[0-9a-f]{40}")


def is_store_key(text: str) -> bool:
    return _STORE_KEY.fullmatch(text) is not None


def safe_url(url: str) -> str:
    return redact_url(url)


@dataclass(frozen=True)
class Row:
    key: str
    user: str | None
    created: str
    expires: str
    version: int
    size: str


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    page: int
    pages: int
    matched: int
    live: int
    truncated: bool


def _scan(store: Store) -> tuple[list[Record], bool]:
    keys = store.ids()
    try:
        chosen = list(itertools.islice(keys, SCAN_LIMIT + 1))
    finally:
        close = getattr(keys, "close", None)
        if close is not None:
            close()
    records = [r for r in (store.load(k) for k in chosen[:SCAN_LIMIT]) if r is not None]
    return records, len(chosen) > SCAN_LIMIT


def list_sessions(store: Store, query: str, page: int, now: float) -> Listing:
    """Page ``page`` (from 1) of the live sessions whose user contains ``query``
    (case-insensitive; every session when empty), newest first."""
    records, truncated = _scan(store)
    needle = query.casefold()
    if needle:
        records = [r for r in records if r.user_id and needle in r.user_id.casefold()]
    records.sort(key=lambda r: r.created_at, reverse=True)
    pages = max(1, -(-len(records) // PAGE_SIZE))
    page = min(max(1, page), pages)
    chosen = records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
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
    return Listing(rows, page, pages, len(records), store.count(), truncated)


def metrics_response(metrics: Metrics, store: Store) -> Response:
    """The feed the dashboard polls every second: cumulative counters, so each
    browser turns two consecutive answers into per-second rates itself."""
    body = {
        "time": time.time(),
        "live_sessions": store.count(),
        "snapshot": metrics.snapshot(),
    }
    response = Response(json.dumps(body), content_type="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response

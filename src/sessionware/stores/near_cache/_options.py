"""The near cache's options: ``?near_cache=on`` (with ``near_cache_entries=N`` and
``near_cache_bytes=M``) in a store URL, or the same names as ``open_store``
keywords. ``open_store`` takes them off before the store sees its URL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .._embedded.urls import as_bool

__all__ = ["NearCacheSettings", "NearCacheUnsupported", "take_settings"]

NAMES = ("near_cache", "near_cache_entries", "near_cache_bytes")


class NearCacheUnsupported(ValueError):
    """The store has no invalidation channel a near cache could be kept right by."""


@dataclass(frozen=True)
class NearCacheSettings:
    """A near cache's bounds: at most ``max_entries`` records and ``max_bytes`` of
    them (data plus about 400 bytes each), least recently used first out."""

    max_entries: int = 10_000
    max_bytes: int = 64 * 1024 * 1024


def take_settings(url: str, options: dict[str, Any]) -> tuple[str, NearCacheSettings | None]:
    """``url`` without the near cache's query parameters, and its settings (None:
    no near cache). Removes the near cache's keywords from ``options``."""
    given = {name: options.pop(name) for name in NAMES if name in options}
    base, _, query = url.partition("?")
    kept: list[str] = []
    for piece in query.split("&") if query else ():
        pairs = parse_qsl(piece, keep_blank_values=True)
        if pairs and pairs[0][0] in NAMES:
            given.setdefault(pairs[0][0], pairs[0][1])
        else:
            kept.append(piece)  # as written: the store parses it
    if query and len(kept) != query.count("&") + 1:
        url = f"{base}?{'&'.join(kept)}" if kept else base
    if not given or not as_bool("near_cache", given.get("near_cache", "on")):
        return url, None
    defaults = NearCacheSettings()
    return url, NearCacheSettings(
        max_entries=_count(given, "near_cache_entries", defaults.max_entries),
        max_bytes=_count(given, "near_cache_bytes", defaults.max_bytes),
    )


def _count(given: dict[str, Any], name: str, default: int) -> int:
    value = given.get(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {number}")
    return number

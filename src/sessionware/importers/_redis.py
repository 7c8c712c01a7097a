"""Reading a peer's sessions out of Redis: SCAN in bounded batches, then one
pipeline per batch for the values and their remaining lifetimes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice

import redis

__all__ = ["scan_prefixed"]

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def scan_prefixed(
    url: str | redis.Redis, prefix: str, batch_size: int, now: float
) -> Iterator[tuple[str, bytes, float | None]]:
    """``(name after the prefix, value, expires_at or None without a TTL)`` for each
    key starting with ``prefix`` in the Redis at ``url`` (or a client, left open);
    keys gone between the scan and the read are left out."""
    client = redis.Redis.from_url(url) if isinstance(url, str) else url
    try:
        match = _GLOB_SPECIAL.sub(r"\\\1", prefix) + "*"
        keys = client.scan_iter(match=match, count=batch_size)
        while batch := list(islice(keys, batch_size)):
            pipe = client.pipeline(transaction=False)
            for key in batch:
                pipe.get(key)
                pipe.pttl(key)
            answers = pipe.execute()
            for index, key in enumerate(batch):
                value, pttl = answers[2 * index], answers[2 * index + 1]
                if value is None:
                    continue
                expires_at = now + pttl / 1000 if pttl >= 0 else None
                yield key.decode()[len(prefix) :], value, expires_at
    finally:
        if isinstance(url, str):
            client.close()

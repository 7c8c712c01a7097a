"""The one warning every store logs when it finds a record it cannot read."""

from __future__ import annotations

import logging

from ..errors import redact_url

__all__ = ["log_damaged"]

logger = logging.getLogger("sessionware")


def log_damaged(where: str, key: str) -> None:
    """A damaged record under ``key`` was treated as missing and removed.
    ``where``: the store's URL (redacted here) or path."""
    logger.warning(
        "session store %s: the record under key %s is damaged (not a session); removed",
        redact_url(where),
        key,
    )

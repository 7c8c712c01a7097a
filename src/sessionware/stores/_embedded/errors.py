"""An operating-system error met by an embedded store, as a ``StoreError``."""

from __future__ import annotations

from ...errors import StoreError

__all__ = ["store_error"]


def store_error(kind: str, action: str, path: str, exc: BaseException) -> StoreError:
    """A ``StoreError`` naming the store, what failed and the path (``exc`` chained)."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return StoreError(f"{kind} store could not {action} {path}: {reason}")

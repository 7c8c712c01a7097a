"""What the manager's revocations need besides the store: whether a store keeps
revocation markers, and the request's own ``revoke_user`` calls."""

from __future__ import annotations

from ..context import current_session
from ..stores.base import AsyncRevocationMarkers, AsyncStoreLike, keeps_revocation_markers

__all__ = ["note_own_revocation", "revocation_markers"]


def revocation_markers(store: AsyncStoreLike) -> AsyncRevocationMarkers | None:
    """``store`` as a keeper of revocation markers, or None when it or a store it
    wraps lacks them (the optional part of the store protocol)."""
    if isinstance(store, AsyncRevocationMarkers) and keeps_revocation_markers(store):
        return store
    return None


def note_own_revocation(user_id: str, now: float) -> None:
    """Record on the current request's session that it revoked ``user_id`` at
    ``now``, so that request's own later login is not undone by its marker."""
    own = current_session.get(None)
    if own is not None:
        revocations = getattr(own, "_own_revocations", None)
        if revocations is None:
            revocations = own._own_revocations = {}
        revocations[user_id] = now

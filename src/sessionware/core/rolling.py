"""Rolling sessions: a save hands the stored session's cookie back every time.

starsessions' ``rolling=True`` (and Flask's refresh of a permanent session) send the
cookie again with each response, so the browser's expiry restarts with the
server's. The decision is made here, once, for every integration that offers it.
"""

from __future__ import annotations

from .session import Session
from .signing import CookieSigner

__all__ = ["resend_cookie"]


def resend_cookie(signer: CookieSigner, session: Session) -> None:
    """Make the next save return ``session``'s cookie even when nothing about it
    changed: only for a loaded, stored session that is not being deleted and has no
    other cookie to send (a new, regenerated or re-signed one takes precedence)."""
    if session._data is None or session._is_new or session.invalidated:
        return
    if session.cookie_value is None:
        session.cookie_value = signer.sign(session.id, session._created_at)

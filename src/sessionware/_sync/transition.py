# Generated from src/sessionware/_async/transition.py by scripts/unasync.py. Do not edit.
"""``Transition``: a manager takes a peer library's cookies for a while.

The decisions are ``core.transition``'s; this class only reads the imported record
from the manager's store (``_sync/transition.py`` is generated from this file).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..core.session import Session
from ..core.transition import (
    PeerCookie,
    PeerSession,
    TransitionPolicy,
    adopt_contents,
    adopt_record,
    until_timestamp,
)

if TYPE_CHECKING:
    from .manager import SessionManager

__all__ = ["Transition"]


class Transition:
    """Until ``until`` (a datetime, an ISO string or Unix seconds), a request with
    ``peer``'s cookie (named ``cookie_name``, by default the peer's) and no
    sessionware session gets the peer's session, imported beforehand with
    ``sessionware import-sessions``, converted to a sessionware session with a new
    signed id at the request's save. After ``until`` such cookies are refused (a
    fresh session, as for any unknown cookie); so are forged and unknown ones,
    which cost one store read and never a write."""

    def __init__(
        self,
        manager: SessionManager,
        peer: PeerCookie,
        until: datetime | float | str,
        *,
        cookie_name: str | None = None,
    ) -> None:
        end = until_timestamp(until)
        assert end is not None
        self.manager = manager
        self.policy = TransitionPolicy(peer, end)
        self.cookie_name = cookie_name or peer.cookie_name

    def is_open(self) -> bool:
        """Whether the period is still running."""
        return self.policy.is_open(self.manager._clock())

    def takes(self, cookie_value: str | None) -> bool:
        """Whether a request's session cookie may be the peer's: there is one, the
        period runs, and it is not a sessionware cookie (no signature of ours)."""
        return (
            cookie_value is not None
            and self.is_open()
            and self.manager.core.signer.unsign(cookie_value) is None
        )

    def adopt(self, cookie_value: str | None) -> Session | None:
        """The converted session the peer's cookie leads to, or None (past the
        period, refused by the peer, or not among the imported sessions)."""
        manager = self.manager
        now = manager._clock()
        found = self.policy.locate(cookie_value, now)
        if found is None:
            return None
        if isinstance(found, PeerSession):
            return adopt_contents(manager.core, found, now)
        record = manager.store.load(found)
        return adopt_record(manager.core, found, record, now)

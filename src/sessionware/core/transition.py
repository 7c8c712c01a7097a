"""Switching from another session library without logging anyone out: the decisions.

For a configured period (``TransitionPolicy``) a request carrying the peer's
cookie (Django's ``sessionid``, Flask's signed cookie, Flask-Session's or
starsessions' id, Beaker's id) is looked up in the sessions ``sessionware
import-sessions`` copied from the peer (stored under ``import_key``), and the
imported record becomes a sessionware session under a new signed id at the next
save; that save deletes the imported record, so a peer session converts once and a
session revoked meanwhile (``revoke_user`` finds imported records by user) never
comes back. A peer whose cookie carries the data itself (Flask's) gives the
session's contents instead of a locator. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Protocol

import msgspec

from .lifecycle import SessionCore
from .record import Record
from .session import Session
from .signing import store_key

__all__ = [
    "PeerCookie",
    "PeerSession",
    "TransitionPolicy",
    "adopt_contents",
    "adopt_record",
    "import_key",
    "peer_cookie_to_delete",
    "until_timestamp",
]


class PeerSession(msgspec.Struct, frozen=True):
    """One session as a peer library stored it, already decoded by its serializer.

    ``locator``: what the peer's cookie leads to (the id, or the name the peer
    files the session under when it hashes ids, as Beaker and cachelib do); times
    in Unix seconds; ``user_id``: the user the peer bound the session to, if any.
    """

    locator: str
    data: dict[str, Any]
    created_at: float
    expires_at: float
    user_id: str | None = None


class PeerCookie(Protocol):
    """What the transition needs to know of a peer's cookie."""

    #: The peer's name in import keys ("django", "flask-session", ...).
    name: str
    #: The cookie the peer sets by default.
    cookie_name: str

    def locate(self, cookie_value: str) -> str | PeerSession | None:
        """The locator the cookie leads to, the session itself for a peer whose
        cookie carries its data, or None for a cookie the peer would refuse
        (malformed, or failing the peer's signature)."""
        ...


def import_key(peer: str, locator: str) -> str:
    """The store key an imported peer session is kept under until it converts: a
    hash like every store key, in a namespace of its own per peer, so no cookie
    (sessionware's or another peer's) can name it."""
    return store_key(f"sessionware-import\x00{peer}\x00{locator}")


def until_timestamp(until: datetime | float | str | None) -> float | None:
    """The end of a transition period as Unix seconds. A naive datetime or ISO
    string is UTC."""
    if until is None or isinstance(until, (int, float)):
        return None if until is None else float(until)
    if isinstance(until, str):
        until = datetime.fromisoformat(until)
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    return until.timestamp()


class TransitionPolicy:
    """While a peer's cookies are converted: before ``until`` (Unix seconds)."""

    __slots__ = ("peer", "until")

    def __init__(self, peer: PeerCookie, until: float) -> None:
        self.peer = peer
        self.until = until

    def is_open(self, now: float) -> bool:
        return now < self.until

    def locate(self, cookie_value: str | None, now: float) -> str | PeerSession | None:
        """What to convert for this cookie, or None: past the period, no cookie,
        or one the peer refuses. A locator comes back as its import key."""
        if cookie_value is None or not self.is_open(now):
            return None
        found = self.peer.locate(cookie_value)
        if isinstance(found, str):
            return import_key(self.peer.name, found)
        return found


def peer_cookie_to_delete(
    converted_from: str | None, own_name: str, session: Session
) -> str | None:
    """The name of the peer cookie a response deletes, or None.

    ``converted_from``: the peer cookie this request's session was converted from
    (None: no conversion); ``session``: that session, once the response saved it.
    The peer's cookie goes only when its successor goes out (the save gave the
    session a cookie value: a forgotten or failed save, or a logout, keeps it), and
    only when it has a name of its own: under sessionware's name the new cookie
    replaces it."""
    if converted_from is None or converted_from == own_name:
        return None
    if session.cookie_value is None or session.invalidated:
        return None
    return converted_from


def adopt_record(core: SessionCore, key: str, record: Record | None, now: float) -> Session | None:
    """The session an imported record becomes, or None when the import holds no
    live record under ``key``: its data, user and creation time, under a new id at
    its next save, which deletes the imported record."""
    session = Session(key, key, False, now, now, 0.0, None, core.codec)
    if record is None or not core.attach(session, record, None, now):
        return None
    core.regenerate(session)
    return session


def adopt_contents(core: SessionCore, contents: PeerSession, now: float) -> Session:
    """A new session holding what a peer's self-contained cookie held."""
    session = core.fresh(now)
    session.update(contents.data)
    if contents.user_id is not None:
        core.login(session, contents.user_id)
    return session

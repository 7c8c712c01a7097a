"""Transition mode for the Starlette integration: a switch from starsessions (its
Redis store) that logs nobody out.

``SessionMiddleware(..., transition_from="starsessions", transition_until=...)``:
until then, a request whose session cookie is starsessions' (not a sessionware
one) gets that session, imported beforehand with ``sessionware import-sessions
starsessions``, converted into a sessionware session with a new signed id, whose
cookie replaces starsessions' (both are ``session_cookie``). A forged or unknown
id gets a fresh session and no write; after ``transition_until`` such cookies are
refused as any unknown cookie is.
"""

from __future__ import annotations

from datetime import datetime

from .._async.manager import AsyncSessionManager
from .._async.transition import AsyncTransition
from ..asgi import Scope, SessionExchange, cookie_header
from ..asgi import SessionMiddleware as ASGISessionMiddleware
from ..cookie_io import read_cookie

__all__ = ["PEERS", "TransitionMiddleware", "transition_for"]

PEERS = ("starsessions",)


def transition_for(
    manager: AsyncSessionManager, peer: str, until: datetime | float | str, cookie_name: str
) -> AsyncTransition:
    """The transition from ``peer`` whose cookie is ``cookie_name``."""
    if peer not in PEERS:
        raise ValueError(f"transition_from must be one of {PEERS}, not {peer!r}")
    from ..importers.starsessions import StarsessionsCookie

    return AsyncTransition(manager, StarsessionsCookie(cookie_name), until)


class TransitionMiddleware(ASGISessionMiddleware):
    """``sessionware.asgi.SessionMiddleware`` that converts a peer's session when a
    connection brings the peer's cookie instead of a sessionware one."""

    transition: AsyncTransition

    async def _open(self, scope: Scope) -> SessionExchange:
        exchange = await super()._open(scope)
        if not exchange.session.is_new:  # the async manager loaded it: no I/O here
            return exchange
        transition = self.transition
        value = read_cookie(cookie_header(scope), transition.cookie_name)
        if transition.takes(value):
            adopted = await transition.adopt(value)
            if adopted is not None:
                exchange.session = adopted
                scope["session"] = adopted
        return exchange

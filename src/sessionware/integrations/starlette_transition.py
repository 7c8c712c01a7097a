"""Transition mode for the Starlette integration: a switch from starsessions (its
Redis store) that logs nobody out.

``SessionMiddleware(..., transition_from="starsessions", transition_until=...)``:
until then, a request whose session cookie is starsessions' (not a sessionware
one) gets that session, imported beforehand with ``sessionware import-sessions
starsessions``, converted into a sessionware session with a new signed id, whose
cookie replaces starsessions' (both are ``session_cookie``); a starsessions cookie
of another name (``transition_cookie=``) is deleted when the new one is set. A
forged or unknown id gets a fresh session and no write; after ``transition_until``
such cookies are refused as any unknown cookie is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .._async.manager import AsyncSessionManager
from .._async.transition import AsyncTransition
from ..asgi import Message, Scope, SessionExchange, cookie_header
from ..asgi import SessionMiddleware as ASGISessionMiddleware
from ..cookie_io import read_cookie
from ..core.transition import peer_cookie_to_delete

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
        if not transition.takes(value):
            return exchange
        adopted = await transition.adopt(value)
        if adopted is None:
            return exchange
        scope["session"] = adopted
        if type(exchange) is not SessionExchange:  # a token's exchange: no cookie to delete
            exchange.session = adopted
            return exchange
        converted = ConvertingExchange(
            exchange.manager, exchange.cookie, adopted, exchange.had_cookie
        )
        converted.insecure_where = exchange.insecure_where
        converted.converted_from = transition.cookie_name
        return converted


@dataclass(slots=True, eq=False)
class ConvertingExchange(SessionExchange):
    """The exchange of a session converted from the peer's cookie: the response
    that sets its cookie deletes the peer's (``peer_cookie_to_delete``)."""

    converted_from: str | None = field(default=None, init=False)

    async def _add_session_headers(self, message: Message) -> None:
        await SessionExchange._add_session_headers(self, message)  # slots: no bare super()
        peer = peer_cookie_to_delete(self.converted_from, self.cookie.name, self.session)
        if peer is not None:
            deletion = self.cookie.deletion_of(peer).encode("latin-1")
            message["headers"] = [*(message.get("headers") or ()), (b"set-cookie", deletion)]

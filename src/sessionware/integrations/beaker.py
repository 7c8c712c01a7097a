"""Replacing Beaker's ``SessionMiddleware`` without logging anyone out.

``TransitionMiddleware(app, manager, transition_until=..., **cookie_arguments)`` is
``sessionware.wsgi.SessionMiddleware`` plus a transition mode: until
``transition_until`` (a datetime, ISO string or Unix seconds), a request without a
sessionware session but with Beaker's cookie (``beaker.session.id``, signed when
Beaker had ``secret``: give it as ``beaker_secret``) gets that session, imported
beforehand with ``sessionware import-sessions beaker``, converted into a
sessionware session with a new signed id; when its cookie is set, Beaker's is
deleted. A forged or unknown id gets a fresh session and no write; after the
period such cookies are refused as any unknown cookie is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .._sync.manager import SessionManager
from .._sync.transition import Transition
from ..cookie_io import read_cookie
from ..core.session import Session
from ..core.transition import peer_cookie_to_delete
from ..importers.beaker import BeakerCookie
from ..wsgi import ENVIRON_KEY, SessionMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["TransitionMiddleware"]

_PEER_COOKIE_KEY = "sessionware.peer_cookie"


class TransitionMiddleware(SessionMiddleware):
    """``sessionware.wsgi.SessionMiddleware`` that converts Beaker's sessions."""

    def __init__(
        self,
        app: WSGIApplication,
        manager: SessionManager,
        *,
        transition_until: datetime | float | str,
        beaker_cookie: str = "beaker.session.id",
        beaker_secret: str | None = None,
        **cookie_arguments: Any,
    ) -> None:
        super().__init__(app, manager, **cookie_arguments)
        peer = BeakerCookie(beaker_cookie, beaker_secret)
        self.transition = Transition(manager, peer, transition_until)

    def open_session(self, environ: WSGIEnvironment, cookie_value: str | None) -> Session:
        session = super().open_session(environ, cookie_value)
        transition = self.transition
        value = read_cookie(environ.get("HTTP_COOKIE"), transition.cookie_name)
        if not transition.takes(value) or not session.is_new:
            return session
        adopted = transition.adopt(value)
        if adopted is None:
            return session
        environ[_PEER_COOKIE_KEY] = transition.cookie_name
        return adopted

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        own = self.cookie

        def deleting_peer_cookie(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            converted_from = environ.pop(_PEER_COOKIE_KEY, None)
            session = environ.get(ENVIRON_KEY)
            if converted_from is not None and isinstance(session, Session):
                peer = peer_cookie_to_delete(converted_from, own.name, session)
                if peer is not None:
                    headers = [*headers, ("Set-Cookie", own.deletion_of(peer))]
            return start_response(status, headers, exc_info)

        return super().__call__(environ, deleting_peer_cookie)

"""Transition mode for the Flask integration: a switch from Flask's own cookie
sessions or from Flask-Session that logs nobody out.

``SESSIONWARE_TRANSITION_FROM`` = "flask" or "flask-session" with
``SESSIONWARE_TRANSITION_UNTIL`` (a datetime, ISO string or Unix seconds): until
then, a request whose session cookie is the peer's (not a sessionware one) gets
the peer's session converted into a sessionware session with a new signed id
(Flask's cookie is read with the app's keys; Flask-Session's sessions must have
been imported with ``sessionware import-sessions flask-session``). Both peers use
``SESSION_COOKIE_NAME``, so the new cookie replaces the peer's; a peer cookie of
another name (``SESSIONWARE_TRANSITION_COOKIE``) is deleted when the new one is set.
"""

from __future__ import annotations

from flask import Flask, Request, Response

from .._sync.manager import SessionManager
from .._sync.transition import Transition
from ..cookies import CookieOptions
from ..core.session import Session
from ..core.transition import peer_cookie_to_delete

__all__ = ["adopt", "delete_peer_cookie", "transition_from_config"]

PEER_COOKIE_KEY = "sessionware.peer_cookie"
PEERS = ("flask", "flask-session")


def transition_from_config(app: Flask, manager: SessionManager) -> Transition | None:
    """The transition ``SESSIONWARE_TRANSITION_FROM`` asks for, or None. For
    Flask-Session the back end comes from ``SESSION_TYPE``, the key prefix from
    ``SESSION_KEY_PREFIX`` and signed sids from ``SESSION_USE_SIGNER``, as
    Flask-Session reads them."""
    config = app.config
    peer = config.get("SESSIONWARE_TRANSITION_FROM")
    if peer is None:
        return None
    if peer not in PEERS:
        raise ValueError(f"SESSIONWARE_TRANSITION_FROM must be one of {PEERS}, not {peer!r}")
    until = config.get("SESSIONWARE_TRANSITION_UNTIL")
    if until is None:
        raise ValueError("SESSIONWARE_TRANSITION_FROM needs SESSIONWARE_TRANSITION_UNTIL")
    cookie_name = config.get("SESSIONWARE_TRANSITION_COOKIE") or config["SESSION_COOKIE_NAME"]
    if peer == "flask":
        from ..importers.flask import FlaskCookie

        return Transition(manager, FlaskCookie(app, cookie_name), until)
    from ..importers.flask_session import DEFAULT_PREFIX, FlaskSessionCookie

    backend = config.get("SESSION_TYPE") or "redis"
    prefix = config.get("SESSION_KEY_PREFIX", DEFAULT_PREFIX)
    signer_key = app.secret_key if config.get("SESSION_USE_SIGNER") else None
    peer_cookie = FlaskSessionCookie(cookie_name, backend, prefix, signer_key)
    return Transition(manager, peer_cookie, until)


def adopt(
    transition: Transition, request: Request, own_name: str, own_value: str | None
) -> Session | None:
    """The peer's session this request's peer cookie leads to, converted (it gets
    a sessionware cookie when saved), or None."""
    name = transition.cookie_name
    value = own_value if name == own_name else request.cookies.get(name) or None
    if not transition.takes(value):
        return None
    adopted = transition.adopt(value)
    if adopted is not None:
        request.environ[PEER_COOKIE_KEY] = name
    return adopted


def delete_peer_cookie(
    request: Request, response: Response, options: CookieOptions, session: Session
) -> None:
    """Once the converted ``session`` is saved and its cookie set: delete the peer's
    cookie if it has another name (``peer_cookie_to_delete``)."""
    converted_from = request.environ.pop(PEER_COOKIE_KEY, None)
    peer = peer_cookie_to_delete(converted_from, options.name, session)
    if peer is not None:
        response.headers.add("Set-Cookie", options.deletion_of(peer))

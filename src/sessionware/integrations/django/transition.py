"""Transition mode for the Django engine: a switch from Django's own session
backends that logs nobody out.

``SESSIONWARE_TRANSITION_FROM = "django"`` with ``SESSIONWARE_TRANSITION_UNTIL``
(a datetime, ISO string or Unix seconds): until then, a request whose
``SESSION_COOKIE_NAME`` cookie is a Django session key (not a sessionware one)
gets that session, imported beforehand with ``sessionware import-sessions
django``, converted into a sessionware session with a new signed key, whose cookie
replaces Django's. A Django cookie of another name (``SESSIONWARE_TRANSITION_COOKIE``,
when ``SESSION_COOKIE_NAME`` changed with the switch) converts when the request has
no sessionware cookie, and is deleted when the new cookie is set. The user stays
logged in (``_auth_user_id`` and the auth hash come along, and the session is bound
to the user for ``revoke_user``). A forged or unknown key gets a fresh session and
no write; after the period such cookies are refused as any unknown cookie is.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from ..._sync.manager import SessionManager
from ..._sync.transition import Transition
from ...cookies import CookieOptions
from ...core.session import Session
from ...core.transition import peer_cookie_to_delete
from .engine import get_manager, setting

__all__ = ["adopt", "delete_peer_cookie", "get_transition", "peer_cookie_name", "take_peer_cookie"]

#: ``request.META``: the peer cookie of another name this request's session converts from.
PEER_COOKIE_KEY = "sessionware.peer_cookie"

_transitions: dict[tuple[int, object, str], Transition] = {}


def get_transition(manager: SessionManager) -> Transition | None:
    """The transition the settings ask for (one per manager and settings), or None."""
    peer = setting("SESSIONWARE_TRANSITION_FROM")
    if peer is None:
        return None
    if peer != "django":
        raise ValueError(f"SESSIONWARE_TRANSITION_FROM must be 'django', not {peer!r}")
    until = setting("SESSIONWARE_TRANSITION_UNTIL")
    if until is None:
        raise ValueError("SESSIONWARE_TRANSITION_FROM needs SESSIONWARE_TRANSITION_UNTIL")
    cookie_name: str = setting("SESSIONWARE_TRANSITION_COOKIE") or settings.SESSION_COOKIE_NAME
    config = (id(manager), until, cookie_name)
    transition = _transitions.get(config)
    if transition is None:
        from ...importers.django import DjangoCookie

        transition = _transitions[config] = Transition(manager, DjangoCookie(cookie_name), until)
    return transition


def adopt(session_key: str | None) -> Session | None:
    """The converted session a Django session key leads to, or None."""
    transition = get_transition(get_manager())
    if transition is None or not transition.takes(session_key):
        return None
    return transition.adopt(session_key)


def peer_cookie_name() -> str | None:
    """The peer's cookie while the transition reads one of another name than
    ``SESSION_COOKIE_NAME`` (``SESSIONWARE_TRANSITION_COOKIE``), else None."""
    if setting("SESSIONWARE_TRANSITION_FROM") is None:
        return None
    transition = get_transition(get_manager())
    if transition is None or transition.cookie_name == settings.SESSION_COOKIE_NAME:
        return None
    return transition.cookie_name


def take_peer_cookie(request: HttpRequest, name: str, value: str | None) -> str | None:
    """``value``, the peer cookie ``name``'s, as the session key of a request
    without a sessionware cookie (the engine's load converts it), noted for its
    deletion; None when the transition does not take it."""
    transition = get_transition(get_manager())
    if transition is None or not transition.takes(value):
        return None
    request.META[PEER_COOKIE_KEY] = name
    return value


def delete_peer_cookie(
    request: HttpRequest, response: HttpResponseBase, options: CookieOptions, session: Session
) -> None:
    """Once the converted ``session`` is saved and its cookie set: delete the peer's
    cookie of another name (``peer_cookie_to_delete``), as a Morsel like Django's."""
    converted_from = request.META.pop(PEER_COOKIE_KEY, None)
    peer = peer_cookie_to_delete(converted_from, options.name, session)
    if peer is not None:
        cookies = response.cookies
        cookies[peer] = replace(options, name=peer).deletion_morsel(cookies.get(peer))
